// Normally distributed test inputs, the same for a given seed on every host.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace quanta::test {

inline std::vector<float> random_floats(std::size_t n, std::uint32_t seed, float stddev = 1.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> x(n);
  for (auto& v : x)
    v = dist(gen);
  return x;
}

}  // namespace quanta::test
