// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "quanta/arch.hpp"
#include "quanta/detail/reduce_kernels.hpp"
#include "quanta/encoding.hpp"
#include "quanta/error.hpp"
#include "quanta/min_max_result.hpp"
#include "quanta/span.hpp"

// Ranges of tensors (min/max, absmax) and the encodings of those ranges: the forms of
// compute_encoding that scan data live here, with the kernels they run; compute_encoding(min, max)
// is in quanta/encoding.hpp.
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

// ---------------------------------------------------------------------------------------------
// Encodings from data. NaN or an infinity is an error naming its index unless
// encoding_options::skip_non_finite is set (docs/conventions.md, "Ranges from data").

namespace detail {

// The slow path for tensors that hold NaN or infinities: names the first one, or with
// skip_non_finite rescans the finite values only. `base` is the index of data[0] in the caller's
// tensor.
inline min_max_result finite_range(const char* function, const float* data, std::size_t base,
                                   std::size_t count, bool skip_non_finite) {
  min_max_result r;
  for (std::size_t k = 0; k < count; ++k) {
    const float v = data[k];
    if (!std::isfinite(v)) {
      if (skip_non_finite) continue;
      QUANTA_THROW(function, ": data[", base + k, "] is ", v,
                   "; expected finite values (set encoding_options::skip_non_finite to skip them)");
    }
    r.min = std::min(r.min, v);
    r.max = std::max(r.max, v);
  }
  return r;
}

// A range with no finite value (everything skipped) is the degenerate range [0, 0].
inline encoding encoding_from_range(const char* function, const min_max_result& r,
                                    const encoding_options& o) {
  return r.empty()
             ? representable(function, 0.0f, 0.0f, o, encoding_from_checked_range(0.0f, 0.0f, o))
             : representable(function, r.min, r.max, o,
                             encoding_from_checked_range(r.min, r.max, o));
}

}  // namespace detail

// The encoding of a tensor's range. Arch: the instruction set of the range scan.
template <class Arch = default_arch>
encoding compute_encoding(span<const float> data, const encoding_options& options = {}) {
  constexpr const char* function = "compute_encoding";
  detail::check_options(function, options);
  if (data.empty()) QUANTA_THROW(function, ": data is empty; expected at least one value");
  min_max_result r = detail::min_max<Arch>(data.data(), data.size());
  if (!r.finite()) {
    r = detail::finite_range(function, data.data(), 0, data.size(), options.skip_non_finite);
  }
  return detail::encoding_from_range(function, r, options);
}

// One encoding per channel of `data` (PyTorch per_channel_affine, QNN axis quantization).
template <class Arch = default_arch>
std::vector<encoding> compute_encodings(span<const float> data, const channel_layout& layout,
                                        const encoding_options& options = {}) {
  constexpr const char* function = "compute_encodings";
  detail::check_options(function, options);
  detail::check_layout(function, layout, data.size());
  std::vector<min_max_result> ranges =
      detail::min_max_per_channel<Arch>(data.data(), layout.outer, layout.channels, layout.inner);
  std::vector<encoding> encodings;
  encodings.reserve(layout.channels);
  for (std::size_t c = 0; c < layout.channels; ++c) {
    if (!ranges[c].finite()) {
      // Rescan the channel row by row; the first bad index of the channel is reported.
      min_max_result r;
      for (std::size_t o = 0; o < layout.outer; ++o) {
        const std::size_t base = (o * layout.channels + c) * layout.inner;
        const min_max_result row = detail::finite_range(function, data.data() + base, base,
                                                        layout.inner, options.skip_non_finite);
        r.min = std::min(r.min, row.min);
        r.max = std::max(r.max, row.max);
      }
      ranges[c] = r;
    }
    encodings.push_back(detail::encoding_from_range(function, ranges[c], options));
  }
  return encodings;
}

// One encoding per block, in the order block_layout::encoding_index gives.
inline std::vector<encoding> compute_block_encodings(span<const float> data,
                                                     const block_layout& layout,
                                                     const encoding_options& options = {}) {
  constexpr const char* function = "compute_block_encodings";
  detail::check_options(function, options);
  detail::check_layout(function, layout, data.size());
  std::vector<min_max_result> ranges(layout.encoding_count());
  for (std::size_t o = 0; o < layout.outer; ++o) {
    for (std::size_t c = 0; c < layout.channels; ++c) {
      const std::size_t base = (o * layout.channels + c) * layout.inner;
      for (std::size_t i = 0; i < layout.inner; ++i) {
        const min_max_result one = detail::finite_range(function, data.data() + base + i, base + i,
                                                        1, options.skip_non_finite);
        min_max_result& r = ranges[layout.encoding_index(o, c, i)];
        r.min = std::min(r.min, one.min);
        r.max = std::max(r.max, one.max);
      }
    }
  }
  std::vector<encoding> encodings;
  encodings.reserve(ranges.size());
  for (const auto& r : ranges)
    encodings.push_back(detail::encoding_from_range(function, r, options));
  return encodings;
}

}  // namespace quanta
