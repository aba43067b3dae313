// quanta: post-training quantization math. Licensed under the Apache License 2.0.
// compute_encoding(min, max, options) for every profile, scheme, bitwidth and flag, on any pair of
// floats (NaN, infinities, subnormals, min > max): it returns an encoding that passes
// check_encoding, on the storage the options ask for, or throws quanta::error.

#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const auto min = quanta_fuzz::raw<float>(in);
  const auto max = quanta_fuzz::raw<float>(in);
  const quanta::encoding_options options = quanta_fuzz::encoding_options_from(in);
  quanta::encoding e;
  if (!quanta_fuzz::accepted([&] { e = quanta::compute_encoding(min, max, options); })) return 0;
  quanta_fuzz::require_valid(e, options,
                             quanta::detail::message("compute_encoding(", min, ", ", max, ")"));
  return 0;
}
