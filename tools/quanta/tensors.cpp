#include "tensors.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include <quanta/io/npy.hpp>

#include "arguments.hpp"

namespace quanta_cli {

namespace fs = std::filesystem;

namespace {

bool has_extension(const std::string& path, const char* extension) {
  return fs::path(path).extension() == extension;
}

tensor load_raw_float32(const std::string& path,
                        const std::optional<std::vector<std::int64_t>>& bin_shape) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(path + ": cannot be opened (" + std::strerror(errno) + ")");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  if (bytes.size() % sizeof(float) != 0) {
    throw input_error(path + ": " + std::to_string(bytes.size()) +
                      " bytes is not a whole number of float32 values");
  }
  tensor t;
  t.path = path;
  t.name = file_stem(path);
  t.dtype = "float32";
  t.values.resize(bytes.size() / sizeof(float));
  if (!bytes.empty()) std::memcpy(t.values.data(), bytes.data(), bytes.size());
  const auto count = static_cast<std::int64_t>(t.values.size());
  if (bin_shape) {
    std::int64_t described = 1;
    for (const std::int64_t d : *bin_shape)
      described *= d;
    if (described != count) {
      throw input_error(path + ": holds " + std::to_string(count) + " float32 values but --shape " +
                        shape_string(*bin_shape) + " describes " + std::to_string(described));
    }
    t.shape = *bin_shape;
  } else {
    t.shape = {count};
    t.flat = true;
  }
  return t;
}

}  // namespace

tensor load_tensor(const std::string& path,
                   const std::optional<std::vector<std::int64_t>>& bin_shape) {
  // A directory, device or pipe would fail late with a stream error, or never end (/dev/zero).
  std::error_code failure;
  const fs::file_status status = fs::status(path, failure);
  if (!failure && fs::exists(status) && !fs::is_regular_file(status)) {
    throw input_error(path + ": is " +
                      (fs::is_directory(status) ? "a directory" : "not a regular file") +
                      "; expected a .npy or .bin file");
  }
  if (has_extension(path, ".bin")) return load_raw_float32(path, bin_shape);
  const quanta::io::npy_array array = quanta::io::read_npy(path);
  tensor t;
  t.path = path;
  t.name = file_stem(path);
  t.shape = array.shape;
  t.dtype = quanta::io::npy_dtype_name(array.dtype());
  t.is_float = array.dtype() == quanta::io::npy_dtype::float32 ||
               array.dtype() == quanta::io::npy_dtype::float16 ||
               array.dtype() == quanta::io::npy_dtype::float64;
  t.values = array.to_float();
  // np.save writes float64 for a default NumPy array; quanta works in float32, and says so.
  static std::set<std::string> noted;  // once per file, though a command may read it again
  if (array.dtype() == quanta::io::npy_dtype::float64 && noted.insert(path).second) {
    std::fprintf(stderr, "quanta: note: %s is float64; its values are rounded to float32\n",
                 path.c_str());
  }
  return t;
}

void check_shape_applies(const std::vector<std::string>& files,
                         const std::optional<std::vector<std::int64_t>>& bin_shape) {
  if (!bin_shape) return;
  for (const std::string& f : files)
    if (has_extension(f, ".bin") || is_directory(f)) return;
  throw usage_error("--shape describes .bin files; " + files.front() +
                    (files.size() > 1 ? " and the others are" : " is") +
                    " not one (a .npy file has its own shape)");
}

void check_not_empty(const tensor& t) {
  if (t.values.empty()) {
    throw input_error(t.path + ": holds no values (shape " + shape_string(t.shape) +
                      "); expected at least one");
  }
}

std::vector<std::string> list_tensor_files(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code failure;
  for (fs::directory_iterator it(dir, failure), end; !failure && it != end; it.increment(failure)) {
    const std::string path = it->path().string();
    if (it->is_regular_file() && (has_extension(path, ".npy") || has_extension(path, ".bin"))) {
      files.push_back(path);
    }
  }
  if (failure) throw input_error(dir + ": cannot be listed (" + failure.message() + ")");
  std::sort(files.begin(), files.end(), [](const std::string& a, const std::string& b) {
    return natural_less(file_name(a), file_name(b));
  });
  return files;
}

bool is_directory(const std::string& path) {
  std::error_code ignored;
  return fs::is_directory(path, ignored);
}

std::string file_stem(const std::string& path) {
  return fs::path(path).stem().string();
}

std::string file_name(const std::string& path) {
  return fs::path(path).filename().string();
}

// Runs of digits compare by value, everything else byte by byte.
bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  const auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      std::size_t ie = i, je = j;
      while (ie < a.size() && digit(a[ie]))
        ++ie;
      while (je < b.size() && digit(b[je]))
        ++je;
      // Leading zeros do not count; then the longer run is the larger number.
      std::size_t is = i, js = j;
      while (is + 1 < ie && a[is] == '0')
        ++is;
      while (js + 1 < je && b[js] == '0')
        ++js;
      if (ie - is != je - js) return ie - is < je - js;
      const int c = a.compare(is, ie - is, b, js, je - js);
      if (c != 0) return c < 0;
      i = ie;
      j = je;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  return a.size() - i < b.size() - j;
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  if (shape.empty()) return "scalar";
  std::string s;
  for (std::size_t d = 0; d < shape.size(); ++d)
    s += (d == 0 ? "" : "x") + std::to_string(shape[d]);
  return s;
}

std::size_t slice_size(const tensor& t) {
  if (t.shape.empty() || t.shape[0] == 0) return t.values.size();
  return t.values.size() / static_cast<std::size_t>(t.shape[0]);
}

}  // namespace quanta_cli
