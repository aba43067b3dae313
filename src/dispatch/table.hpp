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
constexpr auto table_entry() noexcept {
  return clean_entry<Kernel>(Kernel);
}
#else
template <auto Kernel>
constexpr auto table_entry() noexcept {
  return Kernel;
}
#endif

template <class Arch>
constexpr kernel_table make_kernel_table() noexcept {
  return kernel_table{
#define QUANTA_KERNEL(member, function, template_arguments, result, parameters, arguments, spec) \
  table_entry<&function<Arch QUANTA_DISPATCH_UNPAREN template_arguments>>(),
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
