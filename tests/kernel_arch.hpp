// The instruction set of a kernel parity test translation unit. tests/CMakeLists.txt compiles each
// test_*_kernels*.cpp once per instruction set, with QUANTA_TEST_ISA_<NAME> defined: one
// translation unit for every set took 763 s of CPU and 3.3 GB under the sanitizers, and kept one
// core busy long after the other had finished. QUANTA_TEST_ARCH is then that set's xsimd
// architecture, or stays undefined when the compiler cannot target it, and the file compiles to
// nothing. NEON64 is AArch64's set (the aarch64 preset runs it under qemu). DEFAULT stands for
// quanta::default_arch where no kernel set is targeted (the scalar build, QUANTA_SIMD=0, and
// other processors), which runs the same tests against its default path.
#pragma once

#include <quanta/config.hpp>

#if QUANTA_SIMD
#include <xsimd/config/xsimd_config.hpp>
#endif

#if defined(QUANTA_TEST_ISA_DEFAULT)
#if !(QUANTA_SIMD && (XSIMD_WITH_SSE2 || XSIMD_WITH_NEON64))
#define QUANTA_TEST_ARCH quanta::default_arch
#endif
#elif defined(QUANTA_TEST_ISA_SSE2)
#if QUANTA_SIMD && XSIMD_WITH_SSE2
#define QUANTA_TEST_ARCH xsimd::sse2
#endif
#elif defined(QUANTA_TEST_ISA_SSE4_1)
#if QUANTA_SIMD && XSIMD_WITH_SSE4_1
#define QUANTA_TEST_ARCH xsimd::sse4_1
#endif
#elif defined(QUANTA_TEST_ISA_AVX2)
#if QUANTA_SIMD && XSIMD_WITH_AVX2
#define QUANTA_TEST_ARCH xsimd::avx2
#endif
#elif defined(QUANTA_TEST_ISA_AVX512BW)
#if QUANTA_SIMD && XSIMD_WITH_AVX512BW
#define QUANTA_TEST_ARCH xsimd::avx512bw
#endif
#elif defined(QUANTA_TEST_ISA_NEON64)
#if QUANTA_SIMD && XSIMD_WITH_NEON64
#define QUANTA_TEST_ARCH xsimd::neon64
#endif
#else
#error "tests/CMakeLists.txt compiles this file once per instruction set (QUANTA_TEST_ISA_...)"
#endif

#ifdef QUANTA_TEST_ARCH
#include <quanta/arch.hpp>

namespace quanta::test {

// Whether this machine runs Arch: the parity tests of the sets it lacks pass without running.
template <class Arch>
bool runnable() {
#if QUANTA_SIMD
  return Arch::version() <= xsimd::available_architectures().best;
#else
  return true;
#endif
}

}  // namespace quanta::test
#endif
