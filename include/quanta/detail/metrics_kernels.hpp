// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "quanta/arch.hpp"
#include "quanta/detail/simd.hpp"
#include "quanta/ref/metrics.hpp"

// Error-statistics kernels, one instantiation per instruction set. Each lane converts its floats to
// double before any arithmetic, so the sums differ from quanta::ref only by the order in which the
// lanes are added; counts and maxima are equal.
namespace quanta::detail {

// Counts the pairs that hold a NaN or an infinity. Called only when a sum says there is one: a sum
// of squares of finite floats in double cannot overflow (n * 2^256 stays far below 2^1024).
inline std::size_t count_non_finite(const float* ref, const float* test, std::size_t n) noexcept {
  std::size_t k = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!(std::isfinite(ref[i]) && std::isfinite(test[i]))) ++k;
  }
  return k;
}

#if QUANTA_SIMD
namespace simd {
// batch<double>::size floats from p, widened to double, for any xsimd architecture A. xsimd 8.1
// widens through a scalar copy, which is what an instruction set without an overload of its own
// in detail/arch/ gets; the x86 conversion instructions do it in one step, which triples the
// kernel's speed.
template <class A>
xsimd::batch<double, A> load_widened(const float* p, xsimd::generic) noexcept {
  return xsimd::batch<double, A>::load_unaligned(p);
}
}  // namespace simd
#endif

template <class Arch>
void accumulate_error(const float* ref, const float* test, std::size_t n, error_stats& s) noexcept {
#if QUANTA_SIMD
  using batch = xsimd::batch<double, Arch>;
  constexpr std::size_t width = batch::size;
  const std::size_t body = n - n % width;
  if (body != 0) {
    batch ref_energy(0.0), test_energy(0.0), dot(0.0), error_energy(0.0), error_abs_sum(0.0);
    batch error_abs_max(0.0), ref_abs_max(0.0);
    for (std::size_t i = 0; i < body; i += width) {
      const batch r = simd::load_widened<Arch>(ref + i, Arch{});
      const batch t = simd::load_widened<Arch>(test + i, Arch{});
      const batch d = r - t;
      const batch ad = xsimd::abs(d);
      const batch ar = xsimd::abs(r);
      ref_energy += r * r;
      test_energy += t * t;
      dot += r * t;
      error_energy += d * d;
      error_abs_sum += ad;
      // Compare and select rather than xsimd::max, whose NaN rule changed between versions; a NaN
      // never wins here, and non_finite voids the maxima anyway.
      error_abs_max = xsimd::select(ad > error_abs_max, ad, error_abs_max);
      ref_abs_max = xsimd::select(ar > ref_abs_max, ar, ref_abs_max);
    }
    alignas(Arch::alignment()) double lanes[7][width];
    ref_energy.store_aligned(lanes[0]);
    test_energy.store_aligned(lanes[1]);
    dot.store_aligned(lanes[2]);
    error_energy.store_aligned(lanes[3]);
    error_abs_sum.store_aligned(lanes[4]);
    error_abs_max.store_aligned(lanes[5]);
    ref_abs_max.store_aligned(lanes[6]);
    error_stats part;
    for (std::size_t l = 0; l < width; ++l) {
      part.ref_energy += lanes[0][l];
      part.test_energy += lanes[1][l];
      part.dot += lanes[2][l];
      part.error_energy += lanes[3][l];
      part.error_abs_sum += lanes[4][l];
      if (lanes[5][l] > part.error_abs_max) part.error_abs_max = lanes[5][l];
      if (lanes[6][l] > part.ref_abs_max) part.ref_abs_max = lanes[6][l];
    }
    if (!(std::isfinite(part.ref_energy) && std::isfinite(part.test_energy))) {
      part.non_finite = count_non_finite(ref, test, body);
    }
    part.count = body;
    s.merge(part);
  }
  ref::accumulate_error(ref + body, test + body, n - body, s);
#else
  ref::accumulate_error(ref, test, n, s);
#endif
}

template <class Arch>
error_stats measure_error(const float* ref, const float* test, std::size_t n) noexcept {
  error_stats s;
  accumulate_error<Arch>(ref, test, n, s);
  return s;
}

template <class Arch>
std::vector<error_stats> measure_error_per_channel(const float* ref, const float* test,
                                                   std::size_t outer, std::size_t channels,
                                                   std::size_t inner) {
  std::vector<error_stats> s(channels);
  for (std::size_t o = 0; o < outer; ++o) {
    for (std::size_t c = 0; c < channels; ++c) {
      const std::size_t base = (o * channels + c) * inner;
      // Short rows (channels last) stay scalar: a vector pass per element costs more than it saves.
      if (inner < 16) {
        ref::accumulate_error(ref + base, test + base, inner, s[c]);
      } else {
        accumulate_error<Arch>(ref + base, test + base, inner, s[c]);
      }
    }
  }
  return s;
}

}  // namespace quanta::detail
