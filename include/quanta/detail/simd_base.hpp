// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "quanta/arch.hpp"

// What the instruction-set files (detail/arch/) and the kernels written against them both build
// on: the register types, the macros around kernel code, and the capabilities that only some
// instruction sets have. Kernels include detail/simd.hpp, which includes every instruction-set
// file; this header exists so that each of those files also compiles on its own.

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
// passes its parameter registers through memory. QUANTA_SIMD_INLINE_LAMBDA goes after a lambda's
// parameter list: GCC 12 at -O2 calls the per-register lambda of a sixteen-register block sixteen
// times rather than inline it into a user's translation unit.
// A build may define QUANTA_SIMD_INLINE_LAMBDA (empty) to leave those lambdas to the compiler,
// which costs speed only: quanta's sanitizer builds do, to compile faster.
#if defined(__GNUC__)
#define QUANTA_SIMD_INLINE inline __attribute__((always_inline))
#ifndef QUANTA_SIMD_INLINE_LAMBDA
#define QUANTA_SIMD_INLINE_LAMBDA __attribute__((always_inline))
#endif
#else
#define QUANTA_SIMD_INLINE inline
#ifndef QUANTA_SIMD_INLINE_LAMBDA
#define QUANTA_SIMD_INLINE_LAMBDA
#endif
#endif

#if QUANTA_SIMD
namespace quanta::detail::simd {

template <class K>
using fbatch = xsimd::batch<float, K>;
template <class K>
using ibatch = xsimd::batch<std::int32_t, K>;
template <class K>
using wbatch = xsimd::batch<std::int16_t, K>;

// Inlined as the kernels' lambdas are (QUANTA_SIMD_INLINE_LAMBDA): GCC 12 for AArch64 at -O2 keeps
// the four-register store step of the 8-bit quantize block out of line, and passes the block's
// registers and parameters to it through memory (a third more instructions per element).
template <class F, std::size_t... I>
inline QUANTA_SIMD_INLINE_LAMBDA void unroll(F& f, std::index_sequence<I...>) noexcept {
  (f(std::integral_constant<std::size_t, I>{}), ...);
}

// Calls f(std::integral_constant<std::size_t, k>{}) for k = 0..M-1: unrolled at any optimization
// level, so that arrays of registers indexed by k stay in registers.
template <std::size_t M, class F>
inline QUANTA_SIMD_INLINE_LAMBDA void unroll(F&& f) noexcept {
  unroll(f, std::make_index_sequence<M>{});
}

// --- Capabilities of some kernel instruction sets ------------------------------------------------
// Kernels test `available` with if constexpr and, where it holds, call the other members; the file
// of an instruction set that has the capability specializes the struct for its kernel set K.

// Byte permutes across a whole register (AVX-512 VBMI): the 8-bit dequantize and the second
// narrowing of the 4-bit quantize + pack.
template <class K>
struct byte_permute {
  static constexpr bool available = false;
};

// A register of 16 floats looked up by 4-bit codes (AVX-512): the 4-bit unpack + dequantize.
template <class K>
struct nibble_lookup {
  static constexpr bool available = false;
};

// Registers that VZEROUPPER leaves dirty (AVX-512's 16-31), which the dispatch library clears
// before it returns to its callers' legacy SSE code (src/dispatch/table.hpp).
template <class K>
struct upper_registers {
  static constexpr bool available = false;
};

}  // namespace quanta::detail::simd
#endif
