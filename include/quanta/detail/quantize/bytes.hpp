// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "quanta/detail/quantize/runs.hpp"

// 8-bit quantize, narrow first (docs/simd_kernels.md, "8-bit storage, one encoding"): the float
// side only scales and rounds, the offset and the clamp are byte-sized integer steps.
#if QUANTA_SIMD_KERNELS
QUANTA_SIMD_DIAGNOSTICS_PUSH
namespace quanta::detail::kernels {

// Whether quantize_run_bytes can take p for 8-bit storage (see simd::store_offset_bytes).
inline bool byte_offset_fits(const affine_params& p) noexcept {
  return p.post_offset > -256 && p.post_offset < 256;
}

// Whether p's range is narrower than Q's, so that 8-bit codes need a clamp after the packs.
template <class Q>
bool clamps(const affine_params& p) noexcept {
  return p.qmin > std::numeric_limits<Q>::min() || p.qmax < std::numeric_limits<Q>::max();
}

template <class Q, class K>
simd::byte_offset<Q, K> byte_offset_of(const affine_params& p) noexcept {
  return {simd::wbatch<K>(static_cast<std::int16_t>(p.post_offset)),
          xsimd::batch<Q, K>(static_cast<Q>(p.qmin)), xsimd::batch<Q, K>(static_cast<Q>(p.qmax))};
}

// The offsets and clamp bounds of the 8-bit path for the elements from i on: one encoding's...
template <class Q, class K>
struct broadcast_bytes {
  simd::byte_offset<Q, K> o;
  simd::wbatch<K> offset(std::size_t) const noexcept { return o.offset; }
  xsimd::batch<Q, K> lo(std::size_t) const noexcept { return o.lo; }
  xsimd::batch<Q, K> hi(std::size_t) const noexcept { return o.hi; }
  broadcast_bytes from(std::size_t) const noexcept { return *this; }
};

// ... or per-element ones. The offsets of elements [i, i + 2 * size) are stored in the order
// simd::pack_words leaves them, for every i that is a multiple of 2 * size: a run that reads them
// must start its blocks at such an i.
template <class Q, class K>
struct byte_table {
  std::int16_t* offset;
  Q *lo, *hi;

  static constexpr std::size_t bytes(std::size_t size) noexcept {
    return scratch::bytes_for<std::int16_t>(size) + 2 * scratch::bytes_for<Q>(size);
  }

  byte_table(scratch& memory, std::size_t size) noexcept
      : offset(memory.take<std::int16_t>(size)),
        lo(memory.take<Q>(size)),
        hi(memory.take<Q>(size)) {}

  // Elements [0, size) from the parameter table, whose offsets fit int16 (byte_offset_fits) and
  // which repeats with the given period.
  void fill(const param_table<K>& table, std::size_t size, std::size_t period) noexcept {
    constexpr std::size_t N = ibatch<K>::size;
    std::size_t j = 0;
    for (; j + 2 * N <= size; j += 2 * N) {
      simd::pack_words(ibatch<K>::load_unaligned(table.post + j),
                       ibatch<K>::load_unaligned(table.post + j + N), K{})
          .store_unaligned(offset + j);
    }
    for (; j < size; ++j)
      offset[j] = static_cast<std::int16_t>(table.post[j]);
    for (j = 0; j < std::min(period, size); ++j) {
      lo[j] = static_cast<Q>(static_cast<std::int32_t>(table.lo[j]) + table.post[j]);
      hi[j] = static_cast<Q>(static_cast<std::int32_t>(table.hi[j]) + table.post[j]);
    }
    for (j = period; j < size; j += period) {
      std::memcpy(lo + j, lo, std::min(period, size - j) * sizeof(Q));
      std::memcpy(hi + j, hi, std::min(period, size - j) * sizeof(Q));
    }
  }
};

template <class Q, class K>
struct table_bytes {
  byte_table<Q, K> table;
  std::size_t base;
  simd::wbatch<K> offset(std::size_t i) const noexcept {
    return simd::wbatch<K>::load_unaligned(table.offset + base + i);
  }
  xsimd::batch<Q, K> lo(std::size_t i) const noexcept {
    return xsimd::batch<Q, K>::load_unaligned(table.lo + base + i);
  }
  xsimd::batch<Q, K> hi(std::size_t i) const noexcept {
    return xsimd::batch<Q, K>::load_unaligned(table.hi + base + i);
  }
  table_bytes from(std::size_t i) const noexcept { return {table, base + i}; }
};

// The rounded codes of register k of a block at x, before narrowing.
template <class Mode, class K, class Source>
QUANTA_SIMD_INLINE ibatch<K> block_codes(const float* x, const Source& src,
                                         std::size_t k) noexcept {
  constexpr std::size_t N = fbatch<K>::size;
  const auto l = src.at(k * N);
  return round_lanes<Mode, K>(scale_lanes<Mode>(fbatch<K>::load_unaligned(x + k * N), l), l);
}

// block_codes where GCC chooses whether to inline it: for the midpoint modes, whose rounding needs
// more registers, sixteen of them inlined into one block spill, and a call per register is faster
// (25% at 4 Ki elements, Zen 5, GCC 12 -O2 and -O3). The other modes are inlined always: GCC 12
// at -O2 otherwise calls them sixteen times per block too, a third of the speed.
template <class Mode, class K, class Source>
inline ibatch<K> block_codes_or_call(const float* x, const Source& src, std::size_t k) noexcept {
  return block_codes<Mode, K>(x, src, k);
}

// Elements [0, Registers * size) of x to 8-bit codes with the offset and the clamp after narrowing
// (simd::store_offset_bytes); false, with nothing stored, when any_floor refuses the block.
template <std::size_t Registers, class Mode, bool Clamp, bool Stream, class K, class Source,
          class Bytes, class Q>
QUANTA_SIMD_INLINE bool quantize_block_bytes(const float* x, const Source& src, const Bytes& bytes,
                                             Q* q) noexcept {
  constexpr std::size_t N = fbatch<K>::size;
  const auto code = [&](std::size_t k) QUANTA_SIMD_INLINE_LAMBDA {
    if constexpr (Mode::midpoint) {
      return block_codes_or_call<Mode, K>(x, src, k);
    } else {
      return block_codes<Mode, K>(x, src, k);
    }
  };
  simd::wbatch<K> w[Registers / 2];
  simd::unroll<Registers / 2>([&](auto k) QUANTA_SIMD_INLINE_LAMBDA {
    w[k] = simd::pack_words(code(2 * k), code(2 * k + 1), K{});
  });
  if (simd::any_floor(w)) return false;
  simd::unroll<Registers / 4>([&](auto k) QUANTA_SIMD_INLINE_LAMBDA {
    constexpr std::size_t at = 4 * k * N;
    if constexpr (Clamp) {
      simd::store_offset_bytes<Stream>(q + at, w[2 * k], w[2 * k + 1], bytes.offset(at),
                                       bytes.offset(at + 2 * N), bytes.lo(at), bytes.hi(at));
    } else {
      simd::store_offset_bytes<Stream>(q + at, w[2 * k], w[2 * k + 1], bytes.offset(at),
                                       bytes.offset(at + 2 * N));
    }
  });
  return true;
}

// quantize_run for 8-bit storage: blocks of 16 registers, then of 4, each checked once; a refused
// block (a NaN, an infinity, a value far below the range) is done again by quantize_run before
// anything after it is read or written. The first head elements go to quantize_run alone (the
// blocks then start at an aligned x + head, or at the multiple of two registers that byte_table
// asks for, or when streaming at a q + head aligned to the register's size).
// Sources are taken by value: stores through Q* may alias anything, so referenced parameters would
// be reloaded every block.
template <class Mode, bool Clamp, class K, bool Stream = false, class Source, class Bytes, class Q>
QUANTA_SIMD_INLINE void quantize_run_bytes(const float* x, std::size_t n, std::size_t head,
                                           Source src, Bytes bytes, Q* q) noexcept {
  constexpr std::size_t N = fbatch<K>::size;
  // Calls for no elements are skipped: each passes the parameter registers through memory.
  if (head > 0) quantize_run<Mode, K>(x, head, src, q);
  std::size_t i = head;
  for (; i + 16 * N <= n; i += 16 * N)
    if (!quantize_block_bytes<16, Mode, Clamp, Stream, K>(x + i, src.from(i), bytes.from(i), q + i))
      quantize_run<Mode, K>(x + i, 16 * N, src.from(i), q + i);
  for (; i + 4 * N <= n; i += 4 * N)
    if (!quantize_block_bytes<4, Mode, Clamp, Stream, K>(x + i, src.from(i), bytes.from(i), q + i))
      quantize_run<Mode, K>(x + i, 4 * N, src.from(i), q + i);
  if (i < n) quantize_run<Mode, K>(x + i, n - i, src.from(i), q + i);
  if constexpr (Stream) simd::store_fence(K{});
}

// A run with one encoding, on the fastest path that p allows: for 8-bit codes the narrow-first
// quantize and the byte-permute dequantize, with the float side aligned when the run is long.
// quantize_run_bytes with one encoding, whose registers are set up here rather than passed: a
// call with ten registers of parameters would pass them through memory, which costs as much as
// the blocks of a short row.
template <class Mode, class K, class Q>
void quantize_encoding_bytes(const float* x, std::size_t n, const affine_params& p, Q* q) noexcept {
  const broadcast_source<K> src{broadcast<K>(p)};
  const broadcast_bytes<Q, K> bytes{byte_offset_of<Q, K>(p)};
  const bool clamp = clamps<Q>(p);
  if (streams_output<Q>(n)) {
    const std::size_t head = std::min(n, elements_to_register_boundary<K>(q));
    if (clamp) return quantize_run_bytes<Mode, true, K, true>(x, n, head, src, bytes, q);
    return quantize_run_bytes<Mode, false, K, true>(x, n, head, src, bytes, q);
  }
  const std::size_t head = misaligned_head<K>(x, n);
  if (clamp) return quantize_run_bytes<Mode, true, K>(x, n, head, src, bytes, q);
  quantize_run_bytes<Mode, false, K>(x, n, head, src, bytes, q);
}

}  // namespace quanta::detail::kernels
QUANTA_SIMD_DIAGNOSTICS_POP
#endif
