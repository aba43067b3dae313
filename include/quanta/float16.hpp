// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "quanta/error.hpp"
#include "quanta/span.hpp"

// IEEE binary16 and bfloat16, converted with integer operations so that the result is the same
// in every build (with or without F16C, on any compiler flags). From float: round to nearest,
// ties to even; binary16 overflows to +-inf and has subnormals down to 2^-24. To float: exact.
// NaN stays NaN with its sign: binary16 keeps the leading payload bits and sets the quiet bit (the
// IEEE conversion that F16C and Eigen::half built with it perform); bfloat16 gives the quiet NaN
// 0x7FC0 (Eigen::bfloat16). docs/conventions.md, "Half precision".
namespace quanta {

namespace detail {

inline std::uint32_t bits_of(float x) noexcept {
  std::uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}

inline float float_of(std::uint32_t bits) noexcept {
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

// v / 2^shift rounded to the nearest integer, ties to even; 1 <= shift <= 31.
constexpr std::uint32_t shift_right_to_nearest_even(std::uint32_t v, unsigned shift) noexcept {
  const std::uint32_t kept = v >> shift;
  const std::uint32_t dropped = v & ((1u << shift) - 1u);
  const std::uint32_t half = 1u << (shift - 1u);
  return kept + (dropped > half || (dropped == half && (kept & 1u) != 0) ? 1u : 0u);
}

constexpr std::uint32_t float_sign_bit = 0x80000000u;
constexpr std::uint32_t float_infinity_bits = 0x7F800000u;  // larger magnitudes are NaN
constexpr std::uint32_t float_fraction_bits = 0x007FFFFFu;

}  // namespace detail

// The binary16 bit pattern of the binary16 value nearest to x.
inline std::uint16_t float16_bits(float x) noexcept {
  const std::uint32_t bits = detail::bits_of(x);
  const std::uint32_t sign = (bits & detail::float_sign_bit) >> 16;
  const std::uint32_t magnitude = bits & ~detail::float_sign_bit;
  std::uint32_t half;
  if (magnitude > detail::float_infinity_bits) {
    half = 0x7E00u | ((magnitude >> 13) & 0x03FFu);
  } else if (magnitude >= 0x38800000u) {
    // At least 2^-14, binary16's smallest normal: the exponent rebiased from 127 to 15, then 13
    // fraction bits rounded off. A carry out of the fraction moves up a binade; from 65520 on it
    // reaches the exponent of infinity, and infinity itself lands beyond it.
    half = detail::shift_right_to_nearest_even(magnitude - (112u << 23), 13);
    if (half > 0x7C00u) half = 0x7C00u;
  } else if (magnitude >= 0x33000000u) {
    // From 2^-25 (which rounds to even: 0) to below 2^-14: a subnormal count of 2^-24, or 2^-14
    // itself when it rounds up. The significand's unit is 2^(exponent - 150).
    const std::uint32_t exponent = magnitude >> 23;
    const std::uint32_t significand = (magnitude & detail::float_fraction_bits) | 0x00800000u;
    half = detail::shift_right_to_nearest_even(significand, 126u - exponent);
  } else {
    half = 0;  // below half of the smallest subnormal, float subnormals included
  }
  return static_cast<std::uint16_t>(sign | half);
}

// The float equal to the binary16 value of `bits` (a quiet NaN for any NaN).
inline float float16_value(std::uint16_t bits) noexcept {
  const std::uint32_t sign = (std::uint32_t{bits} & 0x8000u) << 16;
  const std::uint32_t exponent = (std::uint32_t{bits} >> 10) & 0x1Fu;
  const std::uint32_t fraction = std::uint32_t{bits} & 0x03FFu;
  if (exponent == 0x1Fu) {
    const std::uint32_t quiet = fraction != 0 ? 0x00400000u : 0u;
    return detail::float_of(sign | detail::float_infinity_bits | quiet | (fraction << 13));
  }
  if (exponent != 0) return detail::float_of(sign | ((exponent + 112u) << 23) | (fraction << 13));
  // Zero or subnormal: fraction * 2^-24, exactly representable as a normal float.
  const float magnitude = static_cast<float>(fraction) * 0x1p-24f;
  return sign != 0 ? -magnitude : magnitude;
}

// The bfloat16 bit pattern (the upper half of a float) of the bfloat16 value nearest to x.
inline std::uint16_t bfloat16_bits(float x) noexcept {
  const std::uint32_t bits = detail::bits_of(x);
  const std::uint32_t sign = (bits & detail::float_sign_bit) >> 16;
  const std::uint32_t magnitude = bits & ~detail::float_sign_bit;
  if (magnitude > detail::float_infinity_bits) return static_cast<std::uint16_t>(sign | 0x7FC0u);
  // The exponent field is float's, so rounding up past the largest value gives infinity.
  return static_cast<std::uint16_t>(sign | detail::shift_right_to_nearest_even(magnitude, 16));
}

// The float whose upper half is `bits`: every bfloat16 value, exactly.
inline float bfloat16_value(std::uint16_t bits) noexcept {
  return detail::float_of(std::uint32_t{bits} << 16);
}

// Mixed-precision simulation: the float nearest to x among the values of binary16 or bfloat16.
inline float round_to_float16(float x) noexcept {
  return float16_value(float16_bits(x));
}

inline float round_to_bfloat16(float x) noexcept {
  return bfloat16_value(bfloat16_bits(x));
}

// A binary16 value as it is stored (the element type of float16 .npy arrays). Converting a float
// rounds to nearest even; converting back is exact.
class float16 {
 public:
  constexpr float16() noexcept = default;
  explicit float16(float x) noexcept : bits_(float16_bits(x)) {}

  static constexpr float16 from_bits(std::uint16_t bits) noexcept {
    float16 h;
    h.bits_ = bits;
    return h;
  }
  constexpr std::uint16_t bits() const noexcept { return bits_; }
  explicit operator float() const noexcept { return float16_value(bits_); }

 private:
  std::uint16_t bits_ = 0;
};

// Arrays of float16 are read and written as raw bytes.
static_assert(sizeof(float16) == 2 && std::is_trivially_copyable_v<float16>);

namespace detail {
template <class Round>
void round_all(const char* function, span<const float> x, span<float> y, Round round) {
  if (x.size() != y.size()) {
    QUANTA_THROW(function, ": y has ", y.size(), " elements but x has ", x.size(),
                 "; expected equal sizes");
  }
  for (std::size_t i = 0; i < x.size(); ++i)
    y[i] = round(x[i]);
}
}  // namespace detail

// y may be x itself.
inline void round_to_float16(span<const float> x, span<float> y) {
  detail::round_all("round_to_float16", x, y, [](float v) { return round_to_float16(v); });
}

inline void round_to_bfloat16(span<const float> x, span<float> y) {
  detail::round_all("round_to_bfloat16", x, y, [](float v) { return round_to_bfloat16(v); });
}

}  // namespace quanta
