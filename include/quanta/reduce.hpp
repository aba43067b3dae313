// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstddef>
#include <vector>

#include "quanta/arch.hpp"
#include "quanta/detail/reduce_kernels.hpp"
#include "quanta/encoding.hpp"
#include "quanta/span.hpp"

namespace quanta {

// min and max of x, NaN values skipped and reported in has_nan (see min_max_result).
template <class Arch = default_arch>
min_max_result min_max(span<const float> x) noexcept {
  return detail::min_max<Arch>(x.data(), x.size());
}

// max |x| over the non-NaN values; 0 for an empty input.
template <class Arch = default_arch>
float abs_max(span<const float> x) noexcept {
  return detail::abs_max<Arch>(x.data(), x.size());
}

// One min_max_result per channel.
template <class Arch = default_arch>
std::vector<min_max_result> min_max_per_channel(span<const float> x, const channel_layout& layout) {
  detail::check_layout("min_max_per_channel", layout, x.size());
  return detail::min_max_per_channel<Arch>(x.data(), layout.outer, layout.channels, layout.inner);
}

}  // namespace quanta
