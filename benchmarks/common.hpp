// What every benchmark of quantize and reduce shares: the sizes and the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace {

// In L1, L2, L3 and DRAM on the machine of docs/performance.md.
const std::int64_t sizes[] = {4096, 65536, 1 << 20, 1 << 24};

std::vector<float> data(std::size_t n) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  std::vector<float> x(n);
  for (auto& v : x)
    v = u(rng);
  return x;
}

}  // namespace
