// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "quanta/calibrate/histogram.hpp"
#include "quanta/detail/instruction_set.hpp"
#include "quanta/detail/kernel_headers.hpp"
#include "quanta/encoding.hpp"
#include "quanta/metrics.hpp"
#include "quanta/pack.hpp"
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

// The kernels of runtime_arch, one per row of the kernel list, are defined in the library and
// forward to the chosen table.
#define QUANTA_UNPAREN(...) __VA_ARGS__
#define QUANTA_KERNEL(member, function, template_arguments, result, parameters, arguments, spec) \
  template <>                                                                                    \
  result function<runtime_arch QUANTA_UNPAREN template_arguments> parameters spec;
#include "quanta/detail/kernels.inc"
#undef QUANTA_KERNEL
#undef QUANTA_UNPAREN

}  // namespace detail
}  // namespace quanta
