// quanta: post-training quantization math. Licensed under the Apache License 2.0.
// The kernels of one instruction set, as the dispatch library calls them (private header).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
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

// The callers are built for baseline x86-64 and run legacy SSE code between kernel calls. The
// VZEROUPPER that the compiler puts before a kernel's return does not clear AVX-512's registers
// 16-31, and while any upper register state is dirty every legacy SSE instruction pays for it
// (measured: about 0.1 us per call at 4 Ki elements). So in the AVX-512 object each kernel returns
// through a wrapper that zeroes registers 16-31 and then executes VZEROUPPER again, which only then
// finds the whole upper state clean. Nothing vector-valued is live there but the return value,
// whose low 128 bits VZEROUPPER keeps.
#if defined(__AVX512F__)
inline void clear_upper_registers() noexcept {
  __asm__ volatile(
      "vpxord %%xmm16, %%xmm16, %%xmm16\n\tvpxord %%xmm17, %%xmm17, %%xmm17\n\t"
      "vpxord %%xmm18, %%xmm18, %%xmm18\n\tvpxord %%xmm19, %%xmm19, %%xmm19\n\t"
      "vpxord %%xmm20, %%xmm20, %%xmm20\n\tvpxord %%xmm21, %%xmm21, %%xmm21\n\t"
      "vpxord %%xmm22, %%xmm22, %%xmm22\n\tvpxord %%xmm23, %%xmm23, %%xmm23\n\t"
      "vpxord %%xmm24, %%xmm24, %%xmm24\n\tvpxord %%xmm25, %%xmm25, %%xmm25\n\t"
      "vpxord %%xmm26, %%xmm26, %%xmm26\n\tvpxord %%xmm27, %%xmm27, %%xmm27\n\t"
      "vpxord %%xmm28, %%xmm28, %%xmm28\n\tvpxord %%xmm29, %%xmm29, %%xmm29\n\t"
      "vpxord %%xmm30, %%xmm30, %%xmm30\n\tvpxord %%xmm31, %%xmm31, %%xmm31\n\tvzeroupper" ::
          : "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24",
            "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
}

template <auto Kernel, class R, class... A>
R return_clean(A... a) noexcept(noexcept(Kernel(a...))) {
  if constexpr (std::is_void_v<R>) {
    Kernel(a...);
    clear_upper_registers();
  } else {
    R r = Kernel(a...);
    clear_upper_registers();
    return r;
  }
}

template <auto Kernel, class R, class... A>
constexpr auto clean_entry(R (*)(A...) noexcept) noexcept -> R (*)(A...) noexcept {
  return &return_clean<Kernel, R, A...>;
}
template <auto Kernel, class R, class... A>
constexpr auto clean_entry(R (*)(A...)) noexcept -> R (*)(A...) {
  return &return_clean<Kernel, R, A...>;
}

template <auto Kernel>
constexpr auto entry() noexcept {
  return clean_entry<Kernel>(Kernel);
}
#else
template <auto Kernel>
constexpr auto entry() noexcept {
  return Kernel;
}
#endif

template <class Arch, class Q>
constexpr storage_kernels<Q> make_storage_kernels() noexcept {
  return {entry<&quantize_tensor<Arch, Q>>(),
          entry<&dequantize_tensor<Arch, Q>>(),
          entry<&quantize_channels<Arch, channel_layout, Q>>(),
          entry<&quantize_channels<Arch, block_layout, Q>>(),
          entry<&dequantize_channels<Arch, channel_layout, Q>>(),
          entry<&dequantize_channels<Arch, block_layout, Q>>()};
}

template <class Arch>
constexpr kernel_table make_kernel_table() noexcept {
  return {make_storage_kernels<Arch, std::int8_t>(),
          make_storage_kernels<Arch, std::uint8_t>(),
          make_storage_kernels<Arch, std::int16_t>(),
          make_storage_kernels<Arch, std::uint16_t>(),
          make_storage_kernels<Arch, std::int32_t>(),
          entry<&quantize_dequantize_tensor<Arch>>(),
          entry<&quantize_dequantize_channels<Arch, channel_layout>>(),
          entry<&quantize_dequantize_channels<Arch, block_layout>>(),
          entry<&min_max<Arch>>(),
          entry<&abs_max<Arch>>(),
          entry<&min_max_per_channel<Arch>>()};
}

}  // namespace quanta::detail

// One per instruction set, defined in kernels.cpp compiled with that instruction set's flags
// (avx512vbmi: the avx512bw kernels compiled with -mavx512vbmi too).
extern "C" {
const quanta::detail::kernel_table* quanta_dispatch_table_sse2() noexcept;
const quanta::detail::kernel_table* quanta_dispatch_table_sse4_1() noexcept;
const quanta::detail::kernel_table* quanta_dispatch_table_avx2() noexcept;
const quanta::detail::kernel_table* quanta_dispatch_table_avx512bw() noexcept;
const quanta::detail::kernel_table* quanta_dispatch_table_avx512vbmi() noexcept;
}
