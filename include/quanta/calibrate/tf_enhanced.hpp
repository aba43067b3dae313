// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <tuple>
#include <vector>

#include "quanta/calibrate/histogram.hpp"
#include "quanta/calibrate/mse.hpp"
#include "quanta/encoding.hpp"
#include "quanta/error.hpp"
#include "quanta/span.hpp"

// TF-enhanced range setting (AIMET v1; SNPE/QNN call it the enhanced quantizer): a grid search of
// scale and offset candidates scored by 3 * clipping error + rounding error.
namespace quanta {

namespace detail {

// v as an int in [lo, hi], NaN as lo: AIMET converts floats to int unchecked, which is undefined
// behaviour out of range; every position it converts is clamped to an index range afterwards, or
// (codes) lies far inside int for the grids of up to 16 bits the analyzer accepts.
inline int clamped_int(float v, int lo, int hi) noexcept {
  if (!(v > static_cast<float>(lo))) return lo;
  if (v >= static_cast<float>(hi)) return hi;
  return static_cast<int>(v);
}

// AIMET's analyzer holds offsets and codes in int: a 32-bit grid's offsets (down to -(2^32 - 1))
// do not fit.
inline void check_aimet_bitwidth(const char* function, const encoding_options& o) {
  if (o.bitwidth > 16) {
    QUANTA_THROW(function, ": options.bitwidth is ", o.bitwidth,
                 "; expected 2..16 (AIMET's TF-enhanced analyzer holds offsets in int, which a "
                 "32-bit grid's offsets overflow)");
  }
}

}  // namespace detail

// AIMET's TfEncoding: real = delta * (q + offset), q in [0, 2^b - 1].
struct aimet_tf_encoding {
  double min = 0.0;
  double max = 0.0;
  double delta = 0.0;
  double offset = 0.0;
  int bitwidth = 0;
};

// AIMET v1's TfEnhancedEncodingAnalyzer<float>, reproduced bit for bit: a 512-bin probability
// density over 3x the range of the first batch that is not all zeros, fixed afterwards; bins by
// round(x / bucket - offset) in float; each batch's normalized histogram averaged into the
// density. Arithmetic follows AIMET's types (float values, double density).
class aimet_tf_enhanced {
 public:
  static constexpr int pdf_size = 512;

  explicit aimet_tf_enhanced(bool skip_non_finite = false) : skip_non_finite_(skip_non_finite) {}

  // Adds a batch. An all-zero batch before the first real one is ignored, as in AIMET. Throws for
  // an empty batch, for NaN/Inf (unless skipped), and for a first batch whose tripled range
  // overflows float or gives buckets of width 0 (a batch more than about 1.1e38 wide, or a
  // constant batch so large that AIMET's + 0.01 widening is lost), changing nothing.
  void observe(span<const float> x) {
    constexpr const char* function = "aimet_tf_enhanced::observe";
    if (x.empty()) QUANTA_THROW(function, ": x is empty; expected at least one value");
    std::vector<float> finite;
    span<const float> values = x;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (std::isfinite(x[i])) continue;
      if (!skip_non_finite_) {
        QUANTA_THROW(function, ": x[", i, "] is ", x[i],
                     "; expected finite values (construct with skip_non_finite = true to skip "
                     "them)");
      }
      if (finite.empty()) {
        for (float v : x)
          if (std::isfinite(v)) finite.push_back(v);
        values = span<const float>(finite);
        break;
      }
    }
    if (values.empty()) return;
    update(values);
  }

  // True until a batch with a non-zero value has been observed.
  bool empty() const noexcept { return x_left_.empty(); }
  int iterations() const noexcept { return iterations_; }
  span<const double> x_left() const noexcept { return span<const double>(x_left_); }
  span<const double> pdf() const noexcept { return span<const double>(pdf_); }

  // AIMET's own numbers (computeEncoding): asymmetric, symmetric, strict symmetric and unsigned
  // symmetric as options.kind says; bitwidth from options. All zeros before any data.
  aimet_tf_encoding compute_raw(const encoding_options& options) const {
    constexpr const char* function = "aimet_tf_enhanced::compute_raw";
    detail::check_options(function, options);
    detail::check_aimet_bitwidth(function, options);
    return raw(function, options);
  }

  // The encoding of AIMET's range through compute_encoding (so the profile's rules apply). With
  // profile::qnn it has AIMET's delta and offset. Before any data: the encoding of [0, 0].
  encoding compute(const encoding_options& options) const {
    constexpr const char* function = "aimet_tf_enhanced::compute";
    detail::check_options(function, options);
    detail::check_aimet_bitwidth(function, options);
    if (empty()) {
      return detail::representable(function, 0.0f, 0.0f, options,
                                   detail::encoding_from_checked_range(0.0f, 0.0f, options));
    }
    const aimet_tf_encoding r = raw(function, options);
    // AIMET's ends in double; one past the largest float covers no more float values.
    const float hi = detail::saturate_to_float(r.max);
    // AIMET's symmetric range is [-(n + 1) delta, n delta]; quanta's symmetric grids take
    // absmax / n as the scale, so the range to ask for is [-max, max].
    const float lo =
        options.kind == scheme::asymmetric || r.min == 0.0 ? detail::saturate_to_float(r.min) : -hi;
    return detail::representable(function, lo, hi, options,
                                 detail::encoding_from_checked_range(lo, hi, options));
  }

 private:
  void update(span<const float> x) {
    float mn = std::numeric_limits<float>::infinity();
    float mx = -std::numeric_limits<float>::infinity();
    for (float v : x) {
      mn = std::min(mn, v);
      mx = std::max(mx, v);
    }
    if (x_left_.empty()) {
      if (mn == 0.0f && mx == 0.0f) return;
      const float batch_min = mn;
      const float batch_max = mx;
      if (mn == mx) mx = std::max(mx, mn + 0.01f);
      const float centre = (mx + mn) / 2.0f;
      mn = centre - 3.0f * (centre - mn);
      mx = centre + 3.0f * (mx - centre);
      const float bucket = (mx - mn) / static_cast<float>(pdf_size);
      if (!(std::isfinite(mn) && std::isfinite(mx) && std::isfinite(mx - mn) && bucket > 0.0f &&
            mn + bucket > mn)) {
        QUANTA_THROW("aimet_tf_enhanced::observe: the first batch's range [", batch_min, ", ",
                     batch_max, "] tripled about its centre is [", mn, ", ", mx,
                     "] with 512 buckets of ", bucket,
                     "; expected a finite tripled range whose buckets have a width > 0 "
                     "(a batch less than about 1.1e38 wide; a constant batch small enough to widen "
                     "by 0.01)");
      }
      x_left_.resize(pdf_size);
      for (int i = 0; i < pdf_size; ++i)
        x_left_[static_cast<std::size_t>(i)] = mn + static_cast<float>(i) * bucket;
      pdf_.assign(pdf_size, 0.0);
      iterations_ = 0;
    }
    const auto lo = static_cast<float>(x_left_[0]);
    const auto bucket = static_cast<float>(x_left_[1] - x_left_[0]);
    const float offset = lo / bucket;
    std::vector<std::uint32_t> counts(pdf_size, 0);
    for (float v : x) {
      const float index = std::round(v / bucket - offset);
      if (index >= 0.0f && index < static_cast<float>(pdf_size)) {
        ++counts[static_cast<std::size_t>(index)];
      }
    }
    const auto n = static_cast<double>(x.size());
    for (std::size_t i = 0; i < pdf_.size(); ++i) {
      const double p = static_cast<double>(counts[i]) / n;
      pdf_[i] = (pdf_[i] * iterations_ + p) / (iterations_ + 1);
    }
    ++iterations_;
  }

  std::tuple<float, float> range() const {
    float mn = static_cast<float>(x_left_[0]);
    float mx = static_cast<float>(x_left_[pdf_size - 1]);
    for (int i = 0; i < pdf_size; ++i) {
      if (pdf_[static_cast<std::size_t>(i)] > 0.0) {
        mn = static_cast<float>(x_left_[static_cast<std::size_t>(i)]);
        break;
      }
    }
    for (int i = pdf_size - 1; i > 0; --i) {
      if (pdf_[static_cast<std::size_t>(i)] > 0.0) {
        mx = static_cast<float>(x_left_[static_cast<std::size_t>(i)]);
        break;
      }
    }
    mn = std::min(mn, 0.0f);
    mx = std::max(mx, 0.0f);
    mx = std::max(mx, mn + static_cast<float>(0.01));
    return {mn, mx};
  }

  // AIMET's candidate clamp. It writes delta back, and AIMET's loop then starts the next offset
  // from the clamped delta: that carry-over is part of its result, so it is kept.
  static bool clamp_candidate(float observed_min, float observed_max, float steps, float& delta,
                              int& offset) {
    float test_min = delta * static_cast<float>(offset);
    float test_max = test_min + delta * steps;
    if (test_min < observed_min && test_max > observed_max) return false;
    test_min = std::max(observed_min, test_min);
    test_max = std::min(observed_max, test_max);
    delta = (test_max - test_min) / steps;
    // Both ends pinned to one point leave no grid: skip the candidate, as an unclipped one is.
    if (!(delta > 0.0f)) return false;
    offset = detail::clamped_int(std::round(test_min / delta), std::numeric_limits<int>::min(),
                                 std::numeric_limits<int>::max());
    return true;
  }

  float cost(int bitwidth, float delta, int offset) const {
    const float min_value = delta * static_cast<float>(offset);
    const auto steps = static_cast<float>(std::ldexp(1.0, bitwidth) - 1.0);
    const float max_value = delta * steps + min_value;
    const auto start = static_cast<float>(x_left_[0]);
    const auto step = static_cast<float>(x_left_[1] - x_left_[0]);
    const auto index = [&](float v) {
      return detail::clamped_int(std::floor((v - start) / step), 0, pdf_size - 1);
    };
    const int min_index = index(min_value);
    const int max_index = index(max_value);
    const auto middle = [&](int i) { return start + static_cast<float>(i) * step + step / 2.0f; };
    const auto square = [](float d) { return static_cast<double>(d) * static_cast<double>(d); };
    float bottom = 0.0f;
    const float min_middle = middle(min_index);
    for (int i = 0; i < min_index; ++i) {
      bottom = static_cast<float>(bottom + pdf_[static_cast<std::size_t>(i)] *
                                               square(middle(i) - min_middle));
    }
    float top = 0.0f;
    const float max_middle = middle(max_index);
    for (int i = max_index; i < pdf_size; ++i) {
      top = static_cast<float>(top +
                               pdf_[static_cast<std::size_t>(i)] * square(middle(i) - max_middle));
    }
    float rounding = 0.0f;
    for (int i = min_index; i < max_index; ++i) {
      const float v = middle(i);
      const int q = detail::clamped_int(std::round(v / delta - static_cast<float>(offset)),
                                        -(1 << 24), 1 << 24);
      const float back = delta * static_cast<float>(q + offset);
      rounding =
          static_cast<float>(rounding + pdf_[static_cast<std::size_t>(i)] * square(v - back));
    }
    return 3.0f * (bottom + top) + rounding;
  }

  aimet_tf_encoding raw(const char* function, const encoding_options& o) const {
    aimet_tf_encoding r;
    if (empty()) return r;
    const auto [lo, hi] = range();
    auto steps = static_cast<float>(std::ldexp(1.0, o.bitwidth) - 1.0);
    std::vector<std::pair<float, int>> candidates;
    if (o.kind != scheme::asymmetric) {
      if (o.kind == scheme::symmetric_strict) steps -= 1.0f;
      float delta_max;
      int offset;
      if (lo == 0.0f && o.kind == scheme::unsigned_symmetric) {
        delta_max = hi / steps;
        offset = 0;
      } else {
        const float absmax = std::max(std::fabs(hi), std::fabs(lo));
        delta_max = (2.0f * absmax) / steps;
        offset = static_cast<int>(std::floor(-steps / 2.0f));
      }
      for (float f = static_cast<float>(1.0 / 100); f <= 1 + 1.0 / 100;
           f = static_cast<float>(f + 1.0 / 100)) {
        candidates.emplace_back(f * delta_max, offset);
      }
    } else {
      const float observed_delta = (hi - lo) / steps;
      const int observed_offset = static_cast<int>(std::round(lo / observed_delta));
      const float observed_min = observed_delta * static_cast<float>(observed_offset);
      const float observed_max = observed_min + observed_delta * steps;
      for (float f = static_cast<float>(1.0 / 16); f <= 1 + 1.0 / 16;
           f = static_cast<float>(f + 1.0 / 16)) {
        float delta = f * observed_delta;
        for (int i = 0; i <= 20; ++i) {
          int offset =
              static_cast<int>(-static_cast<double>(steps) + static_cast<double>(steps) / 20.0 * i);
          if (!clamp_candidate(observed_min, observed_max, steps, delta, offset)) continue;
          candidates.emplace_back(delta, offset);
        }
      }
      candidates.emplace_back(observed_delta, observed_offset);
    }
    float best_cost = std::numeric_limits<float>::max();
    float best_delta = -1.0f;
    int best_offset = -1;
    for (const auto& [delta, offset] : candidates) {
      const float c = cost(o.bitwidth, delta, offset);
      if (c < best_cost) {
        best_cost = c;
        best_delta = delta;
        best_offset = offset;
      }
    }
    if (!(best_delta > 0.0f)) {
      QUANTA_THROW(function, ": no candidate of AIMET's search has a finite cost (range [", lo,
                   ", ", hi, "], ", o.bitwidth,
                   " bits); expected a density whose costs are finite");
    }
    r.delta = best_delta;
    r.offset = best_offset;
    r.bitwidth = o.bitwidth;
    r.min = best_delta * static_cast<float>(best_offset);
    r.max = static_cast<double>(best_delta * steps) + r.min;
    return r;
  }

  std::vector<double> x_left_;
  std::vector<double> pdf_;
  int iterations_ = 0;
  bool skip_non_finite_ = false;
};

struct tf_enhanced_options {
  // Weight of the clipping error against the rounding error (AIMET: 3).
  double gamma = 3.0;
};

namespace detail {

// AIMET's candidate ranges, in double and without its delta carry-over: for asymmetric grids the
// scales k/16 of the observed one (k = 1..17) times 21 offsets from -n to 0, each clipped to the
// observed range, then the observed range; for symmetric grids the thresholds k/100 of the
// observed absmax (k = 1..101).
inline std::vector<std::pair<double, double>> tf_enhanced_ranges(const histogram& h,
                                                                 const encoding_options& o) {
  std::vector<std::pair<double, double>> ranges;
  const bool magnitude = h.domain() == histogram_domain::magnitude;
  const double lo = magnitude ? 0.0 : std::min(0.0f, h.observed_min());
  const double hi = magnitude ? h.observed_abs_max() : std::max(0.0f, h.observed_max());
  if (magnitude || o.kind != scheme::asymmetric) {
    const double top = std::max(-lo, hi);
    for (int k = 1; k <= 101; ++k) {
      const double t = top * k / 100.0;
      ranges.emplace_back(lo < 0.0 ? -t : 0.0, t);
    }
    return ranges;
  }
  const double steps = std::ldexp(1.0, o.bitwidth) - 1.0;
  const double observed = (hi - lo) / steps;
  for (int k = 1; k <= 17; ++k) {
    const double delta = observed * k / 16.0;
    for (int i = 0; i <= 20; ++i) {
      const double offset = std::trunc(-steps + steps / 20.0 * i);
      const double a = delta * offset;
      const double b = a + delta * steps;
      if (a < lo && b > hi) continue;
      ranges.emplace_back(std::max(lo, a), std::min(hi, b));
    }
  }
  ranges.emplace_back(lo, hi);
  return ranges;
}

inline encoding tf_enhanced_checked(const histogram& h, const encoding_options& o,
                                    const tf_enhanced_options& t) {
  const histogram_cost cost(h);
  // Candidates without a usable scale are skipped; calibrated() reports a search that found none.
  encoding best_encoding = no_encoding();
  double best = std::numeric_limits<double>::infinity();
  for (const auto& [lo, hi] : tf_enhanced_ranges(h, o)) {
    if (!(hi >= lo)) continue;
    const encoding e = histogram_range_encoding(h, lo, hi, o);
    if (!usable_scale(e)) continue;
    const double c = cost(grid_of(e, h.domain()), t.gamma);
    if (c < best) {
      best = c;
      best_encoding = e;
    }
  }
  return best_encoding;
}

inline void check_tf_enhanced(const char* function, const tf_enhanced_options& t) {
  if (!(std::isfinite(t.gamma) && t.gamma > 0.0)) {
    QUANTA_THROW(function, ": options.gamma is ", t.gamma, "; expected a finite value > 0");
  }
}

}  // namespace detail

// quanta's TF-enhanced: AIMET's candidate ranges, each turned into an encoding by the profile's
// rules and scored exactly (histogram_cost: gamma * clipping + rounding error, integrated over
// the bins) on a histogram that grows with the data instead of AIMET's fixed 512 bins.
inline encoding tf_enhanced_encoding(const histogram& h, const encoding_options& options = {},
                                     const tf_enhanced_options& tf = {}) {
  constexpr const char* function = "tf_enhanced_encoding";
  detail::check_options(function, options);
  detail::check_tf_enhanced(function, tf);
  detail::check_histogram(function, h);
  return detail::calibrated(function, h, detail::tf_enhanced_checked(h, options, tf));
}

inline std::vector<encoding> tf_enhanced_encodings(span<const histogram> histograms,
                                                   const encoding_options& options = {},
                                                   const tf_enhanced_options& tf = {}) {
  constexpr const char* function = "tf_enhanced_encodings";
  detail::check_options(function, options);
  detail::check_tf_enhanced(function, tf);
  return detail::per_histogram(function, histograms, 2, [&](const histogram& h) {
    return detail::tf_enhanced_checked(h, options, tf);
  });
}

// AIMET's TF-enhanced per channel of a weight tensor: one analyzer per channel, one batch each.
inline std::vector<encoding> aimet_tf_enhanced_encodings(span<const float> data,
                                                         const channel_layout& layout,
                                                         const encoding_options& options = {}) {
  constexpr const char* function = "aimet_tf_enhanced_encodings";
  detail::check_options(function, options);
  detail::check_aimet_bitwidth(function, options);
  detail::check_layout(function, layout, data.size());
  if (layout.outer * layout.inner == 0) {
    QUANTA_THROW(function, ": data has no values per channel; expected at least one");
  }
  std::vector<std::vector<float>> channels(layout.channels);
  for (std::size_t o = 0; o < layout.outer; ++o)
    for (std::size_t c = 0; c < layout.channels; ++c)
      for (std::size_t i = 0; i < layout.inner; ++i) {
        const std::size_t k = (o * layout.channels + c) * layout.inner + i;
        if (!std::isfinite(data[k])) {
          QUANTA_THROW(function, ": data[", k, "] is ", data[k], "; expected finite values");
        }
        channels[c].push_back(data[k]);
      }
  std::vector<encoding> encodings;
  encodings.reserve(layout.channels);
  for (const auto& values : channels) {
    aimet_tf_enhanced analyzer;
    analyzer.observe(values);
    encodings.push_back(analyzer.compute(options));
  }
  return encodings;
}

}  // namespace quanta
