// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "quanta/detail/affine.hpp"
#include "quanta/detail/simd.hpp"

// The quantize kernels' arithmetic on one register: the compile-time modes, one encoding's
// parameters spread over the lanes, and x to t to a rounded code (and back). The rest of
// detail/quantize/ builds the runs on it; detail/quantize_kernels.hpp says how the SIMD path equals
// quanta::ref.
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

}  // namespace quanta::detail

#if QUANTA_SIMD_KERNELS
QUANTA_SIMD_DIAGNOSTICS_PUSH
namespace quanta::detail::kernels {

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
  const fbatch<K> t = Mode::divide ? simd::divide(x, p.factor, K{}) : x * p.factor;
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

}  // namespace quanta::detail::kernels
QUANTA_SIMD_DIAGNOSTICS_POP
#endif
