// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "quanta/arch.hpp"

// The few things xsimd 8.1 does not give the kernels: round-to-nearest conversion, saturating
// narrowing to 8/16-bit storage, widening loads, partial (tail) loads and stores that never touch
// memory past the caller's buffers, and min/max that skip NaN by operand order. Each kernel
// instruction set K is one of sse2, sse4_1, avx2, avx512bw; other xsimd architectures map onto the
// closest of them (kernel_arch_t), and a translation unit without SSE2 gets no SIMD kernels at all
// (QUANTA_SIMD_KERNELS is 0 and the kernels forward to quanta::ref).
#if QUANTA_SIMD && XSIMD_WITH_SSE2
#define QUANTA_SIMD_KERNELS 1
#include <immintrin.h>
#else
#define QUANTA_SIMD_KERNELS 0
#endif

// GCC 12 reports its own AVX-512 intrinsics (which start from an "undefined" register) as reading
// uninitialized values once they are inlined into the kernels; the kernels' code sits between
// these.
#if defined(__GNUC__) && !defined(__clang__)
#define QUANTA_SIMD_DIAGNOSTICS_PUSH                                                   \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wuninitialized\"") \
      _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define QUANTA_SIMD_DIAGNOSTICS_POP _Pragma("GCC diagnostic pop")
#else
#define QUANTA_SIMD_DIAGNOSTICS_PUSH
#define QUANTA_SIMD_DIAGNOSTICS_POP
#endif

// For the few kernel steps that GCC would otherwise call rather than inline: a call per block
// passes its parameter registers through memory.
#if defined(__GNUC__)
#define QUANTA_SIMD_INLINE inline __attribute__((always_inline))
#else
#define QUANTA_SIMD_INLINE inline
#endif

#if QUANTA_SIMD_KERNELS
QUANTA_SIMD_DIAGNOSTICS_PUSH
namespace quanta::detail::simd {

template <class K>
using fbatch = xsimd::batch<float, K>;
template <class K>
using ibatch = xsimd::batch<std::int32_t, K>;

// --- Which kernel instruction set an xsimd architecture uses -------------------------------------
// Overload resolution picks the most derived base: fma3<avx2> -> avx2, sse4_2 and fma4 -> sse4_1;
// avx and fma3<avx> -> sse4_1 (AVX has no 256-bit integer instructions), avx512f/cd/dq (no BW:
// no 512-bit packs) -> avx2, which every AVX-512 compiler target includes.
inline xsimd::sse2 kernel_arch_of(xsimd::sse2) noexcept {
  return {};
}
#if XSIMD_WITH_SSE4_1
inline xsimd::sse4_1 kernel_arch_of(xsimd::sse4_1) noexcept {
  return {};
}
#endif
#if XSIMD_WITH_AVX
inline xsimd::sse4_1 kernel_arch_of(xsimd::avx) noexcept {
  return {};
}
#endif
#if XSIMD_WITH_AVX2
inline xsimd::avx2 kernel_arch_of(xsimd::avx2) noexcept {
  return {};
}
#endif
#if XSIMD_WITH_AVX512F && XSIMD_WITH_AVX2
inline xsimd::avx2 kernel_arch_of(xsimd::avx512f) noexcept {
  return {};
}
#endif
#if XSIMD_WITH_AVX512BW
inline xsimd::avx512bw kernel_arch_of(xsimd::avx512bw) noexcept {
  return {};
}
#endif

template <class Arch, class = void>
struct kernel_arch {
  using type = void;  // no SIMD kernel: quanta::ref
};
template <class Arch>
struct kernel_arch<Arch, std::void_t<decltype(kernel_arch_of(Arch{}))>> {
  using type = decltype(kernel_arch_of(Arch{}));
};
template <class Arch>
using kernel_arch_t = typename kernel_arch<Arch>::type;

// Every x86 architecture this translation unit can select has kernels: a new xsimd architecture,
// or a compiler flag that enables one, must not fall back to the scalar reference unnoticed.
template <class List>
struct all_x86_have_kernels;
template <class... Archs>
struct all_x86_have_kernels<xsimd::arch_list<Archs...>> {
  static constexpr bool value = ((!std::is_void_v<kernel_arch_t<Archs>> ||
                                  !xsimd::all_x86_architectures::template contains<Archs>()) &&
                                 ...);
};
static_assert(all_x86_have_kernels<xsimd::supported_architectures>::value,
              "quanta: an x86 instruction set this translation unit is compiled for has no kernel "
              "set; map it in kernel_arch_of");

// --- Helpers shared by every instruction set
// ------------------------------------------------------

// Hides a product from the compiler so that a following addition is never contracted into an FMA
// (a host may build with -ffp-contract=fast; the reference rounds the product first).
template <class K>
inline fbatch<K> opaque(fbatch<K> v) noexcept {
#if defined(__GNUC__)
  auto r = v.data;
  __asm__("" : "+v"(r));
  return r;
#else
  return v;
#endif
}

// --- SSE2 / SSE4.1
// --------------------------------------------------------------------------------

// 4 int32 lanes already inside Q's range, narrowed.
template <class K, class Q>
inline void store_narrow_sse(Q* dst, __m128i v) noexcept {
  if constexpr (std::is_same_v<Q, std::int32_t>) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), v);
  } else if constexpr (sizeof(Q) == 1) {
    const __m128i w = _mm_packs_epi32(v, v);
    const __m128i b = std::is_signed_v<Q> ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w);
    const int bytes = _mm_cvtsi128_si32(b);
    std::memcpy(dst, &bytes, 4);
  } else if constexpr (std::is_same_v<Q, std::int16_t>) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), _mm_packs_epi32(v, v));
  } else {
    // uint16 without packus_epi32: shift into int16's range, pack, shift back.
    const __m128i bias = _mm_set1_epi32(32768);
    const __m128i w = _mm_packs_epi32(_mm_sub_epi32(v, bias), _mm_sub_epi32(v, bias));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), _mm_xor_si128(w, _mm_set1_epi16(-32768)));
  }
}

template <class Q>
inline void store_narrow(Q* dst, ibatch<xsimd::sse2> v, xsimd::sse2) noexcept {
  store_narrow_sse<xsimd::sse2>(dst, v.data);
}

// 16 lanes in four registers: one pack tree, one store for 8-bit storage.
template <class K, class Q>
inline void store_narrow4_sse(Q* dst, const __m128i* v) noexcept {
  if constexpr (sizeof(Q) == 1) {
    const __m128i ab = _mm_packs_epi32(v[0], v[1]);
    const __m128i cd = _mm_packs_epi32(v[2], v[3]);
    const __m128i b = std::is_signed_v<Q> ? _mm_packs_epi16(ab, cd) : _mm_packus_epi16(ab, cd);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), b);
  } else if constexpr (std::is_same_v<Q, std::int16_t>) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm_packs_epi32(v[0], v[1]));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 8), _mm_packs_epi32(v[2], v[3]));
  } else {
    for (int k = 0; k < 4; ++k)
      store_narrow_sse<K>(dst + 4 * k, v[k]);
  }
}

template <class Q>
inline void store_narrow4(Q* dst, const ibatch<xsimd::sse2>* v, xsimd::sse2) noexcept {
  const __m128i r[4] = {v[0].data, v[1].data, v[2].data, v[3].data};
  store_narrow4_sse<xsimd::sse2>(dst, r);
}

template <class K>
inline __m128i load_widen_sse2_bytes(int bytes, bool is_signed) noexcept {
  const __m128i b = _mm_cvtsi32_si128(bytes);
  if (is_signed) {
    const __m128i w = _mm_unpacklo_epi8(b, b);
    return _mm_srai_epi32(_mm_unpacklo_epi16(w, w), 24);
  }
  const __m128i zero = _mm_setzero_si128();
  return _mm_unpacklo_epi16(_mm_unpacklo_epi8(b, zero), zero);
}

template <class Q>
inline ibatch<xsimd::sse2> load_widen(const Q* src, xsimd::sse2) noexcept {
  if constexpr (std::is_same_v<Q, std::int32_t>) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
  } else if constexpr (sizeof(Q) == 1) {
    int bytes;
    std::memcpy(&bytes, src, 4);
    return load_widen_sse2_bytes<xsimd::sse2>(bytes, std::is_signed_v<Q>);
  } else {
    const __m128i h = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src));
    if constexpr (std::is_signed_v<Q>) return _mm_srai_epi32(_mm_unpacklo_epi16(h, h), 16);
    return _mm_unpacklo_epi16(h, _mm_setzero_si128());
  }
}

#if XSIMD_WITH_SSE4_1
template <class Q>
inline void store_narrow(Q* dst, ibatch<xsimd::sse4_1> v, xsimd::sse4_1) noexcept {
  if constexpr (std::is_same_v<Q, std::uint16_t>) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), _mm_packus_epi32(v.data, v.data));
  } else {
    store_narrow_sse<xsimd::sse4_1>(dst, v.data);
  }
}

template <class Q>
inline void store_narrow4(Q* dst, const ibatch<xsimd::sse4_1>* v, xsimd::sse4_1) noexcept {
  if constexpr (std::is_same_v<Q, std::uint16_t>) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm_packus_epi32(v[0].data, v[1].data));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 8), _mm_packus_epi32(v[2].data, v[3].data));
  } else {
    const __m128i r[4] = {v[0].data, v[1].data, v[2].data, v[3].data};
    store_narrow4_sse<xsimd::sse4_1>(dst, r);
  }
}

template <class Q>
inline ibatch<xsimd::sse4_1> load_widen(const Q* src, xsimd::sse4_1) noexcept {
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
#endif

// --- AVX2
// -----------------------------------------------------------------------------------------
#if XSIMD_WITH_AVX2
template <class Q>
inline void store_narrow(Q* dst, ibatch<xsimd::avx2> v, xsimd::avx2) noexcept {
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

// 256-bit packs work within 128-bit lanes; one permute puts the lanes back in order.
template <class Q>
inline void store_narrow4(Q* dst, const ibatch<xsimd::avx2>* v, xsimd::avx2) noexcept {
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

template <class Q>
inline ibatch<xsimd::avx2> load_widen(const Q* src, xsimd::avx2) noexcept {
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

#endif

// --- AVX-512 (F, BW) ----------------------------------------------------------------------------
#if XSIMD_WITH_AVX512BW
template <class K>
inline __mmask16 tail_mask(std::size_t count) noexcept {
  return static_cast<__mmask16>((1u << count) - 1u);
}

template <class Q>
inline void store_narrow(Q* dst, ibatch<xsimd::avx512bw> v, xsimd::avx512bw) noexcept {
  if constexpr (std::is_same_v<Q, std::int32_t>) {
    _mm512_storeu_si512(dst, v.data);
  } else if constexpr (sizeof(Q) == 1) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm512_cvtepi32_epi8(v.data));
  } else {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm512_cvtepi32_epi16(v.data));
  }
}

template <class Q>
inline void store_narrow4(Q* dst, const ibatch<xsimd::avx512bw>* v, xsimd::avx512bw) noexcept {
  if constexpr (sizeof(Q) == 1) {
    const __m512i ab = _mm512_packs_epi32(v[0].data, v[1].data);
    const __m512i cd = _mm512_packs_epi32(v[2].data, v[3].data);
    const __m512i b =
        std::is_signed_v<Q> ? _mm512_packs_epi16(ab, cd) : _mm512_packus_epi16(ab, cd);
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    _mm512_storeu_si512(dst, _mm512_permutexvar_epi32(order, b));
  } else if constexpr (sizeof(Q) == 2) {
    const __m512i order = _mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7);
    for (int k = 0; k < 4; k += 2) {
      const __m512i w = std::is_signed_v<Q> ? _mm512_packs_epi32(v[k].data, v[k + 1].data)
                                            : _mm512_packus_epi32(v[k].data, v[k + 1].data);
      _mm512_storeu_si512(dst + 16 * k, _mm512_permutexvar_epi64(order, w));
    }
  } else {
    for (int k = 0; k < 4; ++k)
      _mm512_storeu_si512(dst + 16 * k, v[k].data);
  }
}

template <class Q>
inline ibatch<xsimd::avx512bw> load_widen(const Q* src, xsimd::avx512bw) noexcept {
  if constexpr (std::is_same_v<Q, std::int32_t>) {
    return _mm512_loadu_si512(src);
  } else if constexpr (sizeof(Q) == 1) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    return std::is_signed_v<Q> ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);
  } else {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
    return std::is_signed_v<Q> ? _mm512_cvtepi16_epi32(h) : _mm512_cvtepu16_epi32(h);
  }
}

#endif

// --- Tails: masked loads and stores on AVX-512, a small buffer elsewhere
// ---------------------------

template <class K>
constexpr bool has_masked_memory() noexcept {
#if XSIMD_WITH_AVX512BW
  return std::is_same_v<K, xsimd::avx512bw>;
#else
  return false;
#endif
}

template <class Q, class K>
inline void store_narrow_partial(Q* dst, ibatch<K> v, std::size_t count, K) noexcept {
#if XSIMD_WITH_AVX512BW
  if constexpr (has_masked_memory<K>()) {
    const __mmask16 m = tail_mask<K>(count);
    if constexpr (std::is_same_v<Q, std::int32_t>) {
      _mm512_mask_storeu_epi32(dst, m, v.data);
    } else if constexpr (sizeof(Q) == 1) {
      _mm512_mask_cvtepi32_storeu_epi8(dst, m, v.data);
    } else {
      _mm512_mask_cvtepi32_storeu_epi16(dst, m, v.data);
    }
    return;
  }
#endif
  Q buffer[ibatch<K>::size];
  store_narrow(buffer, v, K{});
  std::memcpy(dst, buffer, count * sizeof(Q));
}

template <class Q, class K>
inline ibatch<K> load_widen_partial(const Q* src, std::size_t count, K) noexcept {
#if XSIMD_WITH_AVX512BW
  if constexpr (has_masked_memory<K>()) {
    const __mmask16 m = tail_mask<K>(count);
    if constexpr (std::is_same_v<Q, std::int32_t>) {
      return _mm512_maskz_loadu_epi32(m, src);
    } else if constexpr (sizeof(Q) == 1) {
      const __m128i b = _mm512_castsi512_si128(_mm512_maskz_loadu_epi8(m, src));
      return std::is_signed_v<Q> ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);
    } else {
      const __m256i h = _mm512_castsi512_si256(_mm512_maskz_loadu_epi16(m, src));
      return std::is_signed_v<Q> ? _mm512_cvtepi16_epi32(h) : _mm512_cvtepu16_epi32(h);
    }
  }
#endif
  Q buffer[ibatch<K>::size] = {};
  std::memcpy(buffer, src, count * sizeof(Q));
  return load_widen(buffer, K{});
}

template <class K>
inline fbatch<K> load_partial(const float* src, std::size_t count, K) noexcept {
#if XSIMD_WITH_AVX512BW
  if constexpr (has_masked_memory<K>()) return _mm512_maskz_loadu_ps(tail_mask<K>(count), src);
#endif
  alignas(64) float buffer[fbatch<K>::size] = {};
  std::memcpy(buffer, src, count * sizeof(float));
  return fbatch<K>::load_aligned(buffer);
}

template <class K>
inline void store_partial(float* dst, fbatch<K> v, std::size_t count, K) noexcept {
#if XSIMD_WITH_AVX512BW
  if constexpr (has_masked_memory<K>()) {
    _mm512_mask_storeu_ps(dst, tail_mask<K>(count), v.data);
    return;
  }
#endif
  alignas(64) float buffer[fbatch<K>::size];
  v.store_aligned(buffer);
  std::memcpy(dst, buffer, count * sizeof(float));
}

// --- Non-temporal stores ---------------------------------------------------------------------
// A register to memory aligned to the register's size, written around the caches: a large output
// then costs its own bytes of traffic, not a read for ownership as well. The caller issues
// store_fence() after the last one, before another thread (or the caller's caller) may read them.

template <class T, class K>
inline void store_stream(T* dst, xsimd::batch<T, K> v) noexcept {
  if constexpr (std::is_same_v<T, float>) {
    if constexpr (sizeof(v.data) == 16) _mm_stream_ps(dst, v.data);
#if XSIMD_WITH_AVX2
    else if constexpr (sizeof(v.data) == 32)
      _mm256_stream_ps(dst, v.data);
#endif
#if XSIMD_WITH_AVX512BW
    else
      _mm512_stream_ps(dst, v.data);
#endif
  } else {
    if constexpr (sizeof(v.data) == 16) _mm_stream_si128(reinterpret_cast<__m128i*>(dst), v.data);
#if XSIMD_WITH_AVX2
    else if constexpr (sizeof(v.data) == 32)
      _mm256_stream_si256(reinterpret_cast<__m256i*>(dst), v.data);
#endif
#if XSIMD_WITH_AVX512BW
    else
      _mm512_stream_si512(reinterpret_cast<__m512i*>(dst), v.data);
#endif
  }
}

// A register to memory, through the caches or (Stream) around them: see store_stream.
template <bool Stream, class T, class K>
inline void store_register(T* dst, xsimd::batch<T, K> v) noexcept {
  if constexpr (Stream) {
    store_stream(dst, v);
  } else {
    v.store_unaligned(dst);
  }
}

// Orders the non-temporal stores before every later store, as ordinary stores are ordered.
inline void store_fence() noexcept {
  _mm_sfence();
}

// --- 8-bit codes: narrow first, then add the offset and clamp ---------------------------------
// XNNPACK's order of work: the float side only scales and rounds, the offset is a saturating
// 16-bit addition and the range a byte clamp, which saves the NaN select, both float clamps and
// the 32-bit addition per register. It is exact only when no code reaches -32768, which
// store_offset_bytes4 checks (see there).

template <class K>
using wbatch = xsimd::batch<std::int16_t, K>;

// Two registers of int32 to one of int16, saturating; on AVX2 and AVX-512 the 128-bit lanes of a
// and b alternate, as the instruction leaves them.
template <class K>
inline wbatch<K> pack_words(ibatch<K> a, ibatch<K> b) noexcept {
  if constexpr (sizeof(a.data) == 16) return _mm_packs_epi32(a.data, b.data);
#if XSIMD_WITH_AVX2
  else if constexpr (sizeof(a.data) == 32)
    return _mm256_packs_epi32(a.data, b.data);
#endif
#if XSIMD_WITH_AVX512BW
  else
    return _mm512_packs_epi32(a.data, b.data);
#endif
}

// 16-bit lanes of ab, then of cd, narrowed to bytes saturated to Q's range, without the permute:
// on AVX2 and AVX-512 the pack works within 128-bit lanes, so each lane holds its part of ab, then
// its part of cd.
template <class Q, class K>
inline xsimd::batch<Q, K> pack_bytes_in_lanes(wbatch<K> ab, wbatch<K> cd) noexcept {
  static_assert(sizeof(Q) == 1);
  if constexpr (sizeof(ab.data) == 16) {
    return std::is_signed_v<Q> ? _mm_packs_epi16(ab.data, cd.data)
                               : _mm_packus_epi16(ab.data, cd.data);
  }
#if XSIMD_WITH_AVX2
  else if constexpr (sizeof(ab.data) == 32) {
    return std::is_signed_v<Q> ? _mm256_packs_epi16(ab.data, cd.data)
                               : _mm256_packus_epi16(ab.data, cd.data);
  }
#endif
#if XSIMD_WITH_AVX512BW
  else {
    return std::is_signed_v<Q> ? _mm512_packs_epi16(ab.data, cd.data)
                               : _mm512_packus_epi16(ab.data, cd.data);
  }
#endif
}

// pack_words(a, b) and pack_words(c, d) to the bytes of a, b, c, d in element order, saturating to
// Q's range: one more pack, then one permute that undoes the interleaving of 128-bit lanes.
template <class Q, class K>
inline xsimd::batch<Q, K> pack_bytes(wbatch<K> ab, wbatch<K> cd) noexcept {
  const xsimd::batch<Q, K> b = pack_bytes_in_lanes<Q, K>(ab, cd);
  if constexpr (sizeof(ab.data) == 16) return b;
#if XSIMD_WITH_AVX2
  else if constexpr (sizeof(ab.data) == 32)
    return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
#endif
#if XSIMD_WITH_AVX512BW
  else
    return _mm512_permutexvar_epi32(
        _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), b);
#endif
}

template <class F, std::size_t... I>
inline void unroll(F& f, std::index_sequence<I...>) noexcept {
  (f(std::integral_constant<std::size_t, I>{}), ...);
}

// Calls f(std::integral_constant<std::size_t, k>{}) for k = 0..M-1: unrolled at any optimization
// level, so that arrays of registers indexed by k stay in registers.
template <std::size_t M, class F>
inline void unroll(F&& f) noexcept {
  unroll(f, std::make_index_sequence<M>{});
}

// Saturating addition, min and max of 8- and 16-bit integer lanes. xsimd 8.1 compiles them on
// AVX-512 together with a blend that GCC cannot build without optimization (its intrinsic is a
// macro there), and min and max on SSE2 as a comparison and a select even where SSE2 has the
// instruction (int16, uint8).
template <class T, class K>
inline xsimd::batch<T, K> add_saturate(xsimd::batch<T, K> a, xsimd::batch<T, K> b) noexcept {
  static_assert(std::is_signed_v<T> && sizeof(T) <= 2);
#if XSIMD_WITH_AVX512BW
  if constexpr (std::is_same_v<K, xsimd::avx512bw>) {
    if constexpr (sizeof(T) == 1)
      return _mm512_adds_epi8(a, b);
    else
      return _mm512_adds_epi16(a, b);
  } else
#endif
  {
    return xsimd::sadd(a, b);
  }
}

template <class T, class K>
inline xsimd::batch<T, K> min_int(xsimd::batch<T, K> a, xsimd::batch<T, K> b) noexcept {
  constexpr bool sse2 = std::is_same_v<K, xsimd::sse2>;
  if constexpr (sse2 && std::is_same_v<T, std::int16_t>) {
    return _mm_min_epi16(a, b);
  } else if constexpr (sse2 && std::is_same_v<T, std::uint8_t>) {
    return _mm_min_epu8(a, b);
  }
#if XSIMD_WITH_AVX512BW
  else if constexpr (std::is_same_v<K, xsimd::avx512bw>) {
    if constexpr (sizeof(T) == 1)
      return std::is_signed_v<T> ? _mm512_min_epi8(a, b) : _mm512_min_epu8(a, b);
    else
      return std::is_signed_v<T> ? _mm512_min_epi16(a, b) : _mm512_min_epu16(a, b);
  }
#endif
  else {
    return xsimd::min(a, b);
  }
}

template <class T, class K>
inline xsimd::batch<T, K> max_int(xsimd::batch<T, K> a, xsimd::batch<T, K> b) noexcept {
  constexpr bool sse2 = std::is_same_v<K, xsimd::sse2>;
  if constexpr (sse2 && std::is_same_v<T, std::int16_t>) {
    return _mm_max_epi16(a, b);
  } else if constexpr (sse2 && std::is_same_v<T, std::uint8_t>) {
    return _mm_max_epu8(a, b);
  }
#if XSIMD_WITH_AVX512BW
  else if constexpr (std::is_same_v<K, xsimd::avx512bw>) {
    if constexpr (sizeof(T) == 1)
      return std::is_signed_v<T> ? _mm512_max_epi8(a, b) : _mm512_max_epu8(a, b);
    else
      return std::is_signed_v<T> ? _mm512_max_epi16(a, b) : _mm512_max_epu16(a, b);
  }
#endif
  else {
    return xsimd::max(a, b);
  }
}

template <std::size_t M, class T, class K>
inline xsimd::batch<T, K> min_lanes(const xsimd::batch<T, K>* w) noexcept {
  if constexpr (M == 1) {
    return w[0];
  } else {
    return min_int(min_lanes<M / 2>(w), min_lanes<M - M / 2>(w + M / 2));
  }
}

// Whether some lane of w[0..M) is the lowest int16 (int8): after pack_words, a code of -32768 or
// less, which includes the INT_MIN that the conversion gives for NaN and for values out of int32
// range (+inf too). Those are the codes that narrowing before the offset would get wrong
// (store_offset_bytes). After one more signed pack to bytes, every code of -128 or less.
template <class T, class K, std::size_t M>
inline bool any_floor(const xsimd::batch<T, K> (&w)[M]) noexcept {
  static_assert(std::is_signed_v<T>);
  return xsimd::any(min_lanes<M>(w) == xsimd::batch<T, K>(std::numeric_limits<T>::min()));
}

// The offset and clamp range of one encoding, spread over the lanes.
template <class Q, class K>
struct byte_offset {
  wbatch<K> offset;
  xsimd::batch<Q, K> lo, hi;
};

// ab = pack_words(a, b) and cd = pack_words(c, d) to the bytes clamp(code + offset, lo, hi) of a,
// b, c, d in order, for |offset| < 32768 - 256, lo..hi within Q's range and no word -32768
// (any_floor). Every saturation on the way is monotonic and leaves lo..hi alone, so saturating
// early cannot move a code across the clamp; only a code of INT_MIN standing for +inf or NaN could.
// The packs saturate to Q's range: the form without lo, hi is for when lo..hi is all of it.
// Per-element parameters take the offsets of ab and cd in pack_words' order and lo, hi in element
// order.
// stream: a non-temporal store to dst aligned to the register's size (store_stream).
template <class Q, class K>
QUANTA_SIMD_INLINE void store_bytes(Q* dst, xsimd::batch<Q, K> b, bool stream) noexcept {
  if (stream) {
    store_stream(dst, b);
  } else {
    b.store_unaligned(dst);
  }
}

template <class Q, class K>
QUANTA_SIMD_INLINE void store_offset_bytes(Q* dst, wbatch<K> ab, wbatch<K> cd, wbatch<K> ab_offset,
                                           wbatch<K> cd_offset, bool stream) noexcept {
  store_bytes(dst, pack_bytes<Q, K>(add_saturate(ab, ab_offset), add_saturate(cd, cd_offset)),
              stream);
}

template <class Q, class K>
QUANTA_SIMD_INLINE void store_offset_bytes(Q* dst, wbatch<K> ab, wbatch<K> cd, wbatch<K> ab_offset,
                                           wbatch<K> cd_offset, xsimd::batch<Q, K> lo,
                                           xsimd::batch<Q, K> hi, bool stream) noexcept {
  const auto b = pack_bytes<Q, K>(add_saturate(ab, ab_offset), add_saturate(cd, cd_offset));
  store_bytes(dst, min_int(max_int(b, lo), hi), stream);
}

// --- 16-bit codes: narrow first, then clamp and add the offset --------------------------------
// The same order of work for int16 and uint16 storage. The kernel (quantize_run_words) places the
// rounded codes in int16 with a shift fixed per encoding, narrows with pack_words and refuses any
// register pair holding a word -32768 (any_floor). An accepted word is then either the exact
// shifted code or 32767 standing for every code on one side of the range, whose clamp gives the
// same end code; clamp and offset are 16-bit operations, and the addition may wrap: the result
// lies in the storage range, so its low 16 bits are the code for signed and unsigned storage.

// The clamp range (in shifted codes) and the offset of one encoding, spread over the lanes.
template <class K>
struct word_offset {
  wbatch<K> offset, lo, hi;
};

// pack_words(a, b) in element order: on AVX2 and AVX-512 one permute of 64-bit lanes undoes the
// interleaving of 128-bit lanes.
template <class K>
inline wbatch<K> order_words(wbatch<K> w) noexcept {
  if constexpr (sizeof(w.data) == 16) return w;
#if XSIMD_WITH_AVX2
  else if constexpr (sizeof(w.data) == 32)
    return _mm256_permute4x64_epi64(w.data, 0xD8);
#endif
#if XSIMD_WITH_AVX512BW
  else
    return _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7), w.data);
#endif
}

// w = pack_words(a, b) of shifted codes v, none of them -32768, to the 16-bit codes of a and b in
// order: clamp(v, lo, hi) then offset + v, or offset - v when Reverse (the kernel shifted by
// negating). clamp = false when lo..hi cannot bind on words -32767..32767. stream: a non-temporal
// store to dst aligned to the register's size (store_stream).
template <bool Reverse, class Q, class K>
QUANTA_SIMD_INLINE void store_offset_words(Q* dst, wbatch<K> w, const word_offset<K>& o, bool clamp,
                                           bool stream) noexcept {
  static_assert(sizeof(Q) == 2);
  if (clamp) w = min_int(max_int(w, o.lo), o.hi);
  if constexpr (Reverse) {
    w = o.offset - w;
  } else {
    w = w + o.offset;
  }
  // int16 and uint16 may alias each other.
  auto* words = reinterpret_cast<std::int16_t*>(dst);
  if (stream) {
    store_stream(words, order_words<K>(w));
  } else {
    order_words<K>(w).store_unaligned(words);
  }
}

// --- 8-bit codes to floats with one byte permute (AVX-512 VBMI) -------------------------------
// Placing a byte u in the low byte of 2^23's bit pattern gives the float 2^23 + u, so that one
// permute replaces the widening and the conversion; (2^23 + u) - (2^23 + zero_point) is exact.
// Compile-time only: a host built for VBMI (-march=icelake-server and later) gets it, and so does
// the dispatch library's avx512vbmi object (its avx512bw object, built without -mavx512vbmi, not).
#if XSIMD_WITH_AVX512BW && defined(__AVX512VBMI__)
#define QUANTA_SIMD_BYTE_PERMUTE 1

// The floats 2^23 + u for the 64 codes at src, 16 per register, where u is the code itself for
// unsigned storage and code + 128 (sign bit flipped) for signed storage.
template <class Q>
inline void biased_floats(const Q* src, fbatch<xsimd::avx512bw> (&out)[4]) noexcept {
  __m512i v = _mm512_loadu_si512(src);
  if constexpr (std::is_signed_v<Q>) v = _mm512_xor_si512(v, _mm512_set1_epi8(-128));
  const __m512i pattern = _mm512_set1_epi32(0x4B000000);
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  constexpr __mmask64 low_bytes = 0x1111111111111111;
  unroll<4>([&](auto k) {
    const __m512i index = _mm512_add_epi32(lanes, _mm512_set1_epi32(16 * static_cast<int>(k)));
    out[k] = _mm512_castsi512_ps(_mm512_mask_permutexvar_epi8(pattern, low_bytes, index, v));
  });
}
#else
#define QUANTA_SIMD_BYTE_PERMUTE 0
#endif

// Round to nearest, ties to even: the conversion in the default floating-point environment.
template <class K>
inline ibatch<K> round_even(fbatch<K> v) noexcept {
  if constexpr (sizeof(v.data) == 16) return _mm_cvtps_epi32(v.data);
#if XSIMD_WITH_AVX2
  else if constexpr (sizeof(v.data) == 32)
    return _mm256_cvtps_epi32(v.data);
#endif
#if XSIMD_WITH_AVX512BW
  else
    return _mm512_cvtps_epi32(v.data);
#endif
}

// min/max(a, b) instructions return b when either is NaN: with the accumulator second, a NaN
// element is skipped (xsimd::min does not promise an operand order).
template <class K>
inline fbatch<K> min_skip_nan(fbatch<K> acc, fbatch<K> x) noexcept {
  if constexpr (sizeof(x.data) == 16) return _mm_min_ps(x.data, acc.data);
#if XSIMD_WITH_AVX2
  else if constexpr (sizeof(x.data) == 32)
    return _mm256_min_ps(x.data, acc.data);
#endif
#if XSIMD_WITH_AVX512BW
  else
    return _mm512_min_ps(x.data, acc.data);
#endif
}

template <class K>
inline fbatch<K> max_skip_nan(fbatch<K> acc, fbatch<K> x) noexcept {
  if constexpr (sizeof(x.data) == 16) return _mm_max_ps(x.data, acc.data);
#if XSIMD_WITH_AVX2
  else if constexpr (sizeof(x.data) == 32)
    return _mm256_max_ps(x.data, acc.data);
#endif
#if XSIMD_WITH_AVX512BW
  else
    return _mm512_max_ps(x.data, acc.data);
#endif
}

}  // namespace quanta::detail::simd
QUANTA_SIMD_DIAGNOSTICS_POP
#endif
