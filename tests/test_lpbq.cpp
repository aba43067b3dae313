#include <quanta/lpbq.hpp>
#include <quanta/ref/lpbq.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "data/lpbq_vectors.hpp"
#include "support/random_floats.hpp"

using Catch::Matchers::StartsWith;
using quanta::block_layout;
using quanta::lpbq_encoding;
using quanta::lpbq_options;

namespace {

block_layout layout_of(const lpbq_vectors::lpbq_case& c) {
  return block_layout{c.outer, c.channels, c.inner, c.block_size};
}

lpbq_options options_of(const lpbq_vectors::lpbq_case& c) {
  lpbq_options o;
  o.bitwidth = c.bitwidth;
  o.decompressed_bitwidth = c.decompressed_bitwidth;
  return o;
}

// Bit patterns, so that -0.0f and 0.0f (AIMET's fake quantization keeps the sign) differ.
std::vector<std::uint32_t> bits_of(const std::vector<float>& v) {
  std::vector<std::uint32_t> out(v.size());
  for (std::size_t k = 0; k < v.size(); ++k)
    std::memcpy(&out[k], &v[k], sizeof(float));
  return out;
}

template <class Q>
std::vector<int> as_ints(const std::vector<Q>& q) {
  return std::vector<int>(q.begin(), q.end());
}

}  // namespace

TEST_CASE("compute_lpbq_encodings: AIMET v2's GroupedBlockQuantizeDequantize", "[lpbq][aimet]") {
  for (const auto& c : lpbq_vectors::cases()) {
    INFO(c.name);
    const block_layout layout = layout_of(c);
    const lpbq_encoding e = quanta::compute_lpbq_encodings(c.weights, layout, options_of(c));
    quanta::detail::check_lpbq_encoding("test", e);
    quanta::detail::check_lpbq_against_layout("test", layout, e);
    CHECK(bits_of(e.channel_scales) == bits_of(c.channel_scales));
    CHECK(e.block_scales == c.block_scales);
    CHECK(e.bitwidth == c.bitwidth);
    CHECK(e.decompressed_bitwidth == c.decompressed_bitwidth);
    CHECK(e.block_size == c.block_size);
  }
}

TEST_CASE("LPBQ quantize, dequantize, quantize_dequantize: AIMET's forward pass", "[lpbq][aimet]") {
  for (const auto& c : lpbq_vectors::cases()) {
    INFO(c.name);
    const block_layout layout = layout_of(c);
    const lpbq_encoding e = quanta::compute_lpbq_encodings(c.weights, layout, options_of(c));
    std::vector<std::int8_t> q8(c.weights.size());
    std::vector<std::int16_t> q16(c.weights.size());
    std::vector<float> fake(c.weights.size());
    std::vector<float> back(c.weights.size());
    quanta::quantize(c.weights, layout, e, q8);
    quanta::quantize(c.weights, layout, e, q16);
    CHECK(as_ints(q8) == c.codes);
    CHECK(as_ints(q16) == c.codes);
    quanta::quantize_dequantize(c.weights, layout, e, fake);
    CHECK(bits_of(fake) == bits_of(c.fake_quantized));
    quanta::dequantize(q8, layout, e, back);
    // Dequantize has no sign for a zero code: compare values, not bits.
    CHECK(back == c.fake_quantized);

    // The scalar reference agrees bit for bit.
    std::vector<std::int8_t> ref_q(c.weights.size());
    std::vector<float> ref_fake(c.weights.size());
    quanta::ref::quantize(quanta::span<const float>(c.weights), layout, e,
                          quanta::span<std::int8_t>(ref_q));
    quanta::ref::quantize_dequantize(c.weights, layout, e, ref_fake);
    CHECK(ref_q == q8);
    CHECK(bits_of(ref_fake) == bits_of(fake));

    // In place.
    std::vector<float> y = c.weights;
    quanta::quantize_dequantize(y, layout, e, y);
    CHECK(bits_of(y) == bits_of(fake));
  }
}

TEST_CASE("LPBQ quantize: the SIMD per-block kernels equal the scalar reference", "[lpbq]") {
  // Long rows (full vectors and tails on every instruction set), blocks along either axis.
  for (const block_layout layout : {block_layout{7, 160, 1, 32}, block_layout{3, 24, 37, 8}}) {
    const std::vector<float> w = quanta::test::random_floats(layout.size(), 2026, 0.3f);
    const lpbq_encoding e = quanta::compute_lpbq_encodings(w, layout);
    std::vector<std::int8_t> q(w.size());
    std::vector<std::int8_t> ref_q(w.size());
    quanta::quantize(w, layout, e, q);
    quanta::ref::quantize(quanta::span<const float>(w), layout, e,
                          quanta::span<std::int8_t>(ref_q));
    CHECK(q == ref_q);
    std::vector<float> x(w.size());
    std::vector<float> ref_x(w.size());
    quanta::dequantize(q, layout, e, x);
    quanta::ref::dequantize(quanta::span<const std::int8_t>(q), layout, e,
                            quanta::span<float>(ref_x));
    CHECK(bits_of(x) == bits_of(ref_x));
    quanta::quantize_dequantize(w, layout, e, x);
    quanta::ref::quantize_dequantize(w, layout, e, ref_x);
    CHECK(bits_of(x) == bits_of(ref_x));
  }
}

TEST_CASE("LPBQ int4: fused quantize+pack and unpack+dequantize equal the two steps", "[lpbq]") {
  for (const block_layout layout : {block_layout{5, 96, 1, 32}, block_layout{2, 16, 3, 4}}) {
    const std::vector<float> w = quanta::test::random_floats(layout.size(), 7, 0.5f);
    const lpbq_encoding e = quanta::compute_lpbq_encodings(w, layout);
    std::vector<std::int8_t> q(w.size());
    quanta::quantize(w, layout, e, q);
    std::vector<std::uint8_t> two_step(quanta::packed_size(w.size(), 4));
    quanta::pack_int4(q, two_step);
    std::vector<std::uint8_t> fused(two_step.size());
    quanta::quantize_pack_int4(w, layout, e, fused);
    CHECK(fused == two_step);
    std::vector<float> x(w.size()), y(w.size());
    quanta::dequantize(q, layout, e, x);
    quanta::unpack_dequantize_int4(fused, layout, e, y);
    CHECK(bits_of(y) == bits_of(x));
  }
  lpbq_encoding eight_bit = quanta::compute_lpbq_encodings(
      std::vector<float>(64, 1.0f), block_layout{2, 32, 1, 8}, lpbq_options{8, 12});
  std::vector<std::uint8_t> packed(32);
  CHECK_THROWS_WITH(quanta::quantize_pack_int4(std::vector<float>(64, 1.0f),
                                               block_layout{2, 32, 1, 8}, eight_bit, packed),
                    StartsWith("quantize_pack_int4: encoding.bitwidth is 8; expected 4"));
}

TEST_CASE("compute_lpbq_encodings: the clip at 1 and 2^k, zero blocks and zero channels",
          "[lpbq]") {
  // 2 channels of 4 blocks of 2, 4-bit codes, 4-bit block scales.
  std::vector<float> w = {
      7.0f, -1.0f, 0.0f, 0.0f, 1e-6f, 0.0f, 0.875f, 0.5f,  // channel 0
      0.0f, 0.0f,  0.0f, 0.0f, 0.0f,  0.0f, 0.0f,   0.0f,  // channel 1: all zero
  };
  const block_layout layout{2, 8, 1, 2};
  const lpbq_encoding e = quanta::compute_lpbq_encodings(w, layout);
  quanta::detail::check_lpbq_encoding("test", e);
  REQUIRE(e.block_scales.size() == 8);
  // Block 0 holds the channel's largest scale: 2^4. Block 1 (zeros) and block 2 (1e-6) round to 0
  // and are clipped to 1. Block 3: max 0.875 = 7 * 0.125, 0.125 / (1 / 16) = 2.
  CHECK(e.channel_scales[0] == 1.0f / 16.0f);
  CHECK(e.block_scales[0] == 16);
  CHECK(e.block_scales[1] == 1);
  CHECK(e.block_scales[2] == 1);
  CHECK(e.block_scales[3] == 2);
  // An all-zero channel: every block gets AIMET's minimum scale, which is the channel's largest.
  for (std::size_t k = 4; k < 8; ++k)
    CHECK(e.block_scales[k] == 16);
  CHECK(e.channel_scales[1] > 0.0f);
  std::vector<std::int8_t> q(w.size());
  quanta::quantize(w, layout, e, q);
  CHECK(q[0] == 7);
  CHECK(q[1] == -1);
  for (std::size_t k = 8; k < 16; ++k)
    CHECK(q[k] == 0);
}

TEST_CASE("lpbq_block_encodings: the effective scale of each block", "[lpbq]") {
  lpbq_encoding e;
  e.channel_scales = {0.5f, 0.25f};
  // [outer 1, blocks 2, inner 2]: channel = inner index.
  e.block_scales = {1, 3, 16, 2};
  e.block_size = 2;
  const block_layout layout{1, 4, 2, 2};
  const auto blocks = quanta::lpbq_block_encodings(layout, e);
  REQUIRE(blocks.size() == 4);
  CHECK(blocks[0].scale == 0.5f);
  CHECK(blocks[1].scale == 0.75f);
  CHECK(blocks[2].scale == 8.0f);
  CHECK(blocks[3].scale == 0.5f);
  for (const auto& b : blocks) {
    CHECK(b.zero_point == 0);
    CHECK(b.bitwidth == 4);
    CHECK(b.is_signed);
    CHECK(!b.narrow_range);
  }
}

TEST_CASE("LPBQ: errors name the function, the argument and what was expected", "[lpbq]") {
  const std::vector<float> w(12, 1.0f);
  CHECK_THROWS_WITH(quanta::compute_lpbq_encodings(w, block_layout{2, 6, 1, 4}),
                    StartsWith("compute_lpbq_encodings: layout.channels is 6 with block_size 4; "
                               "expected a multiple of the block size"));
  CHECK_THROWS_WITH(quanta::compute_lpbq_encodings(w, block_layout{2, 4, 1, 2}),
                    StartsWith("compute_lpbq_encodings: data has 12 elements"));
  lpbq_options o;
  o.decompressed_bitwidth = 4;
  CHECK_THROWS_WITH(quanta::compute_lpbq_encodings(w, block_layout{2, 6, 1, 3}, o),
                    StartsWith("compute_lpbq_encodings: options.decompressed_bitwidth is 4; "
                               "expected 5..16"));
  o = lpbq_options{};
  o.bitwidth = 1;
  CHECK_THROWS_WITH(quanta::compute_lpbq_encodings(w, block_layout{2, 6, 1, 3}, o),
                    StartsWith("compute_lpbq_encodings: options.bitwidth is 1; expected 2..15"));
  std::vector<float> bad = w;
  bad[7] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(quanta::compute_lpbq_encodings(bad, block_layout{2, 6, 1, 3}),
                    StartsWith("compute_lpbq_encodings: weights[7] is nan"));

  lpbq_encoding e = quanta::compute_lpbq_encodings(w, block_layout{2, 6, 1, 3});
  std::vector<std::int8_t> q(12);
  e.block_scales[3] = 17;
  CHECK_THROWS_WITH(quanta::quantize(w, block_layout{2, 6, 1, 3}, e, q),
                    StartsWith("quantize: encoding.block_scales[3] is 17; expected 1..16"));
  e.block_scales[3] = 0;
  CHECK_THROWS_WITH(quanta::quantize(w, block_layout{2, 6, 1, 3}, e, q),
                    StartsWith("quantize: encoding.block_scales[3] is 0; expected 1..16"));
  e.block_scales[3] = 1;
  e.channel_scales[1] = 0.0f;
  std::vector<float> y(12);
  CHECK_THROWS_WITH(quanta::quantize_dequantize(w, block_layout{2, 6, 1, 3}, e, y),
                    StartsWith("quantize_dequantize: encoding.channel_scales[1] is 0; expected"));
  e.channel_scales[1] = 1.0f;
  CHECK_THROWS_WITH(quanta::dequantize(q, block_layout{2, 6, 1, 2}, e, y),
                    StartsWith("dequantize: encoding.block_size is 3 but layout.block_size is 2"));
  CHECK_THROWS_WITH(quanta::quantize(w, block_layout{1, 12, 1, 3}, e, q),
                    StartsWith("quantize: encoding.channel_scales has 2 entries; expected 1 "
                               "(outer x inner of the layout)"));
  // 4-bit codes fit int8; an uint8 storage is refused by the per-block check.
  std::vector<std::uint8_t> unsigned_codes(12);
  CHECK_THROWS(quanta::quantize(w, block_layout{2, 6, 1, 3}, e, unsigned_codes));
}
