// quanta: post-training quantization math. Licensed under the Apache License 2.0.
// The kernels of one instruction set, as the dispatch library calls them (private header).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "quanta/detail/quantize_kernels.hpp"
#include "quanta/detail/reduce_kernels.hpp"
#include "quanta/encoding.hpp"

namespace quanta::detail {

template <class Q>
struct storage_kernels {
  void (*quantize)(const float*, std::size_t, const affine_params&, Q*) noexcept;
  void (*dequantize)(const Q*, std::size_t, const affine_params&, float*) noexcept;
  void (*quantize_channels)(const float*, const channel_layout&, const affine_params*, std::size_t,
                            Q*);
  void (*quantize_blocks)(const float*, const block_layout&, const affine_params*, std::size_t, Q*);
  void (*dequantize_channels)(const Q*, const channel_layout&, const affine_params*, std::size_t,
                              float*);
  void (*dequantize_blocks)(const Q*, const block_layout&, const affine_params*, std::size_t,
                            float*);
};

struct kernel_table {
  storage_kernels<std::int8_t> int8;
  storage_kernels<std::uint8_t> uint8;
  storage_kernels<std::int16_t> int16;
  storage_kernels<std::uint16_t> uint16;
  storage_kernels<std::int32_t> int32;
  void (*quantize_dequantize)(const float*, std::size_t, const affine_params&, float*) noexcept;
  void (*quantize_dequantize_channels)(const float*, const channel_layout&, const affine_params*,
                                       std::size_t, float*);
  void (*quantize_dequantize_blocks)(const float*, const block_layout&, const affine_params*,
                                     std::size_t, float*);
  min_max_result (*min_max)(const float*, std::size_t) noexcept;
  float (*abs_max)(const float*, std::size_t) noexcept;
  std::vector<min_max_result> (*min_max_per_channel)(const float*, std::size_t, std::size_t,
                                                     std::size_t);
};

template <class Q>
constexpr storage_kernels<Q> kernel_table::*storage_member() noexcept {
  if constexpr (std::is_same_v<Q, std::int8_t>) return &kernel_table::int8;
  if constexpr (std::is_same_v<Q, std::uint8_t>) return &kernel_table::uint8;
  if constexpr (std::is_same_v<Q, std::int16_t>) return &kernel_table::int16;
  if constexpr (std::is_same_v<Q, std::uint16_t>) return &kernel_table::uint16;
  if constexpr (std::is_same_v<Q, std::int32_t>) return &kernel_table::int32;
}

template <class Arch, class Q>
constexpr storage_kernels<Q> make_storage_kernels() noexcept {
  return {&quantize_tensor<Arch, Q>,
          &dequantize_tensor<Arch, Q>,
          &quantize_channels<Arch, channel_layout, Q>,
          &quantize_channels<Arch, block_layout, Q>,
          &dequantize_channels<Arch, channel_layout, Q>,
          &dequantize_channels<Arch, block_layout, Q>};
}

template <class Arch>
constexpr kernel_table make_kernel_table() noexcept {
  return {make_storage_kernels<Arch, std::int8_t>(),
          make_storage_kernels<Arch, std::uint8_t>(),
          make_storage_kernels<Arch, std::int16_t>(),
          make_storage_kernels<Arch, std::uint16_t>(),
          make_storage_kernels<Arch, std::int32_t>(),
          &quantize_dequantize_tensor<Arch>,
          &quantize_dequantize_channels<Arch, channel_layout>,
          &quantize_dequantize_channels<Arch, block_layout>,
          &min_max<Arch>,
          &abs_max<Arch>,
          &min_max_per_channel<Arch>};
}

}  // namespace quanta::detail

// One per instruction set, defined in kernels.cpp compiled with that instruction set's flags.
extern "C" {
const quanta::detail::kernel_table* quanta_dispatch_table_sse2() noexcept;
const quanta::detail::kernel_table* quanta_dispatch_table_sse4_1() noexcept;
const quanta::detail::kernel_table* quanta_dispatch_table_avx2() noexcept;
const quanta::detail::kernel_table* quanta_dispatch_table_avx512bw() noexcept;
}
