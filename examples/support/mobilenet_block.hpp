// The MobileNet-style block the examples share: conv 1x1 -> BN -> ReLU -> depthwise 3x3 -> BN ->
// ReLU -> conv 1x1 -> BN, with trained-looking random weights and plain loops for the forward pass.
// Small enough to run in milliseconds, with the channel-range disparity that makes per-tensor
// weight quantization fail on real MobileNets.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include <quanta/encoding.hpp>
#include <quanta/equalize.hpp>
#include <quanta/quantize.hpp>
#include <quanta/reduce.hpp>

namespace example {

inline constexpr std::size_t in_channels = 16, channels = 32, out_channels = 24, side = 12;

struct layer {
  std::vector<float> weight, bias;
  std::vector<std::int64_t> shape;  // OIHW
  std::int64_t groups = 1;
  quanta::weight_view view() { return {weight, quanta::weight_layout::oihw, shape, groups}; }
};

// One image, NCHW, stride 1, zero padding keeps the size (3x3 kernels pad by 1).
inline std::vector<float> conv(const std::vector<float>& x, const layer& l, bool relu) {
  const auto out = static_cast<std::size_t>(l.shape[0]);
  const auto fan_in = static_cast<std::size_t>(l.shape[1]);
  const auto k = static_cast<std::size_t>(l.shape[2]);
  const std::size_t pad = k / 2;
  std::vector<float> y(out * side * side);
  for (std::size_t o = 0; o < out; ++o) {
    const std::size_t first_input = l.groups == 1 ? 0 : o;
    for (std::size_t r = 0; r < side; ++r) {
      for (std::size_t c = 0; c < side; ++c) {
        double sum = l.bias[o];
        for (std::size_t j = 0; j < fan_in; ++j) {
          for (std::size_t ky = 0; ky < k; ++ky) {
            for (std::size_t kx = 0; kx < k; ++kx) {
              if (r + ky < pad || c + kx < pad || r + ky - pad >= side || c + kx - pad >= side) {
                continue;
              }
              const std::size_t input = first_input + j;
              const float w = l.weight[((o * fan_in + j) * k + ky) * k + kx];
              const float v = x[(input * side + r + ky - pad) * side + c + kx - pad];
              sum += static_cast<double>(w) * static_cast<double>(v);
            }
          }
        }
        const auto value = static_cast<float>(sum);
        y[(o * side + r) * side + c] = relu && value < 0.0f ? 0.0f : value;
      }
    }
  }
  return y;
}

inline std::vector<float> block(const std::vector<float>& x, const layer& a, const layer& b,
                                const layer& c) {
  return conv(conv(conv(x, a, true), b, true), c, false);
}

// Per-tensor 8-bit symmetric quantization, as most integer accelerators take weights.
inline std::vector<float> fake_quantize(const std::vector<float>& w) {
  quanta::encoding_options o;
  o.kind = quanta::scheme::symmetric;
  o.is_signed = true;
  std::vector<float> y(w.size());
  quanta::quantize_dequantize(w, quanta::compute_encoding(w, o), y);
  return y;
}

inline layer quantized(const layer& l) {
  layer q = l;
  q.weight = fake_quantize(l.weight);
  return q;
}

// A batch normalization with trained-looking statistics; gamma spans 10^-spread .. 10^spread.
// Returns gamma.
inline std::vector<float> fold_random_batch_norm(std::mt19937& rng, layer& l, double spread) {
  const auto n = static_cast<std::size_t>(l.shape[0]);
  std::uniform_real_distribution<double> exponent(-spread, spread);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> gamma(n), beta(n), mean(n), variance(n);
  for (std::size_t c = 0; c < n; ++c) {
    gamma[c] = static_cast<float>(std::pow(10.0, exponent(rng)));
    beta[c] = 0.5f * normal(rng);
    mean[c] = 0.1f * normal(rng);
    variance[c] = 0.5f + std::fabs(normal(rng));
  }
  quanta::fold_batch_norm(l.view(), l.bias, {gamma, beta, mean, variance});
  return gamma;
}

inline layer random_layer(std::mt19937& rng, std::int64_t out, std::int64_t fan_in, std::int64_t k,
                          std::int64_t groups) {
  layer l;
  l.shape = {out, fan_in, k, k};
  l.groups = groups;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  l.weight.resize(static_cast<std::size_t>(out * fan_in * k * k));
  for (float& w : l.weight)
    w = normal(rng) / std::sqrt(static_cast<float>(fan_in * k * k));
  l.bias.assign(static_cast<std::size_t>(out), 0.0f);
  return l;
}

// The block after batch-norm folding, with 4 decades of gamma in the depthwise layer's batch norm
// (the MobileNet problem). A trained network still uses its quiet channels: the projection leans
// on them harder.
struct block_layers {
  layer expand, depthwise, project;
};

inline block_layers make_block(std::mt19937& rng) {
  block_layers b{random_layer(rng, channels, in_channels, 1, 1),
                 random_layer(rng, channels, 1, 3, static_cast<std::int64_t>(channels)),
                 random_layer(rng, out_channels, channels, 1, 1)};
  fold_random_batch_norm(rng, b.expand, 0.5);
  const std::vector<float> gamma = fold_random_batch_norm(rng, b.depthwise, 2.0);
  for (std::size_t o = 0; o < out_channels; ++o) {
    for (std::size_t c = 0; c < channels; ++c)
      b.project.weight[o * channels + c] /= gamma[c];
  }
  fold_random_batch_norm(rng, b.project, 0.5);
  return b;
}

}  // namespace example
