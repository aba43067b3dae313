#include <quanta/float16.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace {
float from_bits(std::uint32_t bits) {
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}
}  // namespace

TEST_CASE("round_to_float16: nearest even, overflow and subnormals", "[float16]") {
  CHECK(quanta::round_to_float16(1.0f) == 1.0f);
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1).
  CHECK(quanta::round_to_float16(1.0f + 0x1p-11f) == 1.0f);
  CHECK(quanta::round_to_float16(1.0f + 3 * 0x1p-11f) == 1.0f + 0x1p-9f);
  CHECK(quanta::round_to_float16(65504.0f) == 65504.0f);
  CHECK(quanta::round_to_float16(65520.0f) == std::numeric_limits<float>::infinity());
  CHECK(quanta::round_to_float16(0x1p-24f) == 0x1p-24f);  // smallest binary16 subnormal
  CHECK(quanta::round_to_float16(0x1p-26f) == 0.0f);
  CHECK(std::signbit(quanta::round_to_float16(-0.0f)));
  CHECK(std::isnan(quanta::round_to_float16(std::nanf(""))));
}

TEST_CASE("round_to_bfloat16: nearest even on the upper 16 bits", "[float16]") {
  // 0x3F808000 is halfway between 0x3F80 and 0x3F81: ties to even (0x3F80).
  CHECK(quanta::round_to_bfloat16(from_bits(0x3F808000u)) == from_bits(0x3F800000u));
  CHECK(quanta::round_to_bfloat16(from_bits(0x3F818000u)) == from_bits(0x3F820000u));
  CHECK(quanta::round_to_bfloat16(from_bits(0x3F808001u)) == from_bits(0x3F810000u));
  CHECK(std::isnan(quanta::round_to_bfloat16(std::nanf(""))));
  CHECK(quanta::round_to_bfloat16(std::numeric_limits<float>::infinity()) ==
        std::numeric_limits<float>::infinity());
}

TEST_CASE("round_to_float16 on spans, in place", "[float16]") {
  std::vector<float> x = {0.1f, 1000.3f, -2.5f};
  const std::vector<float> expected = {quanta::round_to_float16(0.1f),
                                       quanta::round_to_float16(1000.3f), -2.5f};
  quanta::round_to_float16(x, x);
  CHECK(x == expected);
  std::vector<float> y(2);
  CHECK_THROWS_WITH(quanta::round_to_bfloat16(x, y),
                    Catch::StartsWith("round_to_bfloat16: y has 2 elements but x has 3"));
}
