// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "quanta/encoding.hpp"
#include "quanta/equalize.hpp"
#include "quanta/error.hpp"
#include "quanta/span.hpp"

// Bias correction: quantizing weights shifts the mean of a layer's output by
// E[(W_q - W) x] = (W_q - W) E[x] per output channel; subtracting that shift from the bias removes
// the error's mean. Analytical: E[x] from the batch normalization before the layer (Nagel et al.,
// 2019, section 4.2). Empirical: the mean output of the float and the quantized model over
// calibration data (AIMET's bias correction). docs/equalization.md states the formulas.
namespace quanta {

namespace detail {

inline void check_activation(const char* function, const clip_activation& f) {
  if (std::isnan(f.lo) || std::isnan(f.hi) || f.lo > f.hi ||
      f.lo == std::numeric_limits<double>::infinity() ||
      f.hi == -std::numeric_limits<double>::infinity()) {
    QUANTA_THROW(function, ": activation is clip [", f.lo, ", ", f.hi,
                 "]; expected lo <= hi, lo < +inf and hi > -inf");
  }
}

// Phi(z) and 1 - Phi(z) through erfc, so that neither tail cancels.
inline double normal_cdf(double z) noexcept {
  return 0.5 * std::erfc(-z / std::sqrt(2.0));
}
inline double normal_tail(double z) noexcept {
  return 0.5 * std::erfc(z / std::sqrt(2.0));
}
inline double normal_pdf(double z) noexcept {
  constexpr double inv_sqrt_2pi = 0.398942280401432677939946059934;
  return std::isinf(z) ? 0.0 : inv_sqrt_2pi * std::exp(-0.5 * z * z);
}

// E[clamp(X, lo, hi)] for X ~ N(mean, stddev^2), arguments already checked.
inline double clipped_normal_mean(double mean, double stddev, const clip_activation& f) noexcept {
  if (stddev == 0.0) return std::min(std::max(mean, f.lo), f.hi);
  const double a = (f.lo - mean) / stddev;
  const double b = (f.hi - mean) / stddev;
  // P(lo < X < hi), from whichever side keeps the difference of two small numbers.
  const double inside = a > 0.0 ? normal_tail(a) - normal_tail(b) : normal_cdf(b) - normal_cdf(a);
  double e = mean * inside + stddev * (normal_pdf(a) - normal_pdf(b));
  if (std::isfinite(f.lo)) e += f.lo * normal_cdf(a);
  if (std::isfinite(f.hi)) e += f.hi * normal_tail(b);
  return e;
}

inline void check_sample_layout(const char* function, const char* name, span<const float> output,
                                const channel_layout& layout, std::size_t channels) {
  if (layout.channels != channels) {
    QUANTA_THROW(function, ": layout has ", layout.channels, " channels; expected ", channels,
                 " (as constructed)");
  }
  const std::size_t expected = checked_product(
      function, checked_product(function, layout.outer, layout.channels), layout.inner);
  if (expected != output.size()) {
    QUANTA_THROW(function, ": ", name, " has ", output.size(), " elements but the layout [outer ",
                 layout.outer, ", channels ", layout.channels, ", inner ", layout.inner,
                 "] describes ", expected, "; expected equal sizes");
  }
}

// sums[c] += the values of channel c, in double.
inline void accumulate_channels(span<const float> output, const channel_layout& layout,
                                std::vector<double>& sums) noexcept {
  if (output.empty()) return;
  for (std::size_t c = 0; c < layout.channels; ++c) {
    // One sum per call, in memory order, then added to the running sum.
    double sum = 0.0;
    for (std::size_t o = 0; o < layout.outer; ++o) {
      const float* row = output.data() + (o * layout.channels + c) * layout.inner;
      for (std::size_t k = 0; k < layout.inner; ++k)
        sum += static_cast<double>(row[k]);
    }
    sums[c] += sum;
  }
}

}  // namespace detail

// E[clamp(X, lo, hi)] for X ~ N(mean, stddev^2), in double:
// lo Phi(a) + mean (Phi(b) - Phi(a)) + stddev (phi(a) - phi(b)) + hi (1 - Phi(b)) with
// a = (lo - mean) / stddev, b = (hi - mean) / stddev; the terms of an infinite bound are 0.
// stddev 0 gives clamp(mean, lo, hi).
inline double expected_clipped_normal(double mean, double stddev, const clip_activation& f) {
  constexpr const char* function = "expected_clipped_normal";
  if (!std::isfinite(mean)) QUANTA_THROW(function, ": mean is ", mean, "; expected a finite value");
  if (!(std::isfinite(stddev) && stddev >= 0.0)) {
    QUANTA_THROW(function, ": stddev is ", stddev, "; expected a finite value >= 0");
  }
  detail::check_activation(function, f);
  return detail::clipped_normal_mean(mean, stddev, f);
}

// Analytical bias correction (data-free). The layer's input channel i, before the activation f, is
// about N(input_mean[i], input_stddev[i]^2): the beta and |gamma| of the batch normalization
// folded into the layer before (divided by the CLE scales when that layer was equalized).
// bias[o] -= sum_i (sum over taps of (quantized_weight - weight)[o, i]) * E[f(x_i)], in double:
// a matrix-vector product for a convolution or linear layer, elementwise for a depthwise one.
// quantized_weight is the quantize-dequantized weight in weight's layout.
inline void correct_bias_analytical(const const_weight_view& weight,
                                    span<const float> quantized_weight,
                                    span<const float> input_mean, span<const float> input_stddev,
                                    const clip_activation& f, span<float> bias) {
  constexpr const char* function = "correct_bias_analytical";
  const detail::weight_geometry g = detail::describe_weights(function, "weight", weight);
  if (quantized_weight.size() != weight.data.size()) {
    QUANTA_THROW(function, ": quantized_weight has ", quantized_weight.size(),
                 " elements but weight has ", weight.data.size(), "; expected equal sizes");
  }
  detail::check_bias(function, "bias", bias.size(), g.out, true);
  const std::size_t channels = g.in_channels();
  detail::check_finite(function, "input_mean", input_mean, channels, "one per input channel");
  detail::check_finite(function, "input_stddev", input_stddev, channels, "one per input channel");
  for (std::size_t i = 0; i < channels; ++i) {
    if (input_stddev[i] < 0.0f) {
      QUANTA_THROW(function, ": input_stddev[", i, "] is ", input_stddev[i],
                   "; expected a value >= 0 (pass |gamma| of a batch normalization)");
    }
  }
  detail::check_activation(function, f);
  std::vector<double> expected(channels);
  for (std::size_t i = 0; i < channels; ++i)
    expected[i] = detail::clipped_normal_mean(input_mean[i], input_stddev[i], f);
  const detail::tap_sum_table quantized = detail::tap_sums(quantized_weight.data(), g);
  const detail::tap_sum_table original = detail::tap_sums(weight.data.data(), g);
  for (std::size_t o = 0; o < g.out; ++o) {
    // The matrix-vector product in input-channel order (one term for depthwise).
    double shift = 0.0;
    for (std::size_t j = 0; j < g.fan_in; ++j) {
      const double error = quantized(o, j) - original(o, j);
      shift += error * expected[g.depthwise ? o : j];
    }
    bias[o] = static_cast<float>(static_cast<double>(bias[o]) - shift);
  }
}

// Empirical bias correction: accumulates the pre-activation outputs of one layer in the float
// model and in the quantized model over the same calibration batches, then subtracts the mean
// error per channel (over N and the spatial positions) from the bias. Sums are in double.
// A batch is a row-major tensor seen as [outer, channels, inner]: NCHW is
// channel_layout::from_shape(shape, 1), NHWC from_shape(shape, -1).
class empirical_bias_correction {
 public:
  explicit empirical_bias_correction(std::size_t channels)
      : float_sums_(channels, 0.0), quantized_sums_(channels, 0.0) {
    if (channels == 0) {
      QUANTA_THROW("empirical_bias_correction: channels is 0; expected at least 1");
    }
  }

  std::size_t channels() const noexcept { return float_sums_.size(); }
  // Values seen per channel.
  std::uint64_t float_count() const noexcept { return float_count_; }
  std::uint64_t quantized_count() const noexcept { return quantized_count_; }

  // A batch of the float model's output and the same batch through the quantized model.
  void add(span<const float> float_output, span<const float> quantized_output,
           const channel_layout& layout) {
    constexpr const char* function = "empirical_bias_correction::add";
    detail::check_sample_layout(function, "float_output", float_output, layout, channels());
    detail::check_sample_layout(function, "quantized_output", quantized_output, layout, channels());
    accumulate(float_output, layout, float_sums_, float_count_);
    accumulate(quantized_output, layout, quantized_sums_, quantized_count_);
  }

  // The two models may also be run in separate passes over the same batches.
  void add_float(span<const float> output, const channel_layout& layout) {
    detail::check_sample_layout("empirical_bias_correction::add_float", "output", output, layout,
                                channels());
    accumulate(output, layout, float_sums_, float_count_);
  }
  void add_quantized(span<const float> output, const channel_layout& layout) {
    detail::check_sample_layout("empirical_bias_correction::add_quantized", "output", output,
                                layout, channels());
    accumulate(output, layout, quantized_sums_, quantized_count_);
  }

  // E[quantized] - E[float] per channel; all zeros before the first batch.
  std::vector<double> mean_error() const {
    check_counts("empirical_bias_correction::mean_error");
    std::vector<double> error(channels(), 0.0);
    if (float_count_ == 0) return error;
    const auto n = static_cast<double>(float_count_);
    for (std::size_t c = 0; c < error.size(); ++c) {
      error[c] = quantized_sums_[c] / n - float_sums_[c] / n;
    }
    return error;
  }

  // bias[c] -= mean_error()[c], in double, rounded once.
  void correct(span<float> bias) const {
    constexpr const char* function = "empirical_bias_correction::correct";
    detail::check_bias(function, "bias", bias.size(), channels(), true);
    check_counts(function);
    const std::vector<double> error = mean_error();
    for (std::size_t c = 0; c < bias.size(); ++c) {
      bias[c] = static_cast<float>(static_cast<double>(bias[c]) - error[c]);
    }
  }

 private:
  static void accumulate(span<const float> output, const channel_layout& layout,
                         std::vector<double>& sums, std::uint64_t& count) noexcept {
    detail::accumulate_channels(output, layout, sums);
    count += static_cast<std::uint64_t>(layout.outer) * static_cast<std::uint64_t>(layout.inner);
  }

  void check_counts(const char* function) const {
    if (float_count_ != quantized_count_) {
      QUANTA_THROW(function, ": ", float_count_, " float values per channel but ", quantized_count_,
                   " quantized; expected equal counts (the same batches through both models)");
    }
  }

  std::vector<double> float_sums_;
  std::vector<double> quantized_sums_;
  std::uint64_t float_count_ = 0;
  std::uint64_t quantized_count_ = 0;
};

}  // namespace quanta
