// Parity of the SIMD reduction kernels with quanta::ref, on every instruction set this machine has.
#include "kernel_arch.hpp"

#ifdef QUANTA_TEST_ARCH
#include <quanta/detail/reduce_kernels.hpp>
#include <quanta/reduce.hpp>
#include <quanta/ref/reduce.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using quanta::min_max_result;
using quanta::test::runnable;

namespace {

constexpr float inf = std::numeric_limits<float>::infinity();
constexpr float nan_value = std::numeric_limits<float>::quiet_NaN();

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof(float)) == 0;
}

bool same(const min_max_result& a, const min_max_result& b) {
  return same_bits(a.min, b.min) && same_bits(a.max, b.max) && a.has_nan == b.has_nan;
}

// Data families that decide the results' bits: signed zeros in either order, NaN anywhere,
// infinities of one or both signs, sums that overflow, denormals, all-NaN.
std::vector<float> family(int kind, std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::uniform_int_distribution<std::size_t> at(0, n == 0 ? 0 : n - 1);
  std::vector<float> x(n);
  for (auto& v : x)
    v = u(rng);
  if (n == 0) return x;
  switch (kind) {
    case 0:
      break;
    case 1:  // non-negative with zeros of both signs: min is a zero, its sign the first one's
      for (auto& v : x)
        v = std::fabs(v);
      x[at(rng)] = -0.0f;
      x[at(rng)] = 0.0f;
      x[at(rng)] = -0.0f;
      break;
    case 2:  // non-positive with zeros: max is a zero
      for (auto& v : x)
        v = -std::fabs(v);
      x[at(rng)] = 0.0f;
      x[at(rng)] = -0.0f;
      break;
    case 3:  // NaN somewhere
      x[at(rng)] = nan_value;
      break;
    case 4:  // both infinities, no NaN: the running sum is NaN, the exact pass says no NaN
      x[at(rng)] = inf;
      x[at(rng)] = -inf;
      break;
    case 5:  // sums that overflow both ways
      for (auto& v : x)
        v = v < 0.0f ? -3e38f : 3e38f;
      break;
    case 6:  // all NaN
      for (auto& v : x)
        v = nan_value;
      break;
    case 7:  // all zeros, mixed signs
      for (auto& v : x)
        v = v < 0.0f ? -0.0f : 0.0f;
      break;
    default:  // denormals and NaN
      for (auto& v : x)
        v *= 1e-39f;
      x[at(rng)] = nan_value;
      break;
  }
  return x;
}

}  // namespace

TEMPLATE_TEST_CASE("reduce kernels equal the reference", "[kernels][reduce]", QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  INFO("instruction set " << TestType::name());
  std::mt19937 rng(99);
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 200; ++n)
    lengths.push_back(n);
  for (std::size_t n : {1000u, 4099u, 65543u})
    lengths.push_back(n);
  for (int kind = 0; kind <= 8; ++kind) {
    for (std::size_t n : lengths) {
      INFO("family " << kind << ", n " << n);
      const std::vector<float> x = family(kind, n, rng);
      const min_max_result r = quanta::detail::min_max<TestType>(x.data(), n);
      const min_max_result e = quanta::ref::min_max(x);
      INFO("min " << r.min << " / " << e.min << ", max " << r.max << " / " << e.max);
      REQUIRE(same(r, e));
      REQUIRE(same_bits(quanta::detail::abs_max<TestType>(x.data(), n), quanta::ref::abs_max(x)));
    }
  }
}

TEMPLATE_TEST_CASE("per-channel reduce kernels equal the reference", "[kernels][reduce]",
                   QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  INFO("instruction set " << TestType::name());
  std::mt19937 rng(5);
  for (int kind = 0; kind <= 8; ++kind) {
    for (std::size_t outer : {1u, 3u, 8u}) {
      for (std::size_t channels : {1u, 2u, 5u, 16u, 33u}) {
        for (std::size_t inner : {1u, 2u, 3u, 15u, 16u, 40u}) {
          INFO("family " << kind << ", outer " << outer << " channels " << channels << " inner "
                         << inner);
          const std::vector<float> x = family(kind, outer * channels * inner, rng);
          const auto r =
              quanta::detail::min_max_per_channel<TestType>(x.data(), outer, channels, inner);
          const auto e = quanta::ref::min_max_per_channel(x, outer, channels, inner);
          REQUIRE(r.size() == e.size());
          for (std::size_t c = 0; c < r.size(); ++c) {
            INFO("channel " << c);
            REQUIRE(same(r[c], e[c]));
          }
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("reduce kernels: hand-computed results", "[kernels][reduce]", QUANTA_TEST_ARCH) {
  if (!runnable<TestType>()) return;
  std::vector<float> x(37, 1.0f);
  x[3] = -0.0f;
  x[20] = 0.0f;
  x[30] = nan_value;
  x[31] = -2.5f;
  const min_max_result r = quanta::min_max<TestType>(x);
  CHECK(r.min == -2.5f);
  CHECK(r.max == 1.0f);
  CHECK(r.has_nan);
  CHECK(quanta::abs_max<TestType>(x) == 2.5f);
  x[31] = 1.0f;
  for (auto& v : x)
    v = v == 1.0f ? 0.5f : v;
  const min_max_result z = quanta::min_max<TestType>(x);
  CHECK(z.min == 0.0f);
  CHECK(std::signbit(z.min));  // the first zero is -0.0
  const std::vector<float> none(5, nan_value);
  const min_max_result n = quanta::min_max<TestType>(none);
  CHECK(n.empty());
  CHECK(n.has_nan);
  CHECK(quanta::abs_max<TestType>(none) == 0.0f);
}

#endif  // QUANTA_TEST_ARCH
