// quanta: post-training quantization math. Licensed under the Apache License 2.0.
// Chooses the kernel table at run time. Compiled for baseline x86-64: nothing here may use an
// instruction set the machine might lack.
#include "quanta/dispatch.hpp"

#include <cpuid.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "table.hpp"

namespace quanta {
namespace {

struct candidate {
  const char* name;
  const detail::kernel_table* (*table)() noexcept;
  bool (*runs)() noexcept;
};

// xsimd reads CPUID; the compiler's check also asks the operating system (XGETBV) whether it saves
// the wide registers.
bool runs_avx512bw() noexcept {
  return xsimd::available_architectures().avx512bw && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd") &&
         __builtin_cpu_supports("avx512vl");
}

// xsimd 8.1 does not report VBMI: CPUID leaf 7, subleaf 0, ECX bit 1. The registers it uses are
// AVX-512's, whose saving by the operating system runs_avx512bw has already asked about.
bool runs_avx512vbmi() noexcept {
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
  return runs_avx512bw() && __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) != 0 &&
         (ecx & bit_AVX512VBMI) != 0;
}

bool runs_avx2() noexcept {
  return xsimd::available_architectures().avx2 && __builtin_cpu_supports("avx2");
}

bool runs_sse4_1() noexcept {
  return xsimd::available_architectures().sse4_1 != 0;
}

bool runs_sse2() noexcept {
  return true;  // the x86-64 baseline
}

// Best first.
const candidate candidates[] = {
#define QUANTA_DISPATCH_ARCH(id, name, xsimd_arch, runs, flags) \
  {name, &quanta_dispatch_table_##id, &runs},
#include "archs.inc"
#undef QUANTA_DISPATCH_ARCH
};

const candidate* find(const char* name) noexcept {
  for (const candidate& c : candidates)
    if (std::strcmp(c.name, name) == 0 && c.runs()) return &c;
  return nullptr;
}

const candidate* best() noexcept {
  for (const candidate& c : candidates)
    if (c.runs()) return &c;
  return &candidates[std::size(candidates) - 1];
}

const candidate* initial() noexcept {
  const char* requested = std::getenv("QUANTA_ARCH");
  if (requested != nullptr && *requested != '\0') {
    if (const candidate* c = find(requested)) return c;
  }
  return best();
}

std::atomic<const candidate*> current{nullptr};

const candidate& active() noexcept {
  const candidate* c = current.load(std::memory_order_acquire);
  if (c == nullptr) {
    c = initial();
    current.store(c, std::memory_order_release);
  }
  return *c;
}

const detail::kernel_table& table() noexcept {
  return *active().table();
}

}  // namespace

namespace dispatch {

const char* arch_name() noexcept {
  return active().name;
}

bool select_arch(const char* name) noexcept {
  const candidate* c = std::strcmp(name, "best") == 0 ? best() : find(name);
  if (c == nullptr) return false;
  current.store(c, std::memory_order_release);
  return true;
}

std::vector<const char*> available_archs() {
  std::vector<const char*> names;
  for (const candidate& c : candidates)
    if (c.runs()) names.push_back(c.name);
  return names;
}

}  // namespace dispatch

namespace detail {

// Every kernel of the list, forwarded to the current table.
#define QUANTA_KERNEL(member, function, template_arguments, result, parameters, arguments, spec) \
  template <>                                                                                    \
  result function<runtime_arch QUANTA_DISPATCH_UNPAREN template_arguments> parameters spec {     \
    return table().member arguments;                                                             \
  }
#include "quanta/detail/kernels.inc"
#undef QUANTA_KERNEL

}  // namespace detail
}  // namespace quanta
