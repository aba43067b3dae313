// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

// The AArch64 NEON (Advanced SIMD) kernel operations (simd.hpp lists them), which every 64-bit ARM
// translation unit has. One 128-bit register, like SSE2: the packs leave elements in order, so the
// 4-bit shuffles are the identity. What differs from x86 and matters for exactness:
//   - vcvtnq_s32_f32 rounds ties to even, as cvtps2dq does, but gives 0 for NaN and saturates
//     out-of-range values and infinities to INT_MIN or INT_MAX, where x86 gives INT_MIN for all
//     of them. The narrow-first kernels refuse a block holding a code of -32768 or less
//     (simd::any_floor) and rely on NaN arriving as such a code: round_even puts INT_MIN back for
//     NaN. Saturation to INT_MAX is exact where x86 needed the refusal: +inf and values above
//     2^31 clamp to qmax, which the saturating packs reach anyway.
//   - xsimd 8.1's min/max propagate NaN from either operand and vminnmq/vmaxnmq order -0.0 and
//     +0.0 differently from minps/maxps; the reductions need x86's operand order (acc when x is
//     NaN or equal to it), which a comparison and a bit select give.
//   - xsimd 8.1 divides floats by a refined reciprocal estimate, which is not correctly rounded
//     (and gives -inf for x / denormal): divide is fdiv.
//   - saturating narrowing (vqmovn/vqmovun and their _high forms) and widening loads (vmovl),
//     which xsimd 8.1 does through memory.
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "quanta/detail/simd_base.hpp"

#if QUANTA_SIMD && XSIMD_WITH_NEON64
#include <arm_neon.h>

// A translation unit with at least this instruction set has SIMD kernels (see simd.hpp).
#define QUANTA_SIMD_KERNELS 1

QUANTA_SIMD_DIAGNOSTICS_PUSH
namespace quanta::detail::simd {

inline xsimd::neon64 kernel_arch_of(xsimd::neon64) noexcept {
  return {};
}

// x86's result for NaN (INT_MIN), which the narrow-first kernels refuse; everything else as the
// conversion gives it (see above).
template <class A>
inline ibatch<A> round_even(fbatch<A> v, xsimd::neon64) noexcept {
  const uint32x4_t ordered = vceqq_f32(v.data, v.data);
  return vbslq_s32(ordered, vcvtnq_s32_f32(v.data),
                   vdupq_n_s32(std::numeric_limits<std::int32_t>::min()));
}

// frintm: exact for every float; NaN stays NaN, which round_even turns into INT_MIN.
template <class A>
inline fbatch<A> floor_lanes(fbatch<A> v, xsimd::neon64) noexcept {
  return vrndmq_f32(v.data);
}

// xsimd 8.1 divides floats on NEON by a reciprocal estimate and two Newton steps: not correctly
// rounded, and -inf for x / denormal.
template <class A>
inline fbatch<A> divide(fbatch<A> a, fbatch<A> b, xsimd::neon64) noexcept {
  return vdivq_f32(a.data, b.data);
}

// minps(x, acc) and maxps(x, acc): x where it is strictly below (above) acc, else acc, so that a
// NaN x and an equal zero of the other sign leave acc.
template <class A>
inline fbatch<A> min_skip_nan(fbatch<A> acc, fbatch<A> x, xsimd::neon64) noexcept {
  return vbslq_f32(vcltq_f32(x.data, acc.data), x.data, acc.data);
}

template <class A>
inline fbatch<A> max_skip_nan(fbatch<A> acc, fbatch<A> x, xsimd::neon64) noexcept {
  return vbslq_f32(vcgtq_f32(x.data, acc.data), x.data, acc.data);
}

// Four codes read as exactly four codes: a register's worth, never bytes past it.
template <class A, class Q>
inline ibatch<A> load_widen(const Q* src, xsimd::neon64) noexcept {
  if constexpr (std::is_same_v<Q, std::int32_t>) {
    return vld1q_s32(src);
  } else if constexpr (sizeof(Q) == 1) {
    std::uint32_t bytes;
    std::memcpy(&bytes, src, 4);
    // One 32-bit load into the low lane (vdup_n_u32 would add a lane copy).
    const uint32x2_t b = vreinterpret_u32_u64(vcreate_u64(bytes));
    if constexpr (std::is_signed_v<Q>) {
      return vmovl_s16(vget_low_s16(vmovl_s8(vreinterpret_s8_u32(b))));
    } else {
      return vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(vmovl_u8(vreinterpret_u8_u32(b)))));
    }
  } else if constexpr (std::is_signed_v<Q>) {
    return vmovl_s16(vld1_s16(src));
  } else {
    return vreinterpretq_s32_u32(vmovl_u16(vld1_u16(src)));
  }
}

template <class A, class Q>
inline void store_narrow(Q* dst, ibatch<A> v, xsimd::neon64) noexcept {
  if constexpr (std::is_same_v<Q, std::int32_t>) {
    vst1q_s32(dst, v.data);
  } else if constexpr (sizeof(Q) == 1) {
    const int16x4_t w = vqmovn_s32(v.data);
    const int16x8_t ww = vcombine_s16(w, w);
    const std::uint32_t bytes = std::is_signed_v<Q>
                                    ? vget_lane_u32(vreinterpret_u32_s8(vqmovn_s16(ww)), 0)
                                    : vget_lane_u32(vreinterpret_u32_u8(vqmovun_s16(ww)), 0);
    std::memcpy(dst, &bytes, 4);
  } else if constexpr (std::is_signed_v<Q>) {
    vst1_s16(dst, vqmovn_s32(v.data));
  } else {
    vst1_u16(dst, vqmovun_s32(v.data));
  }
}

template <class A, class Q>
inline void store_narrow4(Q* dst, const ibatch<A>* v, xsimd::neon64) noexcept {
  if constexpr (sizeof(Q) == 1) {
    const int16x8_t ab = vqmovn_high_s32(vqmovn_s32(v[0].data), v[1].data);
    const int16x8_t cd = vqmovn_high_s32(vqmovn_s32(v[2].data), v[3].data);
    if constexpr (std::is_signed_v<Q>) {
      vst1q_s8(dst, vqmovn_high_s16(vqmovn_s16(ab), cd));
    } else {
      vst1q_u8(dst, vqmovun_high_s16(vqmovun_s16(ab), cd));
    }
  } else if constexpr (std::is_same_v<Q, std::int16_t>) {
    vst1q_s16(dst, vqmovn_high_s32(vqmovn_s32(v[0].data), v[1].data));
    vst1q_s16(dst + 8, vqmovn_high_s32(vqmovn_s32(v[2].data), v[3].data));
  } else if constexpr (std::is_same_v<Q, std::uint16_t>) {
    vst1q_u16(dst, vqmovun_high_s32(vqmovun_s32(v[0].data), v[1].data));
    vst1q_u16(dst + 8, vqmovun_high_s32(vqmovun_s32(v[2].data), v[3].data));
  } else {
    for (int k = 0; k < 4; ++k)
      vst1q_s32(dst + 4 * k, v[k].data);
  }
}

template <class A>
inline wbatch<A> pack_words(ibatch<A> a, ibatch<A> b, xsimd::neon64) noexcept {
  return vqmovn_high_s32(vqmovn_s32(a.data), b.data);
}

template <class Q, class A>
inline xsimd::batch<Q, A> pack_bytes_in_lanes(wbatch<A> ab, wbatch<A> cd, xsimd::neon64) noexcept {
  static_assert(sizeof(Q) == 1);
  if constexpr (std::is_signed_v<Q>) {
    return vqmovn_high_s16(vqmovn_s16(ab.data), cd.data);
  } else {
    return vqmovun_high_s16(vqmovun_s16(ab.data), cd.data);
  }
}

// One 128-bit lane: the narrowings leave the elements in order.
template <class Q, class A>
inline xsimd::batch<Q, A> pack_bytes(wbatch<A> ab, wbatch<A> cd, xsimd::neon64) noexcept {
  return pack_bytes_in_lanes<Q>(ab, cd, xsimd::neon64{});
}

template <class A>
inline wbatch<A> order_words(wbatch<A> w, xsimd::neon64) noexcept {
  return w;
}

// AArch64's non-temporal store (STNP) stores register pairs and only hints; a single register
// goes through the caches. No fence is needed for ordinary stores.
template <class T, class A>
inline void store_stream(T* dst, xsimd::batch<T, A> v, xsimd::neon64) noexcept {
  v.store_unaligned(dst);
}

inline void store_fence(xsimd::neon64) noexcept {}

template <class A>
inline xsimd::batch<std::uint8_t, A> gather_quadwords(const xsimd::batch<std::uint8_t, A>& p,
                                                      xsimd::neon64) noexcept {
  return p;
}

template <class A>
inline xsimd::batch<std::uint8_t, A> spread_quadwords(const xsimd::batch<std::uint8_t, A>& p,
                                                      xsimd::neon64) noexcept {
  return p;
}

template <class A>
inline xsimd::batch<std::uint8_t, A> order_nibbles(const xsimd::batch<std::uint8_t, A>& p,
                                                   xsimd::neon64) noexcept {
  return p;
}

// lo + 256 hi to lo + 16 hi: w + (w >> 4) in one shift-accumulate (lo >> 4 is 0), then the high
// byte, which still holds hi, cleared for the saturating narrowing that follows.
template <class A>
inline xsimd::batch<std::uint16_t, A> join_nibbles(const xsimd::batch<std::uint8_t, A>& b,
                                                   xsimd::neon64) noexcept {
  const uint16x8_t w = vreinterpretq_u16_u8(b.data);
  return vandq_u16(vsraq_n_u16(w, w, 4), vdupq_n_u16(0xFF));
}

template <class A>
inline xsimd::batch<double, A> load_widened(const float* p, xsimd::neon64) noexcept {
  return vcvt_f64_f32(vld1_f32(p));
}

}  // namespace quanta::detail::simd
QUANTA_SIMD_DIAGNOSTICS_POP
#endif
