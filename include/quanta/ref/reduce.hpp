// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "quanta/min_max_result.hpp"
#include "quanta/span.hpp"

namespace quanta {
namespace ref {

// Normative definitions: plain loops, one element at a time.

inline void accumulate_min_max(const float* x, std::size_t n, min_max_result& r) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (v != v) {
      r.has_nan = true;
      continue;
    }
    if (v < r.min) r.min = v;
    if (v > r.max) r.max = v;
  }
}

inline min_max_result min_max(span<const float> x) noexcept {
  min_max_result r;
  accumulate_min_max(x.data(), x.size(), r);
  return r;
}

// max |x| over the non-NaN values; 0 for an empty or all-NaN input.
inline float abs_max(span<const float> x) noexcept {
  float m = 0.0f;
  for (float v : x) {
    const float a = std::fabs(v);
    if (a > m) m = a;
  }
  return m;
}

// One result per channel of a [outer, channels, inner] tensor.
inline std::vector<min_max_result> min_max_per_channel(span<const float> x, std::size_t outer,
                                                       std::size_t channels, std::size_t inner) {
  std::vector<min_max_result> r(channels);
  for (std::size_t o = 0; o < outer; ++o) {
    for (std::size_t c = 0; c < channels; ++c) {
      accumulate_min_max(x.data() + (o * channels + c) * inner, inner, r[c]);
    }
  }
  return r;
}

}  // namespace ref
}  // namespace quanta
