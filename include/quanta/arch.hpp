// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include "quanta/config.hpp"

#if QUANTA_SIMD
#include <xsimd/xsimd.hpp>
#endif

// Which instruction set a translation unit's kernels use. Only headers with kernels include this
// one, so that a translation unit that needs only the vocabulary (encodings, layouts, errors) does
// not compile xsimd.
namespace quanta {

#if QUANTA_SIMD
// Every SIMD-touching function is a template on the instruction set, so translation units built
// with different -m flags never share an inline body.
using default_arch = xsimd::default_arch;
#else
struct scalar_arch {
  static constexpr const char* name() noexcept { return "scalar"; }
};
using default_arch = scalar_arch;
#endif

// The instruction set of quanta::dispatch (quanta/dispatch.hpp): kernels compiled once per x86
// instruction set inside that library and chosen at run time. Declared here so that every SIMD
// function's Arch argument can be checked (quanta/detail/instruction_set.hpp).
struct runtime_arch {
  static constexpr const char* name() noexcept { return "runtime"; }
};

}  // namespace quanta
