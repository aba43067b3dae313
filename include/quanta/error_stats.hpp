// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstddef>

// The statistics quanta/metrics.hpp accumulates, in a header of its own so that the reference
// (quanta/ref/metrics.hpp) and the kernels that metrics.hpp includes can name them too.
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

}  // namespace quanta
