// The instruction sets the kernel parity tests instantiate: every one this compiler can target,
// skipped at run time when the machine lacks it. quanta::default_arch is always in the list, so the
// scalar build (QUANTA_SIMD=0) runs the same tests against the reference path.
#pragma once

#include <quanta/arch.hpp>

#include <tuple>

namespace quanta::test {

using arch_list = std::tuple<default_arch
#if QUANTA_SIMD && XSIMD_WITH_SSE2
                             ,
                             xsimd::sse2
#endif
#if QUANTA_SIMD && XSIMD_WITH_SSE4_1
                             ,
                             xsimd::sse4_1
#endif
#if QUANTA_SIMD && XSIMD_WITH_AVX2
                             ,
                             xsimd::avx2
#endif
#if QUANTA_SIMD && XSIMD_WITH_AVX512BW
                             ,
                             xsimd::avx512bw
#endif
                             >;

template <class Arch>
bool runnable() {
#if QUANTA_SIMD
  return Arch::version() <= xsimd::available_architectures().best;
#else
  return true;
#endif
}

}  // namespace quanta::test
