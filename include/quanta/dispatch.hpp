// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "quanta/detail/affine.hpp"
#include "quanta/encoding.hpp"
#include "quanta/quantize.hpp"
#include "quanta/reduce.hpp"

// Runtime instruction-set dispatch, for hosts built for baseline x86-64 (no -march). Link the
// quanta::dispatch CMake target and pass quanta::runtime_arch where an Arch is asked for:
//
//   quanta::quantize<quanta::runtime_arch>(x, e, q);
//   quanta::min_max<quanta::runtime_arch>(x);
//
// Arguments are checked in the caller's code as usual; the kernels, compiled once per instruction
// set (SSE2, SSE4.1, AVX2, AVX-512BW, and AVX-512BW with VBMI, which dequantizes 8-bit storage with
// a byte permute) inside the library, are chosen on first use: the best the machine runs, or the
// one the environment variable QUANTA_ARCH names (sse2, sse4.1, avx2, avx512bw, avx512vbmi; a name
// the library or the machine lacks is ignored). Every choice gives the same bits.
namespace quanta {

struct runtime_arch {
  static constexpr const char* name() noexcept { return "runtime"; }
};

namespace dispatch {

// The instruction set the kernels run with now: "avx512vbmi", "avx512bw", "avx2", "sse4.1" or
// "sse2".
const char* arch_name() noexcept;

// Makes the kernels of `name` current, for tests and comparisons; "best" restores the default
// choice. Returns false, and changes nothing, for a name the library or the machine lacks.
bool select_arch(const char* name) noexcept;

// The instruction sets this machine can run, best first.
std::vector<const char*> available_archs();

}  // namespace dispatch

namespace detail {

// The kernels of runtime_arch are defined in the library and forward to the chosen table.
#define QUANTA_DISPATCH_DECLARE(Q)                                                                \
  template <>                                                                                     \
  void quantize_tensor<runtime_arch, Q>(const float*, std::size_t, const affine_params&,          \
                                        Q*) noexcept;                                             \
  template <>                                                                                     \
  void dequantize_tensor<runtime_arch, Q>(const Q*, std::size_t, const affine_params&,            \
                                          float*) noexcept;                                       \
  template <>                                                                                     \
  void quantize_channels<runtime_arch, channel_layout, Q>(const float*, const channel_layout&,    \
                                                          const affine_params*, std::size_t, Q*); \
  template <>                                                                                     \
  void quantize_channels<runtime_arch, block_layout, Q>(const float*, const block_layout&,        \
                                                        const affine_params*, std::size_t, Q*);   \
  template <>                                                                                     \
  void dequantize_channels<runtime_arch, channel_layout, Q>(                                      \
      const Q*, const channel_layout&, const affine_params*, std::size_t, float*);                \
  template <>                                                                                     \
  void dequantize_channels<runtime_arch, block_layout, Q>(                                        \
      const Q*, const block_layout&, const affine_params*, std::size_t, float*);

QUANTA_DISPATCH_DECLARE(std::int8_t)
QUANTA_DISPATCH_DECLARE(std::uint8_t)
QUANTA_DISPATCH_DECLARE(std::int16_t)
QUANTA_DISPATCH_DECLARE(std::uint16_t)
QUANTA_DISPATCH_DECLARE(std::int32_t)
#undef QUANTA_DISPATCH_DECLARE

template <>
void quantize_dequantize_tensor<runtime_arch>(const float*, std::size_t, const affine_params&,
                                              float*) noexcept;
template <>
void quantize_dequantize_channels<runtime_arch, channel_layout>(const float*, const channel_layout&,
                                                                const affine_params*, std::size_t,
                                                                float*);
template <>
void quantize_dequantize_channels<runtime_arch, block_layout>(const float*, const block_layout&,
                                                              const affine_params*, std::size_t,
                                                              float*);
template <>
min_max_result min_max<runtime_arch>(const float*, std::size_t) noexcept;
template <>
float abs_max<runtime_arch>(const float*, std::size_t) noexcept;
template <>
std::vector<min_max_result> min_max_per_channel<runtime_arch>(const float*, std::size_t,
                                                              std::size_t, std::size_t);

}  // namespace detail
}  // namespace quanta
