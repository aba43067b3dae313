// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "quanta/encoding.hpp"
#include "quanta/float16.hpp"
#include "quanta/span.hpp"

// The normative scalar definition of sub-byte packing and of FBGEMM's row-wise fused format.
// Every SIMD kernel equals these functions bit for bit. No validation: the public functions in
// quanta/pack.hpp check arguments.
//
// `bits` is 2 or 4. Value i of a sequence goes to byte i / (8 / bits), at bit (i % (8 / bits)) *
// bits: the first value in the least significant bits (ONNX int4/uint4, ONNX opset 25 int2/uint2).
// A partly filled last byte has zeros in its unused high bits.
namespace quanta::ref {

constexpr std::size_t values_per_byte(int bits) noexcept {
  return static_cast<std::size_t>(8 / bits);
}

// Bytes that hold n values of `bits` bits, the last byte padded.
constexpr std::size_t packed_bytes(std::size_t n, int bits) noexcept {
  const std::size_t per_byte = values_per_byte(bits);
  return n / per_byte + (n % per_byte != 0 ? 1 : 0);
}

// T is std::int8_t or std::uint8_t; only the low `bits` bits of each value are stored.
template <class T>
void pack(span<const T> v, int bits, span<std::uint8_t> packed) noexcept {
  const std::size_t per_byte = values_per_byte(bits);
  const unsigned mask = (1u << bits) - 1u;
  for (std::size_t b = 0; b < packed.size(); ++b) {
    unsigned byte = 0;
    for (std::size_t k = 0; k < per_byte; ++k) {
      const std::size_t i = b * per_byte + k;
      if (i < v.size()) {
        byte |= (static_cast<unsigned>(v[i]) & mask) << (static_cast<unsigned>(bits) * k);
      }
    }
    packed[b] = static_cast<std::uint8_t>(byte);
  }
}

// The unused high bits of a partly filled last byte are ignored. Signed values are sign-extended
// from `bits` bits.
template <class T>
void unpack(span<const std::uint8_t> packed, int bits, span<T> v) noexcept {
  const std::size_t per_byte = values_per_byte(bits);
  const unsigned mask = (1u << bits) - 1u;
  const unsigned sign = 1u << (bits - 1);
  for (std::size_t i = 0; i < v.size(); ++i) {
    const unsigned shift = static_cast<unsigned>(bits) * static_cast<unsigned>(i % per_byte);
    const unsigned code = (static_cast<unsigned>(packed[i / per_byte]) >> shift) & mask;
    if constexpr (std::is_signed_v<T>) {
      v[i] = static_cast<T>(static_cast<int>(code ^ sign) - static_cast<int>(sign));
    } else {
      v[i] = static_cast<T>(code);
    }
  }
}

// Per-row packing (SNPE per-channel weights): each of `rows` rows of `cols` values starts on a new
// byte, so a row takes packed_bytes(cols, bits) bytes.
template <class T>
void pack_rows(span<const T> v, std::size_t rows, std::size_t cols, int bits,
               span<std::uint8_t> packed) noexcept {
  const std::size_t row_bytes = packed_bytes(cols, bits);
  for (std::size_t r = 0; r < rows; ++r)
    pack(v.subspan(r * cols, cols), bits, packed.subspan(r * row_bytes, row_bytes));
}

template <class T>
void unpack_rows(span<const std::uint8_t> packed, std::size_t rows, std::size_t cols, int bits,
                 span<T> v) noexcept {
  const std::size_t row_bytes = packed_bytes(cols, bits);
  for (std::size_t r = 0; r < rows; ++r)
    unpack(packed.subspan(r * row_bytes, row_bytes), bits, v.subspan(r * cols, cols));
}

// --- FBGEMM's row-wise fused N-bit format (embedding tables) ------------------------------------
// A row of `cols` floats becomes packed_bytes(cols, bits) bytes of unsigned codes, then the scale
// and the bias as little-endian IEEE binary16. bias is the row minimum rounded to binary16;
// scale = (max - bias) / (2^bits - 1) in float, rounded to binary16 (1 when that is 0 or its
// reciprocal overflows); q = clamp(round_half_even((x - bias) * (1 / scale)), 0, 2^bits - 1);
// x' = scale * q + bias.
struct fused_row_params {
  float scale = 1.0f;      // exactly a binary16 value
  float bias = 0.0f;       // exactly a binary16 value
  float inv_scale = 1.0f;  // 1.0f / scale in float
  std::uint16_t scale_bits = 0x3C00;
  std::uint16_t bias_bits = 0;
};

// The binary16 fields, converted as everywhere else in quanta (quanta/float16.hpp).
using quanta::float16_bits;
using quanta::float16_value;

// min and max of a finite, non-empty row; an empty row uses min = max = 0.
inline fused_row_params fused_row_encoding(float min, float max, int bits) noexcept {
  fused_row_params p;
  p.bias_bits = float16_bits(min);
  p.bias = float16_value(p.bias_bits);
  const float range = max - p.bias;
  const float levels = static_cast<float>((1 << bits) - 1);
  float scale = float16_value(float16_bits(range == 0.0f ? 1.0f : range / levels));
  float inv_scale = scale == 0.0f ? 1.0f : 1.0f / scale;
  // A scale that rounds to 0 in binary16, or whose reciprocal overflows, is replaced by 1 as FBGEMM
  // does, so that a row of equal values (or a nearly equal one) still round-trips.
  if (scale == 0.0f || !(inv_scale < std::numeric_limits<float>::infinity())) {
    scale = 1.0f;
    inv_scale = 1.0f;
  }
  p.scale = scale;
  p.inv_scale = inv_scale;
  p.scale_bits = float16_bits(scale);
  return p;
}

inline std::uint8_t fused_row_code(float x, const fused_row_params& p, int bits) noexcept {
  const float t = detail::round_float((x - p.bias) * p.inv_scale, rounding::half_even);
  const float top = static_cast<float>((1 << bits) - 1);
  return static_cast<std::uint8_t>(t <= 0.0f ? 0.0f : (t >= top ? top : t));
}

// scale holds 11 significant bits and q at most 4, so scale * q is exact in float and the sum is
// the only rounding: the result is the same with or without a fused multiply-add.
inline float fused_row_value(unsigned q, const fused_row_params& p) noexcept {
  return p.scale * static_cast<float>(q) + p.bias;
}

}  // namespace quanta::ref
