// Cross-layer equalization of a MobileNet-style depthwise-separable block:
// conv 1x1 -> BN -> ReLU -> depthwise 3x3 -> BN -> ReLU -> conv 1x1 -> BN.
// After batch-norm folding the depthwise channels' weight ranges differ by orders of magnitude, so
// one 8-bit per-tensor encoding wastes almost all of its levels on a few channels. CLE moves the
// ranges into the neighbouring layers, where the ReLUs let them pass, and the block computes the
// same function with weights that quantize far better. Prints per-tensor 8-bit weight SQNR and
// the block's output SQNR with quantized weights, before and after.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include <quanta/encoding.hpp>
#include <quanta/equalize.hpp>
#include <quanta/metrics.hpp>
#include <quanta/quantize.hpp>

namespace {

constexpr std::size_t in_channels = 16, channels = 32, out_channels = 24, side = 12;

struct layer {
  std::vector<float> weight, bias;
  std::vector<std::int64_t> shape;  // OIHW
  std::int64_t groups = 1;
  quanta::weight_view view() { return {weight, quanta::weight_layout::oihw, shape, groups}; }
};

// One image, NCHW, stride 1, zero padding keeps the size (3x3 kernels pad by 1).
std::vector<float> conv(const std::vector<float>& x, const layer& l, bool relu) {
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

std::vector<float> block(const std::vector<float>& x, const layer& a, const layer& b,
                         const layer& c) {
  return conv(conv(conv(x, a, true), b, true), c, false);
}

// Per-tensor 8-bit symmetric quantization, as most integer accelerators take weights.
std::vector<float> fake_quantize(const std::vector<float>& w) {
  quanta::encoding_options o;
  o.kind = quanta::scheme::symmetric;
  o.is_signed = true;
  std::vector<float> y(w.size());
  quanta::quantize_dequantize(w, quanta::compute_encoding(w, o), y);
  return y;
}

layer quantized(const layer& l) {
  layer q = l;
  q.weight = fake_quantize(l.weight);
  return q;
}

// A batch normalization with trained-looking statistics; gamma spans 10^-spread .. 10^spread.
// Returns gamma.
std::vector<float> fold_random_batch_norm(std::mt19937& rng, layer& l, double spread) {
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

layer random_layer(std::mt19937& rng, std::int64_t out, std::int64_t fan_in, std::int64_t k,
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

// The SQNR of the depthwise channel that the per-tensor grid serves worst.
double worst_channel_sqnr(const layer& l) {
  const std::vector<float> q = fake_quantize(l.weight);
  const std::size_t per = l.weight.size() / static_cast<std::size_t>(l.shape[0]);
  double worst = std::numeric_limits<double>::infinity();
  for (std::size_t o = 0; o < static_cast<std::size_t>(l.shape[0]); ++o) {
    const quanta::span<const float> w(l.weight.data() + o * per, per);
    const quanta::span<const float> wq(q.data() + o * per, per);
    worst = std::min(worst, quanta::sqnr_db(w, wq));
  }
  return worst;
}

void report(const char* when, const std::vector<float>& x, const std::vector<float>& reference,
            const layer& a, const layer& b, const layer& c) {
  const auto weight_sqnr = [](const layer& l) {
    return quanta::sqnr_db(l.weight, fake_quantize(l.weight));
  };
  const std::vector<float> y = block(x, quantized(a), quantized(b), quantized(c));
  std::printf("%-18s %8.2f %10.2f %12.2f %9.2f %8.2f\n", when, weight_sqnr(a), weight_sqnr(b),
              worst_channel_sqnr(b), weight_sqnr(c), quanta::sqnr_db(reference, y));
}

}  // namespace

int main() {
  std::mt19937 rng(2019);
  layer expand = random_layer(rng, channels, in_channels, 1, 1);
  layer depthwise = random_layer(rng, channels, 1, 3, static_cast<std::int64_t>(channels));
  layer project = random_layer(rng, out_channels, channels, 1, 1);
  fold_random_batch_norm(rng, expand, 0.5);
  // The MobileNet problem: 4 decades of gamma in the depthwise layer's batch norm. A trained
  // network still uses its quiet channels: the projection leans on them harder.
  const std::vector<float> gamma = fold_random_batch_norm(rng, depthwise, 2.0);
  for (std::size_t o = 0; o < out_channels; ++o) {
    for (std::size_t c = 0; c < channels; ++c)
      project.weight[o * channels + c] /= gamma[c];
  }
  fold_random_batch_norm(rng, project, 0.5);

  std::vector<float> x(in_channels * side * side);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& v : x)
    v = normal(rng);
  const std::vector<float> reference = block(x, expand, depthwise, project);

  std::printf(
      "8-bit per-tensor SQNR (dB): weights of each layer, the worst depthwise channel,\n"
      "and the block's output with all three layers quantized\n");
  std::printf("%-18s %8s %10s %12s %9s %8s\n", "", "expand", "depthwise", "(worst ch.)", "project",
              "output");
  report("after BN folding", x, reference, expand, depthwise, project);

  const quanta::depthwise_separable_scales s = quanta::equalize_depthwise_separable(
      {expand.view(), expand.bias}, {depthwise.view(), depthwise.bias}, {project.view(), {}});
  report("after CLE", x, reference, expand, depthwise, project);

  // The equalized block still computes the same function in float.
  const std::vector<float> equalized = block(x, expand, depthwise, project);
  std::printf("float block after CLE vs before: SQNR %.1f dB\n",
              quanta::sqnr_db(reference, equalized));
  float smallest = s.first[0], largest = s.first[0];
  for (float v : s.first) {
    smallest = std::min(smallest, v);
    largest = std::max(largest, v);
  }
  std::printf("scales S12 between %.3g and %.3g\n", static_cast<double>(smallest),
              static_cast<double>(largest));
}
