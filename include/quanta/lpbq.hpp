// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <utility>
#include <vector>

#include "quanta/arch.hpp"
#include "quanta/detail/rounded.hpp"
#include "quanta/encoding.hpp"
#include "quanta/error.hpp"
#include "quanta/pack.hpp"
#include "quanta/quantize.hpp"
#include "quanta/span.hpp"

// LPBQ, low-power blockwise quantization (QNN's Qnn_BlockwiseExpansion_t, AIMET v2's
// GroupedBlockQuantizeDequantize, "LPBQ" entries of AIMET's 1.0.0 and 2.0.0 encodings files): a
// weight blocked along its input axis, each block's scale the product of a float scale per channel
// and a small unsigned integer per block,
//   real = channel_scale * block_scale * q,  block_scale in 1..2^(decompressed - compressed),
// q a signed symmetric code of the compressed bitwidth (zero point 0). docs/conventions.md states
// the rules, docs/encodings_files.md the file entries.
namespace quanta {

// compute_lpbq_encodings' parameters, AIMET v2's names in brackets.
struct lpbq_options {
  int bitwidth = 4;               // the stored codes [bitwidth], 2..15
  int decompressed_bitwidth = 8;  // [decompressed_bw], bitwidth + 1..16: block scales take
                                  // decompressed_bitwidth - bitwidth bits
};

// The encoding of one LPBQ tensor seen through a block_layout [outer, channels, inner] blocked
// along `channels`: a channel is an (outer, inner) pair, and its blocks are the
// layout.blocks() blocks of block_size consecutive elements along the blocked axis. For a Linear
// weight [out, in] blocked along axis 1, channels are output channels. A convolution weight
// [O, I, kh, kw] is seen as [O, I * kh * kw] with block_size * kh * kw, as AIMET blocks it.
// Always symmetric: codes in [-2^(b-1), 2^(b-1) - 1], zero point 0 (AIMET refuses asymmetric LPBQ).
struct lpbq_encoding {
  std::vector<float> channel_scales;  // [outer, inner]: finite, > 0
  // [outer, blocks, inner] (block_layout::encoding_index order), each in 1..max_block_scale().
  std::vector<std::uint16_t> block_scales;
  int bitwidth = 4;
  int decompressed_bitwidth = 8;
  std::size_t block_size = 1;  // along the blocked axis, which must be a whole number of blocks

  constexpr int block_scale_bitwidth() const noexcept { return decompressed_bitwidth - bitwidth; }
  constexpr std::uint32_t max_block_scale() const noexcept {
    return std::uint32_t{1} << block_scale_bitwidth();
  }

  friend bool operator==(const lpbq_encoding& a, const lpbq_encoding& b) {
    return a.channel_scales == b.channel_scales && a.block_scales == b.block_scales &&
           a.bitwidth == b.bitwidth && a.decompressed_bitwidth == b.decompressed_bitwidth &&
           a.block_size == b.block_size;
  }
  friend bool operator!=(const lpbq_encoding& a, const lpbq_encoding& b) { return !(a == b); }
};

// How AIMET v2's torch backend quantizes: round_half_even(x / scale), then clamp. The default of
// the LPBQ quantize functions, so that their codes are AIMET's.
inline constexpr quantize_options aimet_v2_quantize_options{rounding::half_even, true, false};

namespace detail {

inline void check_lpbq_bitwidths(const char* function, const char* what, int bitwidth,
                                 int decompressed_bitwidth) {
  if (bitwidth < 2 || bitwidth > 15) {
    QUANTA_THROW(function, ": ", what, ".bitwidth is ", bitwidth,
                 "; expected 2..15 (below the decompressed bitwidth, at most 16)");
  }
  if (decompressed_bitwidth <= bitwidth || decompressed_bitwidth > 16) {
    QUANTA_THROW(function, ": ", what, ".decompressed_bitwidth is ", decompressed_bitwidth,
                 "; expected ", bitwidth + 1, "..16 (above bitwidth ", bitwidth, ")");
  }
}

// Everything an lpbq_encoding must hold on its own; check_lpbq_layout adds the layout.
inline void check_lpbq_encoding(const char* function, const lpbq_encoding& e) {
  check_lpbq_bitwidths(function, "encoding", e.bitwidth, e.decompressed_bitwidth);
  if (e.block_size == 0) {
    QUANTA_THROW(function, ": encoding.block_size is 0; expected a block size >= 1");
  }
  if (e.channel_scales.empty()) {
    QUANTA_THROW(function, ": encoding.channel_scales is empty; expected one scale per channel");
  }
  for (std::size_t k = 0; k < e.channel_scales.size(); ++k) {
    const float s = e.channel_scales[k];
    if (!(std::isfinite(s) && s > 0.0f)) {
      QUANTA_THROW(function, ": encoding.channel_scales[", k, "] is ", s,
                   "; expected a finite value > 0");
    }
  }
  if (e.block_scales.empty() || e.block_scales.size() % e.channel_scales.size() != 0) {
    QUANTA_THROW(function, ": encoding.block_scales has ", e.block_scales.size(), " entries for ",
                 e.channel_scales.size(),
                 " channel scales; expected a whole number (>= 1) of blocks per channel");
  }
  for (std::size_t k = 0; k < e.block_scales.size(); ++k) {
    const std::uint32_t s = e.block_scales[k];
    if (s < 1 || s > e.max_block_scale()) {
      QUANTA_THROW(function, ": encoding.block_scales[", k, "] is ", s, "; expected 1..",
                   e.max_block_scale(), " (", e.block_scale_bitwidth(),
                   "-bit block scales: decompressed_bitwidth ", e.decompressed_bitwidth,
                   " - bitwidth ", e.bitwidth, ")");
    }
  }
}

// The layout must be blocked by the encoding's block size into whole blocks (AIMET and QNN take no
// partial block), with one channel scale per (outer, inner) pair and one block scale per block.
inline void check_lpbq_layout(const char* function, const block_layout& layout, std::size_t size) {
  check_layout(function, layout, size);
  if (layout.channels % layout.block_size != 0) {
    QUANTA_THROW(function, ": layout.channels is ", layout.channels, " with block_size ",
                 layout.block_size,
                 "; expected a multiple of the block size (LPBQ takes whole blocks only)");
  }
}

inline void check_lpbq_against_layout(const char* function, const block_layout& layout,
                                      const lpbq_encoding& e) {
  if (e.block_size != layout.block_size) {
    QUANTA_THROW(function, ": encoding.block_size is ", e.block_size, " but layout.block_size is ",
                 layout.block_size, "; expected equal block sizes");
  }
  const std::size_t channels = layout.outer * layout.inner;
  if (e.channel_scales.size() != channels) {
    QUANTA_THROW(function, ": encoding.channel_scales has ", e.channel_scales.size(),
                 " entries; expected ", channels, " (outer x inner of the layout)");
  }
  if (e.block_scales.size() != layout.encoding_count()) {
    QUANTA_THROW(function, ": encoding.block_scales has ", e.block_scales.size(),
                 " entries; expected ", layout.encoding_count(), " (outer x blocks x inner)");
  }
}

// The scale AIMET v2 gives a block of range [lo, hi] under a symmetric b-bit grid, in float32 as
// torch computes it: MinMaxEncodingAnalyzer widens a range narrower than FLT_EPSILON per step,
// makes it symmetric (min = -2^(b-1) delta, max = (2^(b-1) - 1) delta), and the quantizer's
// scale is (max - min) / (2^b - 1).
inline float aimet_symmetric_scale(float lo, float hi, int bitwidth) noexcept {
  const float steps = static_cast<float>((std::int32_t{1} << bitwidth) - 1);
  const float positive_steps = static_cast<float>((std::int32_t{1} << (bitwidth - 1)) - 1);
  const float negative_steps = static_cast<float>(std::int32_t{1} << (bitwidth - 1));
  const float minimum_scale = std::numeric_limits<float>::epsilon();
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  const float adjustment = (hi - lo) / steps < minimum_scale ? minimum_scale : 0.0f;
  hi = hi + rounded(positive_steps * adjustment);
  lo = lo - rounded(negative_steps * adjustment);
  const float delta = std::max(hi / positive_steps, -lo / negative_steps);
  const float flt_max = std::numeric_limits<float>::max();
  const float grid_max = std::min(rounded(positive_steps * delta), flt_max);
  const float grid_min = std::max(rounded(-negative_steps * delta), -flt_max);
  return (grid_max - grid_min) / steps;
}

// The effective scale of one block: channel scale times block scale, rounded to float once (the
// scale AIMET's forward pass quantizes with).
inline float lpbq_block_scale(float channel_scale, std::uint32_t block_scale) noexcept {
  return channel_scale * static_cast<float>(block_scale);
}

// Calls visit(block_index, channel_index) for every block of the layout.
template <class Visit>
void for_each_lpbq_block(const block_layout& layout, Visit visit) {
  const std::size_t blocks = layout.blocks();
  for (std::size_t o = 0; o < layout.outer; ++o)
    for (std::size_t b = 0; b < blocks; ++b)
      for (std::size_t i = 0; i < layout.inner; ++i)
        visit((o * blocks + b) * layout.inner + i, o * layout.inner + i);
}

}  // namespace detail

namespace detail {

inline std::vector<encoding> lpbq_block_encodings(const char* function, const block_layout& layout,
                                                  const lpbq_encoding& e) {
  check_lpbq_encoding(function, e);
  check_lpbq_against_layout(function, layout, e);
  std::vector<encoding> encodings(e.block_scales.size());
  for_each_lpbq_block(layout, [&](std::size_t block, std::size_t channel) {
    const float scale = lpbq_block_scale(e.channel_scales[channel], e.block_scales[block]);
    if (!(std::isfinite(scale) && scale > 0.0f)) {
      QUANTA_THROW(function, ": encoding.channel_scales[", channel, "] ", e.channel_scales[channel],
                   " times block_scales[", block, "] ", e.block_scales[block], " is ", scale,
                   "; expected a finite product > 0");
    }
    encodings[block] = encoding{scale, 0, e.bitwidth, true, false};
  });
  return encodings;
}

}  // namespace detail

// The per-block encodings an LPBQ encoding stands for, in block_layout::encoding_index order:
// scale = channel_scale * block_scale (in float), zero point 0, signed, e.bitwidth bits. The
// LPBQ quantize functions run quanta's per-block kernels on these.
inline std::vector<encoding> lpbq_block_encodings(const block_layout& layout,
                                                  const lpbq_encoding& e) {
  return detail::lpbq_block_encodings("lpbq_block_encodings", layout, e);
}

// AIMET v2's LPBQ of a weight (GroupedBlockQuantizeDequantize with the blocks of each channel in
// one group, as AIMET configures LPBQ weights), step for step in float32:
//  1. each block's range [min, max] and its symmetric scale at options.bitwidth
//     (detail::aimet_symmetric_scale: AIMET's min-max encoding analyzer and quantizer);
//  2. the channel scale: the largest block scale of the channel over 2^k,
//     k = decompressed_bitwidth - bitwidth;
//  3. each block scale: round_half_even(block scale / channel scale), clipped to 1..2^k.
// An all-zero block gets AIMET's minimum scale (about FLT_EPSILON): block scale 1 in a channel
// whose largest scale is over 2^(k+1) times that, 2^k in an all-zero channel. The weights' NaN or
// infinities are an error naming the first one.
inline lpbq_encoding compute_lpbq_encodings(span<const float> weights, const block_layout& layout,
                                            const lpbq_options& options = {}) {
  constexpr const char* function = "compute_lpbq_encodings";
  detail::check_lpbq_bitwidths(function, "options", options.bitwidth,
                               options.decompressed_bitwidth);
  detail::check_lpbq_layout(function, layout, weights.size());
  const std::size_t blocks = layout.blocks();
  std::vector<float> lo(layout.encoding_count(), std::numeric_limits<float>::infinity());
  std::vector<float> hi(layout.encoding_count(), -std::numeric_limits<float>::infinity());
  for (std::size_t o = 0; o < layout.outer; ++o) {
    for (std::size_t c = 0; c < layout.channels; ++c) {
      const std::size_t base = (o * layout.channels + c) * layout.inner;
      for (std::size_t i = 0; i < layout.inner; ++i) {
        const float v = weights[base + i];
        if (!std::isfinite(v)) {
          QUANTA_THROW(function, ": weights[", base + i, "] is ", v, "; expected finite values");
        }
        const std::size_t k = layout.encoding_index(o, c, i);
        lo[k] = std::min(lo[k], v);
        hi[k] = std::max(hi[k], v);
      }
    }
  }
  lpbq_encoding e;
  e.bitwidth = options.bitwidth;
  e.decompressed_bitwidth = options.decompressed_bitwidth;
  e.block_size = layout.block_size;
  e.channel_scales.assign(layout.outer * layout.inner, 0.0f);
  e.block_scales.assign(layout.encoding_count(), 0);
  std::vector<float> scales(layout.encoding_count());
  for (std::size_t k = 0; k < scales.size(); ++k) {
    scales[k] = detail::aimet_symmetric_scale(lo[k], hi[k], options.bitwidth);
    if (!std::isfinite(scales[k])) {
      QUANTA_THROW(function, ": block ", k, " (outer x blocks x inner order) has range [", lo[k],
                   ", ", hi[k], "], whose ", options.bitwidth,
                   "-bit scale overflows float; expected a range narrower than about FLT_MAX");
    }
  }
  for (std::size_t o = 0; o < layout.outer; ++o) {
    for (std::size_t i = 0; i < layout.inner; ++i) {
      float largest = 0.0f;
      for (std::size_t b = 0; b < blocks; ++b)
        largest = std::max(largest, scales[(o * blocks + b) * layout.inner + i]);
      e.channel_scales[o * layout.inner + i] = largest / static_cast<float>(e.max_block_scale());
    }
  }
  const float top = static_cast<float>(e.max_block_scale());
  detail::for_each_lpbq_block(layout, [&](std::size_t block, std::size_t channel) {
    // AIMET quantizes the block scale on the channel scale's grid [1, 2^k]; its integer scale
    // is then round(q * channel / channel), which is q again (the product is within half an ulp).
    const float ratio = scales[block] / e.channel_scales[channel];
    const float q = detail::clamp_to(detail::round_float(ratio, rounding::half_even), 1.0f, top);
    e.block_scales[block] = static_cast<std::uint16_t>(q);
  });
  return e;
}

// q = quantize(x) on the LPBQ encoding's per-block scales (lpbq_block_encodings), with quanta's
// per-block kernels: SIMD on every instruction set they cover. Codes are signed, e.bitwidth bits.
template <class Arch = default_arch, class Codes>
void quantize(span<const float> x, const block_layout& layout, const lpbq_encoding& e, Codes&& q,
              const quantize_options& options = aimet_v2_quantize_options) {
  detail::check_lpbq_layout("quantize", layout, x.size());
  const std::vector<encoding> blocks = detail::lpbq_block_encodings("quantize", layout, e);
  quantize<Arch>(x, layout, span<const encoding>(blocks), std::forward<Codes>(q), options);
}

// x = channel_scale * block_scale * q.
template <class Arch = default_arch, class Codes>
void dequantize(const Codes& q, const block_layout& layout, const lpbq_encoding& e, span<float> x) {
  detail::check_lpbq_layout("dequantize", layout, std::size(q));
  const std::vector<encoding> blocks = detail::lpbq_block_encodings("dequantize", layout, e);
  dequantize<Arch>(q, layout, span<const encoding>(blocks), x);
}

// y = dequantize(quantize(x)), AIMET's fake quantization of an LPBQ weight. y may be x itself.
template <class Arch = default_arch>
void quantize_dequantize(span<const float> x, const block_layout& layout, const lpbq_encoding& e,
                         span<float> y,
                         const quantize_options& options = aimet_v2_quantize_options) {
  detail::check_lpbq_layout("quantize_dequantize", layout, x.size());
  const std::vector<encoding> blocks =
      detail::lpbq_block_encodings("quantize_dequantize", layout, e);
  quantize_dequantize<Arch>(x, layout, span<const encoding>(blocks), y, options);
}

namespace detail {

inline void check_lpbq_int4(const char* function, const lpbq_encoding& e) {
  if (e.bitwidth != 4) {
    QUANTA_THROW(function, ": encoding.bitwidth is ", e.bitwidth, "; expected 4 (int4 codes)");
  }
}

}  // namespace detail

// Quantize and pack a 4-bit LPBQ weight in one pass (ONNX nibble order, the low nibble first) on
// the per-block pack kernels. Blocks of an even size keep every row of the blocked axis on whole
// bytes, so for a [out, in] weight blocked along `in` this is also SNPE's packing per row.
template <class Arch = default_arch>
void quantize_pack_int4(span<const float> x, const block_layout& layout, const lpbq_encoding& e,
                        span<std::uint8_t> packed,
                        const quantize_options& options = aimet_v2_quantize_options) {
  constexpr const char* function = "quantize_pack_int4";
  detail::check_lpbq_int4(function, e);
  detail::check_lpbq_layout(function, layout, x.size());
  const std::vector<encoding> blocks = detail::lpbq_block_encodings(function, layout, e);
  quantize_pack_int4<Arch>(x, layout, span<const encoding>(blocks), packed, options);
}

// x = channel_scale * block_scale * q for the int4 codes of `packed`.
template <class Arch = default_arch>
void unpack_dequantize_int4(span<const std::uint8_t> packed, const block_layout& layout,
                            const lpbq_encoding& e, span<float> x) {
  constexpr const char* function = "unpack_dequantize_int4";
  detail::check_lpbq_int4(function, e);
  detail::check_lpbq_layout(function, layout, x.size());
  const std::vector<encoding> blocks = detail::lpbq_block_encodings(function, layout, e);
  unpack_dequantize_int4<Arch>(packed, layout, span<const encoding>(blocks), x);
}

}  // namespace quanta
