// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "quanta/arch.hpp"
#include "quanta/calibrate/histogram.hpp"
#include "quanta/detail/rounded.hpp"
#include "quanta/encoding.hpp"
#include "quanta/error.hpp"
#include "quanta/reduce.hpp"
#include "quanta/span.hpp"

// Running min/max observers: the `tf` and `max_abs` range-setting methods.
namespace quanta {

struct observer_options {
  // PyTorch's MovingAverage(PerChannel)MinMaxObserver and ONNX Runtime's moving_average: after the
  // first batch, min += c * (batch_min - min) and max likewise, in float.
  bool moving_average = false;
  float averaging_constant = 0.01f;
  bool skip_non_finite = false;
};

namespace detail {

inline void check_observer_options(const char* function, const observer_options& o) {
  if (o.moving_average && !(o.averaging_constant > 0.0f && o.averaging_constant <= 1.0f)) {
    QUANTA_THROW(function, ": options.averaging_constant is ", o.averaging_constant,
                 "; expected a value in (0, 1]");
  }
}

// running + c * (batch - running), PyTorch's update; the product is rounded before the sum, as
// PyTorch rounds it (a fused multiply-add would not). Where the difference overflows float (the
// two ends of the float range), PyTorch's result is +-inf; quanta forms (1 - c) * running +
// c * batch instead, which stays between the two (their signs differ, so the sum cannot overflow).
inline float moved_towards(float running, float batch, float c) noexcept {
  const float difference = batch - running;
  if (std::isfinite(difference)) return running + rounded(c * difference);
  return rounded((1.0f - c) * running) + rounded(c * batch);
}

inline void accumulate_range(min_max_result& running, const min_max_result& batch, bool seen,
                             const observer_options& o) noexcept {
  if (!seen || !o.moving_average) {
    running.min = std::min(running.min, batch.min);
    running.max = std::max(running.max, batch.max);
    return;
  }
  running.min = moved_towards(running.min, batch.min, o.averaging_constant);
  running.max = moved_towards(running.max, batch.max, o.averaging_constant);
}

// tf: the observed [min, max]. max_abs: [-a, a] with a = max(|min|, |max|), or [0, a] when
// nothing negative was observed.
// A range whose scale overflows float (or a QNN min_range that rounds it to 0) throws, naming it.
inline encoding observed_encoding(const char* function, const min_max_result& r, bool max_abs,
                                  const encoding_options& o) {
  if (!max_abs)
    return representable(function, r.min, r.max, o, encoding_from_checked_range(r.min, r.max, o));
  const float a = std::max(std::fabs(r.min), std::fabs(r.max));
  const float lo = r.min < 0.0f ? -a : 0.0f;
  return representable(function, lo, a, o, encoding_from_checked_range(lo, a, o));
}

}  // namespace detail

// The running range of a tensor over calibration batches.
class min_max_observer {
 public:
  explicit min_max_observer(const observer_options& options = {}) : options_(options) {
    detail::check_observer_options("min_max_observer", options);
  }

  // Adds a batch. Throws, changing nothing, for an empty batch or NaN/Inf (unless skipped).
  template <class Arch = default_arch>
  void observe(span<const float> x) {
    constexpr const char* function = "min_max_observer::observe";
    if (x.empty()) QUANTA_THROW(function, ": x is empty; expected at least one value");
    bool non_finite = false;
    const min_max_result batch = detail::strided_range<Arch>(
        function, x.data(), 0, 1, x.size(), x.size(), options_.skip_non_finite, non_finite);
    if (batch.empty()) return;
    detail::accumulate_range(range_, batch, !empty(), options_);
  }

  bool empty() const noexcept { return range_.empty(); }
  // The running range; empty (min +inf, max -inf) before the first value.
  min_max_result range() const noexcept { return range_; }

  // The `tf` method: the encoding of the observed [min, max].
  encoding tf_encoding(const encoding_options& options = {}) const {
    return encode("min_max_observer::tf_encoding", false, options);
  }
  // The `max_abs` method: the encoding of [-a, a], a the largest observed magnitude ([0, a] when
  // nothing negative was seen).
  encoding max_abs_encoding(const encoding_options& options = {}) const {
    return encode("min_max_observer::max_abs_encoding", true, options);
  }

 private:
  encoding encode(const char* function, bool max_abs, const encoding_options& o) const {
    detail::check_options(function, o);
    if (empty()) QUANTA_THROW(function, ": the observer is empty; expected at least one value");
    return detail::observed_encoding(function, range_, max_abs, o);
  }

  observer_options options_;
  min_max_result range_;
};

// The running range of each channel of a [outer, channels, inner] tensor.
class channel_min_max_observer {
 public:
  explicit channel_min_max_observer(std::size_t channels, const observer_options& options = {})
      : options_(options), ranges_(channels) {
    detail::check_observer_options("channel_min_max_observer", options);
  }

  // Adds a batch laid out as `layout`. Throws, changing nothing, for a layout of another channel
  // count, an empty tensor, or NaN/Inf (unless skipped).
  template <class Arch = default_arch>
  void observe(span<const float> x, const channel_layout& layout) {
    constexpr const char* function = "channel_min_max_observer::observe";
    detail::check_channel_layout(function, layout, x.size(), ranges_.size());
    if (x.empty()) QUANTA_THROW(function, ": x is empty; expected at least one value");
    std::vector<min_max_result> batch(ranges_.size());
    const std::size_t stride = layout.channels * layout.inner;
    for (std::size_t c = 0; c < ranges_.size(); ++c) {
      bool non_finite = false;
      batch[c] = detail::strided_range<Arch>(function, x.data() + c * layout.inner,
                                             c * layout.inner, layout.outer, stride, layout.inner,
                                             options_.skip_non_finite, non_finite);
    }
    for (std::size_t c = 0; c < ranges_.size(); ++c) {
      if (batch[c].empty()) continue;
      detail::accumulate_range(ranges_[c], batch[c], !ranges_[c].empty(), options_);
    }
  }

  std::size_t channels() const noexcept { return ranges_.size(); }
  span<const min_max_result> ranges() const noexcept { return span<const min_max_result>(ranges_); }

  std::vector<encoding> tf_encodings(const encoding_options& options = {}) const {
    return encode("channel_min_max_observer::tf_encodings", false, options);
  }
  std::vector<encoding> max_abs_encodings(const encoding_options& options = {}) const {
    return encode("channel_min_max_observer::max_abs_encodings", true, options);
  }

 private:
  std::vector<encoding> encode(const char* function, bool max_abs,
                               const encoding_options& o) const {
    detail::check_options(function, o);
    for (std::size_t c = 0; c < ranges_.size(); ++c) {
      if (ranges_[c].empty()) {
        QUANTA_THROW(function, ": channel ", c, " is empty; expected at least one value");
      }
    }
    std::vector<encoding> encodings;
    encodings.reserve(ranges_.size());
    for (const auto& r : ranges_)
      encodings.push_back(detail::observed_encoding(function, r, max_abs, o));
    return encodings;
  }

  observer_options options_;
  std::vector<min_max_result> ranges_;
};

}  // namespace quanta
