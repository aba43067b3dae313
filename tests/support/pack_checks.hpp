// Inputs shared by the pack tests (test_pack.cpp: the public functions; test_pack_kernels.cpp: the
// fused and SIMD kernels on every instruction set).
#pragma once

#include <quanta/encoding.hpp>

#include <cstdint>
#include <random>
#include <vector>

namespace quanta::test {

using bytes = std::vector<std::uint8_t>;

inline std::vector<float> random_floats(std::size_t n, unsigned seed, float stddev = 1.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> x(n);
  for (auto& v : x)
    v = dist(gen);
  return x;
}

inline encoding_options four_bit(bool is_signed, scheme kind = scheme::asymmetric) {
  encoding_options o;
  o.bitwidth = 4;
  o.is_signed = is_signed;
  o.kind = kind;
  return o;
}

}  // namespace quanta::test
