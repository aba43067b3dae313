// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstdint>
#include <iterator>
#include <type_traits>
#include <utility>

#include "quanta/arch.hpp"

namespace quanta::detail {

// What the Arch template argument of a SIMD-touching function may be: the translation unit's
// default_arch, any xsimd architecture, runtime_arch, or (QUANTA_SIMD=0) scalar_arch.
template <class T>
constexpr bool is_instruction_set_v =
    std::is_same_v<T, runtime_arch> || std::is_same_v<T, default_arch>
#if QUANTA_SIMD
    || std::is_base_of_v<xsimd::generic, T>
#endif
    ;

// The integer types that hold codes.
template <class T>
constexpr bool is_storage_type_v =
    std::is_same_v<T, std::int8_t> || std::is_same_v<T, std::uint8_t> ||
    std::is_same_v<T, std::int16_t> || std::is_same_v<T, std::uint16_t> ||
    std::is_same_v<T, std::int32_t>;

// The elements of a contiguous range that std::data and std::size accept: std::vector, std::array,
// quanta::span, a C array.
template <class Range>
using range_element_t = std::remove_pointer_t<decltype(std::data(std::declval<Range&>()))>;

// Arch, checked: a template argument that is not an instruction set fails here, rather than
// compiling to the scalar reference.
template <class Arch>
struct checked_instruction_set {
  static_assert(is_instruction_set_v<Arch>,
                "quanta: the first template argument is the instruction set (quanta::default_arch, "
                "an xsimd architecture such as xsimd::avx2, or quanta::runtime_arch); leave it out "
                "to use the one this translation unit is compiled for");
  using type = Arch;
};
template <class Arch>
using instruction_set_t = typename checked_instruction_set<Arch>::type;

// The instruction set and the storage type of a call to quantize or dequantize, whose first
// template argument is an instruction set or, as in quantize<std::uint8_t>(x, e, q), the storage
// type of q, which is then the translation unit's default instruction set.
template <class Arch, class Codes>
struct storage_call {
  using storage = std::remove_const_t<Codes>;
  static_assert(is_storage_type_v<storage>,
                "quanta: codes are std::int8_t, std::uint8_t, std::int16_t, std::uint16_t or "
                "std::int32_t");
  static_assert(is_instruction_set_v<Arch> || is_storage_type_v<Arch>,
                "quanta: the first template argument is the instruction set (quanta::default_arch, "
                "an xsimd architecture, quanta::runtime_arch) or the storage type of the codes; "
                "leave it out to deduce both");
  static_assert(!is_storage_type_v<Arch> || std::is_same_v<Arch, storage>,
                "quanta: the template argument names a storage type other than the codes' own");
  using arch = std::conditional_t<is_storage_type_v<Arch>, default_arch, Arch>;
};

}  // namespace quanta::detail
