// quanta: post-training quantization math. Licensed under the Apache License 2.0.
// io::read_encodings on arbitrary text, under every read option: it returns the file's encodings
// or throws quanta::error. The seed corpus holds files of each version (0.6.1, 1.0.0, 2.0.0, and
// the versionless SNPE examples), so mutations explore each version's reader. Every quantized
// encoding read must pass check_encoding and agree with its tensor's fields.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "quanta/io/encodings.hpp"

namespace {

void check_section(const quanta::io::encoding_map& section) {
  using quanta::io::granularity;
  using quanta::io::tensor_kind;
  for (const auto& [name, t] : section) {
    if (t.kind != tensor_kind::quantized) {
      FUZZ_REQUIRE(t.encodings.empty(), name, ": a tensor without codes holds encodings");
      continue;
    }
    if (t.layout == granularity::lpbq) {
      FUZZ_REQUIRE(t.encodings.empty(), name, ": an LPBQ tensor holds per-block encodings");
      std::string why;
      try {
        quanta::detail::check_lpbq_encoding("fuzz", t.lpbq);
      } catch (const quanta::error& error) {
        why = error.what();
      }
      FUZZ_REQUIRE(why.empty(), name, ": read_encodings returned an LPBQ encoding that fails ",
                   "its check: ", why);
      continue;
    }
    FUZZ_REQUIRE(!t.encodings.empty(), name, ": a quantized tensor has no encodings");
    if (t.layout == granularity::per_tensor) {
      FUZZ_REQUIRE(t.encodings.size() == 1, name, ": a per-tensor encoding holds ",
                   t.encodings.size());
    }
    if (t.layout == granularity::per_block) {
      FUZZ_REQUIRE(t.block_size > 0, name, ": a per-block tensor has block_size 0");
    }
    for (const quanta::encoding& e : t.encodings) {
      std::string why;
      try {
        quanta::detail::check_encoding("fuzz", e);
      } catch (const quanta::error& error) {
        why = error.what();
      }
      FUZZ_REQUIRE(why.empty(), name, ": read_encodings returned ", quanta_fuzz::describe(e), ": ",
                   why);
      FUZZ_REQUIRE(e.bitwidth == t.encodings.front().bitwidth &&
                       e.is_signed == t.encodings.front().is_signed &&
                       e.narrow_range == t.encodings.front().narrow_range,
                   name, ": encodings of one tensor differ in bitwidth, signedness or range");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The last byte chooses the options, so that the text of a seed file reads as it is.
  quanta::io::read_options options;
  if (size > 0) {
    const std::uint8_t choice = data[size - 1];
    options.storage = static_cast<quanta::io::code_storage>(choice % 3);
    options.symmetric_narrow_range = (choice & 4) != 0;
    if (choice & 8) options.min_range = 0.0001;
  }
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  quanta::io::read_result result;
  if (!quanta_fuzz::accepted([&] { result = quanta::io::read_encodings(text, options); })) return 0;
  check_section(result.encodings.activations);
  check_section(result.encodings.params);
  return 0;
}
