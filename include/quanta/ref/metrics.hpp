// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "quanta/span.hpp"

namespace quanta {

// The sufficient statistics of a comparison between a reference tensor and a test tensor (for
// example a float layer output and its quantized counterpart). Every metric in quanta/metrics.hpp
// is a function of these sums, so batches can be measured one at a time and merged. Sums are in
// double: float lanes are converted before any arithmetic.
struct error_stats {
  std::size_t count = 0;       // pairs seen
  std::size_t non_finite = 0;  // pairs where ref or test is NaN or an infinity
  double ref_energy = 0.0;     // sum of ref^2
  double test_energy = 0.0;    // sum of test^2
  double dot = 0.0;            // sum of ref * test
  double error_energy = 0.0;   // sum of (ref - test)^2
  double error_abs_sum = 0.0;  // sum of |ref - test|
  double error_abs_max = 0.0;  // max of |ref - test|
  double ref_abs_max = 0.0;    // max of |ref| (the default PSNR peak)

  // Statistics of the concatenation of both comparisons.
  void merge(const error_stats& other) noexcept {
    count += other.count;
    non_finite += other.non_finite;
    ref_energy += other.ref_energy;
    test_energy += other.test_energy;
    dot += other.dot;
    error_energy += other.error_energy;
    error_abs_sum += other.error_abs_sum;
    // The maxima matter only while every value is finite; non_finite voids them otherwise.
    if (other.error_abs_max > error_abs_max) error_abs_max = other.error_abs_max;
    if (other.ref_abs_max > ref_abs_max) ref_abs_max = other.ref_abs_max;
  }
};

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
