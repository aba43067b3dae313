// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

// AVX and AVX2. AVX has no 256-bit integer instructions: its translation units take the SSE4.1
// kernels, and AVX only widens floats for the metrics. AVX2's kernels work on 256-bit registers,
// whose packs work within 128-bit lanes: one permute puts the lanes of their results back in
// order.
#include <cstdint>
#include <type_traits>

#include "quanta/detail/arch/sse4_1.hpp"

#if QUANTA_SIMD && XSIMD_WITH_AVX
QUANTA_SIMD_DIAGNOSTICS_PUSH
namespace quanta::detail::simd {

// fma3<avx> too.
inline xsimd::sse4_1 kernel_arch_of(xsimd::avx) noexcept {
  return {};
}

template <class A>
inline xsimd::batch<double, A> load_widened(const float* p, xsimd::avx) noexcept {
  return _mm256_cvtps_pd(_mm_loadu_ps(p));
}

#if XSIMD_WITH_AVX2
// fma3<avx2> too.
inline xsimd::avx2 kernel_arch_of(xsimd::avx2) noexcept {
  return {};
}

template <class A>
inline ibatch<A> round_even(fbatch<A> v, xsimd::avx2) noexcept {
  return _mm256_cvtps_epi32(v.data);
}

template <class A>
inline fbatch<A> min_skip_nan(fbatch<A> acc, fbatch<A> x, xsimd::avx2) noexcept {
  return _mm256_min_ps(x.data, acc.data);
}

template <class A>
inline fbatch<A> max_skip_nan(fbatch<A> acc, fbatch<A> x, xsimd::avx2) noexcept {
  return _mm256_max_ps(x.data, acc.data);
}

template <class A, class Q>
inline ibatch<A> load_widen(const Q* src, xsimd::avx2) noexcept {
  if constexpr (std::is_same_v<Q, std::int32_t>) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
  } else if constexpr (sizeof(Q) == 1) {
    const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src));
    return std::is_signed_v<Q> ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
  } else {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    return std::is_signed_v<Q> ? _mm256_cvtepi16_epi32(h) : _mm256_cvtepu16_epi32(h);
  }
}

template <class A, class Q>
inline void store_narrow(Q* dst, ibatch<A> v, xsimd::avx2) noexcept {
  if constexpr (std::is_same_v<Q, std::int32_t>) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), v.data);
    return;
  } else {
    const __m128i lo = _mm256_castsi256_si128(v.data);
    const __m128i hi = _mm256_extracti128_si256(v.data, 1);
    if constexpr (sizeof(Q) == 1) {
      const __m128i w = _mm_packs_epi32(lo, hi);
      const __m128i b = std::is_signed_v<Q> ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), b);
    } else {
      const __m128i w = std::is_signed_v<Q> ? _mm_packs_epi32(lo, hi) : _mm_packus_epi32(lo, hi);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), w);
    }
  }
}

template <class A, class Q>
inline void store_narrow4(Q* dst, const ibatch<A>* v, xsimd::avx2) noexcept {
  if constexpr (sizeof(Q) == 1) {
    const __m256i ab = _mm256_packs_epi32(v[0].data, v[1].data);
    const __m256i cd = _mm256_packs_epi32(v[2].data, v[3].data);
    const __m256i b =
        std::is_signed_v<Q> ? _mm256_packs_epi16(ab, cd) : _mm256_packus_epi16(ab, cd);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm256_permutevar8x32_epi32(b, order));
  } else if constexpr (sizeof(Q) == 2) {
    for (int k = 0; k < 4; k += 2) {
      const __m256i w = std::is_signed_v<Q> ? _mm256_packs_epi32(v[k].data, v[k + 1].data)
                                            : _mm256_packus_epi32(v[k].data, v[k + 1].data);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 8 * k),
                          _mm256_permute4x64_epi64(w, 0xD8));
    }
  } else {
    for (int k = 0; k < 4; ++k)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 8 * k), v[k].data);
  }
}

template <class A>
inline wbatch<A> pack_words(ibatch<A> a, ibatch<A> b, xsimd::avx2) noexcept {
  return _mm256_packs_epi32(a.data, b.data);
}

template <class Q, class A>
inline xsimd::batch<Q, A> pack_bytes_in_lanes(wbatch<A> ab, wbatch<A> cd, xsimd::avx2) noexcept {
  static_assert(sizeof(Q) == 1);
  return std::is_signed_v<Q> ? _mm256_packs_epi16(ab.data, cd.data)
                             : _mm256_packus_epi16(ab.data, cd.data);
}

template <class Q, class A>
inline xsimd::batch<Q, A> pack_bytes(wbatch<A> ab, wbatch<A> cd, xsimd::avx2) noexcept {
  const xsimd::batch<Q, A> b = pack_bytes_in_lanes<Q>(ab, cd, xsimd::avx2{});
  return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

template <class A>
inline wbatch<A> order_words(wbatch<A> w, xsimd::avx2) noexcept {
  return _mm256_permute4x64_epi64(w.data, 0xD8);
}

template <class T, class A>
inline void store_stream(T* dst, xsimd::batch<T, A> v, xsimd::avx2) noexcept {
  if constexpr (std::is_same_v<T, float>) {
    _mm256_stream_ps(dst, v.data);
  } else {
    _mm256_stream_si256(reinterpret_cast<__m256i*>(dst), v.data);
  }
}

inline void store_fence(xsimd::avx2) noexcept {
  _mm_sfence();
}

template <class A>
inline xsimd::batch<std::uint8_t, A> gather_quadwords(const xsimd::batch<std::uint8_t, A>& p,
                                                      xsimd::avx2) noexcept {
  return _mm256_permute4x64_epi64(p, 0xD8);
}

// gather_quadwords is its own inverse on two 128-bit lanes.
template <class A>
inline xsimd::batch<std::uint8_t, A> spread_quadwords(const xsimd::batch<std::uint8_t, A>& p,
                                                      xsimd::avx2) noexcept {
  return gather_quadwords(p, xsimd::avx2{});
}

template <class A>
inline xsimd::batch<std::uint16_t, A> join_nibbles(const xsimd::batch<std::uint8_t, A>& b,
                                                   xsimd::avx2) noexcept {
  return _mm256_maddubs_epi16(b, _mm256_set1_epi16(0x1001));
}

// After gather_quadwords, each lane holds its even units, then its odd ones.
template <class A>
inline xsimd::batch<std::uint8_t, A> order_nibbles(const xsimd::batch<std::uint8_t, A>& p,
                                                   xsimd::avx2) noexcept {
  return _mm256_shuffle_epi8(
      gather_quadwords(p, xsimd::avx2{}),
      _mm256_setr_epi8(0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15, 0, 1, 8, 9, 2, 3, 10,
                       11, 4, 5, 12, 13, 6, 7, 14, 15));
}
#endif

}  // namespace quanta::detail::simd
QUANTA_SIMD_DIAGNOSTICS_POP
#endif
