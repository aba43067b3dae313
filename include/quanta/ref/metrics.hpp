// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "quanta/error_stats.hpp"
#include "quanta/span.hpp"

namespace quanta {
namespace ref {

// Normative definitions: plain loops, one pair at a time, in double. SIMD kernels differ from these
// only by the order of the additions.

inline void accumulate_error(const float* ref, const float* test, std::size_t n,
                             error_stats& s) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const double r = ref[i];
    const double t = test[i];
    if (!(std::isfinite(r) && std::isfinite(t))) ++s.non_finite;
    const double d = r - t;
    const double ad = std::fabs(d);
    const double ar = std::fabs(r);
    s.ref_energy += r * r;
    s.test_energy += t * t;
    s.dot += r * t;
    s.error_energy += d * d;
    s.error_abs_sum += ad;
    if (ad > s.error_abs_max) s.error_abs_max = ad;
    if (ar > s.ref_abs_max) s.ref_abs_max = ar;
  }
  s.count += n;
}

inline error_stats measure_error(span<const float> ref, span<const float> test) noexcept {
  error_stats s;
  accumulate_error(ref.data(), test.data(), ref.size(), s);
  return s;
}

// One result per channel of a [outer, channels, inner] tensor.
inline std::vector<error_stats> measure_error_per_channel(span<const float> ref,
                                                          span<const float> test, std::size_t outer,
                                                          std::size_t channels, std::size_t inner) {
  std::vector<error_stats> s(channels);
  for (std::size_t o = 0; o < outer; ++o) {
    for (std::size_t c = 0; c < channels; ++c) {
      const std::size_t base = (o * channels + c) * inner;
      accumulate_error(ref.data() + base, test.data() + base, inner, s[c]);
    }
  }
  return s;
}

}  // namespace ref
}  // namespace quanta
