// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "quanta/detail/affine.hpp"
#include "quanta/encoding.hpp"
#include "quanta/span.hpp"

// The normative scalar definition of quantize, dequantize and quantize_dequantize. Every SIMD
// kernel equals these functions bit for bit. They take what the public functions in
// quanta/quantize.hpp take (encodings and quantize_options), without the validation: the caller
// passes valid encodings and buffers of matching sizes. The forms on detail::affine_params are the
// kernels' internal interface (their scalar fallback); the encoding forms build those parameters
// with detail::make_affine_params, as the public functions do.
namespace quanta::ref {

// x rounded to an integral float, ties as `mode` says. Infinities pass through.
inline float round_to_integral(float x, rounding mode) noexcept {
  return detail::round_float(x, mode);
}

// The quantized code of x, as a 64-bit integer in [p.qmin, p.qmax].
inline std::int64_t quantize_code(float x, const detail::affine_params& p) noexcept {
  float scaled = p.divide ? x / p.scale : x * p.inv_scale;
  // NaN is quantized as 0.0. Tested on the product, so that 0 * inv_scale with inv_scale = inf
  // (a denormal scale) also gives 0 rather than an undefined conversion of NaN.
  if (scaled != scaled) scaled = 0.0f;
  double r;
  if (p.wide) {
    r = detail::round_double(static_cast<double>(scaled) + p.wide_pre_offset, p.round) +
        p.post_offset;
  } else {
    const float t = scaled + p.pre_offset;
    r = static_cast<double>(round_to_integral(t, p.round)) + p.post_offset;
  }
  if (r <= p.qmin) return p.qmin;  // also -inf
  if (r >= p.qmax) return p.qmax;  // also +inf
  return static_cast<std::int64_t>(r);
}

// (q - zero_point) as an exact integer, converted to float once, times scale.
inline float dequantize_code(std::int64_t q, const detail::affine_params& p) noexcept {
  return static_cast<float>(q - p.zero_point) * p.scale;
}

template <class Q>
void quantize(span<const float> x, const detail::affine_params& p, span<Q> q) noexcept {
  for (std::size_t i = 0; i < x.size(); ++i)
    q[i] = static_cast<Q>(quantize_code(x[i], p));
}

template <class Q>
void dequantize(span<const Q> q, const detail::affine_params& p, span<float> x) noexcept {
  for (std::size_t i = 0; i < q.size(); ++i)
    x[i] = dequantize_code(q[i], p);
}

inline void quantize_dequantize(span<const float> x, const detail::affine_params& p,
                                span<float> y) noexcept {
  for (std::size_t i = 0; i < x.size(); ++i)
    y[i] = dequantize_code(quantize_code(x[i], p), p);
}

template <class Q>
void quantize(span<const float> x, const encoding& e, span<Q> q,
              const quantize_options& options = {}) noexcept {
  quantize(x, detail::make_affine_params(e, options), q);
}

template <class Q>
void dequantize(span<const Q> q, const encoding& e, span<float> x) noexcept {
  dequantize(q, detail::make_affine_params(e, quantize_options{}), x);
}

// y may be x itself.
inline void quantize_dequantize(span<const float> x, const encoding& e, span<float> y,
                                const quantize_options& options = {}) noexcept {
  quantize_dequantize(x, detail::make_affine_params(e, options), y);
}

// Per-channel and per-block forms: element (o, c, i) of the [outer, channels, inner] tensor uses
// encodings[c] (per channel) or encodings[layout.encoding_index(o, c, i)] (per block), and the same
// index into params.

// Calls visit(k, p) for every element k, in memory order, with p the index of its parameters.
template <class Visit>
void for_each_element(const channel_layout& layout, Visit visit) noexcept {
  std::size_t k = 0;
  for (std::size_t o = 0; o < layout.outer; ++o)
    for (std::size_t c = 0; c < layout.channels; ++c)
      for (std::size_t i = 0; i < layout.inner; ++i, ++k)
        visit(k, c);
}

template <class Visit>
void for_each_element(const block_layout& layout, Visit visit) noexcept {
  std::size_t k = 0;
  for (std::size_t o = 0; o < layout.outer; ++o)
    for (std::size_t c = 0; c < layout.channels; ++c)
      for (std::size_t i = 0; i < layout.inner; ++i, ++k)
        visit(k, layout.encoding_index(o, c, i));
}

template <class Q, class Layout>
void quantize(span<const float> x, const Layout& layout, span<const detail::affine_params> params,
              span<Q> q) noexcept {
  for_each_element(layout, [&](std::size_t k, std::size_t p) {
    q[k] = static_cast<Q>(quantize_code(x[k], params[p]));
  });
}

template <class Q, class Layout>
void dequantize(span<const Q> q, const Layout& layout, span<const detail::affine_params> params,
                span<float> x) noexcept {
  for_each_element(layout,
                   [&](std::size_t k, std::size_t p) { x[k] = dequantize_code(q[k], params[p]); });
}

template <class Layout>
void quantize_dequantize(span<const float> x, const Layout& layout,
                         span<const detail::affine_params> params, span<float> y) noexcept {
  for_each_element(layout, [&](std::size_t k, std::size_t p) {
    y[k] = dequantize_code(quantize_code(x[k], params[p]), params[p]);
  });
}

inline std::vector<detail::affine_params> affine_params_of(span<const encoding> encodings,
                                                           const quantize_options& options) {
  std::vector<detail::affine_params> params;
  params.reserve(encodings.size());
  for (const encoding& e : encodings)
    params.push_back(detail::make_affine_params(e, options));
  return params;
}

template <class Q, class Layout>
void quantize(span<const float> x, const Layout& layout, span<const encoding> encodings, span<Q> q,
              const quantize_options& options = {}) {
  const std::vector<detail::affine_params> params = affine_params_of(encodings, options);
  quantize(x, layout, span<const detail::affine_params>(params), q);
}

template <class Q, class Layout>
void dequantize(span<const Q> q, const Layout& layout, span<const encoding> encodings,
                span<float> x) {
  const std::vector<detail::affine_params> params = affine_params_of(encodings, quantize_options{});
  dequantize(q, layout, span<const detail::affine_params>(params), x);
}

template <class Layout>
void quantize_dequantize(span<const float> x, const Layout& layout, span<const encoding> encodings,
                         span<float> y, const quantize_options& options = {}) {
  const std::vector<detail::affine_params> params = affine_params_of(encodings, options);
  quantize_dequantize(x, layout, span<const detail::affine_params>(params), y);
}

}  // namespace quanta::ref
