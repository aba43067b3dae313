// quanta: post-training quantization math. Licensed under the Apache License 2.0.
// compute_encoding(min, max, options) for every profile, scheme, bitwidth and flag, on any pair of
// floats (NaN, infinities, subnormals, min > max): it returns an encoding that passes
// check_encoding, on the storage the options ask for, or throws quanta::error. Zero is exactly
// representable at every bitwidth, 32 included: under the profile's own quantize rules, 0 and -0
// quantize to the zero point (when it is on the grid) and that code dequantizes to 0.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "quanta/ref/quantize.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const auto min = quanta_fuzz::raw<float>(in);
  const auto max = quanta_fuzz::raw<float>(in);
  const quanta::encoding_options options = quanta_fuzz::encoding_options_from(in);
  quanta::encoding e;
  if (!quanta_fuzz::accepted([&] { e = quanta::compute_encoding(min, max, options); })) return 0;
  const std::string call = quanta::detail::message("compute_encoding(", min, ", ", max, ")");
  quanta_fuzz::require_valid(e, options, call);

  if (e.zero_point < e.qmin() || e.zero_point > e.qmax()) return 0;
  const quanta::detail::affine_params p =
      quanta::detail::make_affine_params(e, quanta::quantize_options::for_profile(options.rules));
  for (const float zero : {0.0f, -0.0f}) {
    const std::int64_t q = quanta::ref::quantize_code(zero, p);
    FUZZ_REQUIRE(q == e.zero_point, call, " with ", quanta_fuzz::describe(options), " returned ",
                 quanta_fuzz::describe(e), ", and ", zero, " quantizes to ", q,
                 " under the profile's rules; expected the zero point");
    FUZZ_REQUIRE(quanta::ref::dequantize_code(q, p) == 0.0f, call, " with ",
                 quanta_fuzz::describe(options), " returned ", quanta_fuzz::describe(e),
                 ", whose zero point dequantizes to ", quanta::ref::dequantize_code(q, p));
  }
  return 0;
}
