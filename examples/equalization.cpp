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

#include "support/mobilenet_block.hpp"

namespace {

using namespace example;

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
  auto [expand, depthwise, project] = make_block(rng);

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
