// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <vector>

#include "quanta/encoding.hpp"
#include "quanta/lpbq.hpp"
#include "quanta/ref/quantize.hpp"
#include "quanta/span.hpp"

// The normative scalar definition of the LPBQ quantize functions: the per-block reference on the
// LPBQ encoding's effective block scales (channel scale times block scale, in float). The public
// functions in quanta/lpbq.hpp equal these bit for bit on every instruction set.
namespace quanta::ref {

template <class Q>
void quantize(span<const float> x, const block_layout& layout, const lpbq_encoding& e, span<Q> q,
              const quantize_options& options = aimet_v2_quantize_options) {
  const std::vector<encoding> blocks = lpbq_block_encodings(layout, e);
  ref::quantize<Q>(x, layout, span<const encoding>(blocks), q, options);
}

template <class Q>
void dequantize(span<const Q> q, const block_layout& layout, const lpbq_encoding& e,
                span<float> x) {
  const std::vector<encoding> blocks = lpbq_block_encodings(layout, e);
  ref::dequantize<Q>(q, layout, span<const encoding>(blocks), x);
}

inline void quantize_dequantize(span<const float> x, const block_layout& layout,
                                const lpbq_encoding& e, span<float> y,
                                const quantize_options& options = aimet_v2_quantize_options) {
  const std::vector<encoding> blocks = lpbq_block_encodings(layout, e);
  ref::quantize_dequantize(x, layout, span<const encoding>(blocks), y, options);
}

}  // namespace quanta::ref
