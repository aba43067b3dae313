#include <quanta/float16.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

// Eigen is the reference the conversions were specified against; quanta/float16.hpp does not use
// it.
#include <Eigen/Core>

namespace {
float from_bits(std::uint32_t bits) {
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

std::uint32_t bits_of(float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

bool is_nan_half(std::uint16_t h) {
  return (h & 0x7C00u) == 0x7C00u && (h & 0x03FFu) != 0;
}

bool is_nan_bfloat(std::uint16_t b) {
  return (b & 0x7F80u) == 0x7F80u && (b & 0x007Fu) != 0;
}

std::uint16_t eigen_half_bits(float x) {
  return Eigen::numext::bit_cast<std::uint16_t>(Eigen::half(x));
}

float eigen_half_value(std::uint16_t h) {
  return static_cast<float>(Eigen::numext::bit_cast<Eigen::half>(h));
}

std::uint16_t eigen_bfloat16_bits(float x) {
  return Eigen::numext::bit_cast<std::uint16_t>(Eigen::bfloat16(x));
}

float eigen_bfloat16_value(std::uint16_t b) {
  return static_cast<float>(Eigen::numext::bit_cast<Eigen::bfloat16>(b));
}

// Every float a conversion can get wrong: signed zeros, float subnormals, the limits of both
// formats, NaN with either sign and several payloads (quiet and signalling), for each value of
// both formats the exact midpoint to its successor and the floats next to it, and random bits.
std::vector<float> float_sample() {
  std::vector<std::uint32_t> bits = {
      0x00000000u, 0x00000001u, 0x007FFFFFu, 0x00800000u, 0x7F7FFFFFu, 0x7F800000u, 0x7F800001u,
      0x7FA00000u, 0x7FBFFFFFu, 0x7FC00000u, 0x7FC00001u, 0x7FFFFFFFu, 0x7FE02000u, 0x7F802000u,
      0x477FE000u, 0x477FEFFFu, 0x477FF000u, 0x477FF001u, 0x47800000u, 0x33000000u, 0x33000001u,
      0x32FFFFFFu, 0x33800000u, 0x38800000u, 0x387FFFFFu, 0x387FE000u, 0x387FF000u};
  for (std::uint32_t h = 0; h < 0x7C00u; ++h) {
    const float a = quanta::float16_value(static_cast<std::uint16_t>(h));
    const float b = quanta::float16_value(static_cast<std::uint16_t>(h + 1));
    const std::uint32_t midpoint = bits_of(a + (b - a) / 2);  // exact: 12 significant bits
    for (std::uint32_t m : {midpoint - 1, midpoint, midpoint + 1})
      bits.push_back(m);
  }
  for (std::uint32_t b = 0; b < 0x7F80u; ++b) {
    const std::uint32_t midpoint = (b << 16) | 0x8000u;
    for (std::uint32_t m : {midpoint - 1, midpoint, midpoint + 1})
      bits.push_back(m);
  }
  std::mt19937 rng(2024);
  for (int k = 0; k < (1 << 20); ++k)
    bits.push_back(static_cast<std::uint32_t>(rng()));
  std::vector<float> sample;
  sample.reserve(2 * bits.size());
  for (std::uint32_t b : bits) {
    sample.push_back(from_bits(b & 0x7FFFFFFFu));
    sample.push_back(from_bits(b | 0x80000000u));
  }
  return sample;
}

}  // namespace

TEST_CASE("float16_value: every binary16 value, and back", "[float16]") {
  for (std::uint32_t h = 0; h <= 0xFFFFu; ++h) {
    const auto bits = static_cast<std::uint16_t>(h);
    const float v = quanta::float16_value(bits);
    INFO("binary16 0x" << std::hex << h);
    if (is_nan_half(bits)) {
      // Quiet, the sign and the payload kept: what F16C's vcvtph2ps gives.
      REQUIRE(bits_of(v) == (((h & 0x8000u) << 16) | 0x7FC00000u | ((h & 0x03FFu) << 13)));
      REQUIRE(quanta::float16_bits(v) == (bits | 0x0200u));
#if defined(EIGEN_HAS_FP16_C)
      REQUIRE(bits_of(v) == bits_of(eigen_half_value(bits)));
#endif
    } else {
      REQUIRE(bits_of(v) == bits_of(eigen_half_value(bits)));
      REQUIRE(quanta::float16_bits(v) == bits);
    }
  }
}

TEST_CASE("bfloat16_value: every bfloat16 value, and back", "[float16]") {
  for (std::uint32_t b = 0; b <= 0xFFFFu; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    const float v = quanta::bfloat16_value(bits);
    INFO("bfloat16 0x" << std::hex << b);
    REQUIRE(bits_of(v) == b << 16);
    REQUIRE(bits_of(v) == bits_of(eigen_bfloat16_value(bits)));
    if (is_nan_bfloat(bits)) {
      REQUIRE(quanta::bfloat16_bits(v) == ((b & 0x8000u) | 0x7FC0u));
    } else {
      REQUIRE(quanta::bfloat16_bits(v) == bits);
    }
  }
}

TEST_CASE("float16_bits and bfloat16_bits equal Eigen's conversions", "[float16]") {
  for (const float x : float_sample()) {
    INFO("float 0x" << std::hex << bits_of(x));
    const std::uint16_t half = quanta::float16_bits(x);
    const std::uint16_t eigen_half = eigen_half_bits(x);
    if (std::isnan(x)) {
      // Eigen without F16C returns the canonical quiet NaN; quanta keeps the payload as F16C does.
      const std::uint32_t payload = (bits_of(x) >> 13) & 0x03FFu;
      REQUIRE(half == (((bits_of(x) >> 16) & 0x8000u) | 0x7E00u | payload));
#if defined(EIGEN_HAS_FP16_C)
      REQUIRE(half == eigen_half);
#else
      REQUIRE(is_nan_half(eigen_half));
      REQUIRE((half & 0x8000u) == (eigen_half & 0x8000u));
#endif
    } else {
      REQUIRE(half == eigen_half);
    }
    REQUIRE(quanta::bfloat16_bits(x) == eigen_bfloat16_bits(x));
    REQUIRE(bits_of(quanta::round_to_float16(x)) == bits_of(quanta::float16_value(half)));
  }
}

TEST_CASE("float16: the storage type converts as float16_bits and float16_value", "[float16]") {
  const quanta::float16 h(0.1f);
  CHECK(h.bits() == quanta::float16_bits(0.1f));
  CHECK(static_cast<float>(h) == quanta::round_to_float16(0.1f));
  CHECK(quanta::float16::from_bits(0x7BFFu).bits() == 0x7BFFu);
  CHECK(static_cast<float>(quanta::float16::from_bits(0x7BFFu)) == 65504.0f);
  CHECK(quanta::float16().bits() == 0);
}

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
