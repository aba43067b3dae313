// quanta: post-training quantization math. Licensed under the Apache License 2.0.
// Compiled once per instruction set (a row of archs.inc): QUANTA_DISPATCH_XSIMD_ARCH is the xsimd
// architecture and QUANTA_DISPATCH_TABLE the name of the one symbol this object exports.
#include "table.hpp"

#if !defined(QUANTA_DISPATCH_XSIMD_ARCH) || !defined(QUANTA_DISPATCH_TABLE)
#error "compile with -DQUANTA_DISPATCH_XSIMD_ARCH=xsimd::<arch> -DQUANTA_DISPATCH_TABLE=<symbol>"
#endif

extern "C" __attribute__((visibility("default"))) const quanta::detail::kernel_table*
QUANTA_DISPATCH_TABLE() noexcept {
  static constexpr quanta::detail::kernel_table table =
      quanta::detail::make_kernel_table<QUANTA_DISPATCH_XSIMD_ARCH>();
  return &table;
}
