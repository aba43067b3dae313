// Inputs, encodings and comparisons shared by the quantize kernel parity tests
// (test_quantize_kernels.cpp: per tensor; test_quantize_kernels_layouts.cpp: per channel and
// block).
#pragma once

#include <quanta/detail/quantize_kernels.hpp>
#include <quanta/quantize.hpp>
#include <quanta/ref/quantize.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace quanta::test {

constexpr float inf = std::numeric_limits<float>::infinity();
inline constexpr float nan_value = std::numeric_limits<float>::quiet_NaN();

// Every way the arithmetic can be asked for: the four profiles plus the combinations they leave
// out.
inline std::vector<quantize_options> all_options() {
  std::vector<quantize_options> r;
  for (profile p : {profile::qnn, profile::pytorch, profile::onnx, profile::tflite})
    r.push_back(quantize_options::for_profile(p));
  for (rounding m : {rounding::half_even, rounding::half_away, rounding::half_up})
    for (bool divide : {false, true})
      for (bool pre : {false, true})
        r.push_back({m, divide, pre});
  return r;
}

// Encodings of every zero-point class for storage Q: at both ends, centre, zero, odd, narrow and
// sub-storage bitwidths, scales that make ties exact and scales that do not.
template <class Q>
std::vector<encoding> encodings_for() {
  constexpr bool is_signed = std::numeric_limits<Q>::is_signed;
  std::vector<int> bitwidths = {8};
  if (sizeof(Q) >= 2) bitwidths = {16, 12, 8};
  if (sizeof(Q) == 1) bitwidths = {8, 4, 2};
  if (sizeof(Q) == 4) bitwidths = {32, 16, 8};
  std::vector<encoding> r;
  for (int bits : bitwidths) {
    for (bool narrow : {false, true}) {
      encoding e{1.0f, 0, bits, is_signed, narrow};
      const std::int64_t lo = e.qmin(), hi = e.qmax();
      for (std::int64_t zp : {lo, hi, (lo + hi) / 2, (lo + hi) / 2 + 1, std::int64_t{0}, lo + 1}) {
        if (zp < lo || zp > hi) continue;
        for (float scale : {1.0f, 0.25f, 0.1f, 1e-40f}) {
          e.zero_point = static_cast<std::int32_t>(zp);
          e.scale = scale;
          r.push_back(e);
        }
      }
    }
  }
  return r;
}

// Inputs that exercise ties (for scales 1, 0.25, 3), signed zeros, denormals, infinities, NaN,
// saturation and values near every rounding boundary; the rest random.
inline std::vector<float> special_inputs(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> wide(-70000.0f, 70000.0f);
  std::uniform_int_distribution<int> ties(-300, 300);
  std::uniform_int_distribution<int> pick(0, 11);
  const float specials[] = {0.0f,    -0.0f,     inf,         -inf,         nan_value, 1e-45f,
                            -1e-45f, 1.17e-38f, 0.49999997f, -0.49999997f, 0.5f,      -0.5f,
                            1e30f,   -1e30f,    3.4e38f,     -3.4e38f};
  std::vector<float> x(n);
  for (auto& v : x) {
    switch (pick(rng)) {
      case 0:
      case 1:
        v = specials[std::uniform_int_distribution<std::size_t>(0, std::size(specials) - 1)(rng)];
        break;
      case 2:
      case 3:
      case 4:
        v = static_cast<float>(ties(rng)) + 0.5f;
        break;
      case 5:
        v = (static_cast<float>(ties(rng)) + 0.5f) * 0.25f;
        break;
      case 6:
        v = (static_cast<float>(ties(rng)) + 0.5f) * 3.0f;
        break;
      case 7:
        v = std::nextafter(static_cast<float>(ties(rng)) + 0.5f, pick(rng) < 6 ? -inf : inf);
        break;
      case 8:
        v = wide(rng);
        break;
      default:
        v = static_cast<float>(ties(rng)) * 0.37f;
        break;
    }
  }
  return x;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

template <class T>
std::size_t first_difference(const std::vector<T>& a, const std::vector<T>& b) {
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0) return i;
  return a.size();
}

// Every tail length up to several registers, and sizes past the unrolled loops.
inline std::vector<std::size_t> all_lengths() {
  std::vector<std::size_t> v;
  for (std::size_t n = 0; n <= 200; ++n)
    v.push_back(n);
  for (std::size_t n : {255u, 256u, 257u, 1023u, 4099u, 65543u})
    v.push_back(n);
  return v;
}

}  // namespace quanta::test
