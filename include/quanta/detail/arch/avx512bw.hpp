// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

// AVX-512: F, CD and DQ alone have no 512-bit packs, so their translation units take the AVX2
// kernels, and AVX-512F only widens floats for the metrics. The BW kernels work on 512-bit
// registers and give tails masked loads and stores; with VBMI they also permute bytes. Their packs
// work within 128-bit lanes, as AVX2's do.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "quanta/detail/arch/avx2.hpp"

#if QUANTA_SIMD && XSIMD_WITH_AVX512F
QUANTA_SIMD_DIAGNOSTICS_PUSH
namespace quanta::detail::simd {

#if XSIMD_WITH_AVX2
// avx512cd and avx512dq too.
inline xsimd::avx2 kernel_arch_of(xsimd::avx512f) noexcept {
  return {};
}
#endif

// The zero-masked form: GCC 12 warns about the undefined source of the unmasked one.
template <class A>
inline xsimd::batch<double, A> load_widened(const float* p, xsimd::avx512f) noexcept {
  return _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(p));
}

#if XSIMD_WITH_AVX512BW
inline xsimd::avx512bw kernel_arch_of(xsimd::avx512bw) noexcept {
  return {};
}

template <class K>
inline __mmask16 tail_mask(std::size_t count) noexcept {
  return static_cast<__mmask16>((1u << count) - 1u);
}

template <class A>
inline ibatch<A> round_even(fbatch<A> v, xsimd::avx512bw) noexcept {
  return _mm512_cvtps_epi32(v.data);
}

template <class A>
inline fbatch<A> min_skip_nan(fbatch<A> acc, fbatch<A> x, xsimd::avx512bw) noexcept {
  return _mm512_min_ps(x.data, acc.data);
}

template <class A>
inline fbatch<A> max_skip_nan(fbatch<A> acc, fbatch<A> x, xsimd::avx512bw) noexcept {
  return _mm512_max_ps(x.data, acc.data);
}

template <class A, class Q>
inline ibatch<A> load_widen(const Q* src, xsimd::avx512bw) noexcept {
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

template <class A, class Q>
inline void store_narrow(Q* dst, ibatch<A> v, xsimd::avx512bw) noexcept {
  if constexpr (std::is_same_v<Q, std::int32_t>) {
    _mm512_storeu_si512(dst, v.data);
  } else if constexpr (sizeof(Q) == 1) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm512_cvtepi32_epi8(v.data));
  } else {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm512_cvtepi32_epi16(v.data));
  }
}

template <class A, class Q>
inline void store_narrow4(Q* dst, const ibatch<A>* v, xsimd::avx512bw) noexcept {
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

// --- Tails: masked loads and stores, which never touch the memory past count -------------------

template <class A, class Q>
inline ibatch<A> load_widen_partial(const Q* src, std::size_t count, xsimd::avx512bw) noexcept {
  const __mmask16 m = tail_mask<A>(count);
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

template <class A, class Q>
inline void store_narrow_partial(Q* dst, ibatch<A> v, std::size_t count, xsimd::avx512bw) noexcept {
  const __mmask16 m = tail_mask<A>(count);
  if constexpr (std::is_same_v<Q, std::int32_t>) {
    _mm512_mask_storeu_epi32(dst, m, v.data);
  } else if constexpr (sizeof(Q) == 1) {
    _mm512_mask_cvtepi32_storeu_epi8(dst, m, v.data);
  } else {
    _mm512_mask_cvtepi32_storeu_epi16(dst, m, v.data);
  }
}

template <class A>
inline fbatch<A> load_partial(const float* src, std::size_t count, xsimd::avx512bw) noexcept {
  return _mm512_maskz_loadu_ps(tail_mask<A>(count), src);
}

template <class A>
inline void store_partial(float* dst, fbatch<A> v, std::size_t count, xsimd::avx512bw) noexcept {
  _mm512_mask_storeu_ps(dst, tail_mask<A>(count), v.data);
}

template <class A>
inline void store_first_bytes(std::uint8_t* dst, const xsimd::batch<std::uint8_t, A>& v,
                              std::size_t count, xsimd::avx512bw) noexcept {
  const __mmask64 m = count >= 64 ? ~__mmask64{0} : (__mmask64{1} << count) - 1;
  _mm512_mask_storeu_epi8(dst, m, v);
}

// --- Packs and 8- and 16-bit integer lanes ---------------------------------------------------

template <class A>
inline wbatch<A> pack_words(ibatch<A> a, ibatch<A> b, xsimd::avx512bw) noexcept {
  return _mm512_packs_epi32(a.data, b.data);
}

template <class Q, class A>
inline xsimd::batch<Q, A> pack_bytes_in_lanes(wbatch<A> ab, wbatch<A> cd,
                                              xsimd::avx512bw) noexcept {
  static_assert(sizeof(Q) == 1);
  return std::is_signed_v<Q> ? _mm512_packs_epi16(ab.data, cd.data)
                             : _mm512_packus_epi16(ab.data, cd.data);
}

template <class Q, class A>
inline xsimd::batch<Q, A> pack_bytes(wbatch<A> ab, wbatch<A> cd, xsimd::avx512bw) noexcept {
  const xsimd::batch<Q, A> b = pack_bytes_in_lanes<Q>(ab, cd, xsimd::avx512bw{});
  return _mm512_permutexvar_epi32(
      _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), b);
}

template <class A>
inline wbatch<A> order_words(wbatch<A> w, xsimd::avx512bw) noexcept {
  return _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7), w.data);
}

// xsimd 8.1 compiles these together with a blend that GCC cannot build without optimization (its
// intrinsic is a macro there).
template <class T, class A>
inline xsimd::batch<T, A> add_saturate(xsimd::batch<T, A> a, xsimd::batch<T, A> b,
                                       xsimd::avx512bw) noexcept {
  static_assert(std::is_signed_v<T> && sizeof(T) <= 2);
  if constexpr (sizeof(T) == 1)
    return _mm512_adds_epi8(a, b);
  else
    return _mm512_adds_epi16(a, b);
}

template <class T, class A>
inline xsimd::batch<T, A> min_int(xsimd::batch<T, A> a, xsimd::batch<T, A> b,
                                  xsimd::avx512bw) noexcept {
  if constexpr (sizeof(T) == 1)
    return std::is_signed_v<T> ? _mm512_min_epi8(a, b) : _mm512_min_epu8(a, b);
  else
    return std::is_signed_v<T> ? _mm512_min_epi16(a, b) : _mm512_min_epu16(a, b);
}

template <class T, class A>
inline xsimd::batch<T, A> max_int(xsimd::batch<T, A> a, xsimd::batch<T, A> b,
                                  xsimd::avx512bw) noexcept {
  if constexpr (sizeof(T) == 1)
    return std::is_signed_v<T> ? _mm512_max_epi8(a, b) : _mm512_max_epu8(a, b);
  else
    return std::is_signed_v<T> ? _mm512_max_epi16(a, b) : _mm512_max_epu16(a, b);
}

// --- Non-temporal stores ---------------------------------------------------------------------

template <class T, class A>
inline void store_stream(T* dst, xsimd::batch<T, A> v, xsimd::avx512bw) noexcept {
  if constexpr (std::is_same_v<T, float>) {
    _mm512_stream_ps(dst, v.data);
  } else {
    _mm512_stream_si512(reinterpret_cast<__m512i*>(dst), v.data);
  }
}

inline void store_fence(xsimd::avx512bw) noexcept {
  _mm_sfence();
}

// --- Byte shuffles of the 4-bit kernels ------------------------------------------------------
// The zero-masking permute with a full mask is the plain permute; GCC 12's header for the plain
// one trips -Wuninitialized.

template <class A>
inline xsimd::batch<std::uint8_t, A> gather_quadwords(const xsimd::batch<std::uint8_t, A>& p,
                                                      xsimd::avx512bw) noexcept {
  return _mm512_maskz_permutexvar_epi64(0xFF, _mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7), p);
}

template <class A>
inline xsimd::batch<std::uint8_t, A> spread_quadwords(const xsimd::batch<std::uint8_t, A>& p,
                                                      xsimd::avx512bw) noexcept {
  return _mm512_maskz_permutexvar_epi64(0xFF, _mm512_setr_epi64(0, 4, 1, 5, 2, 6, 3, 7), p);
}

template <class A>
inline xsimd::batch<std::uint16_t, A> join_nibbles(const xsimd::batch<std::uint8_t, A>& b,
                                                   xsimd::avx512bw) noexcept {
  return _mm512_maddubs_epi16(b, _mm512_set1_epi16(0x1001));
}

template <class A>
inline xsimd::batch<std::uint8_t, A> order_nibbles(const xsimd::batch<std::uint8_t, A>& p,
                                                   xsimd::avx512bw) noexcept {
  return _mm512_permutexvar_epi16(
      _mm512_setr_epi32(0x00080000, 0x00180010, 0x00090001, 0x00190011, 0x000A0002, 0x001A0012,
                        0x000B0003, 0x001B0013, 0x000C0004, 0x001C0014, 0x000D0005, 0x001D0015,
                        0x000E0006, 0x001E0016, 0x000F0007, 0x001F0017),
      p);
}

// --- Capabilities (simd_base.hpp) ------------------------------------------------------------

// One register holds the values of all 16 codes, and vpermps looks them up from the low 4 bits
// of each lane: element j of a register is nibble j of 8 packed bytes, whose first 4 bytes are
// broadcast to lanes 0..7 and the next 4 to lanes 8..15 (broadcast loads, off the shuffle port),
// each lane shifted right by 4 (j % 8).
template <>
struct nibble_lookup<xsimd::avx512bw> {
  static constexpr bool available = true;

  // values[u] for the codes u = 0..15, 64-byte aligned.
  explicit nibble_lookup(const float* values) noexcept
      : table(_mm512_load_ps(values)),
        shifts(_mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28)) {}

  // The values of the 16 codes in the 8 packed bytes at eight.
  fbatch<xsimd::avx512bw> operator()(const std::uint8_t* eight) const noexcept {
    std::int32_t first, second;
    std::memcpy(&first, eight, 4);
    std::memcpy(&second, eight + 4, 4);
    const __m512i v = _mm512_mask_set1_epi32(_mm512_set1_epi32(first), 0xFF00, second);
    return _mm512_permutexvar_ps(_mm512_srlv_epi32(v, shifts), table);
  }

  __m512 table;
  __m512i shifts;
};

// The VZEROUPPER that the compiler puts before a function's return leaves registers 16-31 alone.
template <>
struct upper_registers<xsimd::avx512bw> {
  static constexpr bool available = true;

  // Zeroes registers 16-31 and executes VZEROUPPER again, which only then finds the whole upper
  // state clean. Nothing vector-valued may be live but a return value, whose low 128 bits
  // VZEROUPPER keeps.
  static void clear() noexcept {
    __asm__ volatile(
        "vpxord %%xmm16, %%xmm16, %%xmm16\n\tvpxord %%xmm17, %%xmm17, %%xmm17\n\t"
        "vpxord %%xmm18, %%xmm18, %%xmm18\n\tvpxord %%xmm19, %%xmm19, %%xmm19\n\t"
        "vpxord %%xmm20, %%xmm20, %%xmm20\n\tvpxord %%xmm21, %%xmm21, %%xmm21\n\t"
        "vpxord %%xmm22, %%xmm22, %%xmm22\n\tvpxord %%xmm23, %%xmm23, %%xmm23\n\t"
        "vpxord %%xmm24, %%xmm24, %%xmm24\n\tvpxord %%xmm25, %%xmm25, %%xmm25\n\t"
        "vpxord %%xmm26, %%xmm26, %%xmm26\n\tvpxord %%xmm27, %%xmm27, %%xmm27\n\t"
        "vpxord %%xmm28, %%xmm28, %%xmm28\n\tvpxord %%xmm29, %%xmm29, %%xmm29\n\t"
        "vpxord %%xmm30, %%xmm30, %%xmm30\n\tvpxord %%xmm31, %%xmm31, %%xmm31\n\tvzeroupper" ::
            : "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24",
              "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
  }
};

// Compile-time only: a host built for VBMI (-march=icelake-server and later) gets it, and so does
// the dispatch library's avx512vbmi object (its avx512bw object, built without -mavx512vbmi, not).
#if defined(__AVX512VBMI__)
template <>
struct byte_permute<xsimd::avx512bw> {
  static constexpr bool available = true;

  // The floats 2^23 + u for the 64 codes at src, 16 per register, where u is the code itself for
  // unsigned storage and code + 128 (sign bit flipped) for signed storage: a byte u in the low
  // byte of 2^23's bit pattern is the float 2^23 + u, so one permute replaces the widening and
  // the conversion.
  template <class Q>
  static void biased_floats(const Q* src, fbatch<xsimd::avx512bw> (&out)[4]) noexcept {
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

  // The low bytes of the 16-bit words of packus(a, b) (pack_kernels.hpp), in element order: byte
  // d is unit g = d / 2, which sits in word 8 (g % 4) + g / 4 of that packus.
  static __m512i select_nibbles(const __m512i& a, const __m512i& b) noexcept {
    alignas(64) static constexpr std::uint8_t index[64] = {
        0,  2,  16, 18, 32,  34,  48,  50,  4,  6,  20, 22, 36,  38,  52,  54,
        8,  10, 24, 26, 40,  42,  56,  58,  12, 14, 28, 30, 44,  46,  60,  62,
        64, 66, 80, 82, 96,  98,  112, 114, 68, 70, 84, 86, 100, 102, 116, 118,
        72, 74, 88, 90, 104, 106, 120, 122, 76, 78, 92, 94, 108, 110, 124, 126};
    return _mm512_permutex2var_epi8(a, _mm512_load_si512(index), b);
  }
};
#endif
#endif

}  // namespace quanta::detail::simd
QUANTA_SIMD_DIAGNOSTICS_POP
#endif
