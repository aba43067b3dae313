// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "quanta/detail/affine.hpp"
#include "quanta/encoding.hpp"
#include "quanta/error.hpp"
#include "quanta/ref/quantize.hpp"
#include "quanta/span.hpp"

// 32-bit bias quantization. A bias added to an integer accumulator must share its scale:
// bias_scale[c] = input_scale * weight_scale[c] (float product, as every peer computes it), zero
// point 0. One weight scale means per-tensor weights; bias.size() weight scales, per-channel.
namespace quanta {

// A bias value whose code does not fit int32 at the scale the weights give.
struct bias_overflow {
  std::size_t channel = 0;
  float bias = 0.0f;
  float bias_scale = 0.0f;
  // The smallest weight scale for this channel at which the bias fits.
  float min_weight_scale = 0.0f;
};

namespace detail {

inline void check_bias_scales(const char* function, float input_scale,
                              span<const float> weight_scales) {
  if (!(std::isfinite(input_scale) && input_scale > 0.0f)) {
    QUANTA_THROW(function, ": input_scale is ", input_scale, "; expected a finite value > 0");
  }
  for (std::size_t c = 0; c < weight_scales.size(); ++c) {
    const float s = weight_scales[c];
    const float product = input_scale * s;
    if (!(std::isfinite(s) && s > 0.0f && std::isfinite(product) && product > 0.0f)) {
      QUANTA_THROW(function, ": weight_scales[", c, "] is ", s,
                   "; expected a finite value > 0 "
                   "whose product with input_scale ",
                   input_scale, " is a finite value > 0");
    }
  }
}

inline void check_bias_arguments(const char* function, span<const float> bias, float input_scale,
                                 span<const float> weight_scales) {
  check_bias_scales(function, input_scale, weight_scales);
  if (weight_scales.size() != 1 && weight_scales.size() != bias.size()) {
    QUANTA_THROW(function, ": weight_scales has ", weight_scales.size(),
                 " entries; expected 1 "
                 "(per-tensor weights) or ",
                 bias.size(), " (one per bias element)");
  }
  for (std::size_t c = 0; c < bias.size(); ++c) {
    if (!std::isfinite(bias[c])) {
      QUANTA_THROW(function, ": bias[", c, "] is ", bias[c], "; expected a finite value");
    }
  }
}

inline float weight_scale_of(span<const float> weight_scales, std::size_t c) noexcept {
  return weight_scales.size() == 1 ? weight_scales[0] : weight_scales[c];
}

}  // namespace detail

// The int32 encodings of a bias: one per weight scale.
inline std::vector<encoding> bias_encodings(float input_scale, span<const float> weight_scales) {
  detail::check_bias_scales("bias_encodings", input_scale, weight_scales);
  std::vector<encoding> encodings;
  encodings.reserve(weight_scales.size());
  for (float s : weight_scales)
    encodings.push_back(encoding{input_scale * s, 0, 32, true, false});
  return encodings;
}

// The first bias value whose int32 code would saturate, if any.
inline std::optional<bias_overflow> find_bias_overflow(span<const float> bias, float input_scale,
                                                       span<const float> weight_scales,
                                                       const quantize_options& options = {}) {
  detail::check_bias_arguments("find_bias_overflow", bias, input_scale, weight_scales);
  constexpr double int32_max = 2147483647.0;
  const auto fits = [&](float value, float weight_scale) {
    const auto p =
        detail::make_affine_params(encoding{input_scale * weight_scale, 0, 32, true}, options);
    const float scaled = p.divide ? value / p.scale : value * p.inv_scale;
    const double code = static_cast<double>(ref::round_to_integral(scaled, p.round));
    return code <= int32_max && code >= -int32_max - 1.0;
  };
  for (std::size_t c = 0; c < bias.size(); ++c) {
    const float weight_scale = detail::weight_scale_of(weight_scales, c);
    if (fits(bias[c], weight_scale)) continue;
    // Start from |bias| / (input_scale * (2^31 - 1)) and step up to the first float that fits.
    auto smallest = static_cast<float>(std::fabs(static_cast<double>(bias[c])) /
                                       (static_cast<double>(input_scale) * int32_max));
    while (!fits(bias[c], smallest)) {
      smallest = std::nextafter(smallest, std::numeric_limits<float>::infinity());
    }
    return bias_overflow{c, bias[c], input_scale * weight_scale, smallest};
  }
  return std::nullopt;
}

// q[c] = round(bias[c] / (input_scale * weight_scale[c])), zero point 0. Throws, naming the
// channel and the weight scale that would avoid it, when a code does not fit int32; q is then
// left untouched.
inline void quantize_bias(span<const float> bias, float input_scale,
                          span<const float> weight_scales, span<std::int32_t> q,
                          const quantize_options& options = {}) {
  constexpr const char* function = "quantize_bias";
  if (q.size() != bias.size()) {
    QUANTA_THROW(function, ": q has ", q.size(), " elements but bias has ", bias.size(),
                 "; expected equal sizes");
  }
  if (const auto overflow = find_bias_overflow(bias, input_scale, weight_scales, options)) {
    QUANTA_THROW(function, ": bias[", overflow->channel, "] = ", overflow->bias,
                 " does not fit int32 at scale ", overflow->bias_scale, " (input_scale ",
                 input_scale, " x weight scale ",
                 detail::weight_scale_of(weight_scales, overflow->channel),
                 "); expected a weight scale >= ", overflow->min_weight_scale, " for this channel");
  }
  for (std::size_t c = 0; c < bias.size(); ++c) {
    const encoding e{input_scale * detail::weight_scale_of(weight_scales, c), 0, 32, true, false};
    q[c] = static_cast<std::int32_t>(
        ref::quantize_code(bias[c], detail::make_affine_params(e, options)));
  }
}

}  // namespace quanta
