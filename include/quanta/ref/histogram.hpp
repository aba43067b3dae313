// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cmath>
#include <cstdint>

#include "quanta/span.hpp"

// The normative histogram fill: which bin a value counts in.
namespace quanta::ref {

// The bin of a finite x (already |x| for magnitude histograms):
//   t = (x - lo) * inv_width      in float, two roundings, never fused
//   bin = (int) clamp(t, 0, last)  where last = bins - 1
// lo and inv_width are the float roundings of the histogram's double lo and bins / (hi - lo).
inline std::uint32_t histogram_bin(float x, float lo, float inv_width, float last) noexcept {
  float t = (x - lo) * inv_width;
  if (!(t > 0.0f)) t = 0.0f;
  if (t > last) t = last;
  return static_cast<std::uint32_t>(t);
}

// Adds the finite values of x to counts (bins entries).
inline void histogram_fill(span<const float> x, bool magnitude, float lo, float inv_width,
                           std::uint32_t bins, double* counts) noexcept {
  const auto last = static_cast<float>(bins - 1);
  for (float v : x) {
    const float a = magnitude ? std::fabs(v) : v;
    counts[histogram_bin(a, lo, inv_width, last)] += 1.0;
  }
}

}  // namespace quanta::ref
