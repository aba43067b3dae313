// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstddef>
#include <limits>
#include <vector>

#include "quanta/arch.hpp"
#include "quanta/detail/simd.hpp"
#include "quanta/ref/reduce.hpp"

// Reduction kernels, one instantiation per instruction set. They equal quanta::ref bit for bit:
//   - NaN is skipped by the operand order of the min/max instructions (simd::min_skip_nan);
//   - NaN is detected by a running sum, which is NaN only if the data holds a NaN or both
//     infinities (or overflows both ways); then an exact pass decides;
//   - the reference keeps the first of equal values, which matters only for -0.0 and +0.0: when a
//     result is zero, it is replaced by the first zero of the data in order.
namespace quanta::detail {

#if QUANTA_SIMD_KERNELS
QUANTA_SIMD_DIAGNOSTICS_PUSH
namespace kernels {

using simd::fbatch;

// The first element equal to zero, with its sign; callers know there is one.
inline float first_zero(const float* x, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i)
    if (x[i] == 0.0f) return x[i];
  return 0.0f;
}

inline bool any_nan(const float* x, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i)
    if (x[i] != x[i]) return true;
  return false;
}

// The lanes of v folded with ref's rule (strict comparisons), in lane order.
template <class K, class Better>
float fold_lanes(fbatch<K> v, Better better) noexcept {
  alignas(64) float lanes[fbatch<K>::size];
  v.store_aligned(lanes);
  float r = lanes[0];
  for (std::size_t k = 1; k < fbatch<K>::size; ++k)
    if (better(lanes[k], r)) r = lanes[k];
  return r;
}

// ref::accumulate_min_max, four independent accumulators per quantity.
template <class K>
void accumulate_min_max(const float* x, std::size_t n, min_max_result& r) noexcept {
  using fb = fbatch<K>;
  constexpr std::size_t N = fb::size;
  constexpr float inf = std::numeric_limits<float>::infinity();
  fb lo[4] = {fb(inf), fb(inf), fb(inf), fb(inf)};
  fb hi[4] = {fb(-inf), fb(-inf), fb(-inf), fb(-inf)};
  fb sum[4] = {fb(0.0f), fb(0.0f), fb(0.0f), fb(0.0f)};
  std::size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    for (std::size_t k = 0; k < 4; ++k) {
      const fb v = fb::load_unaligned(x + i + k * N);
      lo[k] = simd::min_skip_nan(lo[k], v, K{});
      hi[k] = simd::max_skip_nan(hi[k], v, K{});
      sum[k] += v;
    }
  }
  for (; i + N <= n; i += N) {
    const fb v = fb::load_unaligned(x + i);
    lo[0] = simd::min_skip_nan(lo[0], v, K{});
    hi[0] = simd::max_skip_nan(hi[0], v, K{});
    sum[0] += v;
  }
  const fb l = simd::min_skip_nan(simd::min_skip_nan(lo[0], lo[1], K{}),
                                  simd::min_skip_nan(lo[2], lo[3], K{}), K{});
  const fb h = simd::max_skip_nan(simd::max_skip_nan(hi[0], hi[1], K{}),
                                  simd::max_skip_nan(hi[2], hi[3], K{}), K{});
  const fb s = (sum[0] + sum[1]) + (sum[2] + sum[3]);
  min_max_result part;
  part.min = fold_lanes<K>(l, [](float a, float b) { return a < b; });
  part.max = fold_lanes<K>(h, [](float a, float b) { return a > b; });
  const float total = xsimd::hadd(s);
  part.has_nan = total != total && any_nan(x, i);
  ref::accumulate_min_max(x + i, n - i, part);
  if (part.min == 0.0f) part.min = first_zero(x, n);
  if (part.max == 0.0f) part.max = first_zero(x, n);
  if (part.min < r.min) r.min = part.min;
  if (part.max > r.max) r.max = part.max;
  r.has_nan = r.has_nan || part.has_nan;
}

template <class K>
float abs_max(const float* x, std::size_t n) noexcept {
  using fb = fbatch<K>;
  constexpr std::size_t N = fb::size;
  fb m[4] = {fb(0.0f), fb(0.0f), fb(0.0f), fb(0.0f)};
  std::size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N)
    for (std::size_t k = 0; k < 4; ++k)
      m[k] = simd::max_skip_nan(m[k], xsimd::abs(fb::load_unaligned(x + i + k * N)), K{});
  for (; i + N <= n; i += N)
    m[0] = simd::max_skip_nan(m[0], xsimd::abs(fb::load_unaligned(x + i)), K{});
  const float result = fold_lanes<K>(simd::max_skip_nan(simd::max_skip_nan(m[0], m[1], K{}),
                                                        simd::max_skip_nan(m[2], m[3], K{}), K{}),
                                     [](float a, float b) { return a > b; });
  const float tail = ref::abs_max(span<const float>(x + i, n - i));
  return tail > result ? tail : result;
}

// Channels-last and other short rows: element-wise accumulators over one outer slice, folded
// into channels at the end.
template <class K>
void min_max_short_rows(const float* x, std::size_t outer, std::size_t channels, std::size_t inner,
                        std::vector<min_max_result>& r) {
  using fb = fbatch<K>;
  constexpr std::size_t N = fb::size;
  constexpr float inf = std::numeric_limits<float>::infinity();
  const std::size_t period = channels * inner;
  std::vector<float> lo(period, inf), hi(period, -inf), sum(period, 0.0f);
  const std::size_t vector_end = period - period % N;
  for (std::size_t o = 0; o < outer; ++o) {
    const float* row = x + o * period;
    for (std::size_t j = 0; j < vector_end; j += N) {
      const fb v = fb::load_unaligned(row + j);
      simd::min_skip_nan(fb::load_unaligned(lo.data() + j), v, K{}).store_unaligned(lo.data() + j);
      simd::max_skip_nan(fb::load_unaligned(hi.data() + j), v, K{}).store_unaligned(hi.data() + j);
      (fb::load_unaligned(sum.data() + j) + v).store_unaligned(sum.data() + j);
    }
    for (std::size_t j = vector_end; j < period; ++j) {
      const float v = row[j];
      if (v < lo[j]) lo[j] = v;
      if (v > hi[j]) hi[j] = v;
      sum[j] += v;
    }
  }
  for (std::size_t c = 0; c < channels; ++c) {
    min_max_result& rc = r[c];
    bool maybe_nan = false;
    for (std::size_t j = c * inner; j < (c + 1) * inner; ++j) {
      if (lo[j] < rc.min) rc.min = lo[j];
      if (hi[j] > rc.max) rc.max = hi[j];
      maybe_nan = maybe_nan || sum[j] != sum[j];
    }
    if (!maybe_nan && rc.min != 0.0f && rc.max != 0.0f) continue;
    // Rescan the channel in order: NaN for certain, and the first zero.
    bool min_zero = rc.min == 0.0f, max_zero = rc.max == 0.0f;
    for (std::size_t o = 0; o < outer && (maybe_nan || min_zero || max_zero); ++o) {
      const float* row = x + (o * channels + c) * inner;
      for (std::size_t i = 0; i < inner; ++i) {
        const float v = row[i];
        if (v != v) {
          rc.has_nan = true;
          maybe_nan = false;
        } else if (v == 0.0f) {
          if (min_zero) rc.min = v;
          if (max_zero) rc.max = v;
          min_zero = max_zero = false;
        }
      }
    }
  }
}

}  // namespace kernels
QUANTA_SIMD_DIAGNOSTICS_POP
#endif

template <class Arch>
min_max_result min_max(const float* x, std::size_t n) noexcept {
  min_max_result r;
#if QUANTA_SIMD_KERNELS
  using K = simd::kernel_arch_t<Arch>;
  if constexpr (!std::is_void_v<K>) {
    kernels::accumulate_min_max<K>(x, n, r);
    return r;
  }
#endif
  ref::accumulate_min_max(x, n, r);
  return r;
}

template <class Arch>
float abs_max(const float* x, std::size_t n) noexcept {
#if QUANTA_SIMD_KERNELS
  using K = simd::kernel_arch_t<Arch>;
  if constexpr (!std::is_void_v<K>) return kernels::abs_max<K>(x, n);
#endif
  return ref::abs_max(span<const float>(x, n));
}

// Rows of at least one register are reduced one by one; shorter rows element-wise.
template <class Arch>
std::vector<min_max_result> min_max_per_channel(const float* x, std::size_t outer,
                                                std::size_t channels, std::size_t inner) {
#if QUANTA_SIMD_KERNELS
  using K = simd::kernel_arch_t<Arch>;
  if constexpr (!std::is_void_v<K>) {
    constexpr std::size_t N = simd::fbatch<K>::size;
    std::vector<min_max_result> r(channels);
    if (inner >= N) {
      for (std::size_t o = 0; o < outer; ++o)
        for (std::size_t c = 0; c < channels; ++c)
          kernels::accumulate_min_max<K>(x + (o * channels + c) * inner, inner, r[c]);
      return r;
    }
    if (channels * inner >= N) {
      kernels::min_max_short_rows<K>(x, outer, channels, inner, r);
      return r;
    }
  }
#endif
  return ref::min_max_per_channel(span<const float>(x, outer * channels * inner), outer, channels,
                                  inner);
}

}  // namespace quanta::detail
