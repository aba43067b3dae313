// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "quanta/arch.hpp"
#include "quanta/detail/affine.hpp"
#include "quanta/detail/quantize/layouts.hpp"
#include "quanta/ref/quantize.hpp"

// Quantize kernels, one instantiation per instruction set (Arch), written in detail/quantize/. No
// validation: callers pass sizes that match. Each equals quanta::ref bit for bit, which the SIMD
// path gets by:
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
