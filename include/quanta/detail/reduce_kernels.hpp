// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstddef>
#include <vector>

#include "quanta/config.hpp"
#include "quanta/ref/reduce.hpp"

namespace quanta::detail {

// Reduction kernels, one instantiation per instruction set. They equal quanta::ref bit for bit.
template <class Arch>
min_max_result min_max(const float* x, std::size_t n) noexcept {
  min_max_result r;
  ref::accumulate_min_max(x, n, r);
  return r;
}

template <class Arch>
float abs_max(const float* x, std::size_t n) noexcept {
  return ref::abs_max(span<const float>(x, n));
}

template <class Arch>
std::vector<min_max_result> min_max_per_channel(const float* x, std::size_t outer,
                                                std::size_t channels, std::size_t inner) {
  return ref::min_max_per_channel(span<const float>(x, outer * channels * inner), outer, channels,
                                  inner);
}

}  // namespace quanta::detail
