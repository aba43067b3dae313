#include <quanta/pack.hpp>
#include <quanta/quantize.hpp>
#include <quanta/reduce.hpp>
#include <quanta/ref/pack.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <vector>

#include "support/pack_checks.hpp"

using quanta::block_layout;
using quanta::channel_layout;
using quanta::encoding;
using quanta::encoding_options;

using namespace quanta::test;  // the shared inputs

TEST_CASE("pack: golden bytes (ONNX order, REFERENCE.md section 3)", "[pack]") {
  bytes packed(1);
  quanta::pack_int4(std::vector<std::int8_t>{1, -2}, packed);
  CHECK(packed[0] == 0xE1);
  quanta::pack_uint4(std::vector<std::uint8_t>{1, 14}, packed);
  CHECK(packed[0] == 0xE1);

  // An odd tail leaves the high nibble 0.
  bytes two(2);
  quanta::pack_int4(std::vector<std::int8_t>{7, -8, -1}, two);
  CHECK(two == bytes{0x87, 0x0F});

  // 2-bit: four values a byte, the first in the lowest bits.
  quanta::pack_int2(std::vector<std::int8_t>{1, -2, 0, -1}, packed);
  CHECK(packed[0] == 0xC9);
  quanta::pack_uint2(std::vector<std::uint8_t>{0, 1, 2, 3}, packed);
  CHECK(packed[0] == 0xE4);
  quanta::pack_uint2(std::vector<std::uint8_t>{3, 2, 1, 0, 3}, two);
  CHECK(two == bytes{0x1B, 0x03});

  // Signed unpack sign-extends.
  std::vector<std::int8_t> v(2);
  quanta::unpack_int4(bytes{0xE1}, v);
  CHECK(v == std::vector<std::int8_t>{1, -2});
  std::vector<std::uint8_t> u(2);
  quanta::unpack_uint4(bytes{0xE1}, u);
  CHECK(u == std::vector<std::uint8_t>{1, 14});
  std::vector<std::int8_t> v2(4);
  quanta::unpack_int2(bytes{0xC9}, v2);
  CHECK(v2 == std::vector<std::int8_t>{1, -2, 0, -1});
}
TEST_CASE("pack: sizes", "[pack]") {
  CHECK(quanta::packed_size(0, 4) == 0);
  CHECK(quanta::packed_size(1, 4) == 1);
  CHECK(quanta::packed_size(27, 4) == 14);
  CHECK(quanta::packed_size(28, 4) == 14);
  CHECK(quanta::packed_size(5, 2) == 2);
  CHECK(quanta::packed_size(8, 2) == 2);
  CHECK(quanta::packed_row_size(27, 4) == 14);
  CHECK(quanta::packed_rows_size(32, 27, 4) == 448);  // SNPE: 14 bytes per channel
  CHECK(quanta::packed_rows_size(3, 5, 2) == 6);
  CHECK(quanta::packed_size(std::numeric_limits<std::size_t>::max(), 4) ==
        std::numeric_limits<std::size_t>::max() / 2 + 1);
  CHECK(quanta::fused_row_size(10) == 9);
  CHECK(quanta::fused_row_size(10, 2) == 7);
  CHECK_THROWS_WITH(quanta::packed_size(4, 3),
                    Catch::StartsWith("packed_size: bits is 3; expected 2 or 4"));
  CHECK_THROWS_WITH(quanta::packed_row_size(4, 8), Catch::Contains("bits is 8"));
  CHECK_THROWS_WITH(quanta::packed_rows_size(std::numeric_limits<std::size_t>::max(), 4, 4),
                    Catch::Contains("overflows"));
}
TEST_CASE("pack: per-row packing (SNPE per-channel 4-bit)", "[pack][rows]") {
  // A [3,3,3,32] weight with its 32 output channels outermost: 32 rows of 27 values.
  const std::size_t rows = 32;
  const std::size_t cols = 27;
  std::vector<std::int8_t> v(rows * cols);
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<std::int8_t>(static_cast<int>(i % 16) - 8);
  bytes packed(quanta::packed_rows_size(rows, cols, 4));
  REQUIRE(packed.size() == 32 * 14);
  quanta::pack_int4_rows(v, rows, cols, packed);
  for (std::size_t r = 0; r < rows; ++r) {
    bytes row(14);
    quanta::pack_int4(quanta::span<const std::int8_t>(v.data() + r * cols, cols), row);
    CHECK(bytes(packed.begin() + static_cast<std::ptrdiff_t>(r * 14),
                packed.begin() + static_cast<std::ptrdiff_t>(r * 14 + 14)) == row);
    CHECK((packed[r * 14 + 13] >> 4) == 0);
  }
  std::vector<std::int8_t> back(v.size());
  quanta::unpack_int4_rows(packed, rows, cols, back);
  CHECK(back == v);

  // Even rows are the flat layout.
  std::vector<std::uint8_t> u(6 * 8, 3);
  bytes per_row(quanta::packed_rows_size(6, 8, 2));
  bytes flat(quanta::packed_size(u.size(), 2));
  quanta::pack_uint2_rows(u, 6, 8, per_row);
  quanta::pack_uint2(u, flat);
  CHECK(per_row == flat);
}
TEST_CASE("pack: bad arguments are reported and nothing is written", "[pack][errors]") {
  bytes packed(2, 0xAA);
  CHECK_THROWS_WITH(quanta::pack_int4(std::vector<std::int8_t>{0, 1, 9}, packed),
                    Catch::StartsWith("pack_int4: v[2] is 9; expected -8..7 (int4)"));
  CHECK(packed == bytes{0xAA, 0xAA});
  CHECK_THROWS_WITH(quanta::pack_int4(std::vector<std::int8_t>{-9, 1, 9}, packed),
                    Catch::Contains("v[0] is -9"));
  CHECK_THROWS_WITH(quanta::pack_uint4(std::vector<std::uint8_t>{15, 16}, bytes(1)),
                    Catch::StartsWith("pack_uint4: v[1] is 16; expected 0..15 (uint4)"));
  CHECK_THROWS_WITH(quanta::pack_int2(std::vector<std::int8_t>{1, 2}, bytes(1)),
                    Catch::StartsWith("pack_int2: v[1] is 2; expected -2..1 (int2)"));
  CHECK_THROWS_WITH(quanta::pack_uint2(std::vector<std::uint8_t>{4}, bytes(1)),
                    Catch::Contains("v[0] is 4; expected 0..3"));

  // An out-of-range value far into a long tensor: found by the SIMD check, named by the scan.
  std::vector<std::int8_t> long_v(1000, 3);
  long_v[777] = -100;
  bytes long_packed(500, 0x11);
  CHECK_THROWS_WITH(quanta::pack_int4(long_v, long_packed), Catch::Contains("v[777] is -100"));
  CHECK(long_packed == bytes(500, 0x11));

  CHECK_THROWS_WITH(quanta::pack_int4(std::vector<std::int8_t>{1, 2, 3}, bytes(1)),
                    Catch::StartsWith("pack_int4: packed has 1 bytes; expected 2 for 3 values "
                                      "of 4 bits"));
  std::vector<std::int8_t> v(3, 5);
  CHECK_THROWS_WITH(quanta::unpack_int4(bytes(3), v),
                    Catch::StartsWith("unpack_int4: packed has 3 bytes; expected 2"));
  CHECK(v == std::vector<std::int8_t>(3, 5));
  CHECK_THROWS_WITH(quanta::pack_int4_rows(std::vector<std::int8_t>(6), 2, 4, bytes(4)),
                    Catch::StartsWith("pack_int4_rows: v has 6 elements; expected rows 2 x "
                                      "cols 4 = 8"));
  CHECK_THROWS_WITH(
      quanta::unpack_int4_rows(bytes(3), 2, 3, v = std::vector<std::int8_t>(6)),
      Catch::StartsWith("unpack_int4_rows: packed has 3 bytes; expected 4 (2 rows of 3 values, "
                        "2 bytes a row)"));

  // A packed buffer inside the values it packs.
  std::vector<std::uint8_t> shared(8, 1);
  CHECK_THROWS_WITH(quanta::pack_uint4(quanta::span<const std::uint8_t>(shared.data(), 8),
                                       quanta::span<std::uint8_t>(shared.data() + 2, 4)),
                    Catch::Contains("packed overlaps v; expected disjoint buffers"));
  CHECK(shared == std::vector<std::uint8_t>(8, 1));
}
TEST_CASE("quantize_pack: 2-bit", "[pack][fused]") {
  encoding_options o = four_bit(true);
  o.bitwidth = 2;
  const std::vector<float> x = random_floats(1031, 5);
  const encoding e = quanta::compute_encoding(x, o);
  std::vector<std::int8_t> q(x.size());
  quanta::quantize(x, e, q);
  bytes want(quanta::packed_size(x.size(), 2));
  quanta::ref::pack(quanta::span<const std::int8_t>(q), 2, quanta::span<std::uint8_t>(want));
  bytes got(want.size());
  quanta::quantize_pack_int2(x, e, got);
  CHECK(got == want);
  std::vector<float> y(x.size());
  std::vector<float> y_want(x.size());
  quanta::unpack_dequantize_int2(got, e, y);
  quanta::dequantize(q, e, y_want);
  CHECK(y == y_want);

  o.is_signed = false;
  const encoding eu = quanta::compute_encoding(x, o);
  const channel_layout layout{1, 1031, 1};
  const std::vector<encoding> per_value(1031, eu);
  bytes got_u(want.size());
  quanta::quantize_pack_uint2(x, layout, per_value, got_u);
  bytes want_u(want.size());
  quanta::quantize_pack_uint2(x, eu, want_u);
  CHECK(got_u == want_u);
}
TEST_CASE("quantize_pack: bad encodings and sizes", "[pack][fused][errors]") {
  const std::vector<float> x = {0.5f, -1.0f, 2.0f};
  bytes packed(2, 0xAA);
  const encoding s4{0.25f, 0, 4, true};
  CHECK_THROWS_WITH(quanta::quantize_pack_int4(x, encoding{0.25f, 0, 8, true}, packed),
                    Catch::StartsWith("quantize_pack_int4: encoding is a 8-bit signed encoding "
                                      "with codes -128..127 that int4 cannot hold"));
  CHECK_THROWS_WITH(quanta::quantize_pack_int4(x, encoding{0.25f, 3, 4, false}, packed),
                    Catch::Contains("codes 0..15 that int4 cannot hold; expected an encoding "
                                    "whose codes fit -8..7"));
  CHECK_THROWS_WITH(quanta::quantize_pack_int2(x, s4, bytes(1)),
                    Catch::StartsWith("quantize_pack_int2: encoding is a 4-bit signed"));
  CHECK_THROWS_WITH(quanta::quantize_pack_int4(x, encoding{0.0f, 0, 4, true}, packed),
                    Catch::Contains("encoding.scale is 0"));
  CHECK_THROWS_WITH(quanta::quantize_pack_int4(x, s4, bytes(1)),
                    Catch::StartsWith("quantize_pack_int4: packed has 1 bytes; expected 2"));
  CHECK(packed == bytes{0xAA, 0xAA});

  const std::vector<encoding> two = {s4, encoding{0.5f, 9, 4, true}};
  CHECK_THROWS_WITH(quanta::quantize_pack_int4(x, channel_layout{1, 3, 1}, two, packed),
                    Catch::Contains("encodings has 2 entries; expected 3 (one per channel)"));
  CHECK_THROWS_WITH(quanta::quantize_pack_int4(x, channel_layout{1, 2, 1}, two, packed),
                    Catch::Contains("data has 3 elements"));
  CHECK_THROWS_WITH(
      quanta::quantize_pack_int4(std::vector<float>(4), channel_layout{1, 2, 2}, two, packed),
      Catch::Contains("encodings[1].zero_point is 9"));
  CHECK_THROWS_WITH(
      quanta::quantize_pack_int4(x, block_layout{1, 3, 1, 2}, std::vector<encoding>{s4}, packed),
      Catch::Contains("expected 2 (outer x blocks x inner)"));
  CHECK_THROWS_WITH(quanta::quantize_pack_int4_rows(x, 3, 1, two, bytes(3)),
                    Catch::StartsWith("quantize_pack_int4_rows: encodings has 2 entries; "
                                      "expected 3 (1 for the tensor, or one per row)"));
  CHECK_THROWS_WITH(quanta::quantize_pack_int4_rows(x, 3, 1, s4, bytes(2)),
                    Catch::Contains("packed has 2 bytes; expected 3"));
  CHECK(packed == bytes{0xAA, 0xAA});

  std::vector<float> y(3, 7.0f);
  CHECK_THROWS_WITH(quanta::unpack_dequantize_int4(bytes(1), s4, y),
                    Catch::StartsWith("unpack_dequantize_int4: packed has 1 bytes; expected 2"));
  CHECK_THROWS_WITH(quanta::unpack_dequantize_int4(packed, encoding{0.5f, 0, 4, false}, y),
                    Catch::Contains("that int4 cannot hold"));
  CHECK(y == std::vector<float>(3, 7.0f));
}
TEST_CASE("fused rowwise: odd columns, degenerate rows and errors", "[pack][fbgemm]") {
  // Odd columns (FBGEMM's own prepack rejects them): the data bytes are the uint4 per-row layout.
  const std::vector<float> x = {0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 7.5f, 7.5f, 7.5f};
  bytes fused(3 * quanta::fused_row_size(3));
  quanta::quantize_fused_rowwise(x, 3, 3, fused);
  // Row 0: bias 0, scale 2/15 in binary16; row 2 constant: scale 1, bias 7.5.
  const std::uint16_t scale0 = quanta::ref::float16_bits(2.0f / 15.0f);
  CHECK(fused[0] == (0 | (8 << 4)));  // round(1 * 7.5)... 1 / 0.13330078 = 7.5018 -> 8
  CHECK(fused[1] == 15);
  CHECK(fused[2] == (scale0 & 0xFF));
  CHECK(fused[3] == (scale0 >> 8));
  CHECK(fused[4] == 0);
  CHECK(fused[5] == 0);
  const std::size_t row2 = 2 * quanta::fused_row_size(3);
  CHECK(fused[row2] == 0);
  CHECK(fused[row2 + 1] == 0);
  CHECK(fused[row2 + 2] == 0x00);
  CHECK(fused[row2 + 3] == 0x3C);  // 1.0
  CHECK(fused[row2 + 4] == 0x80);
  CHECK(fused[row2 + 5] == 0x47);  // 7.5
  std::vector<float> y(x.size());
  quanta::dequantize_fused_rowwise(fused, 3, 3, y);
  CHECK(y[6] == 7.5f);
  CHECK(y[8] == 7.5f);

  // Zero columns: only the scale 1 and bias 0.
  bytes empty_rows(2 * quanta::fused_row_size(0));
  quanta::quantize_fused_rowwise(std::vector<float>(), 2, 0, empty_rows);
  CHECK(empty_rows == bytes{0x00, 0x3C, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x00});

  bytes out(2 * quanta::fused_row_size(2), 0xAA);
  const bytes untouched = out;
  CHECK_THROWS_WITH(
      quanta::quantize_fused_rowwise(
          std::vector<float>{0.0f, 1.0f, std::numeric_limits<float>::quiet_NaN(), 1.0f}, 2, 2, out),
      Catch::StartsWith("quantize_fused_rowwise: x[2] is nan; expected finite values"));
  CHECK_THROWS_WITH(
      quanta::quantize_fused_rowwise(std::vector<float>{0.0f, 1.0f, -70000.0f, 1.0f}, 2, 2, out),
      Catch::StartsWith("quantize_fused_rowwise: row 1 has min -70000 and max 1; expected |min| "
                        "<= 65504"));
  CHECK_THROWS_WITH(
      quanta::quantize_fused_rowwise(std::vector<float>{0.0f, 1.0f, -60000.0f, 1e7f}, 2, 2, out),
      Catch::Contains("row 1 has min"));
  CHECK_THROWS_WITH(quanta::quantize_fused_rowwise(std::vector<float>(4), 2, 2, out, 8),
                    Catch::StartsWith("quantize_fused_rowwise: bits is 8; expected 2 or 4"));
  CHECK_THROWS_WITH(quanta::quantize_fused_rowwise(std::vector<float>(4), 2, 2, bytes(11)),
                    Catch::Contains("fused has 11 bytes; expected 10 (2 rows of 2 values, 5 "
                                    "bytes a row)"));
  CHECK(out == untouched);

  bytes bad = {0x12, 0x00, 0x7C, 0x00, 0x00};  // scale +inf
  std::vector<float> y1(2, 3.0f);
  CHECK_THROWS_WITH(quanta::dequantize_fused_rowwise(bad, 1, 2, y1),
                    Catch::StartsWith("dequantize_fused_rowwise: row 0 has scale inf"));
  CHECK(y1 == std::vector<float>(2, 3.0f));
}
