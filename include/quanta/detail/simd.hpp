// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "quanta/arch.hpp"
#include "quanta/detail/simd_base.hpp"

// The few things xsimd 8.1 does not give the kernels: round-to-nearest conversion, saturating
// narrowing to 8/16-bit storage, widening loads, partial (tail) loads and stores that never touch
// memory past the caller's buffers, and min/max that skip NaN by operand order. Each kernel
// instruction set K is one of sse2, sse4_1, avx2, avx512bw (x86-64) or neon64 (AArch64), whose
// instructions live in a file of detail/arch/ each; other xsimd architectures map onto the closest
// of them (kernel_arch_t), and a translation unit compiled for none of them gets no SIMD kernels at
// all (QUANTA_SIMD_KERNELS is 0 and the kernels forward to quanta::ref).

// The instruction-set files. Each includes the one it builds on, and the first whose instruction
// set the translation unit has defines QUANTA_SIMD_KERNELS.
#include "quanta/detail/arch/avx2.hpp"
#include "quanta/detail/arch/avx512bw.hpp"
#include "quanta/detail/arch/neon64.hpp"
#include "quanta/detail/arch/sse2.hpp"
#include "quanta/detail/arch/sse4_1.hpp"

#ifndef QUANTA_SIMD_KERNELS
#define QUANTA_SIMD_KERNELS 0
#endif

#if QUANTA_SIMD_KERNELS
QUANTA_SIMD_DIAGNOSTICS_PUSH
namespace quanta::detail::simd {

// --- Which kernel instruction set an xsimd architecture uses -------------------------------------
// Each instruction-set file maps its architectures with an overload of kernel_arch_of, and overload
// resolution picks the most derived base: fma3<avx2> -> avx2, sse4_2 and fma4 -> sse4_1; avx and
// fma3<avx> -> sse4_1 (AVX has no 256-bit integer instructions), avx512f/cd/dq (no BW: no 512-bit
// packs) -> avx2, which every AVX-512 compiler target includes.
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

// Hides a product from the compiler so that a following addition is never contracted into an FMA
// (a host may build with -ffp-contract=fast; the reference rounds the product first). The
// constraint names a vector register: "v" on x86, "w" on AArch64 (where "v" does not exist).
template <class K>
inline fbatch<K> opaque(fbatch<K> v) noexcept {
#if defined(__GNUC__) && defined(__aarch64__)
  auto r = v.data;
  __asm__("" : "+w"(r));
  return r;
#elif defined(__GNUC__)
  auto r = v.data;
  __asm__("" : "+v"(r));
  return r;
#else
  return v;
#endif
}

// --- The kernel operations -----------------------------------------------------------------------
// Every instruction-set file provides these for its kernel set K, as overloads whose last
// parameter is the tag of the instruction set they are written for, as xsimd's own kernels are:
// the kernels pass K{}, and the most derived base of K that has an overload gets the call, so an
// instruction set inherits what the one it extends does (sse4_1 takes most of sse2's), and the
// overloads below for xsimd::generic serve where no file has one. The registers are batches of K
// (A in the files' signatures); loads, which cannot deduce it, name it: load_widen<K>(src, K{}).
//   kernel_arch_of(X)                 the kernel set of xsimd architecture X (above)
//   round_even(fbatch)                to int32, ties to even: the conversion in the default
//                                     floating-point environment
//   floor_lanes(fbatch)               floor, exact for |v| < 2^31; NaN and larger values give a
//                                     float that round_even turns into INT_MIN
//   divide(fbatch a, fbatch b)        a / b correctly rounded (xsimd 8.1's NEON division is a
//                                     reciprocal estimate refined twice, which is not)
//   min_skip_nan(acc, x), max_skip_nan(acc, x)   min/max that return acc when x is NaN (xsimd::min
//                                     promises no operand order)
//   load_widen<K>(const Q*)           a register of codes of storage type Q, widened to int32
//   store_narrow(Q*, ibatch), store_narrow4(Q*, const ibatch*)   int32 lanes already inside Q's
//                                     range, narrowed: one register, or four (one pack tree)
//   pack_words(ibatch a, ibatch b)    to int16, saturating; with more than one 128-bit lane, the
//                                     lanes of a and b alternate, as the instruction leaves them
//   pack_bytes_in_lanes<Q>(ab, cd)    16-bit lanes of ab, then cd, to bytes saturated to Q's range;
//                                     each 128-bit lane holds its part of ab, then its part of cd
//   pack_bytes<Q>(ab, cd)             pack_words(a, b) and pack_words(c, d) to the bytes of a, b,
//                                     c, d in element order
//   order_words(wbatch)               pack_words(a, b) in element order
//   store_stream(T*, batch), store_fence()   a register to memory aligned to its size, around the
//                                     caches; the fence orders those stores before later ones
//   gather_quadwords, spread_quadwords, join_nibbles, order_nibbles   the byte shuffles of the
//                                     4-bit kernels (pack_kernels.hpp says what each does)
//   load_widened<Arch>(const float*)  floats widened to double, for any xsimd architecture Arch
//                                     (metrics_kernels.hpp has the fallback)
// and, where they do better than the fallbacks below: add_saturate, min_int, max_int, and the tails
// load_partial, store_partial, load_widen_partial, store_narrow_partial, store_first_bytes. What
// only some instruction sets have are the capabilities of simd_base.hpp (byte_permute,
// nibble_lookup, upper_registers), which their files specialize.

template <class A>
inline fbatch<A> floor_lanes(fbatch<A> v, xsimd::generic) noexcept {
  return xsimd::floor(v);
}

// a / b, correctly rounded as the reference's division is.
template <class A>
inline fbatch<A> divide(fbatch<A> a, fbatch<A> b, xsimd::generic) noexcept {
  return a / b;
}

// Saturating addition, min and max of 8- and 16-bit integer lanes.
template <class T, class A>
inline xsimd::batch<T, A> add_saturate(xsimd::batch<T, A> a, xsimd::batch<T, A> b,
                                       xsimd::generic) noexcept {
  static_assert(std::is_signed_v<T> && sizeof(T) <= 2);
  return xsimd::sadd(a, b);
}

template <class T, class A>
inline xsimd::batch<T, A> min_int(xsimd::batch<T, A> a, xsimd::batch<T, A> b,
                                  xsimd::generic) noexcept {
  return xsimd::min(a, b);
}

template <class T, class A>
inline xsimd::batch<T, A> max_int(xsimd::batch<T, A> a, xsimd::batch<T, A> b,
                                  xsimd::generic) noexcept {
  return xsimd::max(a, b);
}

// Tails (the first count < size lanes) through a register-sized buffer.

template <class A, class Q>
inline ibatch<A> load_widen_partial(const Q* src, std::size_t count, xsimd::generic) noexcept {
  Q buffer[ibatch<A>::size] = {};
  std::memcpy(buffer, src, count * sizeof(Q));
  return load_widen<A>(buffer, A{});
}

template <class A, class Q>
inline void store_narrow_partial(Q* dst, ibatch<A> v, std::size_t count, xsimd::generic) noexcept {
  Q buffer[ibatch<A>::size];
  store_narrow(buffer, v, A{});
  std::memcpy(dst, buffer, count * sizeof(Q));
}

template <class A>
inline fbatch<A> load_partial(const float* src, std::size_t count, xsimd::generic) noexcept {
  alignas(64) float buffer[fbatch<A>::size] = {};
  std::memcpy(buffer, src, count * sizeof(float));
  return fbatch<A>::load_aligned(buffer);
}

template <class A>
inline void store_partial(float* dst, fbatch<A> v, std::size_t count, xsimd::generic) noexcept {
  alignas(64) float buffer[fbatch<A>::size];
  v.store_aligned(buffer);
  std::memcpy(dst, buffer, count * sizeof(float));
}

// The first count <= size bytes of v.
template <class A>
inline void store_first_bytes(std::uint8_t* dst, const xsimd::batch<std::uint8_t, A>& v,
                              std::size_t count, xsimd::generic) noexcept {
  alignas(64) std::uint8_t buffer[xsimd::batch<std::uint8_t, A>::size];
  v.store_aligned(buffer);
  std::memcpy(dst, buffer, count);
}

// --- Non-temporal stores ---------------------------------------------------------------------
// A register to memory aligned to the register's size, written around the caches: a large output
// then costs its own bytes of traffic, not a read for ownership as well. The caller issues
// store_fence(K{}) after the last one, before another thread (or the caller's caller) may read
// them.

// A register to memory, through the caches or (Stream) around them: see store_stream.
template <bool Stream, class T, class K>
inline void store_register(T* dst, xsimd::batch<T, K> v) noexcept {
  if constexpr (Stream) {
    store_stream(dst, v, K{});
  } else {
    v.store_unaligned(dst);
  }
}

// --- 8-bit codes: narrow first, then add the offset and clamp ---------------------------------
// XNNPACK's order of work: the float side only scales and rounds, the offset is a saturating
// 16-bit addition and the range a byte clamp, which saves the NaN select, both float clamps and
// the 32-bit addition per register. It is exact only when no code reaches -32768, which the
// kernels check with any_floor before they store.

template <std::size_t M, class T, class K>
inline xsimd::batch<T, K> min_lanes(const xsimd::batch<T, K>* w) noexcept {
  if constexpr (M == 1) {
    return w[0];
  } else {
    return min_int(min_lanes<M / 2>(w), min_lanes<M - M / 2>(w + M / 2), K{});
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
// Stream: a non-temporal store to dst aligned to the register's size (store_stream).
template <bool Stream, class Q, class K>
QUANTA_SIMD_INLINE void store_bytes(Q* dst, xsimd::batch<Q, K> b) noexcept {
  if constexpr (Stream) {
    store_stream(dst, b, K{});
  } else {
    b.store_unaligned(dst);
  }
}

template <bool Stream, class Q, class K>
QUANTA_SIMD_INLINE void store_offset_bytes(Q* dst, wbatch<K> ab, wbatch<K> cd, wbatch<K> ab_offset,
                                           wbatch<K> cd_offset) noexcept {
  store_bytes<Stream>(
      dst, pack_bytes<Q>(add_saturate(ab, ab_offset, K{}), add_saturate(cd, cd_offset, K{}), K{}));
}

template <bool Stream, class Q, class K>
QUANTA_SIMD_INLINE void store_offset_bytes(Q* dst, wbatch<K> ab, wbatch<K> cd, wbatch<K> ab_offset,
                                           wbatch<K> cd_offset, xsimd::batch<Q, K> lo,
                                           xsimd::batch<Q, K> hi) noexcept {
  const auto b =
      pack_bytes<Q>(add_saturate(ab, ab_offset, K{}), add_saturate(cd, cd_offset, K{}), K{});
  store_bytes<Stream>(dst, min_int(max_int(b, lo, K{}), hi, K{}));
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

// w = pack_words(a, b) of shifted codes v, none of them -32768, to the 16-bit codes of a and b in
// order: clamp(v, lo, hi) then offset + v, or offset - v when Reverse (the kernel shifted by
// negating). clamp = false when lo..hi cannot bind on words -32767..32767. stream: a non-temporal
// store to dst aligned to the register's size (store_stream).
template <bool Reverse, class Q, class K>
QUANTA_SIMD_INLINE void store_offset_words(Q* dst, wbatch<K> w, const word_offset<K>& o, bool clamp,
                                           bool stream) noexcept {
  static_assert(sizeof(Q) == 2);
  if (clamp) w = min_int(max_int(w, o.lo, K{}), o.hi, K{});
  if constexpr (Reverse) {
    w = o.offset - w;
  } else {
    w = w + o.offset;
  }
  // int16 and uint16 may alias each other.
  auto* words = reinterpret_cast<std::int16_t*>(dst);
  if (stream) {
    store_stream(words, order_words(w, K{}), K{});
  } else {
    order_words(w, K{}).store_unaligned(words);
  }
}

}  // namespace quanta::detail::simd
QUANTA_SIMD_DIAGNOSTICS_POP
#endif
