// quanta: post-training quantization math. Licensed under the Apache License 2.0.
// The kernels of one instruction set, as the dispatch library calls them (private header).
#pragma once

#include <type_traits>

#include "quanta/detail/kernel_headers.hpp"

#define QUANTA_DISPATCH_UNPAREN(...) __VA_ARGS__

namespace quanta::detail {

// One member per row of the kernel list.
struct kernel_table {
#define QUANTA_KERNEL(member, function, template_arguments, result, parameters, arguments, spec) \
  result(*member) parameters spec;
#include "quanta/detail/kernels.inc"
#undef QUANTA_KERNEL
};

// The callers are built for baseline x86-64 and run legacy SSE code between kernel calls, and while
// any upper register state is dirty every legacy SSE instruction pays for it (measured: about
// 0.1 us per call at 4 Ki elements). Where the VZEROUPPER that the compiler puts before a kernel's
// return leaves some of that state dirty (simd::upper_registers: AVX-512's registers 16-31), each
// kernel returns through a wrapper that clears it.
template <class K, auto Kernel, class R, class... A>
R return_clean(A... a) noexcept(noexcept(Kernel(a...))) {
  if constexpr (std::is_void_v<R>) {
    Kernel(a...);
    simd::upper_registers<K>::clear();
  } else {
    R r = Kernel(a...);
    simd::upper_registers<K>::clear();
    return r;
  }
}

template <class K, auto Kernel, class R, class... A>
constexpr auto clean_entry(R (*)(A...) noexcept) noexcept -> R (*)(A...) noexcept {
  return &return_clean<K, Kernel, R, A...>;
}
template <class K, auto Kernel, class R, class... A>
constexpr auto clean_entry(R (*)(A...)) noexcept -> R (*)(A...) {
  return &return_clean<K, Kernel, R, A...>;
}

template <class Arch, auto Kernel>
constexpr auto table_entry() noexcept {
  using K = simd::kernel_arch_t<Arch>;
  if constexpr (simd::upper_registers<K>::available) {
    return clean_entry<K, Kernel>(Kernel);
  } else {
    return Kernel;
  }
}

template <class Arch>
constexpr kernel_table make_kernel_table() noexcept {
  return kernel_table{
#define QUANTA_KERNEL(member, function, template_arguments, result, parameters, arguments, spec) \
  table_entry<Arch, &function<Arch QUANTA_DISPATCH_UNPAREN template_arguments>>(),
#include "quanta/detail/kernels.inc"
#undef QUANTA_KERNEL
  };
}

}  // namespace quanta::detail

// One per row of archs.inc, each defined in kernels.cpp compiled with that row's flags.
extern "C" {
#define QUANTA_DISPATCH_ARCH(id, name, xsimd_arch, runs, flags) \
  const quanta::detail::kernel_table* quanta_dispatch_table_##id() noexcept;
#include "archs.inc"
#undef QUANTA_DISPATCH_ARCH
}
