// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "quanta/arch.hpp"
#include "quanta/detail/metrics_kernels.hpp"
#include "quanta/encoding.hpp"
#include "quanta/error.hpp"
#include "quanta/error_stats.hpp"
#include "quanta/ref/metrics.hpp"
#include "quanta/span.hpp"

// Error metrics between a reference tensor and a test tensor: cosine similarity, SQNR, MSE, MAE,
// max absolute error, relative L2, PSNR, Euclidean distance. All are functions of error_stats,
// which is accumulated in double and merges across batches. docs/metrics.md states the definitions.
//
// Degenerate inputs have defined results, never NaN: the cosine of two zero tensors is 1 and of a
// zero tensor with a non-zero one 0; SQNR and PSNR of identical tensors are +inf; an empty
// comparison has zero error. A NaN or an infinity in either tensor makes every metric NaN, and
// error_stats::non_finite counts the pairs that hold one.
namespace quanta {

// How SQNR is averaged.
enum class sqnr_convention {
  standard,  // 10 log10(sum ref^2 / sum (ref - test)^2) over every element
  // AIMET's mixed precision and quant analyzer: per batch, E[ref^2] / (E[(ref - test)^2] + 1e-4);
  // the ratios are averaged over batches and only then converted to dB.
  aimet,
};

namespace detail {

constexpr double aimet_noise_floor = 1e-4;

inline double not_a_number() noexcept {
  return std::numeric_limits<double>::quiet_NaN();
}
inline double infinity() noexcept {
  return std::numeric_limits<double>::infinity();
}

inline double aimet_sqnr_ratio(const error_stats& s) noexcept {
  if (s.count == 0) return infinity();
  const auto n = static_cast<double>(s.count);
  return (s.ref_energy / n) / (s.error_energy / n + aimet_noise_floor);
}

inline void check_pair(const char* function, span<const float> ref, span<const float> test) {
  if (ref.size() != test.size()) {
    QUANTA_THROW(function, ": test has ", test.size(), " elements but ref has ", ref.size(),
                 "; expected equal sizes");
  }
}

inline void check_peak(const char* function, double peak) {
  if (!(std::isfinite(peak) && peak > 0.0)) {
    QUANTA_THROW(function, ": peak is ", peak, "; expected a finite value > 0");
  }
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Metrics of accumulated statistics.

// sum ref*test / (|ref| |test|), clamped to [-1, 1] against rounding. 1 when both tensors are zero,
// 0 when exactly one is.
inline double cosine_similarity(const error_stats& s) noexcept {
  if (s.non_finite != 0) return detail::not_a_number();
  if (s.ref_energy == 0.0 || s.test_energy == 0.0) {
    return s.ref_energy == s.test_energy ? 1.0 : 0.0;
  }
  double norms = std::sqrt(s.ref_energy * s.test_energy);
  // The product can leave double's range for extreme inputs; the separate roots cannot. The
  // product is preferred otherwise because sqrt(e * e) == e, so x against itself gives exactly 1.
  if (!(norms > 0.0 && std::isfinite(norms))) {
    norms = std::sqrt(s.ref_energy) * std::sqrt(s.test_energy);
  }
  return std::clamp(s.dot / norms, -1.0, 1.0);
}

// 10 log10(sum ref^2 / sum (ref - test)^2): +inf when the tensors are equal (including two zero
// tensors), -inf when ref is zero and test is not.
inline double sqnr_db(const error_stats& s,
                      sqnr_convention convention = sqnr_convention::standard) noexcept {
  if (s.non_finite != 0) return detail::not_a_number();
  if (convention == sqnr_convention::aimet) return 10.0 * std::log10(detail::aimet_sqnr_ratio(s));
  if (s.error_energy == 0.0) return detail::infinity();
  return 10.0 * std::log10(s.ref_energy / s.error_energy);
}

// Mean squared error; 0 for an empty comparison.
inline double mse(const error_stats& s) noexcept {
  if (s.non_finite != 0) return detail::not_a_number();
  return s.count == 0 ? 0.0 : s.error_energy / static_cast<double>(s.count);
}

// Mean absolute error; 0 for an empty comparison.
inline double mae(const error_stats& s) noexcept {
  if (s.non_finite != 0) return detail::not_a_number();
  return s.count == 0 ? 0.0 : s.error_abs_sum / static_cast<double>(s.count);
}

// max |ref - test|; 0 for an empty comparison.
inline double max_abs_error(const error_stats& s) noexcept {
  return s.non_finite != 0 ? detail::not_a_number() : s.error_abs_max;
}

// ||ref - test|| / ||ref||: 0 when the tensors are equal, +inf when ref is zero and test is not.
inline double relative_l2(const error_stats& s) noexcept {
  if (s.non_finite != 0) return detail::not_a_number();
  if (s.error_energy == 0.0) return 0.0;
  if (s.ref_energy == 0.0) return detail::infinity();
  return std::sqrt(s.error_energy / s.ref_energy);
}

// ||ref - test||.
inline double euclidean_distance(const error_stats& s) noexcept {
  return s.non_finite != 0 ? detail::not_a_number() : std::sqrt(s.error_energy);
}

// 10 log10(peak^2 / MSE): +inf when the tensors are equal, -inf when peak is 0 and the error is
// not. The peak is max |ref| unless given.
inline double psnr_db(const error_stats& s, double peak) {
  detail::check_peak("psnr_db", peak);
  if (s.non_finite != 0) return detail::not_a_number();
  if (s.error_energy == 0.0) return detail::infinity();
  return 10.0 * std::log10(peak * peak / mse(s));
}

inline double psnr_db(const error_stats& s) noexcept {
  if (s.non_finite != 0) return detail::not_a_number();
  if (s.error_energy == 0.0) return detail::infinity();
  if (s.ref_abs_max == 0.0) return -detail::infinity();
  return 10.0 * std::log10(s.ref_abs_max * s.ref_abs_max / mse(s));
}

// ---------------------------------------------------------------------------------------------
// Measuring tensors.

// The statistics of one comparison. ref and test must have the same size.
template <class Arch = default_arch>
error_stats measure_error(span<const float> ref, span<const float> test) {
  detail::check_pair("measure_error", ref, test);
  return detail::measure_error<Arch>(ref.data(), test.data(), ref.size());
}

// One error_stats per channel of a [outer, channels, inner] tensor.
template <class Arch = default_arch>
std::vector<error_stats> measure_error_per_channel(span<const float> ref, span<const float> test,
                                                   const channel_layout& layout) {
  constexpr const char* function = "measure_error_per_channel";
  detail::check_pair(function, ref, test);
  detail::check_layout(function, layout, ref.size());
  return detail::measure_error_per_channel<Arch>(ref.data(), test.data(), layout.outer,
                                                 layout.channels, layout.inner);
}

namespace detail {

// One metric of one comparison: validate, measure, read.
template <class Arch, class Metric>
double measure_metric(const char* function, span<const float> ref, span<const float> test,
                      Metric metric) {
  check_pair(function, ref, test);
  return metric(measure_error<Arch>(ref.data(), test.data(), ref.size()));
}

}  // namespace detail

template <class Arch = default_arch>
double cosine_similarity(span<const float> ref, span<const float> test) {
  return detail::measure_metric<Arch>("cosine_similarity", ref, test,
                                      [](const error_stats& s) { return cosine_similarity(s); });
}

template <class Arch = default_arch>
double sqnr_db(span<const float> ref, span<const float> test,
               sqnr_convention convention = sqnr_convention::standard) {
  return detail::measure_metric<Arch>("sqnr_db", ref, test,
                                      [=](const error_stats& s) { return sqnr_db(s, convention); });
}

template <class Arch = default_arch>
double mse(span<const float> ref, span<const float> test) {
  return detail::measure_metric<Arch>("mse", ref, test,
                                      [](const error_stats& s) { return mse(s); });
}

template <class Arch = default_arch>
double mae(span<const float> ref, span<const float> test) {
  return detail::measure_metric<Arch>("mae", ref, test,
                                      [](const error_stats& s) { return mae(s); });
}

template <class Arch = default_arch>
double max_abs_error(span<const float> ref, span<const float> test) {
  return detail::measure_metric<Arch>("max_abs_error", ref, test,
                                      [](const error_stats& s) { return max_abs_error(s); });
}

template <class Arch = default_arch>
double relative_l2(span<const float> ref, span<const float> test) {
  return detail::measure_metric<Arch>("relative_l2", ref, test,
                                      [](const error_stats& s) { return relative_l2(s); });
}

template <class Arch = default_arch>
double euclidean_distance(span<const float> ref, span<const float> test) {
  return detail::measure_metric<Arch>("euclidean_distance", ref, test,
                                      [](const error_stats& s) { return euclidean_distance(s); });
}

template <class Arch = default_arch>
double psnr_db(span<const float> ref, span<const float> test) {
  return detail::measure_metric<Arch>("psnr_db", ref, test,
                                      [](const error_stats& s) { return psnr_db(s); });
}

template <class Arch = default_arch>
double psnr_db(span<const float> ref, span<const float> test, double peak) {
  detail::check_peak("psnr_db", peak);
  return detail::measure_metric<Arch>("psnr_db", ref, test,
                                      [=](const error_stats& s) { return psnr_db(s, peak); });
}

// ---------------------------------------------------------------------------------------------
// Streaming: metrics over many batches (images) without holding them.

// Pools the statistics of every batch (the metrics of the concatenation) and also keeps the
// per-batch averages that tools report: the mean and minimum cosine over batches (Magik's
// cosine_avg) and AIMET's mean SQNR ratio. Accumulators of disjoint parts of a stream merge.
class error_accumulator {
 public:
  // Adds one batch; ref and test must have the same size. Nothing changes when it throws.
  template <class Arch = default_arch>
  void add(span<const float> ref, span<const float> test) {
    detail::check_pair("error_accumulator::add", ref, test);
    add(detail::measure_error<Arch>(ref.data(), test.data(), ref.size()));
  }

  // Adds the statistics of one batch measured elsewhere.
  void add(const error_stats& batch) noexcept {
    pooled_.merge(batch);
    const double c = quanta::cosine_similarity(batch);
    cosine_sum_ += c;
    if (batches_ == 0 || std::isnan(c) || c < min_cosine_) min_cosine_ = c;  // a NaN sticks
    aimet_ratio_sum_ +=
        batch.non_finite != 0 ? detail::not_a_number() : detail::aimet_sqnr_ratio(batch);
    ++batches_;
  }

  void merge(const error_accumulator& other) noexcept {
    if (other.batches_ == 0) return;
    if (batches_ == 0 || std::isnan(other.min_cosine_) || other.min_cosine_ < min_cosine_) {
      min_cosine_ = other.min_cosine_;
    }
    pooled_.merge(other.pooled_);
    cosine_sum_ += other.cosine_sum_;
    aimet_ratio_sum_ += other.aimet_ratio_sum_;
    batches_ += other.batches_;
  }

  std::size_t batches() const noexcept { return batches_; }
  // The statistics of all batches together; pass them to any metric above.
  const error_stats& pooled() const noexcept { return pooled_; }

  // Mean over batches of each batch's cosine; 1 with no batches.
  double mean_cosine() const noexcept {
    return batches_ == 0 ? 1.0 : cosine_sum_ / static_cast<double>(batches_);
  }
  // The lowest batch cosine; 1 with no batches.
  double min_cosine() const noexcept { return batches_ == 0 ? 1.0 : min_cosine_; }

  // standard: SQNR of the pooled statistics. aimet: 10 log10 of the mean per-batch ratio; +inf
  // with no batches.
  double sqnr_db(sqnr_convention convention = sqnr_convention::standard) const noexcept {
    if (convention == sqnr_convention::standard) return quanta::sqnr_db(pooled_);
    if (batches_ == 0) return detail::infinity();
    return 10.0 * std::log10(aimet_ratio_sum_ / static_cast<double>(batches_));
  }

 private:
  error_stats pooled_;
  std::size_t batches_ = 0;
  double cosine_sum_ = 0.0;
  double min_cosine_ = 1.0;
  double aimet_ratio_sum_ = 0.0;
};

}  // namespace quanta
