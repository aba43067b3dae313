// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstddef>

#include "quanta/config.hpp"
#include "quanta/detail/affine.hpp"
#include "quanta/ref/quantize.hpp"

// Quantize kernels, one instantiation per instruction set (Arch). No validation: callers pass
// sizes that match. Each equals quanta::ref bit for bit.
namespace quanta::detail {

template <class Arch, class Q>
void quantize_tensor(const float* x, std::size_t n, const affine_params& p, Q* q) noexcept {
  ref::quantize(span<const float>(x, n), p, span<Q>(q, n));
}

template <class Arch, class Q>
void dequantize_tensor(const Q* q, std::size_t n, const affine_params& p, float* x) noexcept {
  ref::dequantize(span<const Q>(q, n), p, span<float>(x, n));
}

template <class Arch>
void quantize_dequantize_tensor(const float* x, std::size_t n, const affine_params& p,
                                float* y) noexcept {
  ref::quantize_dequantize(span<const float>(x, n), p, span<float>(y, n));
}

template <class Arch, class Layout, class Q>
void quantize_channels(const float* x, const Layout& layout, const affine_params* params,
                       std::size_t param_count, Q* q) noexcept {
  const std::size_t n = layout.size();
  ref::quantize(span<const float>(x, n), layout, span<const affine_params>(params, param_count),
                span<Q>(q, n));
}

template <class Arch, class Layout, class Q>
void dequantize_channels(const Q* q, const Layout& layout, const affine_params* params,
                         std::size_t param_count, float* x) noexcept {
  const std::size_t n = layout.size();
  ref::dequantize(span<const Q>(q, n), layout, span<const affine_params>(params, param_count),
                  span<float>(x, n));
}

template <class Arch, class Layout>
void quantize_dequantize_channels(const float* x, const Layout& layout, const affine_params* params,
                                  std::size_t param_count, float* y) noexcept {
  const std::size_t n = layout.size();
  ref::quantize_dequantize(span<const float>(x, n), layout,
                           span<const affine_params>(params, param_count), span<float>(y, n));
}

}  // namespace quanta::detail
