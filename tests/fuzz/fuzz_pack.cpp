// quanta: post-training quantization math. Licensed under the Apache License 2.0.
// The sub-byte packings (int4, uint4, int2, uint2), flat and per row: packing values clamped to the
// type's range and unpacking gives the clamped values back, the unused bits of each padded byte
// are zero, and packing values outside the range throws quanta::error and nothing else.
// Fused: quantize_pack then unpack gives quantize's codes, and unpack_dequantize gives dequantize's
// values bit for bit, for any floats, encoding and quantize options (or both refuse them).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_support.hpp"
#include "quanta/pack.hpp"

namespace {

template <class T>
struct packing {
  int bits;
  int lo;
  int hi;
  void (*pack)(quanta::span<const T>, quanta::span<std::uint8_t>);
  void (*unpack)(quanta::span<const std::uint8_t>, quanta::span<T>);
  void (*pack_rows)(quanta::span<const T>, std::size_t, std::size_t, quanta::span<std::uint8_t>);
  void (*unpack_rows)(quanta::span<const std::uint8_t>, std::size_t, std::size_t, quanta::span<T>);
  void (*quantize_pack)(quanta::span<const float>, const quanta::encoding&,
                        quanta::span<std::uint8_t>, const quanta::quantize_options&);
  void (*unpack_dequantize)(quanta::span<const std::uint8_t>, const quanta::encoding&,
                            quanta::span<float>);
};

// quantize_pack against quantize into T, unpack_dequantize against dequantize.
template <class T>
void check_fused(const packing<T>& p, FuzzedDataProvider& in) {
  quanta::encoding e;
  e.bitwidth = p.bits;
  e.is_signed = p.lo < 0;
  e.narrow_range = in.ConsumeBool();
  e.zero_point = in.ConsumeIntegralInRange(p.lo - 1, p.hi + 1);  // one beyond each end too
  e.scale = quanta_fuzz::raw<float>(in);
  quanta::quantize_options o;
  o.round = static_cast<quanta::rounding>(in.ConsumeIntegralInRange(0, 2));
  o.divide_by_scale = in.ConsumeBool();
  o.zero_point_before_rounding = in.ConsumeBool();
  std::vector<float> x(in.remaining_bytes() / sizeof(float));
  for (float& v : x)
    v = quanta_fuzz::raw<float>(in);

  std::vector<T> codes(x.size());
  const bool quantized = quanta_fuzz::accepted([&] { quanta::quantize(x, e, codes, o); });
  std::vector<std::uint8_t> packed(quanta::packed_size(x.size(), p.bits));
  const bool packed_ok = quanta_fuzz::accepted([&] { p.quantize_pack(x, e, packed, o); });
  FUZZ_REQUIRE(packed_ok == quantized, p.bits, "-bit quantize_pack ",
               packed_ok ? "accepted" : "refused", " what quantize ",
               quantized ? "accepted" : "refused", ": ", quanta_fuzz::describe(e));
  if (!packed_ok) return;
  std::vector<T> unpacked(x.size());
  p.unpack(packed, unpacked);
  FUZZ_REQUIRE(unpacked == codes, p.bits, "-bit quantize_pack then unpack differs from quantize ",
               "with ", quanta_fuzz::describe(e));

  std::vector<float> fused(x.size());
  std::vector<float> plain(x.size());
  p.unpack_dequantize(packed, e, fused);
  quanta::dequantize(codes, e, quanta::span<float>(plain));
  FUZZ_REQUIRE(x.empty() || std::memcmp(fused.data(), plain.data(), x.size() * sizeof(float)) == 0,
               p.bits, "-bit unpack_dequantize differs from dequantize with ",
               quanta_fuzz::describe(e));
}

// Bits of the last byte of `values` values that hold no value.
std::uint8_t unused_bits(std::size_t values, int bits) {
  const std::size_t per_byte = static_cast<std::size_t>(8 / bits);
  const std::size_t used = values % per_byte;
  if (used == 0) return 0;
  return static_cast<std::uint8_t>(0xffu << (used * static_cast<std::size_t>(bits)));
}

template <class T>
void check(const packing<T>& p, FuzzedDataProvider& in) {
  const int mode = in.ConsumeIntegralInRange(0, 2);  // flat, rows, fused
  if (mode == 2) {
    check_fused(p, in);
    return;
  }
  const bool by_rows = mode == 1;
  const std::size_t cols = in.ConsumeIntegralInRange<std::size_t>(1, 67);
  std::vector<T> values;
  for (const std::uint8_t byte : in.ConsumeRemainingBytes<std::uint8_t>())
    values.push_back(static_cast<T>(byte));
  const std::size_t rows = by_rows ? values.size() / cols : 1;
  if (by_rows) values.resize(rows * cols);
  const std::size_t row_values = by_rows ? cols : values.size();

  std::vector<T> clamped(values.size());
  for (std::size_t i = 0; i < values.size(); ++i)
    clamped[i] = static_cast<T>(std::clamp(static_cast<int>(values[i]), p.lo, p.hi));
  const std::size_t row_bytes = quanta::packed_size(row_values, p.bits);
  std::vector<std::uint8_t> packed(rows * row_bytes, 0xa5);
  std::vector<T> unpacked(values.size(), T{42});
  if (by_rows) {
    p.pack_rows(clamped, rows, cols, packed);
    p.unpack_rows(packed, rows, cols, unpacked);
  } else {
    p.pack(clamped, packed);
    p.unpack(packed, unpacked);
  }
  FUZZ_REQUIRE(unpacked == clamped, p.bits, "-bit ", by_rows ? "rows" : "flat",
               " pack then unpack changed the values (", values.size(), " values)");
  const std::uint8_t padding = unused_bits(row_values, p.bits);
  for (std::size_t r = 0; r < rows && row_bytes > 0; ++r) {
    FUZZ_REQUIRE((packed[r * row_bytes + row_bytes - 1] & padding) == 0, "row ", r,
                 " of the packed bytes has non-zero padding bits");
  }

  const bool in_range = clamped == values;
  std::vector<std::uint8_t> direct(packed.size());
  const bool packed_raw = quanta_fuzz::accepted([&] {
    if (by_rows) {
      p.pack_rows(values, rows, cols, direct);
    } else {
      p.pack(values, direct);
    }
  });
  FUZZ_REQUIRE(packed_raw == in_range, "packing ", in_range ? "in-range" : "out-of-range",
               " values ", packed_raw ? "succeeded" : "threw");
  if (packed_raw) FUZZ_REQUIRE(direct == packed, "packing the same values twice differed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0:
      check(packing<std::int8_t>{4, -8, 7, quanta::pack_int4<>, quanta::unpack_int4<>,
                                 quanta::pack_int4_rows<>, quanta::unpack_int4_rows<>,
                                 quanta::quantize_pack_int4<>, quanta::unpack_dequantize_int4<>},
            in);
      break;
    case 1:
      check(packing<std::uint8_t>{4, 0, 15, quanta::pack_uint4<>, quanta::unpack_uint4<>,
                                  quanta::pack_uint4_rows<>, quanta::unpack_uint4_rows<>,
                                  quanta::quantize_pack_uint4<>, quanta::unpack_dequantize_uint4<>},
            in);
      break;
    case 2:
      check(packing<std::int8_t>{2, -2, 1, quanta::pack_int2<>, quanta::unpack_int2<>,
                                 quanta::pack_int2_rows<>, quanta::unpack_int2_rows<>,
                                 quanta::quantize_pack_int2<>, quanta::unpack_dequantize_int2<>},
            in);
      break;
    default:
      check(packing<std::uint8_t>{2, 0, 3, quanta::pack_uint2<>, quanta::unpack_uint2<>,
                                  quanta::pack_uint2_rows<>, quanta::unpack_uint2_rows<>,
                                  quanta::quantize_pack_uint2<>, quanta::unpack_dequantize_uint2<>},
            in);
      break;
  }
  return 0;
}
