// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

// The SSE2 kernel operations (simd.hpp lists them), which every x86-64 translation unit has. The
// registers are batches of A, sse2 or sse4_1: SSE4.1's tag converts to xsimd::sse2, so sse4_1.hpp
// overrides only what SSE4.1 does better.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "quanta/detail/simd_base.hpp"

#if QUANTA_SIMD && XSIMD_WITH_SSE2
#include <immintrin.h>

// A translation unit with at least this instruction set has SIMD kernels (see simd.hpp).
#define QUANTA_SIMD_KERNELS 1

QUANTA_SIMD_DIAGNOSTICS_PUSH
namespace quanta::detail::simd {

// sse3 and ssse3 too: their tags convert to sse2's.
inline xsimd::sse2 kernel_arch_of(xsimd::sse2) noexcept {
  return {};
}

template <class A>
inline ibatch<A> round_even(fbatch<A> v, xsimd::sse2) noexcept {
  return _mm_cvtps_epi32(v.data);
}

// Through a truncation to int32 (SSE2 has no rounding instruction): exact for |v| < 2^31; NaN and
// larger values give -2^31 or -2^31 - 1, which the midpoint rounding turns into INT_MIN.
template <class A>
inline fbatch<A> floor_lanes(fbatch<A> v, xsimd::sse2) noexcept {
  const fbatch<A> truncated = _mm_cvtepi32_ps(_mm_cvttps_epi32(v.data));
  return xsimd::select(truncated > v, truncated - fbatch<A>(1.0f), truncated);
}

template <class A>
inline fbatch<A> min_skip_nan(fbatch<A> acc, fbatch<A> x, xsimd::sse2) noexcept {
  return _mm_min_ps(x.data, acc.data);
}

template <class A>
inline fbatch<A> max_skip_nan(fbatch<A> acc, fbatch<A> x, xsimd::sse2) noexcept {
  return _mm_max_ps(x.data, acc.data);
}

template <class A, class Q>
inline ibatch<A> load_widen(const Q* src, xsimd::sse2) noexcept {
  if constexpr (std::is_same_v<Q, std::int32_t>) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
  } else if constexpr (sizeof(Q) == 1) {
    int bytes;
    std::memcpy(&bytes, src, 4);
    const __m128i b = _mm_cvtsi32_si128(bytes);
    if constexpr (std::is_signed_v<Q>) {
      const __m128i w = _mm_unpacklo_epi8(b, b);
      return _mm_srai_epi32(_mm_unpacklo_epi16(w, w), 24);
    }
    const __m128i zero = _mm_setzero_si128();
    return _mm_unpacklo_epi16(_mm_unpacklo_epi8(b, zero), zero);
  } else {
    const __m128i h = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src));
    if constexpr (std::is_signed_v<Q>) return _mm_srai_epi32(_mm_unpacklo_epi16(h, h), 16);
    return _mm_unpacklo_epi16(h, _mm_setzero_si128());
  }
}

template <class A, class Q>
inline void store_narrow(Q* dst, ibatch<A> v, xsimd::sse2) noexcept {
  if constexpr (std::is_same_v<Q, std::int32_t>) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), v.data);
  } else if constexpr (sizeof(Q) == 1) {
    const __m128i w = _mm_packs_epi32(v.data, v.data);
    const __m128i b = std::is_signed_v<Q> ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w);
    const int bytes = _mm_cvtsi128_si32(b);
    std::memcpy(dst, &bytes, 4);
  } else if constexpr (std::is_same_v<Q, std::int16_t>) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), _mm_packs_epi32(v.data, v.data));
  } else {
    // uint16 without packus_epi32: shift into int16's range, pack, shift back.
    const __m128i bias = _mm_set1_epi32(32768);
    const __m128i w = _mm_packs_epi32(_mm_sub_epi32(v.data, bias), _mm_sub_epi32(v.data, bias));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), _mm_xor_si128(w, _mm_set1_epi16(-32768)));
  }
}

template <class A, class Q>
inline void store_narrow4(Q* dst, const ibatch<A>* v, xsimd::sse2) noexcept {
  if constexpr (sizeof(Q) == 1) {
    const __m128i ab = _mm_packs_epi32(v[0].data, v[1].data);
    const __m128i cd = _mm_packs_epi32(v[2].data, v[3].data);
    const __m128i b = std::is_signed_v<Q> ? _mm_packs_epi16(ab, cd) : _mm_packus_epi16(ab, cd);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), b);
  } else if constexpr (std::is_same_v<Q, std::int16_t>) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm_packs_epi32(v[0].data, v[1].data));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 8), _mm_packs_epi32(v[2].data, v[3].data));
  } else {
    for (int k = 0; k < 4; ++k)
      store_narrow(dst + 4 * k, v[k], xsimd::sse2{});
  }
}

template <class A>
inline wbatch<A> pack_words(ibatch<A> a, ibatch<A> b, xsimd::sse2) noexcept {
  return _mm_packs_epi32(a.data, b.data);
}

template <class Q, class A>
inline xsimd::batch<Q, A> pack_bytes_in_lanes(wbatch<A> ab, wbatch<A> cd, xsimd::sse2) noexcept {
  static_assert(sizeof(Q) == 1);
  return std::is_signed_v<Q> ? _mm_packs_epi16(ab.data, cd.data)
                             : _mm_packus_epi16(ab.data, cd.data);
}

// One 128-bit lane: the packs leave the elements in order.
template <class Q, class A>
inline xsimd::batch<Q, A> pack_bytes(wbatch<A> ab, wbatch<A> cd, xsimd::sse2) noexcept {
  return pack_bytes_in_lanes<Q>(ab, cd, xsimd::sse2{});
}

template <class A>
inline wbatch<A> order_words(wbatch<A> w, xsimd::sse2) noexcept {
  return w;
}

// xsimd 8.1 compiles min and max on SSE2 as a comparison and a select even for int16 and uint8,
// which have the instruction. SSE4.1 takes these overloads too: they are the instructions xsimd
// uses there.
template <class A>
inline xsimd::batch<std::int16_t, A> min_int(xsimd::batch<std::int16_t, A> a,
                                             xsimd::batch<std::int16_t, A> b,
                                             xsimd::sse2) noexcept {
  return _mm_min_epi16(a, b);
}

template <class A>
inline xsimd::batch<std::uint8_t, A> min_int(xsimd::batch<std::uint8_t, A> a,
                                             xsimd::batch<std::uint8_t, A> b,
                                             xsimd::sse2) noexcept {
  return _mm_min_epu8(a, b);
}

template <class A>
inline xsimd::batch<std::int16_t, A> max_int(xsimd::batch<std::int16_t, A> a,
                                             xsimd::batch<std::int16_t, A> b,
                                             xsimd::sse2) noexcept {
  return _mm_max_epi16(a, b);
}

template <class A>
inline xsimd::batch<std::uint8_t, A> max_int(xsimd::batch<std::uint8_t, A> a,
                                             xsimd::batch<std::uint8_t, A> b,
                                             xsimd::sse2) noexcept {
  return _mm_max_epu8(a, b);
}

template <class T, class A>
inline void store_stream(T* dst, xsimd::batch<T, A> v, xsimd::sse2) noexcept {
  if constexpr (std::is_same_v<T, float>) {
    _mm_stream_ps(dst, v.data);
  } else {
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst), v.data);
  }
}

inline void store_fence(xsimd::sse2) noexcept {
  _mm_sfence();
}

// One 128-bit lane: the packs leave the quadwords in order, and there is nothing to shuffle.
template <class A>
inline xsimd::batch<std::uint8_t, A> gather_quadwords(const xsimd::batch<std::uint8_t, A>& p,
                                                      xsimd::sse2) noexcept {
  return p;
}

template <class A>
inline xsimd::batch<std::uint8_t, A> spread_quadwords(const xsimd::batch<std::uint8_t, A>& p,
                                                      xsimd::sse2) noexcept {
  return p;
}

template <class A>
inline xsimd::batch<std::uint8_t, A> order_nibbles(const xsimd::batch<std::uint8_t, A>& p,
                                                   xsimd::sse2) noexcept {
  return p;
}

template <class A>
inline xsimd::batch<std::uint16_t, A> join_nibbles(const xsimd::batch<std::uint8_t, A>& b,
                                                   xsimd::sse2) noexcept {
  const auto w =
      xsimd::bitwise_cast<xsimd::batch<std::uint16_t, A>>(b);  // no pmaddubsw before SSSE3
  return (w | (w >> 4)) & std::uint16_t{0xFF};
}

template <class A>
inline xsimd::batch<double, A> load_widened(const float* p, xsimd::sse2) noexcept {
  return _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

}  // namespace quanta::detail::simd
QUANTA_SIMD_DIAGNOSTICS_POP
#endif
