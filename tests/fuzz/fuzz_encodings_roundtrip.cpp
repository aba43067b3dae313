// quanta: post-training quantization math. Licensed under the Apache License 2.0.
// The write/read round trip of encodings files: whatever io::read_encodings accepts, written as
// each version that can hold it, must read back (as that version) and write again to the same
// bytes: read -> write -> read -> write is byte-identical. A tensor name that is not UTF-8 (the
// API accepts any std::string) is refused by the writer with quanta::error, as every version.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "quanta/io/encodings.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace quanta::io;
  // The last byte chooses the options, so that the text of a seed file reads as it is.
  read_options options;
  int indent = 2;
  if (size > 0) {
    const std::uint8_t choice = data[size - 1];
    options.storage = static_cast<code_storage>(choice % 3);
    options.symmetric_narrow_range = (choice & 4) != 0;
    if (choice & 8) options.min_range = 0.0001;
    if (choice & 16) indent = -1;
  }
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  read_result first;
  if (!quanta_fuzz::accepted([&] { first = read_encodings(text, options); })) return 0;

  for (const encodings_version version :
       {encodings_version::v0_6_1, encodings_version::v1_0_0, encodings_version::v2_0_0}) {
    const write_options write{version, indent};
    std::string written;
    // A version that cannot hold some tensor (per-block in 0.6.1, ...) refuses to write it.
    if (!quanta_fuzz::accepted([&] { written = write_encodings(first.encodings, write); })) {
      continue;
    }
    read_result second;
    std::string why;
    try {
      second = read_encodings(written, options);
    } catch (const quanta::error& e) {
      why = e.what();
    }
    FUZZ_REQUIRE(why.empty(), "read_encodings refused what write_encodings wrote as ",
                 to_string(version), ": ", why, "\n--- written:\n", written);
    FUZZ_REQUIRE(second.version == version, "a file written as ", to_string(version), " reads as ",
                 to_string(second.version), "\n--- written:\n", written);
    std::string rewritten;
    try {
      rewritten = write_encodings(second.encodings, write);
    } catch (const quanta::error& e) {
      why = e.what();
    }
    FUZZ_REQUIRE(why.empty(), "write_encodings refused what it wrote and read back as ",
                 to_string(version), ": ", why, "\n--- written:\n", written);
    FUZZ_REQUIRE(rewritten == written, "write -> read -> write as ", to_string(version),
                 " changed the text\n--- first:\n", written, "\n--- second:\n", rewritten);
  }

  // The same file with its first tensor's name ending in a lone continuation byte.
  encodings_file mangled = first.encodings;
  encoding_map& section = mangled.activations.empty() ? mangled.params : mangled.activations;
  if (section.empty()) return 0;
  auto node = section.extract(section.begin());
  node.key() += '\x80';
  section.insert(std::move(node));
  for (const encodings_version version :
       {encodings_version::v0_6_1, encodings_version::v1_0_0, encodings_version::v2_0_0}) {
    const bool written = quanta_fuzz::accepted([&] {
      (void)write_encodings(mangled, {version, indent});
    });
    FUZZ_REQUIRE(!written, "write_encodings wrote a tensor name that is not UTF-8 as ",
                 to_string(version));
  }
  return 0;
}
