// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "quanta/calibrate/entropy.hpp"
#include "quanta/calibrate/histogram.hpp"
#include "quanta/error.hpp"

// ONNX Runtime's `distribution` calibration: the mean and standard deviation of a histogram, from
// which ORT's quantizer derives float8 (E4M3FN) scales. docs/calibration.md describes the rule and
// where quanta's result differs from ORT's on purpose.
namespace quanta {

// HistogramCollector's `scenario`: the statistics of the bin centres c (`same`), or of
// sign(c) |c|^(1/3) (`p3`).
enum class distribution_scenario { same, p3 };

struct distribution_statistics {
  float mean = 0.0f;
  float deviation = 0.0f;  // the standard deviation
};

namespace detail {

// numpy's float32 `(a + b) * 0.5`, then sign(c) |c|^(1/3) in float32 (powf) for p3.
inline float distribution_value(float lo_edge, float hi_edge, distribution_scenario s) noexcept {
  const float centre = (lo_edge + hi_edge) * 0.5f;
  if (s == distribution_scenario::same) return centre;
  // numpy: |c| / c, with the NaN of c = 0 replaced by 1, so 0 stays 0.
  const float sign = centre < 0.0f ? -1.0f : 1.0f;
  return std::pow(std::fabs(centre), static_cast<float>(1.0 / 3.0)) * sign;
}

// The 254 finite E4M3FN values, in code order (0x00 .. 0xFE without the NaNs 0x7F and 0xFF).
inline std::vector<float> e4m3fn_finite_values() {
  std::vector<float> values;
  values.reserve(254);
  for (unsigned code = 0; code < 256; ++code) {
    const unsigned exponent = (code >> 3) & 0xFu;
    const unsigned mantissa = code & 0x7u;
    if (exponent == 0xFu && mantissa == 0x7u) continue;
    const float magnitude = exponent == 0 ? std::ldexp(static_cast<float>(mantissa), -9)
                                          : std::ldexp(1.0f + static_cast<float>(mantissa) / 8.0f,
                                                       static_cast<int>(exponent) - 7);
    values.push_back((code & 0x80u) != 0 ? -magnitude : magnitude);
  }
  return values;
}

// numpy.std of those values, as ORT's compute_scale_zp_float8 computes it: float32 throughout,
// the mean and the mean square by numpy's pairwise sums.
inline float e4m3fn_deviation() {
  std::vector<float> v = e4m3fn_finite_values();
  const auto n = static_cast<float>(v.size());
  const float mean = numpy_sum(v) / n;
  for (float& x : v) {
    const float d = x - mean;
    x = d * d;
  }
  return std::sqrt(numpy_sum(v) / n);
}

}  // namespace detail

// ORT's HistogramCollector.compute_distribution (onnxruntime/python/tools/quantization/
// calibrate.py, commit b15ffcdd) on a value histogram: over the bin centres of numpy's float32
// edges (c, or sign(c) |c|^(1/3) for p3), mean = sum(n_k c_k) / N and
// deviation = (sum(n_k c_k^2) / N - mean^2)^(1/2), the sums in double as numpy's pairwise sums
// and both results rounded to float32. On ORT's own histogram (symmetric_entropy_histogram, or the
// counts ORT merged, wrapped by histogram::from_counts over [-t, t]) it equals ORT's result bit
// for bit. Where the variance rounds below 0 (a single occupied bin, or squares that underflow
// float32), ORT's deviation is NaN and quanta's is 0. Throws for a magnitude histogram or one
// that has counted nothing.
inline distribution_statistics onnxruntime_distribution(
    const histogram& h, distribution_scenario scenario = distribution_scenario::same) {
  constexpr const char* function = "onnxruntime_distribution";
  if (h.domain() != histogram_domain::value) {
    QUANTA_THROW(function,
                 ": a magnitude histogram; expected a value histogram (ORT's is over "
                 "[-t, t]: symmetric_entropy_histogram builds it)");
  }
  if (!(h.total() > 0.0)) {
    QUANTA_THROW(function, ": the histogram has counted nothing (total ", h.total(),
                 "); expected at least one value");
  }
  const std::size_t bins = h.bins();
  const span<const double> counts = h.counts();
  std::vector<double> weighted(bins), weighted_squares(bins);
  float lo_edge = static_cast<float>(detail::numpy_edge(h, 0));
  double total = 0.0;
  for (std::size_t k = 0; k < bins; ++k) {
    const auto hi_edge = static_cast<float>(detail::numpy_edge(h, k + 1));
    const float v = detail::distribution_value(lo_edge, hi_edge, scenario);
    weighted[k] = detail::rounded_product(counts[k], static_cast<double>(v));
    weighted_squares[k] = detail::rounded_product(counts[k], static_cast<double>(v * v));
    total += counts[k];
    lo_edge = hi_edge;
  }
  const double mean = detail::numpy_sum(weighted) / total;
  const double variance =
      detail::numpy_sum(weighted_squares) / total - detail::rounded_product(mean, mean);
  distribution_statistics result;
  result.mean = static_cast<float>(mean);
  result.deviation = variance > 0.0 ? static_cast<float>(std::pow(variance, 0.5)) : 0.0f;
  return result;
}

// The float8 E4M3FN scale ORT's quantizer derives from a deviation (compute_scale_zp_float8, the
// zero point being 0): deviation / d8 in float32, d8 = numpy.std of the 254 finite E4M3FN values
// (about 100.06). A deviation of 0 (or one so small that the quotient is 0) gives 1, where ORT's
// scale would be 0, which no QuantizeLinear accepts. Throws for a negative or non-finite
// deviation.
inline float onnxruntime_float8_scale(float deviation) {
  if (!(deviation >= 0.0f) || !std::isfinite(deviation)) {
    QUANTA_THROW("onnxruntime_float8_scale: deviation is ", deviation,
                 "; expected a finite value >= 0");
  }
  static const float d8 = detail::e4m3fn_deviation();
  const float scale = deviation / d8;
  return scale > 0.0f ? scale : 1.0f;
}

}  // namespace quanta
