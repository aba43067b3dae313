// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "quanta/encoding.hpp"
#include "quanta/error.hpp"
#include "quanta/span.hpp"

// Weight transforms that prepare a float model for quantization without changing what it computes:
// batch-norm folding, cross-layer equalization (Nagel et al., "Data-Free Quantization Through
// Weight Equalization and Bias Correction", 2019) and high-bias absorption. The host matches the
// layers in its graph and passes their raw weights; quanta never sees the graph.
// docs/equalization.md states the formulas, the degenerate cases and what each peer does.
//
// The dense math is plain loops over strided windows of the caller's buffers, in a fixed order, so
// that results do not depend on the instruction set a translation unit is built for.
namespace quanta {

// How a weight tensor is laid out. Spatial dimensions may be any number (conv1d, conv2d, conv3d).
enum class weight_layout {
  oihw,    // [out, in / groups, spatial...]: PyTorch, ONNX. Depthwise: [C, 1, kh, kw], groups C
  hwio,    // [spatial..., in / groups, out]: TensorFlow Conv2D; rank 2 is a Dense kernel [in, out]
  hwcm,    // [spatial..., C, 1]: TensorFlow DepthwiseConv2dNative with channel multiplier 1
  linear,  // [out, in]: PyTorch Linear, ONNX Gemm with transB = 1 (oihw without spatial dims)
};

// A weight tensor in the caller's memory. groups is 1, or (for oihw and hwio) the channel count of
// a depthwise convolution; other grouped convolutions are rejected. hwcm is depthwise by its
// layout and takes groups 1 or C.
template <class T>
struct basic_weight_view {
  span<T> data;
  weight_layout layout = weight_layout::oihw;
  std::vector<std::int64_t> shape;
  std::int64_t groups = 1;
};
using weight_view = basic_weight_view<float>;
using const_weight_view = basic_weight_view<const float>;

// A layer the transforms may rewrite: its weights and its bias (empty when it has none).
struct layer_view {
  weight_view weight;
  span<float> bias;
};

// The statistics and affine parameters of a batch normalization:
// y = gamma * (x - mean) / sqrt(variance + epsilon) + beta, one entry per channel.
struct batch_norm {
  span<const float> gamma;
  span<const float> beta;
  span<const float> mean;
  span<const float> variance;
  float epsilon = 1e-5f;  // PyTorch's default; TensorFlow's is 1e-3
};

// An activation of the form clamp(x, lo, hi): none, ReLU, ReLU6 or a general clip.
struct clip_activation {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();

  static constexpr clip_activation none() noexcept { return {}; }
  static constexpr clip_activation relu() noexcept {
    return {0.0, std::numeric_limits<double>::infinity()};
  }
  static constexpr clip_activation relu6() noexcept { return {0.0, 6.0}; }
  static constexpr clip_activation clip(double lo, double hi) noexcept { return {lo, hi}; }
};

// Cross-layer equalization of a chain: each sweep equalizes every adjacent pair once, front to
// back. AIMET runs one sweep; the paper repeats until the scales stop changing.
struct equalize_options {
  int max_sweeps = 100;     // 1 reproduces AIMET's single pass
  double tolerance = 1e-5;  // converged once every scale of a sweep is within tolerance of 1
};

struct chain_equalization {
  // scales[k][c]: what channel c between layers[k] and layers[k + 1] was divided by in layers[k]
  // and multiplied by in layers[k + 1], the product over all sweeps.
  std::vector<std::vector<float>> scales;
  int sweeps = 0;
  bool converged = false;
};

// The two scale vectors of a depthwise-separable block conv -> depthwise -> conv.
struct depthwise_separable_scales {
  std::vector<float> first;   // S12: between the first conv and the depthwise conv
  std::vector<float> second;  // S23: between the depthwise conv and the last conv
};

namespace detail {

// Every layout seen as element (o, j, t) at o * out_stride + j * in_stride + t * tap_stride, with
// o the output channel, j the input channel inside its group (always 0 for depthwise) and t the
// kernel tap. A depthwise layer's input channel c is its output channel c.
struct weight_geometry {
  std::size_t out = 1;
  std::size_t fan_in = 1;
  std::size_t taps = 1;
  std::size_t out_stride = 1;
  std::size_t in_stride = 1;
  std::size_t tap_stride = 1;
  bool depthwise = false;

  std::size_t in_channels() const noexcept { return depthwise ? out : fan_in; }
};

inline const char* layout_name(weight_layout layout) noexcept {
  switch (layout) {
    case weight_layout::oihw:
      return "oihw";
    case weight_layout::hwio:
      return "hwio";
    case weight_layout::hwcm:
      return "hwcm";
    case weight_layout::linear:
      return "linear";
  }
  return "?";
}

inline std::string weight_shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t d = 0; d < shape.size(); ++d) {
    s += (d == 0 ? "" : ", ") + std::to_string(shape[d]);
  }
  return s + "]";
}

// Validates a weight view and describes it. `name` is the argument ("first.weight", ...).
template <class T>
weight_geometry describe_weights(const char* function, const std::string& name,
                                 const basic_weight_view<T>& w) {
  const auto rank = w.shape.size();
  const char* layout = layout_name(w.layout);
  std::size_t min_rank = 2;
  std::size_t max_rank = std::numeric_limits<std::size_t>::max();
  if (w.layout == weight_layout::hwcm) min_rank = 3;
  if (w.layout == weight_layout::linear) max_rank = 2;
  if (w.layout != weight_layout::oihw && w.layout != weight_layout::hwio &&
      w.layout != weight_layout::hwcm && w.layout != weight_layout::linear) {
    QUANTA_THROW(function, ": ", name, ".layout is ", static_cast<int>(w.layout),
                 "; expected oihw, hwio, hwcm or linear");
  }
  if (rank < min_rank || rank > max_rank) {
    QUANTA_THROW(function, ": ", name, ".shape is ", weight_shape_string(w.shape), " (rank ", rank,
                 "); expected rank ", min_rank, max_rank == 2 ? "" : " or more", " for layout ",
                 layout);
  }
  std::size_t count = 1;
  for (std::size_t d = 0; d < rank; ++d) {
    if (w.shape[d] < 1) {
      QUANTA_THROW(function, ": ", name, ".shape is ", weight_shape_string(w.shape),
                   "; expected sizes >= 1");
    }
    count = checked_product(function, count, static_cast<std::size_t>(w.shape[d]));
  }
  if (count != w.data.size()) {
    QUANTA_THROW(function, ": ", name, ".data has ", w.data.size(), " elements but shape ",
                 weight_shape_string(w.shape), " describes ", count, "; expected equal sizes");
  }
  const auto extent = [&](std::size_t d) { return static_cast<std::size_t>(w.shape[d]); };
  weight_geometry g;
  if (w.layout == weight_layout::oihw || w.layout == weight_layout::linear) {
    g.out = extent(0);
    g.fan_in = extent(1);
    g.taps = count / (g.out * g.fan_in);
    g.out_stride = g.fan_in * g.taps;
    g.in_stride = g.taps;
    g.tap_stride = 1;
  } else if (w.layout == weight_layout::hwio) {
    g.out = extent(rank - 1);
    g.fan_in = extent(rank - 2);
    g.taps = count / (g.out * g.fan_in);
    g.out_stride = 1;
    g.in_stride = g.out;
    g.tap_stride = g.fan_in * g.out;
  } else {  // hwcm
    if (extent(rank - 1) != 1) {
      QUANTA_THROW(function, ": ", name, ".shape is ", weight_shape_string(w.shape),
                   " with channel multiplier ", extent(rank - 1),
                   "; expected multiplier 1 (a multiplier > 1 is a grouped convolution)");
    }
    g.out = extent(rank - 2);
    g.taps = count / g.out;
    g.out_stride = 1;
    g.tap_stride = g.out;
    g.depthwise = true;
    if (w.groups != 1 && w.groups != w.shape[rank - 2]) {
      QUANTA_THROW(function, ": ", name, ".groups is ", w.groups, "; expected 1 or ", g.out,
                   " (hwcm is depthwise by its layout)");
    }
    return g;
  }
  if (w.groups == 1) return g;
  const bool depthwise = w.layout != weight_layout::linear && g.fan_in == 1 &&
                         w.groups == static_cast<std::int64_t>(g.out);
  if (!depthwise) {
    QUANTA_THROW(function, ": ", name, ".groups is ", w.groups, " for shape ",
                 weight_shape_string(w.shape), " (", layout, ", ", g.out, " output channels, ",
                 g.fan_in,
                 " input channels per group); expected groups 1, or a depthwise convolution "
                 "(groups == output channels, 1 input channel per group)");
  }
  g.depthwise = true;
  return g;
}

// A strided 2-D window onto a weight tensor: rows x columns, element (r, c) at
// data[r * row_stride + c * column_stride].
template <class T>
struct weight_window {
  T* data;
  std::size_t rows, columns, row_stride, column_stride;

  // f(element) for every element, row by row, each row in column order.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < columns; ++c)
        f(data[r * row_stride + c * column_stride]);
  }

  void divide(float s) const noexcept {
    for_each([s](T& v) { v /= s; });
  }
  void multiply(float s) const noexcept {
    for_each([s](T& v) { v *= s; });
  }

  // max |w|; NaN when the window holds a NaN.
  double abs_max() const noexcept {
    float m = 0.0f;
    bool nan = false;
    for_each([&](float v) {
      const float a = std::fabs(v);
      if (std::isnan(a)) {
        nan = true;
      } else if (a > m) {
        m = a;
      }
    });
    return nan ? std::numeric_limits<double>::quiet_NaN() : static_cast<double>(m);
  }
};

// The weights of output channel o: fan_in rows by taps columns.
template <class T>
weight_window<T> output_channel(T* data, const weight_geometry& g, std::size_t o) noexcept {
  return {data + o * g.out_stride, g.fan_in, g.taps, g.in_stride, g.tap_stride};
}

// The weights that read input channel i: out rows by taps columns (one row for depthwise).
template <class T>
weight_window<T> input_channel(T* data, const weight_geometry& g, std::size_t i) noexcept {
  if (g.depthwise) return output_channel(data, g, i);
  return {data + i * g.in_stride, g.out, g.taps, g.out_stride, g.tap_stride};
}

// max |w| per channel; NaN when the channel holds a NaN.
inline std::vector<double> output_ranges(const float* data, const weight_geometry& g) {
  std::vector<double> r(g.out);
  for (std::size_t o = 0; o < g.out; ++o)
    r[o] = output_channel(data, g, o).abs_max();
  return r;
}

inline std::vector<double> input_ranges(const float* data, const weight_geometry& g) {
  std::vector<double> r(g.in_channels());
  for (std::size_t i = 0; i < r.size(); ++i)
    r[i] = input_channel(data, g, i).abs_max();
  return r;
}

// Sum over the kernel taps of each (output channel, input channel in group) pair, in double and in
// tap order: out x fan_in, row-major.
struct tap_sum_table {
  std::size_t columns = 0;
  std::vector<double> sums;
  double operator()(std::size_t o, std::size_t j) const noexcept { return sums[o * columns + j]; }
};

inline tap_sum_table tap_sums(const float* data, const weight_geometry& g) {
  tap_sum_table t{g.fan_in, std::vector<double>(g.out * g.fan_in)};
  for (std::size_t o = 0; o < g.out; ++o) {
    const weight_window<const float> w = output_channel(data, g, o);
    for (std::size_t j = 0; j < g.fan_in; ++j) {
      double sum = 0.0;
      for (std::size_t k = 0; k < g.taps; ++k)
        sum += static_cast<double>(w.data[j * w.row_stride + k * w.column_stride]);
      t.sums[o * g.fan_in + j] = sum;
    }
  }
  return t;
}

// A scale is used only when it is a finite normal float: a zero, NaN or infinite range (or a
// ratio float cannot hold) leaves the channel alone, so equalization never makes a NaN.
inline bool fits_scale(double s) noexcept {
  const auto f = static_cast<float>(s);
  return std::isnormal(f) && f > 0.0f;
}

inline float usable_scale(double s) noexcept {
  return fits_scale(s) ? static_cast<float>(s) : 1.0f;
}

inline bool usable_range(double r) noexcept {
  return std::isfinite(r) && r > 0.0;
}

// s = sqrt(r1 / r2): afterwards both ranges are sqrt(r1 r2).
inline std::vector<float> pair_scales(const std::vector<double>& r1,
                                      const std::vector<double>& r2) {
  std::vector<float> s(r1.size(), 1.0f);
  for (std::size_t c = 0; c < s.size(); ++c) {
    if (usable_range(r1[c]) && usable_range(r2[c])) s[c] = usable_scale(std::sqrt(r1[c] / r2[c]));
  }
  return s;
}

// Output channel c of `first` divided by s[c] (weights and bias), input channel c of `second`
// multiplied by it. ReLU and every other positive-homogeneous activation commute with s > 0.
inline void apply_pair_scales(const layer_view& first, const weight_geometry& g1,
                              const layer_view& second, const weight_geometry& g2,
                              const std::vector<float>& s) noexcept {
  for (std::size_t c = 0; c < s.size(); ++c) {
    if (s[c] == 1.0f) continue;
    output_channel(first.weight.data.data(), g1, c).divide(s[c]);
    if (!first.bias.empty()) first.bias[c] /= s[c];
    input_channel(second.weight.data.data(), g2, c).multiply(s[c]);
  }
}

inline void check_bias(const char* function, const std::string& name, std::size_t size,
                       std::size_t channels, bool required) {
  if (size == channels || (size == 0 && !required)) return;
  QUANTA_THROW(function, ": ", name, " has ", size, " elements; expected ", channels,
               required ? " (one per output channel; pass zeros for a layer without a bias)"
                        : " (one per output channel) or 0 (no bias)");
}

inline void check_connection(const char* function, const std::string& from,
                             const weight_geometry& a, const std::string& to,
                             const weight_geometry& b) {
  if (a.out != b.in_channels()) {
    QUANTA_THROW(function, ": ", to, " reads ", b.in_channels(), " input channels but ", from,
                 " writes ", a.out, " output channels; expected equal counts");
  }
}

inline weight_geometry describe_layer(const char* function, const std::string& name,
                                      const layer_view& l, bool bias_required) {
  const weight_geometry g = describe_weights(function, name + ".weight", l.weight);
  check_bias(function, name + ".bias", l.bias.size(), g.out, bias_required);
  return g;
}

inline void check_finite(const char* function, const char* name, span<const float> v,
                         std::size_t expected, const char* meaning) {
  if (v.size() != expected) {
    QUANTA_THROW(function, ": ", name, " has ", v.size(), " elements; expected ", expected, " (",
                 meaning, ")");
  }
  for (std::size_t c = 0; c < v.size(); ++c) {
    if (!std::isfinite(v[c])) {
      QUANTA_THROW(function, ": ", name, "[", c, "] is ", v[c], "; expected a finite value");
    }
  }
}

// gamma / sqrt(variance + epsilon) per channel, in double.
inline std::vector<double> batch_norm_factors(const char* function, const batch_norm& bn,
                                              std::size_t channels) {
  const char* meaning = "one per channel";
  check_finite(function, "bn.gamma", bn.gamma, channels, meaning);
  check_finite(function, "bn.beta", bn.beta, channels, meaning);
  check_finite(function, "bn.mean", bn.mean, channels, meaning);
  check_finite(function, "bn.variance", bn.variance, channels, meaning);
  if (!(std::isfinite(bn.epsilon) && bn.epsilon >= 0.0f)) {
    QUANTA_THROW(function, ": bn.epsilon is ", bn.epsilon, "; expected a finite value >= 0");
  }
  std::vector<double> factor(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    const double var = bn.variance[c];
    if (var < 0.0) {
      QUANTA_THROW(function, ": bn.variance[", c, "] is ", bn.variance[c],
                   "; expected a value >= 0");
    }
    const double sum = var + static_cast<double>(bn.epsilon);
    if (sum == 0.0) {
      QUANTA_THROW(function, ": bn.variance[", c, "] + bn.epsilon is 0; expected a value > 0");
    }
    factor[c] = static_cast<double>(bn.gamma[c]) / std::sqrt(sum);
  }
  return factor;
}

}  // namespace detail

// Folds a batch normalization into the convolution or linear layer before it:
// W' = W * gamma / sigma per output channel, b' = beta + (b - mean) * gamma / sigma, with
// sigma = sqrt(variance + epsilon). Computed in double, each result rounded to float once. bias
// must have one element per output channel (zeros for a layer that had no bias).
inline void fold_batch_norm(const weight_view& weight, span<float> bias, const batch_norm& bn) {
  constexpr const char* function = "fold_batch_norm";
  const detail::weight_geometry g = detail::describe_weights(function, "weight", weight);
  detail::check_bias(function, "bias", bias.size(), g.out, true);
  const std::vector<double> factor = detail::batch_norm_factors(function, bn, g.out);
  for (std::size_t o = 0; o < g.out; ++o) {
    const double f = factor[o];
    detail::output_channel(weight.data.data(), g, o).for_each([f](float& v) {
      v = static_cast<float>(static_cast<double>(v) * f);
    });
    const double shift = static_cast<double>(bias[o]) - static_cast<double>(bn.mean[o]);
    bias[o] = static_cast<float>(static_cast<double>(bn.beta[o]) + shift * factor[o]);
  }
}

// A batch normalization on its own as y = scale * x + shift per channel:
// scale = gamma / sigma, shift = beta - mean * gamma / sigma (double, rounded once).
inline void batch_norm_to_affine(const batch_norm& bn, span<float> scale, span<float> shift) {
  constexpr const char* function = "batch_norm_to_affine";
  const std::size_t channels = bn.gamma.size();
  if (scale.size() != channels || shift.size() != channels) {
    QUANTA_THROW(function, ": scale has ", scale.size(), " and shift ", shift.size(),
                 " elements; expected ", channels, " each (bn.gamma's size)");
  }
  const std::vector<double> factor = detail::batch_norm_factors(function, bn, channels);
  for (std::size_t c = 0; c < channels; ++c) {
    scale[c] = static_cast<float>(factor[c]);
    shift[c] = static_cast<float>(static_cast<double>(bn.beta[c]) -
                                  static_cast<double>(bn.mean[c]) * factor[c]);
  }
}

// Cross-layer equalization of two layers with a positive-homogeneous activation (none, ReLU,
// PReLU, LeakyReLU) between them: conv -> conv, conv -> linear, linear -> linear,
// depthwise -> conv. r1[c] = max |first's output channel c|, r2[c] = max |second's input channel
// c|, s[c] = sqrt(r1[c] / r2[c]) (1 when a range is 0, NaN or infinite). first's weights and
// bias are divided by s per output channel, second's weights multiplied per input channel;
// second.bias is not touched. Returns s. ReLU6 is not positive-homogeneous: replace it by ReLU
// first, as AIMET does.
inline std::vector<float> equalize_pair(const layer_view& first, const layer_view& second) {
  constexpr const char* function = "equalize_pair";
  const detail::weight_geometry g1 = detail::describe_layer(function, "first", first, false);
  const detail::weight_geometry g2 =
      detail::describe_weights(function, "second.weight", second.weight);
  detail::check_connection(function, "first", g1, "second", g2);
  const std::vector<float> s =
      detail::pair_scales(detail::output_ranges(first.weight.data.data(), g1),
                          detail::input_ranges(second.weight.data.data(), g2));
  detail::apply_pair_scales(first, g1, second, g2, s);
  return s;
}

// Cross-layer equalization of a depthwise-separable block conv -> depthwise -> conv in closed
// form (AIMET): with r1, r2, r3 the channel ranges of the three layers and c = cbrt(r1 r2 r3),
// S12 = r1 / c and S23 = c / r3; W1 and b1 are divided by S12, the depthwise weights multiplied by
// S12 / S23 and its bias divided by S23, W3's input channels multiplied by S23. All three ranges
// become c. A channel with any range 0, NaN or infinite keeps scales 1.
inline depthwise_separable_scales equalize_depthwise_separable(const layer_view& conv,
                                                               const layer_view& depthwise,
                                                               const layer_view& pointwise) {
  constexpr const char* function = "equalize_depthwise_separable";
  const detail::weight_geometry g1 = detail::describe_layer(function, "conv", conv, false);
  const detail::weight_geometry g2 =
      detail::describe_layer(function, "depthwise", depthwise, false);
  const detail::weight_geometry g3 =
      detail::describe_weights(function, "pointwise.weight", pointwise.weight);
  if (!g2.depthwise) {
    QUANTA_THROW(function, ": depthwise.weight is not a depthwise convolution (",
                 detail::layout_name(depthwise.weight.layout), " ",
                 detail::weight_shape_string(depthwise.weight.shape), ", groups ",
                 depthwise.weight.groups,
                 "); expected groups == channels with one input channel per group, or hwcm");
  }
  detail::check_connection(function, "conv", g1, "depthwise", g2);
  detail::check_connection(function, "depthwise", g2, "pointwise", g3);
  const std::vector<double> r1 = detail::output_ranges(conv.weight.data.data(), g1);
  const std::vector<double> r2 = detail::output_ranges(depthwise.weight.data.data(), g2);
  const std::vector<double> r3 = detail::input_ranges(pointwise.weight.data.data(), g3);
  depthwise_separable_scales s{std::vector<float>(g2.out, 1.0f), std::vector<float>(g2.out, 1.0f)};
  for (std::size_t c = 0; c < g2.out; ++c) {
    if (!(detail::usable_range(r1[c]) && detail::usable_range(r2[c]) &&
          detail::usable_range(r3[c]))) {
      continue;
    }
    const double cube_root = std::cbrt(r1[c] * r2[c] * r3[c]);
    const double s12 = r1[c] / cube_root;
    const double s23 = cube_root / r3[c];
    // All three factors must fit a float, or the channel is left alone rather than half scaled.
    if (!detail::fits_scale(s12) || !detail::fits_scale(s23) || !detail::fits_scale(s12 / s23)) {
      continue;
    }
    s.first[c] = static_cast<float>(s12);
    s.second[c] = static_cast<float>(s23);
    const auto middle =
        static_cast<float>(static_cast<double>(s.first[c]) / static_cast<double>(s.second[c]));
    detail::output_channel(conv.weight.data.data(), g1, c).divide(s.first[c]);
    if (!conv.bias.empty()) conv.bias[c] /= s.first[c];
    detail::output_channel(depthwise.weight.data.data(), g2, c).multiply(middle);
    if (!depthwise.bias.empty()) depthwise.bias[c] /= s.second[c];
    detail::input_channel(pointwise.weight.data.data(), g3, c).multiply(s.second[c]);
  }
  return s;
}

// Cross-layer equalization of a chain layers[0] -> layers[1] -> ... with positive-homogeneous
// activations between them. Each sweep equalizes every adjacent pair once, front to back, as
// equalize_pair does (a middle layer's bias is scaled with its output channels); sweeps repeat
// until every scale of a sweep is within options.tolerance of 1, or options.max_sweeps.
// A depthwise layer in the chain shares its input and output channels, so conv -> depthwise ->
// conv converges to the closed form of equalize_depthwise_separable.
inline chain_equalization equalize_chain(span<const layer_view> layers,
                                         const equalize_options& options = {}) {
  constexpr const char* function = "equalize_chain";
  if (layers.size() < 2) {
    QUANTA_THROW(function, ": layers has ", layers.size(), " elements; expected 2 or more");
  }
  if (options.max_sweeps < 1) {
    QUANTA_THROW(function, ": options.max_sweeps is ", options.max_sweeps, "; expected >= 1");
  }
  if (!(std::isfinite(options.tolerance) && options.tolerance >= 0.0)) {
    QUANTA_THROW(function, ": options.tolerance is ", options.tolerance,
                 "; expected a finite value >= 0");
  }
  std::vector<detail::weight_geometry> g;
  g.reserve(layers.size());
  for (std::size_t k = 0; k < layers.size(); ++k) {
    g.push_back(
        detail::describe_layer(function, detail::message("layers[", k, "]"), layers[k], false));
    if (k > 0) {
      detail::check_connection(function, detail::message("layers[", k - 1, "]"), g[k - 1],
                               detail::message("layers[", k, "]"), g[k]);
    }
  }
  chain_equalization result;
  std::vector<std::vector<double>> total(layers.size() - 1);
  for (std::size_t k = 0; k + 1 < layers.size(); ++k)
    total[k].assign(g[k].out, 1.0);
  while (result.sweeps < options.max_sweeps && !result.converged) {
    double largest_change = 0.0;
    for (std::size_t k = 0; k + 1 < layers.size(); ++k) {
      const std::vector<float> s =
          detail::pair_scales(detail::output_ranges(layers[k].weight.data.data(), g[k]),
                              detail::input_ranges(layers[k + 1].weight.data.data(), g[k + 1]));
      detail::apply_pair_scales(layers[k], g[k], layers[k + 1], g[k + 1], s);
      for (std::size_t c = 0; c < s.size(); ++c) {
        total[k][c] *= static_cast<double>(s[c]);
        largest_change = std::max(largest_change, std::fabs(static_cast<double>(s[c]) - 1.0));
      }
    }
    ++result.sweeps;
    result.converged = largest_change <= options.tolerance;
  }
  result.scales.reserve(total.size());
  for (const std::vector<double>& t : total) {
    result.scales.emplace_back(t.size());
    for (std::size_t c = 0; c < t.size(); ++c)
      result.scales.back()[c] = static_cast<float>(t[c]);
  }
  return result;
}

// High-bias absorption (the paper's section 4.1): moves the part c of first's bias that the
// activation passes through unchanged into second's bias. gamma and beta are the batch
// normalization that was folded into first (its output is about N(beta, gamma^2) per channel);
// when first was equalized afterwards, pass the scales it was divided by in cle_scales (empty:
// none) and gamma and beta are divided by them. c = max(0, beta - 3 |gamma|) when a ReLU follows
// first, c = beta when no activation does. first_bias -= c, second.bias += (sum over taps of
// second's weights) . c. Returns c. Exact for no activation; for ReLU exact for inputs above
// beta - 3|gamma| (99.87% of a normal) and away from zero-padded borders.
inline std::vector<float> absorb_high_bias(span<float> first_bias, const layer_view& second,
                                           span<const float> gamma, span<const float> beta,
                                           span<const float> cle_scales,
                                           const clip_activation& between) {
  constexpr const char* function = "absorb_high_bias";
  const detail::weight_geometry g = detail::describe_layer(function, "second", second, true);
  const std::size_t channels = g.in_channels();
  detail::check_bias(function, "first_bias", first_bias.size(), channels, true);
  detail::check_finite(function, "gamma", gamma, channels, "one per channel between the layers");
  detail::check_finite(function, "beta", beta, channels, "one per channel between the layers");
  if (!cle_scales.empty()) {
    detail::check_finite(function, "cle_scales", cle_scales, channels,
                         "one per channel between the layers, or none");
    for (std::size_t c = 0; c < channels; ++c) {
      if (!(cle_scales[c] > 0.0f)) {
        QUANTA_THROW(function, ": cle_scales[", c, "] is ", cle_scales[c],
                     "; expected a value > 0");
      }
    }
  }
  const bool relu = between.lo == 0.0 && between.hi == std::numeric_limits<double>::infinity();
  const bool identity = between.lo == -std::numeric_limits<double>::infinity() &&
                        between.hi == std::numeric_limits<double>::infinity();
  if (!relu && !identity) {
    QUANTA_THROW(function, ": between is clip [", between.lo, ", ", between.hi,
                 "]; expected none or relu (absorbing through a clip would move its bounds)");
  }
  std::vector<float> absorbed(channels, 0.0f);
  std::vector<double> amounts(channels, 0.0);
  for (std::size_t c = 0; c < channels; ++c) {
    const double s = cle_scales.empty() ? 1.0 : static_cast<double>(cle_scales[c]);
    const double b = static_cast<double>(beta[c]) / s;
    const double spread = 3.0 * std::fabs(static_cast<double>(gamma[c]) / s);
    const auto amount = static_cast<float>(relu ? std::max(0.0, b - spread) : b);
    absorbed[c] = amount;
    amounts[c] = static_cast<double>(amount);
  }
  const detail::tap_sum_table sums = detail::tap_sums(second.weight.data.data(), g);
  for (std::size_t o = 0; o < g.out; ++o) {
    // Terms with c == 0 are skipped, so an infinite weight never meets a zero (inf * 0 = NaN).
    double shift = 0.0;
    for (std::size_t j = 0; j < g.fan_in; ++j) {
      const std::size_t c = g.depthwise ? o : j;
      const double amount = amounts[c];
      if (amount != 0.0) shift += sums(o, j) * amount;
    }
    second.bias[o] = static_cast<float>(static_cast<double>(second.bias[o]) + shift);
  }
  for (std::size_t c = 0; c < channels; ++c)
    first_bias[c] -= absorbed[c];
  return absorbed;
}

}  // namespace quanta
