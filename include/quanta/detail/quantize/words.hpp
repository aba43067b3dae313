// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "quanta/detail/quantize/runs.hpp"

// 16-bit quantize, narrow first: the codes placed in int16 with a shift fixed per encoding, then
// the clamp and the offset as 16-bit steps.
#if QUANTA_SIMD_KERNELS
QUANTA_SIMD_DIAGNOSTICS_PUSH
namespace quanta::detail::kernels {

// How the 16-bit narrow-first path stores: whether the encoding's range is narrower than the
// packs' saturation (then a clamp follows), and whether the output goes around the caches
// (simd::store_stream, to memory aligned to the register's size; the run fences). Values for a
// whole run: a branch per stored register that always goes the same way costs less than more
// instantiations of the run. The 8-bit path takes both as template arguments instead: as a value
// its clamp bounds are two more registers in every block, or two more loads from a per-channel
// table (a quarter of the speed on AVX2's 16 registers), and the streaming branch 3% more
// instructions per element.
struct store_plan {
  bool clamp = false;
  bool stream = false;
};

// How quantize_run_words places a code c = round(t) in int16 before narrowing, so that the codes
// [a, b] = [qmin - post_offset, qmax - post_offset] of the encoding (at most 65536 of them) meet
// pack_words's saturation only on the side where the clamp gives the same end code anyway:
//   none:     v = c,        when [a, b] lies in int16;
//   subtract: v = c - bias, bias = b - 32767 < 0, when a < -32768: v = 32767 means c >= b;
//   reverse:  v = bias - c, bias = a + 32767 >= 0, when b > 32767: v = 32767 means c <= a.
// A bias of the other sign could wrap the INT_MIN of NaN and overflow (round_lanes) to a large
// positive v; with these signs it stays at or below -32768, the word any_floor refuses, as it
// refuses codes beyond the other end (only qmin or qmax of a full 16-bit range, and values outside
// the range). The stored code is clamp(v) + (bias + post_offset), or (bias + post_offset) - v.
enum class word_shift { none, subtract, reverse };

struct word_plan {
  word_shift shift = word_shift::none;
  std::int32_t bias = 0;
  std::int32_t lo = 0, hi = 0;  // the codes [a, b] shifted, as words
  bool clamp = false;           // whether lo..hi binds on words -32767..32767
  std::int32_t offset = 0;      // bias + post_offset
};

// Whether quantize_run_words can take p for 16-bit storage, and how (see word_shift). Encodings of
// 16-bit storage always can; the check only keeps the arithmetic below in range.
inline bool plan_words(const affine_params& p, word_plan& plan) noexcept {
  const std::int64_t a = std::int64_t{p.qmin} - p.post_offset;
  const std::int64_t b = std::int64_t{p.qmax} - p.post_offset;
  if (a > b || b - a > 65535 || a < -65536 || b > 65536) return false;
  std::int64_t bias = 0, lo = a, hi = b;
  if (a < -32768) {
    plan.shift = word_shift::subtract;
    bias = b - 32767;
    lo = a - bias;
    hi = 32767;
  } else if (b > 32767) {
    plan.shift = word_shift::reverse;
    bias = a + 32767;
    lo = bias - b;
    hi = 32767;
  } else {
    plan.shift = word_shift::none;
  }
  plan.bias = static_cast<std::int32_t>(bias);
  plan.lo = static_cast<std::int32_t>(lo);
  plan.hi = static_cast<std::int32_t>(hi);
  plan.clamp = lo > -32767 || hi < 32767;
  plan.offset = static_cast<std::int32_t>(bias + p.post_offset);
  return true;
}

template <class K>
simd::word_offset<K> word_offset_of(const word_plan& plan) noexcept {
  // The offset wraps: only its low 16 bits matter.
  const auto word = [](std::int32_t v) {
    return static_cast<std::int16_t>(static_cast<std::uint16_t>(static_cast<std::uint32_t>(v)));
  };
  return {simd::wbatch<K>(word(plan.offset)), simd::wbatch<K>(word(plan.lo)),
          simd::wbatch<K>(word(plan.hi))};
}

// Registers [0, Registers) of x rounded and shifted as Shift says, two per register of words.
template <std::size_t Registers, class Mode, word_shift Shift, class K>
void shifted_words(const float* x, const lanes<K>& l, ibatch<K> bias,
                   simd::wbatch<K> (&w)[Registers / 2]) noexcept {
  constexpr std::size_t N = fbatch<K>::size;
  const auto code = [&](std::size_t k) {
    const ibatch<K> c =
        round_lanes<Mode, K>(scale_lanes<Mode>(fbatch<K>::load_unaligned(x + k * N), l), l);
    if constexpr (Shift == word_shift::subtract) {
      return c - bias;
    } else if constexpr (Shift == word_shift::reverse) {
      return bias - c;
    } else {
      return c;
    }
  };
  simd::unroll<Registers / 2>(
      [&](auto k) { w[k] = simd::pack_words(code(2 * k), code(2 * k + 1), K{}); });
}

// Elements [0, 2 * size) of x to 16-bit codes, by the exact kernel when a word is -32768.
template <class Mode, word_shift Shift, class K, class Q>
void quantize_pair_words(const float* x, const lanes<K>& l, ibatch<K> bias,
                         const simd::word_offset<K>& o, bool clamp, Q* q) noexcept {
  constexpr bool reverse = Shift == word_shift::reverse;
  simd::wbatch<K> w[1];
  shifted_words<2, Mode, Shift>(x, l, bias, w);
  if (simd::any_floor(w))
    return quantize_run<Mode, K>(x, 2 * fbatch<K>::size, broadcast_source<K>{l}, q);
  simd::store_offset_words<reverse>(q, w[0], o, clamp, false);
}

// quantize_run for 16-bit storage and one encoding (see word_shift): blocks of 16 registers checked
// once, then register pairs. In a refused block (a NaN, an infinity, a code at or past the end
// of the range on the refused side) each pair of registers is checked on its own and only those
// holding such a value are done again by quantize_run, so that a sparse special value costs one
// pair, not the block. l, bias and o are taken by value, as in quantize_run_bytes. The blocks start
// at an aligned x + i, or when streaming at a q + i aligned for non-temporal stores.
template <class Mode, word_shift Shift, class K, class Q>
void quantize_run_words(const float* x, std::size_t n, lanes<K> l, ibatch<K> bias,
                        simd::word_offset<K> o, store_plan plan, Q* q) noexcept {
  constexpr std::size_t N = fbatch<K>::size;
  constexpr bool reverse = Shift == word_shift::reverse;
  std::size_t i =
      plan.stream ? std::min(n, elements_to_register_boundary<K>(q)) : misaligned_head<K>(x, n);
  if (i > 0) quantize_run<Mode, K>(x, i, broadcast_source<K>{l}, q);
  for (; i + 16 * N <= n; i += 16 * N) {
    simd::wbatch<K> w[8];
    shifted_words<16, Mode, Shift>(x + i, l, bias, w);
    if (!simd::any_floor(w)) {
      simd::unroll<8>([&](auto k) {
        simd::store_offset_words<reverse>(q + i + 2 * k * N, w[k], o, plan.clamp, plan.stream);
      });
    } else {
      simd::unroll<8>([&](auto k) {
        const simd::wbatch<K> pair[1] = {w[k]};
        if (simd::any_floor(pair))
          quantize_run<Mode, K>(x + i + 2 * k * N, 2 * N, broadcast_source<K>{l},
                                q + i + 2 * k * N);
        else
          simd::store_offset_words<reverse>(q + i + 2 * k * N, w[k], o, plan.clamp, plan.stream);
      });
    }
  }
  for (; i + 2 * N <= n; i += 2 * N)
    quantize_pair_words<Mode, Shift>(x + i, l, bias, o, plan.clamp, q + i);
  if (i < n) quantize_run<Mode, K>(x + i, n - i, broadcast_source<K>{l}, q + i);
  if (plan.stream) simd::store_fence(K{});
}

// quantize_run_words with plan's shift as a template argument: the subtraction or negation is an
// integer instruction per register, which the 16-bit path, bound by its instruction count in
// cache, notices.
template <class Mode, class K, class Q>
void quantize_words(const float* x, std::size_t n, const affine_params& p, const word_plan& plan,
                    Q* q) noexcept {
  const lanes<K> l = broadcast<K>(p);
  const ibatch<K> bias(plan.bias);
  const simd::word_offset<K> o = word_offset_of<K>(plan);
  const store_plan stores{plan.clamp, streams_output<Q>(n)};
  switch (plan.shift) {
    case word_shift::none:
      return quantize_run_words<Mode, word_shift::none, K>(x, n, l, bias, o, stores, q);
    case word_shift::subtract:
      return quantize_run_words<Mode, word_shift::subtract, K>(x, n, l, bias, o, stores, q);
    case word_shift::reverse:
      return quantize_run_words<Mode, word_shift::reverse, K>(x, n, l, bias, o, stores, q);
  }
}

}  // namespace quanta::detail::kernels
QUANTA_SIMD_DIAGNOSTICS_POP
#endif
