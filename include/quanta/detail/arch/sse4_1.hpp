// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

// What SSE4.1 (with SSSE3, which it includes) does better than SSE2: rounding to an integer,
// widening loads, unsigned 16-bit packs and the multiply-add that joins nibbles. Everything else is
// sse2.hpp's.
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "quanta/detail/arch/sse2.hpp"

#if QUANTA_SIMD && XSIMD_WITH_SSE4_1
QUANTA_SIMD_DIAGNOSTICS_PUSH
namespace quanta::detail::simd {

// sse4_2, fma3<sse4_2> and fma4 too: their tags convert to sse4_1's.
inline xsimd::sse4_1 kernel_arch_of(xsimd::sse4_1) noexcept {
  return {};
}

// One rounding instruction here and on AVX and AVX-512, whose tags convert to this one.
template <class A>
inline fbatch<A> floor_lanes(fbatch<A> v, xsimd::sse4_1) noexcept {
  return xsimd::floor(v);
}

template <class A, class Q>
inline ibatch<A> load_widen(const Q* src, xsimd::sse4_1) noexcept {
  if constexpr (std::is_same_v<Q, std::int32_t>) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
  } else if constexpr (sizeof(Q) == 1) {
    int bytes;
    std::memcpy(&bytes, src, 4);
    const __m128i b = _mm_cvtsi32_si128(bytes);
    return std::is_signed_v<Q> ? _mm_cvtepi8_epi32(b) : _mm_cvtepu8_epi32(b);
  } else {
    const __m128i h = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src));
    return std::is_signed_v<Q> ? _mm_cvtepi16_epi32(h) : _mm_cvtepu16_epi32(h);
  }
}

template <class A, class Q>
inline void store_narrow(Q* dst, ibatch<A> v, xsimd::sse4_1) noexcept {
  if constexpr (std::is_same_v<Q, std::uint16_t>) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), _mm_packus_epi32(v.data, v.data));
  } else {
    store_narrow(dst, v, xsimd::sse2{});
  }
}

template <class A, class Q>
inline void store_narrow4(Q* dst, const ibatch<A>* v, xsimd::sse4_1) noexcept {
  if constexpr (std::is_same_v<Q, std::uint16_t>) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm_packus_epi32(v[0].data, v[1].data));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 8), _mm_packus_epi32(v[2].data, v[3].data));
  } else {
    store_narrow4(dst, v, xsimd::sse2{});
  }
}

template <class A>
inline xsimd::batch<std::uint16_t, A> join_nibbles(const xsimd::batch<std::uint8_t, A>& b,
                                                   xsimd::sse4_1) noexcept {
  return _mm_maddubs_epi16(b, _mm_set1_epi16(0x1001));  // byte weights 1, 16
}

}  // namespace quanta::detail::simd
QUANTA_SIMD_DIAGNOSTICS_POP
#endif
