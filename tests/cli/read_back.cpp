// Reads an encodings file the `quanta` tool wrote with quanta::io, checks the bitwidth (or float)
// of the named tensors, and that writing what was read gives the file's bytes again.
//   read_back FILE VERSION NAME=BITS|NAME=float...
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include <quanta/io/encodings.hpp>

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "read_back: %s\n", message.c_str());
  return 1;
}

const quanta::io::tensor_encoding* find(const quanta::io::encodings_file& f,
                                        const std::string& name) {
  for (const auto* section : {&f.activations, &f.params}) {
    const auto it = section->find(name);
    if (it != section->end()) return &it->second;
  }
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return fail("usage: read_back FILE VERSION NAME=BITS...");
  const std::string path = argv[1];
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.empty()) return fail(path + " is missing or empty");
  try {
    const quanta::io::read_result r = quanta::io::read_encodings(text);
    if (quanta::io::to_string(r.version) != std::string(argv[2])) {
      return fail(path + " is version " + quanta::io::to_string(r.version) + "; expected " +
                  argv[2]);
    }
    for (const std::string& w : r.warnings)
      std::printf("warning: %s\n", w.c_str());
    if (!r.warnings.empty()) return fail(path + ": the reader warned");
    quanta::io::write_options options;
    options.version = r.version;
    if (quanta::io::write_encodings(r.encodings, options) != text) {
      return fail(path + ": writing what was read does not give the same bytes");
    }
    for (int k = 3; k < argc; ++k) {
      const std::string check = argv[k];
      const std::size_t equals = check.find('=');
      const std::string name = check.substr(0, equals), want = check.substr(equals + 1);
      const quanta::io::tensor_encoding* t = find(r.encodings, name);
      if (t == nullptr) return fail(path + " has no tensor " + name);
      const std::string got = t->kind == quanta::io::tensor_kind::float_tensor ? "float"
                              : t->kind == quanta::io::tensor_kind::bitwidth_only
                                  ? std::to_string(t->bitwidth)
                                  : std::to_string(t->encodings.front().bitwidth);
      if (got != want) return fail(name + " is " + got + "; expected " + want);
      std::printf("%s: %s\n", name.c_str(), got.c_str());
    }
  } catch (const quanta::error& e) {
    return fail(e.what());
  }
  std::printf("read back %s\n", path.c_str());
  return 0;
}
