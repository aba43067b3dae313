// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>

#include "quanta/arch.hpp"
#include "quanta/detail/affine.hpp"
#include "quanta/detail/simd.hpp"
#include "quanta/ref/quantize.hpp"

// Quantize kernels, one instantiation per instruction set (Arch). No validation: callers pass
// sizes that match. Each equals quanta::ref bit for bit, which the SIMD path gets by:
//   - replacing a NaN product (NaN input, or 0 * inf when 1/scale overflows) by 0 before anything
//     else, as the reference does;
//   - clamping t = scaled + pre_offset to [qmin - post_offset, qmax - post_offset] in float before
//     rounding: the bounds are integers, so clamp-then-round equals round-then-clamp, and every
//     bound of an encoding of at most 16 bits is exact in float (32-bit encodings take the
//     reference path);
//   - rounding half to even with the hardware conversion (the default floating-point environment,
//     which the reference's float arithmetic assumes as well) and the other tie rules by comparing
//     the fraction of |t| (or t) above its floor with 0.5, which is exact (round_lanes);
//   - adding the integer offset and narrowing in integer registers, where nothing rounds.
namespace quanta::detail {

// Whether every bound of p is exact in float (see above).
inline bool simd_exact(const affine_params& p) noexcept {
  constexpr std::int64_t limit = std::int64_t{1} << 22;
  return std::int64_t{p.qmin} - p.post_offset >= -limit &&
         std::int64_t{p.qmax} - p.post_offset <= limit;
}

inline bool simd_exact(const affine_params* params, std::size_t count) noexcept {
  return std::all_of(params, params + count, [](const affine_params& p) { return simd_exact(p); });
}

// Output size from which the per-tensor runs write their output with non-temporal stores
// (simd::store_stream), which saves the read for ownership of each output line. Smaller outputs
// stay in cache for their consumer, which usually reads them right away. A fixed size rather than
// one derived from the cache size: virtual machines misreport it (the benchmark VM claims a 480 MiB
// L3).
constexpr std::size_t stream_output_bytes = std::size_t{8} << 20;

#if QUANTA_SIMD_KERNELS
QUANTA_SIMD_DIAGNOSTICS_PUSH
namespace kernels {

using simd::fbatch;
using simd::ibatch;

// How t is formed and rounded, fixed for a whole call: the choices that change the instructions
// of the inner loop are template arguments (docs/simd_kernels.md, "Specializations", gives what
// each buys); everything else the loop needs is a value in lanes, hoisted out of it.
//   Midpoint:  ties away from zero or toward +inf, by comparing the fraction above the floor with
//              0.5 (which way a tie goes is lanes::tie_sign), or ties to even, by the hardware
//              conversion alone.
//   Divide:    x / scale (ONNX Runtime, TFLite, QNN) or x * (1 / scale).
//   PreOffset: the zero point added before rounding (QNN). Only the multiply path with ties to
//              even (PyTorch, FBGEMM, XNNPACK) runs without it, where the one addition per
//              register costs a fifth of the time in cache; the other modes always add it, as 0.0f
//              when there is none (t + 0.0f differs from t only for t = -0.0f, which rounds to the
//              same code), hidden behind their division or midpoint steps.
template <bool Midpoint, bool Divide, bool PreOffset = true>
struct quant_mode {
  static constexpr bool midpoint = Midpoint;
  static constexpr bool divide = Divide;
  static constexpr bool pre_offset = PreOffset;
};

// Calls f(mode) with the quant_mode shared by params[0..count).
template <class F>
void with_mode(const affine_params* params, std::size_t count, F&& f) {
  const bool divide = count > 0 && params[0].divide;
  const bool midpoint = count > 0 && params[0].round != rounding::half_even;
  if (midpoint) {
    if (divide) return f(quant_mode<true, true>{});
    return f(quant_mode<true, false>{});
  }
  if (divide) return f(quant_mode<false, true>{});
  const bool pre = std::any_of(params, params + count,
                               [](const affine_params& p) { return p.pre_offset != 0.0f; });
  if (pre) return f(quant_mode<false, false>{});
  f(quant_mode<false, false, false>{});
}

// The sign bits that the midpoint rules set apart before rounding up at 0.5: ties away from zero
// round the magnitude (-0.0f: the sign bit), ties toward +inf the signed value (+0.0f: none).
// Shared by every encoding of a call.
inline float tie_sign(const affine_params& p) noexcept {
  return p.round == rounding::half_up ? 0.0f : -0.0f;
}

// One affine_params spread over the lanes of a register (or one per lane).
template <class K>
struct lanes {
  fbatch<K> factor;  // inv_scale, or scale when dividing
  fbatch<K> pre, lo, hi, scale;
  ibatch<K> post, zero_point;
  fbatch<K> tie_sign;  // see tie_sign(): the same in every lane and for every encoding
};

template <class K>
lanes<K> broadcast(const affine_params& p) noexcept {
  lanes<K> l;
  l.factor = fbatch<K>(p.divide ? p.scale : p.inv_scale);
  l.pre = fbatch<K>(p.pre_offset);
  l.lo = fbatch<K>(static_cast<float>(std::int64_t{p.qmin} - p.post_offset));
  l.hi = fbatch<K>(static_cast<float>(std::int64_t{p.qmax} - p.post_offset));
  l.scale = fbatch<K>(p.scale);
  l.post = ibatch<K>(p.post_offset);
  l.zero_point = ibatch<K>(p.zero_point);
  l.tie_sign = fbatch<K>(tie_sign(p));
  return l;
}

// t = x * inv_scale (or x / scale) + pre_offset, before the NaN rule and the clamp.
template <class Mode, class K>
fbatch<K> scale_lanes(fbatch<K> x, const lanes<K>& p) noexcept {
  const fbatch<K> t = Mode::divide ? x / p.factor : x * p.factor;
  if constexpr (!Mode::pre_offset) return t;
  return simd::opaque<K>(t) + p.pre;
}

// t rounded as Mode and tie_sign say, exact for |t| <= 2^22. Larger values round to an integer of
// at least that size, NaN and values beyond int32 to INT_MIN.
// The midpoint rules round v (the magnitude of t, or t itself) up when v - floor(v) >= 0.5, and
// put the sign back: the difference is exact (Sterbenz's lemma for |v| >= 1; for -1 < v < 0 it
// rounds only where it cannot cross 0.5), where floor(v + 0.5) would round v = 0.5 - 2^-25 up to 1.
// NaN and infinities stay NaN or infinite up to the conversion, which gives INT_MIN for them.
template <class Mode, class K>
ibatch<K> round_lanes(fbatch<K> t, fbatch<K> tie_sign) noexcept {
  using fb = fbatch<K>;
  if constexpr (!Mode::midpoint) {
    return simd::round_even(t, K{});
  } else {
    const fb sign = t & tie_sign;
    const fb v = t ^ sign;
    const fb down = simd::floor_lanes(v, K{});
    const fb up = xsimd::select(v - down >= fb(0.5f), down + fb(1.0f), down);
    return simd::round_even(up | sign, K{});
  }
}

template <class Mode, class K>
ibatch<K> round_lanes(fbatch<K> t, const lanes<K>& p) noexcept {
  return round_lanes<Mode, K>(t, p.tie_sign);
}

template <class Mode, class K>
ibatch<K> quantize_lanes(fbatch<K> x, const lanes<K>& p) noexcept {
  fbatch<K> t = scale_lanes<Mode>(x, p);
  // A NaN here came from a NaN input (or 0 * inf): it quantizes as 0.0 does, to pre_offset.
  t = xsimd::select(t == t, t, p.pre);
  t = xsimd::min(xsimd::max(t, p.lo), p.hi);
  return round_lanes<Mode, K>(t, p) + p.post;
}

template <class K>
fbatch<K> dequantize_lanes(ibatch<K> code, const lanes<K>& p) noexcept {
  return xsimd::to_float(code - p.zero_point) * p.scale;
}

// Parameters for every element of a run: the same for all, or read from per-element tables.
// Runs take their source by value, so that broadcast lanes live in registers.
template <class K>
struct broadcast_source {
  lanes<K> l;
  const lanes<K>& at(std::size_t) const noexcept { return l; }
  broadcast_source from(std::size_t) const noexcept { return *this; }
};

// Working memory of the layout kernels' parameter tables: on the stack when it is small, as it is
// for the common per-channel shapes, where a heap allocation would cost as much as quantizing a few
// thousand elements.
class scratch {
 public:
  explicit scratch(std::size_t bytes) {
    if (bytes > sizeof(local_)) {
      heap_.reset(new std::byte[bytes]);
      data_ = heap_.get();
    }
  }
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;

  // The next count elements of T, at a 64-byte offset from the start.
  template <class T>
  T* take(std::size_t count) noexcept {
    T* p = reinterpret_cast<T*>(data_ + used_);
    used_ += bytes_for<T>(count);
    return p;
  }

  template <class T>
  static constexpr std::size_t bytes_for(std::size_t count) noexcept {
    return (count * sizeof(T) + 63) / 64 * 64;
  }

 private:
  alignas(64) std::byte local_[16384];
  std::unique_ptr<std::byte[]> heap_;
  std::byte* data_ = local_;
  std::size_t used_ = 0;
};

// Per-element parameters as structure-of-arrays. Runs read whole registers, so a run that ends at
// the table's end needs padding of one register.
template <class K>
struct param_table {
  float *factor, *pre, *lo, *hi, *scale;
  std::int32_t *post, *zero_point;
  float tie_sign = 0.0f;  // one for all positions

  static constexpr std::size_t bytes(std::size_t size) noexcept {
    return 5 * scratch::bytes_for<float>(size) + 2 * scratch::bytes_for<std::int32_t>(size);
  }

  param_table(scratch& memory, std::size_t size) noexcept
      : factor(memory.take<float>(size)),
        pre(memory.take<float>(size)),
        lo(memory.take<float>(size)),
        hi(memory.take<float>(size)),
        scale(memory.take<float>(size)),
        post(memory.take<std::int32_t>(size)),
        zero_point(memory.take<std::int32_t>(size)) {}

  // Copies positions [0, period) over [period, size).
  void repeat(std::size_t period, std::size_t size) noexcept {
    for (std::size_t j = period; j < size; j += period) {
      const std::size_t count = std::min(period, size - j);
      for (float* a : {factor, pre, lo, hi, scale})
        std::memcpy(a + j, a, count * sizeof(float));
      for (std::int32_t* a : {post, zero_point})
        std::memcpy(a + j, a, count * sizeof(std::int32_t));
    }
  }

  QUANTA_SIMD_INLINE void set(std::size_t j, const affine_params& p) noexcept {
    factor[j] = p.divide ? p.scale : p.inv_scale;
    pre[j] = p.pre_offset;
    lo[j] = static_cast<float>(std::int64_t{p.qmin} - p.post_offset);
    hi[j] = static_cast<float>(std::int64_t{p.qmax} - p.post_offset);
    scale[j] = p.scale;
    post[j] = p.post_offset;
    zero_point[j] = p.zero_point;
    tie_sign = kernels::tie_sign(p);
  }
};

// The tables' pointers are copied, not referenced: stores through Q* may alias anything, so a
// referenced table would be reloaded after every store.
template <class K>
struct table_source {
  param_table<K> table;
  std::size_t base;
  lanes<K> at(std::size_t i) const noexcept {
    const std::size_t j = base + i;
    lanes<K> l;
    l.factor = fbatch<K>::load_unaligned(table.factor + j);
    l.pre = fbatch<K>::load_unaligned(table.pre + j);
    l.lo = fbatch<K>::load_unaligned(table.lo + j);
    l.hi = fbatch<K>::load_unaligned(table.hi + j);
    l.scale = fbatch<K>::load_unaligned(table.scale + j);
    l.post = ibatch<K>::load_unaligned(table.post + j);
    l.zero_point = ibatch<K>::load_unaligned(table.zero_point + j);
    l.tie_sign = fbatch<K>(table.tie_sign);
    return l;
  }
  // The source of the elements from i on.
  table_source from(std::size_t i) const noexcept { return {table, base + i}; }
};

template <class Mode, class K, class Source, class Q>
void quantize_run(const float* x, std::size_t n, Source src, Q* q) noexcept {
  constexpr std::size_t N = fbatch<K>::size;
  std::size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    ibatch<K> r[4];
    for (std::size_t k = 0; k < 4; ++k)
      r[k] = quantize_lanes<Mode>(fbatch<K>::load_unaligned(x + i + k * N), src.at(i + k * N));
    simd::store_narrow4(q + i, r, K{});
  }
  for (; i + N <= n; i += N)
    simd::store_narrow(q + i, quantize_lanes<Mode>(fbatch<K>::load_unaligned(x + i), src.at(i)),
                       K{});
  if (i < n) {
    const fbatch<K> v = simd::load_partial<K>(x + i, n - i, K{});
    simd::store_narrow_partial(q + i, quantize_lanes<Mode>(v, src.at(i)), n - i, K{});
  }
}

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

// How many elements precede the first p + i that starts a register-sized piece of memory.
template <class K, class T>
std::size_t elements_to_register_boundary(const T* p) noexcept {
  return ((0 - reinterpret_cast<std::uintptr_t>(p)) % sizeof(fbatch<K>)) / sizeof(T);
}

template <class Out>
bool streams_output(std::size_t n) noexcept {
  return n * sizeof(Out) >= stream_output_bytes;
}

// How many elements precede the first x + i that starts a register-sized piece of memory, so that
// the whole-register loads or stores after them touch one cache line each (0 for short runs, where
// the split accesses cost less than the extra pass).
template <class K>
std::size_t misaligned_head(const float* x, std::size_t n) noexcept {
  if (n < 32 * fbatch<K>::size) return 0;
  return elements_to_register_boundary<K>(x);
}

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
  simd::unroll<Registers / 2>(
      [&](auto k) { w[k] = simd::pack_words(code(2 * k), code(2 * k + 1), K{}); });
  if (simd::any_floor(w)) return false;
  simd::unroll<Registers / 4>([&](auto k) {
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

// Stream: non-temporal stores to an x aligned to the register's size (simd::store_stream); the
// caller fences.
template <class K, bool Stream = false, class Source, class Q>
void dequantize_run(const Q* q, std::size_t n, Source src, float* x) noexcept {
  constexpr std::size_t N = fbatch<K>::size;
  std::size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    const fbatch<K> a = dequantize_lanes(simd::load_widen<K>(q + i, K{}), src.at(i));
    const fbatch<K> b = dequantize_lanes(simd::load_widen<K>(q + i + N, K{}), src.at(i + N));
    simd::store_register<Stream>(x + i, a);
    simd::store_register<Stream>(x + i + N, b);
  }
  for (; i + N <= n; i += N)
    simd::store_register<Stream>(x + i,
                                 dequantize_lanes(simd::load_widen<K>(q + i, K{}), src.at(i)));
  if (i < n) {
    const ibatch<K> v = simd::load_widen_partial<K>(q + i, n - i, K{});
    simd::store_partial(x + i, dequantize_lanes(v, src.at(i)), n - i, K{});
  }
}

// dequantize_run for 8-bit storage and one encoding where K permutes bytes: see
// simd::byte_permute::biased_floats.
template <bool Stream, class K, class Q>
void dequantize_run_bytes(const Q* q, std::size_t n, lanes<K> l, std::int32_t zero_point,
                          float* x) noexcept {
  constexpr std::size_t N = fbatch<K>::size;
  const fbatch<K> bias(
      static_cast<float>((1 << 23) + zero_point + (std::is_signed_v<Q> ? 128 : 0)));
  std::size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    fbatch<K> f[4];
    simd::byte_permute<K>::biased_floats(q + i, f);
    simd::unroll<4>(
        [&](auto k) { simd::store_register<Stream>(x + i + k * N, (f[k] - bias) * l.scale); });
  }
  dequantize_run<K, Stream>(q + i, n - i, broadcast_source<K>{l}, x + i);
}

// y may be x: each register is read before the same elements are written.
template <class Mode, class K, class Source>
void quantize_dequantize_run(const float* x, std::size_t n, Source src, float* y) noexcept {
  constexpr std::size_t N = fbatch<K>::size;
  std::size_t i = 0;
  for (; i + N <= n; i += N) {
    decltype(auto) l = src.at(i);
    const fbatch<K> v = fbatch<K>::load_unaligned(x + i);
    dequantize_lanes(quantize_lanes<Mode>(v, l), l).store_unaligned(y + i);
  }
  if (i < n) {
    decltype(auto) l = src.at(i);
    const fbatch<K> v = simd::load_partial<K>(x + i, n - i, K{});
    simd::store_partial(y + i, dequantize_lanes(quantize_lanes<Mode>(v, l), l), n - i, K{});
  }
}

// What a layout kernel does to one run of elements that share a parameter source.
enum class operation { quantize, dequantize, quantize_dequantize };

template <operation Op, class Mode, class K, class Source, class In, class Out>
void run(const In* in, std::size_t n, Source src, Out* out) noexcept {
  if constexpr (Op == operation::quantize) {
    quantize_run<Mode, K>(in, n, src, out);
  } else if constexpr (Op == operation::dequantize) {
    dequantize_run<K>(in, n, src, out);
  } else {
    quantize_dequantize_run<Mode, K>(in, n, src, out);
  }
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

template <operation Op, class Mode, class K, class In, class Out>
void encoding_run(const In* in, std::size_t n, const affine_params& p, Out* out) noexcept {
  if constexpr (Op == operation::quantize && sizeof(Out) == 1) {
    if (byte_offset_fits(p)) return quantize_encoding_bytes<Mode, K>(in, n, p, out);
  }
  if constexpr (Op == operation::quantize && sizeof(Out) == 2) {
    word_plan plan;
    if (plan_words(p, plan)) return quantize_words<Mode, K>(in, n, p, plan, out);
  }
  const broadcast_source<K> src{broadcast<K>(p)};
  if constexpr (Op == operation::dequantize) {
    // Streamed outputs are long enough for the head to align them.
    const std::size_t head = misaligned_head<K>(out, n);
    dequantize_run<K>(in, head, src, out);
    const auto body = [&](auto stream) {
      constexpr bool Stream = decltype(stream)::value;
      // The bias 2^23 + zero_point (+ 128) must be exact in float.
      if constexpr (simd::byte_permute<K>::available && sizeof(In) == 1) {
        if (p.zero_point > -(1 << 22) && p.zero_point < (1 << 22))
          return dequantize_run_bytes<Stream>(in + head, n - head, src.l, p.zero_point, out + head);
      }
      dequantize_run<K, Stream>(in + head, n - head, src, out + head);
    };
    if (!streams_output<Out>(n)) return body(std::false_type{});
    body(std::true_type{});
    return simd::store_fence(K{});
  }
  run<Op, Mode, K>(in, n, src, out);
}

// Per-element parameters for runs that start at table position 0, and for 8-bit quantize, when
// every encoding's offset fits, the narrow-first path's offsets and bounds.
template <operation Op, class Mode, class K, class In, class Out>
class table_runner {
  static constexpr bool byte_codes = Op == operation::quantize && sizeof(Out) == 1;
  using byte_type = std::conditional_t<byte_codes, Out, std::uint8_t>;

 public:
  // Tables for runs of up to capacity elements with params[0..count).
  table_runner(std::size_t capacity, const affine_params* params, std::size_t count)
      : capacity_(capacity),
        memory_(param_table<K>::bytes(capacity + fbatch<K>::size) +
                (byte_codes ? byte_table<byte_type, K>::bytes(capacity) : 0)),
        table_(memory_, capacity + fbatch<K>::size),
        bytes_(memory_, byte_codes ? capacity : 0) {
    if constexpr (byte_codes) {
      use_bytes_ = std::all_of(params, params + count, byte_offset_fits);
      clamp_ = std::any_of(params, params + count, clamps<Out>);
    }
    // Runs read whole registers: the padding gets real parameters, never uninitialized memory.
    for (std::size_t j = capacity; j < capacity + fbatch<K>::size; ++j)
      table_.set(j, params[0]);
  }

  // Fills positions [0, size) with param_at(j), size <= capacity, where param_at repeats with the
  // given period.
  template <class ParamAt>
  void fill(std::size_t size, std::size_t period, ParamAt param_at) noexcept {
    for (std::size_t j = 0; j < std::min(period, size); ++j)
      table_.set(j, param_at(j));
    table_.repeat(period, size);
    if constexpr (byte_codes) {
      if (use_bytes_) bytes_.fill(table_, size, period);
    }
  }

  // Elements [0, n) of a run whose parameters are the table's positions [0, n).
  void operator()(const In* in, std::size_t n, Out* out) const noexcept {
    const table_source<K> src{table_, 0};
    if constexpr (byte_codes) {
      if (use_bytes_) {
        const table_bytes<Out, K> bytes{bytes_, 0};
        if (clamp_) return quantize_run_bytes<Mode, true, K>(in, n, 0, src, bytes, out);
        return quantize_run_bytes<Mode, false, K>(in, n, 0, src, bytes, out);
      }
    }
    run<Op, Mode, K>(in, n, src, out);
  }

  // Elements [0, n) whose parameters are the table's positions [0, span) over and over. span is a
  // multiple of four registers (sixteen, for the larger 8-bit blocks), so that no block straddles
  // the wrap and one call covers any n.
  void cycle(const In* in, std::size_t n, std::size_t span, Out* out) const noexcept {
    constexpr std::size_t N = fbatch<K>::size;
    if constexpr (byte_codes) {
      if (use_bytes_) {
        if (span % (16 * N) == 0) {
          if (clamp_) return cycle_bytes<16, true>(in, n, span, out);
          return cycle_bytes<16, false>(in, n, span, out);
        }
        if (clamp_) return cycle_bytes<4, true>(in, n, span, out);
        return cycle_bytes<4, false>(in, n, span, out);
      }
    }
    const param_table<K> table = table_;
    std::size_t i = 0, j = 0;
    for (; i + 4 * N <= n; i += 4 * N) {
      run<Op, Mode, K>(in + i, 4 * N, table_source<K>{table, j}, out + i);
      j = j + 4 * N == span ? 0 : j + 4 * N;
    }
    run<Op, Mode, K>(in + i, n - i, table_source<K>{table, j}, out + i);
  }

  std::size_t capacity() const noexcept { return capacity_; }

 private:
  // The tables are copied into locals: stores through Out* may alias the members.
  template <std::size_t Registers, bool Clamp>
  void cycle_bytes(const In* in, std::size_t n, std::size_t span, Out* out) const noexcept {
    constexpr std::size_t block = Registers * fbatch<K>::size;
    const param_table<K> table = table_;
    const byte_table<Out, K> bytes = bytes_;
    std::size_t i = 0, j = 0;
    for (; i + block <= n; i += block) {
      const table_source<K> src{table, j};
      if (!quantize_block_bytes<Registers, Mode, Clamp, false, K>(
              in + i, src, table_bytes<Out, K>{bytes, j}, out + i))
        quantize_run<Mode, K>(in + i, block, src, out + i);
      j = j + block == span ? 0 : j + block;
    }
    quantize_run<Mode, K>(in + i, n - i, table_source<K>{table, j}, out + i);
  }

  std::size_t capacity_;
  scratch memory_;
  param_table<K> table_;
  byte_table<byte_type, K> bytes_;
  bool use_bytes_ = false;
  bool clamp_ = false;
};

// The most elements a layout kernel's tables describe at once (about 128 KiB of tables).
constexpr std::size_t max_table_elements = 4096;

// How many elements of a layout of `periods` periods one table describes: the fewest whole
// periods that are a whole number of sixteen-register blocks, or else of four-register blocks
// (the table then repeats without a break), or else at least sixteen blocks (runs of whole
// periods, each ending in a partial block), never more than the layout has.
template <class K>
std::size_t periodic_span(std::size_t period, std::size_t periods) noexcept {
  constexpr std::size_t N = fbatch<K>::size;
  const auto fewest_periods_divisible_by = [&](std::size_t unit) {
    std::size_t span = period;
    for (std::size_t k = 1; k < periods && span % unit != 0 && span <= max_table_elements; ++k)
      span += period;
    return span;
  };
  for (std::size_t unit : {16 * N, 4 * N}) {
    const std::size_t span = fewest_periods_divisible_by(unit);
    if (span % unit == 0 && span <= max_table_elements) return span;
  }
  std::size_t span = period;
  for (std::size_t k = 1; k < periods && span < 64 * N; ++k)
    span += period;
  return span;
}

// Per-channel layouts. Rows of at least one block (four registers) run with their channel's
// encoding. Shorter rows (channels-last: inner == 1) repeat a pattern of period channels * inner;
// runs read it from tables of whole periods, enough of them that a run rarely ends in a partial
// block, or, for long periods, from tables of one window of the period, shared by every outer
// slice.
template <operation Op, class Mode, class K, class In, class Out>
void run_layout(const In* in, const channel_layout& layout, const affine_params* params, Out* out) {
  constexpr std::size_t block = 4 * fbatch<K>::size;
  const std::size_t inner = layout.inner;
  const std::size_t period = layout.channels * inner;
  if (period == 0 || layout.outer == 0) return;
  if (inner >= block) {
    std::size_t k = 0;
    for (std::size_t o = 0; o < layout.outer; ++o)
      for (std::size_t c = 0; c < layout.channels; ++c, k += inner)
        encoding_run<Op, Mode, K>(in + k, inner, params[c], out + k);
    return;
  }
  // The encoding of a position within the period (a division per table entry is slow enough to
  // show at 64 Ki elements, hence the channels-last case apart).
  const auto channel_at = [&](std::size_t position) -> const affine_params& {
    return params[inner == 1 ? position : position / inner];
  };
  const std::size_t n = layout.size();
  const std::size_t span = periodic_span<K>(period, layout.outer);
  if (span <= max_table_elements) {
    table_runner<Op, Mode, K, In, Out> runner(span, params, layout.channels);
    runner.fill(span, period, channel_at);
    if (span % block == 0) return runner.cycle(in, n, span, out);
    for (std::size_t k = 0; k < n; k += span)
      runner(in + k, std::min(span, n - k), out + k);
    return;
  }
  table_runner<Op, Mode, K, In, Out> runner(max_table_elements, params, layout.channels);
  for (std::size_t start = 0; start < period; start += max_table_elements) {
    const std::size_t length = std::min(max_table_elements, period - start);
    runner.fill(length, length,
                [&](std::size_t j) -> const affine_params& { return channel_at(start + j); });
    for (std::size_t o = 0; o < layout.outer; ++o)
      runner(in + o * period + start, length, out + o * period + start);
  }
}

// Per-block layouts. inner == 1: each block is a contiguous run with one encoding. Otherwise the
// rows of one (outer, block) pair share that pair's inner encodings, which a table holds (in
// windows when inner is long) while its rows run.
template <operation Op, class Mode, class K, class In, class Out>
void run_layout(const In* in, const block_layout& layout, const affine_params* params, Out* out) {
  const std::size_t blocks = layout.blocks();
  const std::size_t inner = layout.inner;
  if (inner == 1) {
    std::size_t k = 0;
    for (std::size_t o = 0; o < layout.outer; ++o) {
      for (std::size_t b = 0; b < blocks; ++b) {
        const std::size_t length =
            std::min(layout.block_size, layout.channels - b * layout.block_size);
        encoding_run<Op, Mode, K>(in + k, length, params[o * blocks + b], out + k);
        k += length;
      }
    }
    return;
  }
  if (layout.size() == 0) return;
  table_runner<Op, Mode, K, In, Out> runner(std::min(inner, max_table_elements), params,
                                            layout.encoding_count());
  for (std::size_t o = 0; o < layout.outer; ++o) {
    for (std::size_t b = 0; b < blocks; ++b) {
      const std::size_t first = b * layout.block_size;
      const std::size_t last = std::min(layout.channels, first + layout.block_size);
      const affine_params* group = params + layout.encoding_index(o, first, 0);
      for (std::size_t start = 0; start < inner; start += runner.capacity()) {
        const std::size_t length = std::min(runner.capacity(), inner - start);
        runner.fill(length, length,
                    [&](std::size_t j) -> const affine_params& { return group[start + j]; });
        for (std::size_t c = first; c < last; ++c) {
          const std::size_t k = (o * layout.channels + c) * inner + start;
          runner(in + k, length, out + k);
        }
      }
    }
  }
}

}  // namespace kernels
QUANTA_SIMD_DIAGNOSTICS_POP
#endif

// SIMD when Arch has a kernel instruction set and the parameters allow it, else the reference.

template <class Arch, class Q>
void quantize_tensor(const float* x, std::size_t n, const affine_params& p, Q* q) noexcept {
#if QUANTA_SIMD_KERNELS
  using K = simd::kernel_arch_t<Arch>;
  if constexpr (!std::is_void_v<K>) {
    if ((sizeof(Q) == 1 && kernels::byte_offset_fits(p)) || simd_exact(p)) {
      kernels::with_mode(&p, 1, [&](auto mode) {
        kernels::encoding_run<kernels::operation::quantize, decltype(mode), K>(x, n, p, q);
      });
      return;
    }
  }
#endif
  ref::quantize(span<const float>(x, n), p, span<Q>(q, n));
}

// int32 storage may hold any code; the reference subtracts the zero point in 64 bits.
template <class Arch, class Q>
void dequantize_tensor(const Q* q, std::size_t n, const affine_params& p, float* x) noexcept {
#if QUANTA_SIMD_KERNELS
  using K = simd::kernel_arch_t<Arch>;
  if constexpr (!std::is_void_v<K> && !std::is_same_v<Q, std::int32_t>) {
    using unused_mode = kernels::quant_mode<false, false, false>;
    kernels::encoding_run<kernels::operation::dequantize, unused_mode, K>(q, n, p, x);
    return;
  }
#endif
  ref::dequantize(span<const Q>(q, n), p, span<float>(x, n));
}

template <class Arch>
void quantize_dequantize_tensor(const float* x, std::size_t n, const affine_params& p,
                                float* y) noexcept {
#if QUANTA_SIMD_KERNELS
  using K = simd::kernel_arch_t<Arch>;
  if constexpr (!std::is_void_v<K>) {
    if (simd_exact(p)) {
      kernels::with_mode(&p, 1, [&](auto mode) {
        kernels::quantize_dequantize_run<decltype(mode), K>(
            x, n, kernels::broadcast_source<K>{kernels::broadcast<K>(p)}, y);
      });
      return;
    }
  }
#endif
  ref::quantize_dequantize(span<const float>(x, n), p, span<float>(y, n));
}

// The layout kernels build small parameter tables, so they may throw std::bad_alloc.
template <class Arch, class Layout, class Q>
void quantize_channels(const float* x, const Layout& layout, const affine_params* params,
                       std::size_t param_count, Q* q) {
#if QUANTA_SIMD_KERNELS
  using K = simd::kernel_arch_t<Arch>;
  if constexpr (!std::is_void_v<K>) {
    if (simd_exact(params, param_count)) {
      kernels::with_mode(params, param_count, [&](auto mode) {
        kernels::run_layout<kernels::operation::quantize, decltype(mode), K>(x, layout, params, q);
      });
      return;
    }
  }
#endif
  const std::size_t n = layout.size();
  ref::quantize(span<const float>(x, n), layout, span<const affine_params>(params, param_count),
                span<Q>(q, n));
}

template <class Arch, class Layout, class Q>
void dequantize_channels(const Q* q, const Layout& layout, const affine_params* params,
                         std::size_t param_count, float* x) {
#if QUANTA_SIMD_KERNELS
  using K = simd::kernel_arch_t<Arch>;
  if constexpr (!std::is_void_v<K> && !std::is_same_v<Q, std::int32_t>) {
    using unused_mode = kernels::quant_mode<false, false, false>;
    kernels::run_layout<kernels::operation::dequantize, unused_mode, K>(q, layout, params, x);
    return;
  }
#endif
  const std::size_t n = layout.size();
  ref::dequantize(span<const Q>(q, n), layout, span<const affine_params>(params, param_count),
                  span<float>(x, n));
}

template <class Arch, class Layout>
void quantize_dequantize_channels(const float* x, const Layout& layout, const affine_params* params,
                                  std::size_t param_count, float* y) {
#if QUANTA_SIMD_KERNELS
  using K = simd::kernel_arch_t<Arch>;
  if constexpr (!std::is_void_v<K>) {
    if (simd_exact(params, param_count)) {
      kernels::with_mode(params, param_count, [&](auto mode) {
        kernels::run_layout<kernels::operation::quantize_dequantize, decltype(mode), K>(x, layout,
                                                                                        params, y);
      });
      return;
    }
  }
#endif
  const std::size_t n = layout.size();
  ref::quantize_dequantize(span<const float>(x, n), layout,
                           span<const affine_params>(params, param_count), span<float>(y, n));
}

}  // namespace quanta::detail
