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

// Best first.
const candidate candidates[] = {
    {"avx512vbmi", &quanta_dispatch_table_avx512vbmi, &runs_avx512vbmi},
    {"avx512bw", &quanta_dispatch_table_avx512bw, &runs_avx512bw},
    {"avx2", &quanta_dispatch_table_avx2,
     []() noexcept {
       return xsimd::available_architectures().avx2 && __builtin_cpu_supports("avx2");
     }},
    {"sse4.1", &quanta_dispatch_table_sse4_1,
     []() noexcept { return xsimd::available_architectures().sse4_1 != 0; }},
    {"sse2", &quanta_dispatch_table_sse2, []() noexcept { return true; }},
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

#define QUANTA_DISPATCH_DEFINE(Q)                                                              \
  template <>                                                                                  \
  void quantize_tensor<runtime_arch, Q>(const float* x, std::size_t n, const affine_params& p, \
                                        Q* q) noexcept {                                       \
    (table().*storage_member<Q>()).quantize(x, n, p, q);                                       \
  }                                                                                            \
  template <>                                                                                  \
  void dequantize_tensor<runtime_arch, Q>(const Q* q, std::size_t n, const affine_params& p,   \
                                          float* x) noexcept {                                 \
    (table().*storage_member<Q>()).dequantize(q, n, p, x);                                     \
  }                                                                                            \
  template <>                                                                                  \
  void quantize_channels<runtime_arch, channel_layout, Q>(                                     \
      const float* x, const channel_layout& l, const affine_params* p, std::size_t c, Q* q) {  \
    (table().*storage_member<Q>()).quantize_channels(x, l, p, c, q);                           \
  }                                                                                            \
  template <>                                                                                  \
  void quantize_channels<runtime_arch, block_layout, Q>(                                       \
      const float* x, const block_layout& l, const affine_params* p, std::size_t c, Q* q) {    \
    (table().*storage_member<Q>()).quantize_blocks(x, l, p, c, q);                             \
  }                                                                                            \
  template <>                                                                                  \
  void dequantize_channels<runtime_arch, channel_layout, Q>(                                   \
      const Q* q, const channel_layout& l, const affine_params* p, std::size_t c, float* x) {  \
    (table().*storage_member<Q>()).dequantize_channels(q, l, p, c, x);                         \
  }                                                                                            \
  template <>                                                                                  \
  void dequantize_channels<runtime_arch, block_layout, Q>(                                     \
      const Q* q, const block_layout& l, const affine_params* p, std::size_t c, float* x) {    \
    (table().*storage_member<Q>()).dequantize_blocks(q, l, p, c, x);                           \
  }

QUANTA_DISPATCH_DEFINE(std::int8_t)
QUANTA_DISPATCH_DEFINE(std::uint8_t)
QUANTA_DISPATCH_DEFINE(std::int16_t)
QUANTA_DISPATCH_DEFINE(std::uint16_t)
QUANTA_DISPATCH_DEFINE(std::int32_t)
#undef QUANTA_DISPATCH_DEFINE

template <>
void quantize_dequantize_tensor<runtime_arch>(const float* x, std::size_t n, const affine_params& p,
                                              float* y) noexcept {
  table().quantize_dequantize(x, n, p, y);
}

template <>
void quantize_dequantize_channels<runtime_arch, channel_layout>(const float* x,
                                                                const channel_layout& l,
                                                                const affine_params* p,
                                                                std::size_t c, float* y) {
  table().quantize_dequantize_channels(x, l, p, c, y);
}

template <>
void quantize_dequantize_channels<runtime_arch, block_layout>(const float* x, const block_layout& l,
                                                              const affine_params* p, std::size_t c,
                                                              float* y) {
  table().quantize_dequantize_blocks(x, l, p, c, y);
}

template <>
min_max_result min_max<runtime_arch>(const float* x, std::size_t n) noexcept {
  return table().min_max(x, n);
}

template <>
float abs_max<runtime_arch>(const float* x, std::size_t n) noexcept {
  return table().abs_max(x, n);
}

template <>
std::vector<min_max_result> min_max_per_channel<runtime_arch>(const float* x, std::size_t outer,
                                                              std::size_t channels,
                                                              std::size_t inner) {
  return table().min_max_per_channel(x, outer, channels, inner);
}

}  // namespace detail
}  // namespace quanta
