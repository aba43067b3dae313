// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "quanta/arch.hpp"
#include "quanta/detail/affine.hpp"
#include "quanta/detail/instruction_set.hpp"
#include "quanta/detail/pack_kernels.hpp"
#include "quanta/detail/reduce_kernels.hpp"
#include "quanta/encoding.hpp"
#include "quanta/error.hpp"
#include "quanta/min_max_result.hpp"
#include "quanta/quantize.hpp"
#include "quanta/ref/pack.hpp"
#include "quanta/span.hpp"

// Sub-byte storage: int4 / uint4 (two values a byte) and int2 / uint2 (four), in ONNX order:
// value i goes to byte i / (8 / bits), the first value in the least significant bits; a partly
// filled last byte has zeros in its unused bits, and unpacking ignores them.
//   flat:     the tensor as one sequence (ONNX int4/uint4, opset 25 int2/uint2)
//   per row:  each row starts on a new byte (SNPE / QNN per-channel weights: 27 values -> 14 bytes)
//   fused:    quantize + pack and unpack + dequantize, in registers (4-bit quantize) or through an
//             L1-sized buffer, never the whole unpacked tensor
//   FBGEMM:   the row-wise fused N-bit format of embedding tables (codes, binary16 scale and bias)
// docs/packing.md states the rules exactly.
namespace quanta {

namespace detail {

// One packed storage type: T holds a value unpacked, `Bits` bits hold it packed.
template <class T, int Bits>
struct packed_type {
  using value_type = T;
  static constexpr int bits = Bits;
  static constexpr bool is_signed = std::is_signed_v<T>;
  static constexpr int min = is_signed ? -(1 << (Bits - 1)) : 0;
  static constexpr int max = is_signed ? (1 << (Bits - 1)) - 1 : (1 << Bits) - 1;
  static constexpr const char* name() noexcept {
    if constexpr (Bits == 4) return is_signed ? "int4" : "uint4";
    return is_signed ? "int2" : "uint2";
  }
};

// The four packed types.
using int4_codes = packed_type<std::int8_t, 4>;
using uint4_codes = packed_type<std::uint8_t, 4>;
using int2_codes = packed_type<std::int8_t, 2>;
using uint2_codes = packed_type<std::uint8_t, 2>;

inline void check_bits(const char* function, int bits) {
  if (bits != 2 && bits != 4) QUANTA_THROW(function, ": bits is ", bits, "; expected 2 or 4");
}

inline void check_packed_size(const char* function, const char* name, std::size_t size,
                              std::size_t values, int bits) {
  const std::size_t expected = ref::packed_bytes(values, bits);
  if (size != expected) {
    QUANTA_THROW(function, ": ", name, " has ", size, " bytes; expected ", expected, " for ",
                 values, " values of ", bits, " bits");
  }
}

inline void check_packed_rows_size(const char* function, const char* name, std::size_t size,
                                   std::size_t rows, std::size_t cols, std::size_t row_bytes) {
  const std::size_t expected = checked_product(function, rows, row_bytes);
  if (size != expected) {
    QUANTA_THROW(function, ": ", name, " has ", size, " bytes; expected ", expected, " (", rows,
                 " rows of ", cols, " values, ", row_bytes, " bytes a row)");
  }
}

inline void check_rows(const char* function, const char* name, std::size_t size, std::size_t rows,
                       std::size_t cols) {
  const std::size_t expected = checked_product(function, rows, cols);
  if (size != expected) {
    QUANTA_THROW(function, ": ", name, " has ", size, " elements; expected rows ", rows, " x cols ",
                 cols, " = ", expected);
  }
}

// Packed bytes are written only after every input has been read and checked, but a buffer that
// overlaps its input would be read after being overwritten.
inline void check_disjoint(const char* function, const char* a_name, const void* a,
                           std::size_t a_bytes, const char* b_name, const void* b,
                           std::size_t b_bytes) {
  if (a_bytes == 0 || b_bytes == 0) return;
  const auto ab = reinterpret_cast<std::uintptr_t>(a);
  const auto bb = reinterpret_cast<std::uintptr_t>(b);
  if (ab < bb + b_bytes && bb < ab + a_bytes) {
    QUANTA_THROW(function, ": ", b_name, " overlaps ", a_name, "; expected disjoint buffers");
  }
}

// The first value outside P's range is reported by index and value; the scan runs only after the
// kernel has found that one exists.
template <class Arch, class P>
void check_values(const char* function, span<const typename P::value_type> v) {
  if (codes_fit<Arch>(v.data(), v.size(), P::bits)) return;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (static_cast<int>(v[i]) < P::min || static_cast<int>(v[i]) > P::max) {
      QUANTA_THROW(function, ": v[", i, "] is ", v[i], "; expected ", P::min, "..", P::max, " (",
                   P::name(), ")");
    }
  }
}

template <class P>
void check_packed_encoding(const char* function, const char* what, std::size_t index, bool indexed,
                           const encoding& e) {
  check_encoding(function, what, index, indexed, e);
  if (e.qmin() < P::min || e.qmax() > P::max) {
    QUANTA_THROW(function, ": ", indexed ? message(what, "[", index, "]") : std::string(what),
                 " is a ", e.bitwidth, "-bit ", e.is_signed ? "signed" : "unsigned",
                 " encoding with codes ", e.qmin(), "..", e.qmax(), " that ", P::name(),
                 " cannot hold; expected an encoding whose codes fit ", P::min, "..", P::max);
  }
}

// Each encoding must fit P as well as the int8 / uint8 storage that checked_params checks.
template <class P>
param_list packed_params(const char* function, span<const encoding> encodings, std::size_t expected,
                         const char* expected_what, const quantize_options& o) {
  if (encodings.size() == expected) {
    for (std::size_t k = 0; k < encodings.size(); ++k)
      check_packed_encoding<P>(function, "encodings", k, true, encodings[k]);
  }
  return checked_params<typename P::value_type>(function, encodings, expected, expected_what, o);
}

template <class Arch, class P>
void pack_checked(const char* function, span<const typename P::value_type> v,
                  span<std::uint8_t> packed) {
  check_packed_size(function, "packed", packed.size(), v.size(), P::bits);
  check_disjoint(function, "v", v.data(), v.size(), "packed", packed.data(), packed.size());
  check_values<Arch, P>(function, v);
  pack_codes<Arch>(v.data(), v.size(), P::bits, packed.data());
}

template <class Arch, class P>
void unpack_checked(const char* function, span<const std::uint8_t> packed,
                    span<typename P::value_type> v) {
  check_packed_size(function, "packed", packed.size(), v.size(), P::bits);
  check_disjoint(function, "packed", packed.data(), packed.size(), "v", v.data(), v.size());
  unpack_codes<Arch>(packed.data(), v.size(), P::bits, v.data());
}

template <class Arch, class P>
void pack_rows_checked(const char* function, span<const typename P::value_type> v, std::size_t rows,
                       std::size_t cols, span<std::uint8_t> packed) {
  check_rows(function, "v", v.size(), rows, cols);
  const std::size_t row_bytes = ref::packed_bytes(cols, P::bits);
  check_packed_rows_size(function, "packed", packed.size(), rows, cols, row_bytes);
  check_disjoint(function, "v", v.data(), v.size(), "packed", packed.data(), packed.size());
  check_values<Arch, P>(function, v);
  for (std::size_t r = 0; r < rows; ++r)
    pack_codes<Arch>(v.data() + r * cols, cols, P::bits, packed.data() + r * row_bytes);
}

template <class Arch, class P>
void unpack_rows_checked(const char* function, span<const std::uint8_t> packed, std::size_t rows,
                         std::size_t cols, span<typename P::value_type> v) {
  check_rows(function, "v", v.size(), rows, cols);
  const std::size_t row_bytes = ref::packed_bytes(cols, P::bits);
  check_packed_rows_size(function, "packed", packed.size(), rows, cols, row_bytes);
  check_disjoint(function, "packed", packed.data(), packed.size(), "v", v.data(), v.size());
  for (std::size_t r = 0; r < rows; ++r)
    unpack_codes<Arch>(packed.data() + r * row_bytes, cols, P::bits, v.data() + r * cols);
}

// The storage the quantize kernels write before packing: int8 holds every signed code, uint8
// every unsigned one.
template <class P>
using code_storage = typename P::value_type;

template <class Arch, class P>
void quantize_pack_checked(const char* function, span<const float> x, const encoding& e,
                           span<std::uint8_t> packed, const quantize_options& o) {
  check_packed_size(function, "packed", packed.size(), x.size(), P::bits);
  check_disjoint(function, "x", x.data(), x.size() * sizeof(float), "packed", packed.data(),
                 packed.size());
  check_packed_encoding<P>(function, "encoding", 0, false, e);
  const affine_params p = make_affine_params(e, o);
  quantize_pack_tensor<Arch, code_storage<P>>(x.data(), x.size(), p, P::bits, packed.data());
}

template <class Arch, class P>
void unpack_dequantize_checked(const char* function, span<const std::uint8_t> packed,
                               const encoding& e, span<float> x) {
  check_packed_size(function, "packed", packed.size(), x.size(), P::bits);
  check_disjoint(function, "packed", packed.data(), packed.size(), "x", x.data(),
                 x.size() * sizeof(float));
  check_packed_encoding<P>(function, "encoding", 0, false, e);
  const affine_params p = make_affine_params(e, quantize_options{});
  unpack_dequantize_tensor<Arch, code_storage<P>>(packed.data(), x.size(), p, P::bits, x.data());
}

template <class Arch, class P, class Layout>
void quantize_pack_layout_checked(const char* function, span<const float> x, const Layout& layout,
                                  span<const encoding> encodings, span<std::uint8_t> packed,
                                  const quantize_options& o) {
  check_layout(function, layout, x.size());
  check_packed_size(function, "packed", packed.size(), x.size(), P::bits);
  check_disjoint(function, "x", x.data(), x.size() * sizeof(float), "packed", packed.data(),
                 packed.size());
  const auto params = packed_params<P>(function, encodings, expected_encodings(layout),
                                       encodings_meaning(layout), o);
  quantize_pack_layout<Arch, code_storage<P>>(x.data(), layout, params.data(), P::bits,
                                              packed.data());
}

template <class Arch, class P, class Layout>
void unpack_dequantize_layout_checked(const char* function, span<const std::uint8_t> packed,
                                      const Layout& layout, span<const encoding> encodings,
                                      span<float> x) {
  check_layout(function, layout, x.size());
  check_packed_size(function, "packed", packed.size(), x.size(), P::bits);
  check_disjoint(function, "packed", packed.data(), packed.size(), "x", x.data(),
                 x.size() * sizeof(float));
  const auto params = packed_params<P>(function, encodings, expected_encodings(layout),
                                       encodings_meaning(layout), quantize_options{});
  unpack_dequantize_layout<Arch, code_storage<P>>(packed.data(), layout, params.data(), P::bits,
                                                  x.data());
}

// Enables the layout overloads for the two layout types only.
template <class Layout>
using if_layout = std::enable_if_t<std::is_same_v<Layout, channel_layout> ||
                                   std::is_same_v<Layout, block_layout>>;

inline std::size_t expected_row_encodings(span<const encoding> encodings, std::size_t rows) {
  return encodings.size() == 1 ? 1 : rows;
}

template <class Arch, class P>
void quantize_pack_rows_checked(const char* function, span<const float> x, std::size_t rows,
                                std::size_t cols, span<const encoding> encodings,
                                span<std::uint8_t> packed, const quantize_options& o) {
  check_rows(function, "x", x.size(), rows, cols);
  const std::size_t row_bytes = ref::packed_bytes(cols, P::bits);
  check_packed_rows_size(function, "packed", packed.size(), rows, cols, row_bytes);
  check_disjoint(function, "x", x.data(), x.size() * sizeof(float), "packed", packed.data(),
                 packed.size());
  const auto params = packed_params<P>(function, encodings, expected_row_encodings(encodings, rows),
                                       "1 for the tensor, or one per row", o);
  quantize_pack_rows<Arch, code_storage<P>>(x.data(), rows, cols, params.data(), params.size() != 1,
                                            P::bits, packed.data());
}

template <class Arch, class P>
void unpack_dequantize_rows_checked(const char* function, span<const std::uint8_t> packed,
                                    std::size_t rows, std::size_t cols,
                                    span<const encoding> encodings, span<float> x) {
  check_rows(function, "x", x.size(), rows, cols);
  const std::size_t row_bytes = ref::packed_bytes(cols, P::bits);
  check_packed_rows_size(function, "packed", packed.size(), rows, cols, row_bytes);
  check_disjoint(function, "packed", packed.data(), packed.size(), "x", x.data(),
                 x.size() * sizeof(float));
  const auto params = packed_params<P>(function, encodings, expected_row_encodings(encodings, rows),
                                       "1 for the tensor, or one per row", quantize_options{});
  unpack_dequantize_rows<Arch, code_storage<P>>(packed.data(), rows, cols, params.data(),
                                                params.size() != 1, P::bits, x.data());
}

}  // namespace detail

// Bytes that hold n values of `bits` (2 or 4) bits packed as one sequence.
inline std::size_t packed_size(std::size_t n, int bits) {
  detail::check_bits("packed_size", bits);
  return ref::packed_bytes(n, bits);
}

// Bytes of one row of `cols` values when every row starts on a new byte.
inline std::size_t packed_row_size(std::size_t cols, int bits) {
  detail::check_bits("packed_row_size", bits);
  return ref::packed_bytes(cols, bits);
}

// Bytes of `rows` rows of `cols` values, each row padded to a whole byte.
inline std::size_t packed_rows_size(std::size_t rows, std::size_t cols, int bits) {
  detail::check_bits("packed_rows_size", bits);
  return detail::checked_product("packed_rows_size", rows, ref::packed_bytes(cols, bits));
}

// For each packed type NAME (int4, uint4, int2, uint2) with unpacked type T:
//   pack_NAME(v, packed), unpack_NAME(packed, v)                      flat
//   pack_NAME_rows(v, rows, cols, packed), unpack_NAME_rows(...)        each row padded
//   quantize_pack_NAME(x, encoding | layout + encodings, packed, options)   flat
//   quantize_pack_NAME_rows(x, rows, cols, encoding | encodings, packed, options)
//   unpack_dequantize_NAME(...), unpack_dequantize_NAME_rows(...)       the inverses
// Spans rather than deduced containers, so that any container converts; only the layout
// (channel_layout or block_layout) is deduced.
// --- int4: signed 4-bit codes, [-8, 7]
template <class Arch = default_arch>
void pack_int4(span<const std::int8_t> v, span<std::uint8_t> packed) {
  detail::pack_checked<detail::instruction_set_t<Arch>, detail::int4_codes>("pack_int4", v, packed);
}
template <class Arch = default_arch>
void unpack_int4(span<const std::uint8_t> packed, span<std::int8_t> v) {
  detail::unpack_checked<detail::instruction_set_t<Arch>, detail::int4_codes>("unpack_int4", packed,
                                                                              v);
}
template <class Arch = default_arch>
void pack_int4_rows(span<const std::int8_t> v, std::size_t rows, std::size_t cols,
                    span<std::uint8_t> packed) {
  detail::pack_rows_checked<detail::instruction_set_t<Arch>, detail::int4_codes>(
      "pack_int4_rows", v, rows, cols, packed);
}
template <class Arch = default_arch>
void unpack_int4_rows(span<const std::uint8_t> packed, std::size_t rows, std::size_t cols,
                      span<std::int8_t> v) {
  detail::unpack_rows_checked<detail::instruction_set_t<Arch>, detail::int4_codes>(
      "unpack_int4_rows", packed, rows, cols, v);
}
template <class Arch = default_arch>
void quantize_pack_int4(span<const float> x, const encoding& e, span<std::uint8_t> packed,
                        const quantize_options& options = {}) {
  detail::quantize_pack_checked<detail::instruction_set_t<Arch>, detail::int4_codes>(
      "quantize_pack_int4", x, e, packed, options);
}
template <class Arch = default_arch, class Layout, class = detail::if_layout<Layout>>
void quantize_pack_int4(span<const float> x, const Layout& layout, span<const encoding> encodings,
                        span<std::uint8_t> packed, const quantize_options& options = {}) {
  detail::quantize_pack_layout_checked<detail::instruction_set_t<Arch>, detail::int4_codes>(
      "quantize_pack_int4", x, layout, encodings, packed, options);
}
template <class Arch = default_arch>
void quantize_pack_int4_rows(span<const float> x, std::size_t rows, std::size_t cols,
                             span<const encoding> encodings, span<std::uint8_t> packed,
                             const quantize_options& options = {}) {
  detail::quantize_pack_rows_checked<detail::instruction_set_t<Arch>, detail::int4_codes>(
      "quantize_pack_int4_rows", x, rows, cols, encodings, packed, options);
}
template <class Arch = default_arch>
void quantize_pack_int4_rows(span<const float> x, std::size_t rows, std::size_t cols,
                             const encoding& e, span<std::uint8_t> packed,
                             const quantize_options& options = {}) {
  detail::quantize_pack_rows_checked<detail::instruction_set_t<Arch>, detail::int4_codes>(
      "quantize_pack_int4_rows", x, rows, cols, span<const encoding>(&e, 1), packed, options);
}
template <class Arch = default_arch>
void unpack_dequantize_int4(span<const std::uint8_t> packed, const encoding& e, span<float> x) {
  detail::unpack_dequantize_checked<detail::instruction_set_t<Arch>, detail::int4_codes>(
      "unpack_dequantize_int4", packed, e, x);
}
template <class Arch = default_arch, class Layout, class = detail::if_layout<Layout>>
void unpack_dequantize_int4(span<const std::uint8_t> packed, const Layout& layout,
                            span<const encoding> encodings, span<float> x) {
  detail::unpack_dequantize_layout_checked<detail::instruction_set_t<Arch>, detail::int4_codes>(
      "unpack_dequantize_int4", packed, layout, encodings, x);
}
template <class Arch = default_arch>
void unpack_dequantize_int4_rows(span<const std::uint8_t> packed, std::size_t rows,
                                 std::size_t cols, span<const encoding> encodings, span<float> x) {
  detail::unpack_dequantize_rows_checked<detail::instruction_set_t<Arch>, detail::int4_codes>(
      "unpack_dequantize_int4_rows", packed, rows, cols, encodings, x);
}
template <class Arch = default_arch>
void unpack_dequantize_int4_rows(span<const std::uint8_t> packed, std::size_t rows,
                                 std::size_t cols, const encoding& e, span<float> x) {
  detail::unpack_dequantize_rows_checked<detail::instruction_set_t<Arch>, detail::int4_codes>(
      "unpack_dequantize_int4_rows", packed, rows, cols, span<const encoding>(&e, 1), x);
}

// --- uint4: unsigned 4-bit codes, [0, 15]
template <class Arch = default_arch>
void pack_uint4(span<const std::uint8_t> v, span<std::uint8_t> packed) {
  detail::pack_checked<detail::instruction_set_t<Arch>, detail::uint4_codes>("pack_uint4", v,
                                                                             packed);
}
template <class Arch = default_arch>
void unpack_uint4(span<const std::uint8_t> packed, span<std::uint8_t> v) {
  detail::unpack_checked<detail::instruction_set_t<Arch>, detail::uint4_codes>("unpack_uint4",
                                                                               packed, v);
}
template <class Arch = default_arch>
void pack_uint4_rows(span<const std::uint8_t> v, std::size_t rows, std::size_t cols,
                     span<std::uint8_t> packed) {
  detail::pack_rows_checked<detail::instruction_set_t<Arch>, detail::uint4_codes>(
      "pack_uint4_rows", v, rows, cols, packed);
}
template <class Arch = default_arch>
void unpack_uint4_rows(span<const std::uint8_t> packed, std::size_t rows, std::size_t cols,
                       span<std::uint8_t> v) {
  detail::unpack_rows_checked<detail::instruction_set_t<Arch>, detail::uint4_codes>(
      "unpack_uint4_rows", packed, rows, cols, v);
}
template <class Arch = default_arch>
void quantize_pack_uint4(span<const float> x, const encoding& e, span<std::uint8_t> packed,
                         const quantize_options& options = {}) {
  detail::quantize_pack_checked<detail::instruction_set_t<Arch>, detail::uint4_codes>(
      "quantize_pack_uint4", x, e, packed, options);
}
template <class Arch = default_arch, class Layout, class = detail::if_layout<Layout>>
void quantize_pack_uint4(span<const float> x, const Layout& layout, span<const encoding> encodings,
                         span<std::uint8_t> packed, const quantize_options& options = {}) {
  detail::quantize_pack_layout_checked<detail::instruction_set_t<Arch>, detail::uint4_codes>(
      "quantize_pack_uint4", x, layout, encodings, packed, options);
}
template <class Arch = default_arch>
void quantize_pack_uint4_rows(span<const float> x, std::size_t rows, std::size_t cols,
                              span<const encoding> encodings, span<std::uint8_t> packed,
                              const quantize_options& options = {}) {
  detail::quantize_pack_rows_checked<detail::instruction_set_t<Arch>, detail::uint4_codes>(
      "quantize_pack_uint4_rows", x, rows, cols, encodings, packed, options);
}
template <class Arch = default_arch>
void quantize_pack_uint4_rows(span<const float> x, std::size_t rows, std::size_t cols,
                              const encoding& e, span<std::uint8_t> packed,
                              const quantize_options& options = {}) {
  detail::quantize_pack_rows_checked<detail::instruction_set_t<Arch>, detail::uint4_codes>(
      "quantize_pack_uint4_rows", x, rows, cols, span<const encoding>(&e, 1), packed, options);
}
template <class Arch = default_arch>
void unpack_dequantize_uint4(span<const std::uint8_t> packed, const encoding& e, span<float> x) {
  detail::unpack_dequantize_checked<detail::instruction_set_t<Arch>, detail::uint4_codes>(
      "unpack_dequantize_uint4", packed, e, x);
}
template <class Arch = default_arch, class Layout, class = detail::if_layout<Layout>>
void unpack_dequantize_uint4(span<const std::uint8_t> packed, const Layout& layout,
                             span<const encoding> encodings, span<float> x) {
  detail::unpack_dequantize_layout_checked<detail::instruction_set_t<Arch>, detail::uint4_codes>(
      "unpack_dequantize_uint4", packed, layout, encodings, x);
}
template <class Arch = default_arch>
void unpack_dequantize_uint4_rows(span<const std::uint8_t> packed, std::size_t rows,
                                  std::size_t cols, span<const encoding> encodings, span<float> x) {
  detail::unpack_dequantize_rows_checked<detail::instruction_set_t<Arch>, detail::uint4_codes>(
      "unpack_dequantize_uint4_rows", packed, rows, cols, encodings, x);
}
template <class Arch = default_arch>
void unpack_dequantize_uint4_rows(span<const std::uint8_t> packed, std::size_t rows,
                                  std::size_t cols, const encoding& e, span<float> x) {
  detail::unpack_dequantize_rows_checked<detail::instruction_set_t<Arch>, detail::uint4_codes>(
      "unpack_dequantize_uint4_rows", packed, rows, cols, span<const encoding>(&e, 1), x);
}

// --- int2: signed 2-bit codes, [-2, 1]
template <class Arch = default_arch>
void pack_int2(span<const std::int8_t> v, span<std::uint8_t> packed) {
  detail::pack_checked<detail::instruction_set_t<Arch>, detail::int2_codes>("pack_int2", v, packed);
}
template <class Arch = default_arch>
void unpack_int2(span<const std::uint8_t> packed, span<std::int8_t> v) {
  detail::unpack_checked<detail::instruction_set_t<Arch>, detail::int2_codes>("unpack_int2", packed,
                                                                              v);
}
template <class Arch = default_arch>
void pack_int2_rows(span<const std::int8_t> v, std::size_t rows, std::size_t cols,
                    span<std::uint8_t> packed) {
  detail::pack_rows_checked<detail::instruction_set_t<Arch>, detail::int2_codes>(
      "pack_int2_rows", v, rows, cols, packed);
}
template <class Arch = default_arch>
void unpack_int2_rows(span<const std::uint8_t> packed, std::size_t rows, std::size_t cols,
                      span<std::int8_t> v) {
  detail::unpack_rows_checked<detail::instruction_set_t<Arch>, detail::int2_codes>(
      "unpack_int2_rows", packed, rows, cols, v);
}
template <class Arch = default_arch>
void quantize_pack_int2(span<const float> x, const encoding& e, span<std::uint8_t> packed,
                        const quantize_options& options = {}) {
  detail::quantize_pack_checked<detail::instruction_set_t<Arch>, detail::int2_codes>(
      "quantize_pack_int2", x, e, packed, options);
}
template <class Arch = default_arch, class Layout, class = detail::if_layout<Layout>>
void quantize_pack_int2(span<const float> x, const Layout& layout, span<const encoding> encodings,
                        span<std::uint8_t> packed, const quantize_options& options = {}) {
  detail::quantize_pack_layout_checked<detail::instruction_set_t<Arch>, detail::int2_codes>(
      "quantize_pack_int2", x, layout, encodings, packed, options);
}
template <class Arch = default_arch>
void quantize_pack_int2_rows(span<const float> x, std::size_t rows, std::size_t cols,
                             span<const encoding> encodings, span<std::uint8_t> packed,
                             const quantize_options& options = {}) {
  detail::quantize_pack_rows_checked<detail::instruction_set_t<Arch>, detail::int2_codes>(
      "quantize_pack_int2_rows", x, rows, cols, encodings, packed, options);
}
template <class Arch = default_arch>
void quantize_pack_int2_rows(span<const float> x, std::size_t rows, std::size_t cols,
                             const encoding& e, span<std::uint8_t> packed,
                             const quantize_options& options = {}) {
  detail::quantize_pack_rows_checked<detail::instruction_set_t<Arch>, detail::int2_codes>(
      "quantize_pack_int2_rows", x, rows, cols, span<const encoding>(&e, 1), packed, options);
}
template <class Arch = default_arch>
void unpack_dequantize_int2(span<const std::uint8_t> packed, const encoding& e, span<float> x) {
  detail::unpack_dequantize_checked<detail::instruction_set_t<Arch>, detail::int2_codes>(
      "unpack_dequantize_int2", packed, e, x);
}
template <class Arch = default_arch, class Layout, class = detail::if_layout<Layout>>
void unpack_dequantize_int2(span<const std::uint8_t> packed, const Layout& layout,
                            span<const encoding> encodings, span<float> x) {
  detail::unpack_dequantize_layout_checked<detail::instruction_set_t<Arch>, detail::int2_codes>(
      "unpack_dequantize_int2", packed, layout, encodings, x);
}
template <class Arch = default_arch>
void unpack_dequantize_int2_rows(span<const std::uint8_t> packed, std::size_t rows,
                                 std::size_t cols, span<const encoding> encodings, span<float> x) {
  detail::unpack_dequantize_rows_checked<detail::instruction_set_t<Arch>, detail::int2_codes>(
      "unpack_dequantize_int2_rows", packed, rows, cols, encodings, x);
}
template <class Arch = default_arch>
void unpack_dequantize_int2_rows(span<const std::uint8_t> packed, std::size_t rows,
                                 std::size_t cols, const encoding& e, span<float> x) {
  detail::unpack_dequantize_rows_checked<detail::instruction_set_t<Arch>, detail::int2_codes>(
      "unpack_dequantize_int2_rows", packed, rows, cols, span<const encoding>(&e, 1), x);
}

// --- uint2: unsigned 2-bit codes, [0, 3]
template <class Arch = default_arch>
void pack_uint2(span<const std::uint8_t> v, span<std::uint8_t> packed) {
  detail::pack_checked<detail::instruction_set_t<Arch>, detail::uint2_codes>("pack_uint2", v,
                                                                             packed);
}
template <class Arch = default_arch>
void unpack_uint2(span<const std::uint8_t> packed, span<std::uint8_t> v) {
  detail::unpack_checked<detail::instruction_set_t<Arch>, detail::uint2_codes>("unpack_uint2",
                                                                               packed, v);
}
template <class Arch = default_arch>
void pack_uint2_rows(span<const std::uint8_t> v, std::size_t rows, std::size_t cols,
                     span<std::uint8_t> packed) {
  detail::pack_rows_checked<detail::instruction_set_t<Arch>, detail::uint2_codes>(
      "pack_uint2_rows", v, rows, cols, packed);
}
template <class Arch = default_arch>
void unpack_uint2_rows(span<const std::uint8_t> packed, std::size_t rows, std::size_t cols,
                       span<std::uint8_t> v) {
  detail::unpack_rows_checked<detail::instruction_set_t<Arch>, detail::uint2_codes>(
      "unpack_uint2_rows", packed, rows, cols, v);
}
template <class Arch = default_arch>
void quantize_pack_uint2(span<const float> x, const encoding& e, span<std::uint8_t> packed,
                         const quantize_options& options = {}) {
  detail::quantize_pack_checked<detail::instruction_set_t<Arch>, detail::uint2_codes>(
      "quantize_pack_uint2", x, e, packed, options);
}
template <class Arch = default_arch, class Layout, class = detail::if_layout<Layout>>
void quantize_pack_uint2(span<const float> x, const Layout& layout, span<const encoding> encodings,
                         span<std::uint8_t> packed, const quantize_options& options = {}) {
  detail::quantize_pack_layout_checked<detail::instruction_set_t<Arch>, detail::uint2_codes>(
      "quantize_pack_uint2", x, layout, encodings, packed, options);
}
template <class Arch = default_arch>
void quantize_pack_uint2_rows(span<const float> x, std::size_t rows, std::size_t cols,
                              span<const encoding> encodings, span<std::uint8_t> packed,
                              const quantize_options& options = {}) {
  detail::quantize_pack_rows_checked<detail::instruction_set_t<Arch>, detail::uint2_codes>(
      "quantize_pack_uint2_rows", x, rows, cols, encodings, packed, options);
}
template <class Arch = default_arch>
void quantize_pack_uint2_rows(span<const float> x, std::size_t rows, std::size_t cols,
                              const encoding& e, span<std::uint8_t> packed,
                              const quantize_options& options = {}) {
  detail::quantize_pack_rows_checked<detail::instruction_set_t<Arch>, detail::uint2_codes>(
      "quantize_pack_uint2_rows", x, rows, cols, span<const encoding>(&e, 1), packed, options);
}
template <class Arch = default_arch>
void unpack_dequantize_uint2(span<const std::uint8_t> packed, const encoding& e, span<float> x) {
  detail::unpack_dequantize_checked<detail::instruction_set_t<Arch>, detail::uint2_codes>(
      "unpack_dequantize_uint2", packed, e, x);
}
template <class Arch = default_arch, class Layout, class = detail::if_layout<Layout>>
void unpack_dequantize_uint2(span<const std::uint8_t> packed, const Layout& layout,
                             span<const encoding> encodings, span<float> x) {
  detail::unpack_dequantize_layout_checked<detail::instruction_set_t<Arch>, detail::uint2_codes>(
      "unpack_dequantize_uint2", packed, layout, encodings, x);
}
template <class Arch = default_arch>
void unpack_dequantize_uint2_rows(span<const std::uint8_t> packed, std::size_t rows,
                                  std::size_t cols, span<const encoding> encodings, span<float> x) {
  detail::unpack_dequantize_rows_checked<detail::instruction_set_t<Arch>, detail::uint2_codes>(
      "unpack_dequantize_uint2_rows", packed, rows, cols, encodings, x);
}
template <class Arch = default_arch>
void unpack_dequantize_uint2_rows(span<const std::uint8_t> packed, std::size_t rows,
                                  std::size_t cols, const encoding& e, span<float> x) {
  detail::unpack_dequantize_rows_checked<detail::instruction_set_t<Arch>, detail::uint2_codes>(
      "unpack_dequantize_uint2_rows", packed, rows, cols, span<const encoding>(&e, 1), x);
}

// --- FBGEMM row-wise fused N-bit format (embedding tables)
// ---------------------------------------- Each row of `cols` floats: packed_row_size(cols, bits)
// bytes of unsigned codes (even column in the low bits, the uint4 / uint2 per-row layout above),
// then the row's scale and bias as little-endian binary16. bias = the row minimum rounded to
// binary16, scale = (max - bias) / (2^bits - 1) rounded to binary16, q = round_half_even((x - bias)
// / scale) clamped, read back as scale * q + bias. This is FBGEMM's
// FloatOrHalfToFusedNBitRowwiseQuantizedSBHalf (what torch.ops.quantized.embedding_bag_4bit_prepack
// writes) and its inverse.

inline std::size_t fused_row_size(std::size_t cols, int bits = 4) {
  detail::check_bits("fused_row_size", bits);
  return ref::packed_bytes(cols, bits) + detail::fused_row_trailer;
}

// Values must be finite, and each row's minimum and scale must fit binary16 (|min| <= 65504,
// max - min <= 65504 * (2^bits - 1)). A row of zero columns stores scale 1 and bias 0.
template <class Arch = default_arch>
void quantize_fused_rowwise(span<const float> x, std::size_t rows, std::size_t cols,
                            span<std::uint8_t> fused, int bits = 4) {
  constexpr const char* function = "quantize_fused_rowwise";
  detail::check_bits(function, bits);
  detail::check_rows(function, "x", x.size(), rows, cols);
  const std::size_t row_size = ref::packed_bytes(cols, bits) + detail::fused_row_trailer;
  detail::check_packed_rows_size(function, "fused", fused.size(), rows, cols, row_size);
  detail::check_disjoint(function, "x", x.data(), x.size() * sizeof(float), "fused", fused.data(),
                         fused.size());
  std::vector<ref::fused_row_params> params(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t base = r * cols;
    min_max_result range = detail::min_max<Arch>(x.data() + base, cols);
    if (cols == 0) range = min_max_result{0.0f, 0.0f, false};
    if (!range.finite()) {
      for (std::size_t i = base; i < base + cols; ++i) {
        if (!std::isfinite(x[i]))
          QUANTA_THROW(function, ": x[", i, "] is ", x[i], "; expected finite values");
      }
    }
    params[r] = ref::fused_row_encoding(range.min, range.max, bits);
    if (!std::isfinite(params[r].bias) || !std::isfinite(params[r].scale)) {
      QUANTA_THROW(function, ": row ", r, " has min ", range.min, " and max ", range.max,
                   "; expected |min| <= 65504 and max - min <= 65504 * ", (1 << bits) - 1,
                   " so that its binary16 bias and scale are finite");
    }
  }
  detail::quantize_fused_rows<Arch>(x.data(), rows, cols, params.data(), bits, fused.data());
}

// A row whose stored scale or bias is not finite is an error: quantize_fused_rowwise never writes
// one.
template <class Arch = default_arch>
void dequantize_fused_rowwise(span<const std::uint8_t> fused, std::size_t rows, std::size_t cols,
                              span<float> x, int bits = 4) {
  constexpr const char* function = "dequantize_fused_rowwise";
  detail::check_bits(function, bits);
  detail::check_rows(function, "x", x.size(), rows, cols);
  const std::size_t data_bytes = ref::packed_bytes(cols, bits);
  const std::size_t row_size = data_bytes + detail::fused_row_trailer;
  detail::check_packed_rows_size(function, "fused", fused.size(), rows, cols, row_size);
  detail::check_disjoint(function, "fused", fused.data(), fused.size(), "x", x.data(),
                         x.size() * sizeof(float));
  for (std::size_t r = 0; r < rows; ++r) {
    const ref::fused_row_params p =
        detail::read_fused_row_params(fused.data() + r * row_size + data_bytes);
    if (!std::isfinite(p.scale) || !std::isfinite(p.bias)) {
      QUANTA_THROW(function, ": row ", r, " has scale ", p.scale, " and bias ", p.bias,
                   "; expected finite binary16 values");
    }
  }
  detail::dequantize_fused_rows<Arch>(fused.data(), rows, cols, bits, x.data());
}

}  // namespace quanta
