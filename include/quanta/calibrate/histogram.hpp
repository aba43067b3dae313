// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "quanta/arch.hpp"
#include "quanta/detail/histogram_kernels.hpp"
#include "quanta/detail/reduce_kernels.hpp"
#include "quanta/encoding.hpp"
#include "quanta/error.hpp"
#include "quanta/reduce.hpp"
#include "quanta/span.hpp"

// Calibration histograms: a fixed number of equal bins over a range that grows, without losing a
// count, when a later batch falls outside it. docs/calibration.md states the rules exactly.
namespace quanta {

// What a histogram counts.
enum class histogram_domain {
  value,      // x itself
  magnitude,  // |x|: the range always starts at 0 (TensorRT, ModelOpt, ONNX Runtime entropy)
};

namespace detail {

struct histogram_access;  // quanta/parallel.hpp: the parallel fill

// A layout that matches the data and has the channel count the calibrator was made for.
inline void check_channel_layout(const char* function, const channel_layout& layout,
                                 std::size_t size, std::size_t channels) {
  check_layout(function, layout, size);
  if (layout.channels != channels) {
    QUANTA_THROW(function, ": layout has ", layout.channels, " channels; expected ", channels);
  }
}

// The range of `rows` rows of `length` values, `stride` apart; x[0] is element `base` of the
// caller's tensor. With skip, non-finite values take no part; otherwise the first one is named.
template <class Arch>
min_max_result strided_range(const char* function, const float* x, std::size_t base,
                             std::size_t rows, std::size_t stride, std::size_t length,
                             bool skip_non_finite, bool& has_non_finite) {
  min_max_result r;
  for (std::size_t row = 0; row < rows; ++row) {
    const min_max_result one = min_max<Arch>(x + row * stride, length);
    r.min = std::min(r.min, one.min);
    r.max = std::max(r.max, one.max);
    r.has_nan = r.has_nan || one.has_nan;
  }
  has_non_finite = r.has_nan || std::isinf(r.min) || std::isinf(r.max);
  if (!has_non_finite) return r;
  min_max_result finite;
  for (std::size_t row = 0; row < rows; ++row) {
    const min_max_result one =
        finite_range(function, x + row * stride, base + row * stride, length, skip_non_finite);
    finite.min = std::min(finite.min, one.min);
    finite.max = std::max(finite.max, one.max);
  }
  return finite;
}

}  // namespace detail

// A histogram of `bins` equal bins over [lo, hi].
//
// The first batch sets the range to its [min, max] (magnitude: [0, max |x|]); a range of width 0
// becomes [v - s/2, v + s/2] with s = max(|v|, 1) (magnitude: [0, 1]). A later batch that falls
// outside the range grows it by the smallest integer factor k >= 2 (new width = k * old width) and
// a whole number m of old bins on the low side, so that every old bin lies inside one new bin:
// old bin j moves to new bin (j + m) / k and no count is split. observed_min() and
// observed_max() keep the exact extremes of everything seen.
class histogram {
 public:
  static constexpr std::size_t default_bins = 2048;

  explicit histogram(std::size_t bins = default_bins,
                     histogram_domain domain = histogram_domain::value,
                     bool skip_non_finite = false)
      : domain_(domain), skip_non_finite_(skip_non_finite) {
    if (bins < 2 || bins > (std::size_t{1} << 24)) {
      QUANTA_THROW("histogram: bins is ", bins, "; expected 2..", std::size_t{1} << 24);
    }
    counts_.assign(bins, 0.0);
  }

  // A histogram from counts that someone else collected over [lo, hi] (for example a peer's
  // histogram, or a test vector). observed_min/max default to the range's ends.
  static histogram from_counts(span<const double> counts, double lo, double hi,
                               histogram_domain domain = histogram_domain::value) {
    constexpr const char* function = "histogram::from_counts";
    histogram h(counts.size() < 2 ? 2 : counts.size(), domain);
    if (counts.size() < 2) {
      QUANTA_THROW(function, ": counts has ", counts.size(), " entries; expected at least 2 bins");
    }
    if (!(std::isfinite(lo) && std::isfinite(hi) && lo < hi)) {
      QUANTA_THROW(function, ": range is [", lo, ", ", hi, "]; expected finite lo < hi");
    }
    // Bin positions divide by the width: it must be a normal double, and hi - lo finite.
    const double width = (hi - lo) / static_cast<double>(counts.size());
    if (!(std::isfinite(hi - lo) && width >= std::numeric_limits<double>::min())) {
      QUANTA_THROW(function, ": range [", lo, ", ", hi, "] over ", counts.size(),
                   " bins gives bin width ", width,
                   "; expected hi - lo finite and a width >= the smallest normal double");
    }
    if (domain == histogram_domain::magnitude && lo != 0.0) {
      QUANTA_THROW(function, ": lo is ", lo, "; expected 0 for a magnitude histogram");
    }
    for (std::size_t k = 0; k < counts.size(); ++k) {
      if (!(std::isfinite(counts[k]) && counts[k] >= 0.0)) {
        QUANTA_THROW(function, ": counts[", k, "] is ", counts[k],
                     "; expected a finite count >= 0");
      }
    }
    h.counts_.assign(counts.begin(), counts.end());
    h.lo_ = lo;
    h.width_ = width;
    h.total_ = 0.0;
    for (double c : counts)
      h.total_ += c;
    // A range beyond the largest float holds no more float values than +-FLT_MAX.
    h.observed_min_ = detail::saturate_to_float(lo);
    h.observed_max_ = detail::saturate_to_float(hi);
    h.initialized_ = true;
    return h;
  }

  // The same, with the extremes of x that the counts came from (methods that clamp to the
  // observed range, such as ONNX Runtime's entropy calibration, need them). A value histogram needs
  // lo <= observed_min <= observed_max <= hi; a magnitude histogram max(|min|, |max|) <= hi.
  static histogram from_counts(span<const double> counts, double lo, double hi,
                               histogram_domain domain, float observed_min, float observed_max) {
    constexpr const char* function = "histogram::from_counts";
    histogram h = from_counts(counts, lo, hi, domain);
    const bool magnitude = domain == histogram_domain::magnitude;
    const double top = magnitude ? std::max(std::fabs(static_cast<double>(observed_min)),
                                            std::fabs(static_cast<double>(observed_max)))
                                 : static_cast<double>(observed_max);
    const bool inside = observed_min <= observed_max && top <= hi &&
                        (magnitude || static_cast<double>(observed_min) >= lo);
    if (!inside) {
      QUANTA_THROW(function, ": observed range is [", observed_min, ", ", observed_max,
                   "]; expected min <= max inside the histogram's range [", lo, ", ", hi, "]",
                   magnitude ? " (magnitudes)" : "");
    }
    h.observed_min_ = observed_min;
    h.observed_max_ = observed_max;
    return h;
  }

  // Adds a batch. Throws for an empty batch, or for NaN/Inf unless the histogram skips them; the
  // histogram is unchanged when it throws.
  template <class Arch = default_arch>
  void observe(span<const float> x) {
    observe_rows<Arch>("histogram::observe", x.data(), 0, x.empty() ? 0 : 1, x.size(), x.size());
  }

  // Adds another histogram of the same tensor (same bin count and domain). Bins of `other` that
  // straddle bins of this one are split in proportion to the overlap (uniform density within a
  // bin); when the edges line up, as for two histograms grown from the same first batch, counts
  // move whole.
  void merge(const histogram& other) {
    constexpr const char* function = "histogram::merge";
    if (other.bins() != bins() || other.domain_ != domain_) {
      QUANTA_THROW(function, ": other has ", other.bins(), " ",
                   other.domain_ == histogram_domain::value ? "value" : "magnitude",
                   " bins; expected ", bins(), " ",
                   domain_ == histogram_domain::value ? "value" : "magnitude", " bins");
    }
    if (!other.initialized_) return;
    if (!initialized_) {
      *this = other;
      return;
    }
    grow_to(function, other.lo_, other.hi());
    const double n = static_cast<double>(bins());
    for (std::size_t j = 0; j < other.bins(); ++j) {
      const double c = other.counts_[j];
      if (c == 0.0) continue;
      const double u = other.edge(j);
      const double v = other.edge(j + 1);
      // Positions in units of this histogram's bins.
      const double pu = std::clamp((u - lo_) / width_, 0.0, n);
      const double pv = std::clamp((v - lo_) / width_, 0.0, n);
      auto first = static_cast<std::size_t>(pu);
      auto last = static_cast<std::size_t>(pv);
      if (last >= bins()) last = bins() - 1;
      if (first >= bins()) first = bins() - 1;
      if (first == last || !(pv > pu)) {
        counts_[first] += c;
        continue;
      }
      double moved = 0.0;
      for (std::size_t b = first; b <= last; ++b) {
        const double lo_part = std::max(pu, static_cast<double>(b));
        const double hi_part = std::min(pv, static_cast<double>(b + 1));
        if (b == last) {
          counts_[b] += c - moved;  // the remainder, so that the total is exact
        } else if (hi_part > lo_part) {
          const double share = c * (hi_part - lo_part) / (pv - pu);
          counts_[b] += share;
          moved += share;
        }
      }
    }
    total_ += other.total_;
    observed_min_ = std::min(observed_min_, other.observed_min_);
    observed_max_ = std::max(observed_max_, other.observed_max_);
  }

  std::size_t bins() const noexcept { return counts_.size(); }
  histogram_domain domain() const noexcept { return domain_; }
  bool skips_non_finite() const noexcept { return skip_non_finite_; }
  // True until a value has been counted.
  bool empty() const noexcept { return !initialized_; }
  double lo() const noexcept { return lo_; }
  double hi() const noexcept { return lo_ + width_ * static_cast<double>(bins()); }
  double bin_width() const noexcept { return width_; }
  double edge(std::size_t k) const noexcept { return lo_ + width_ * static_cast<double>(k); }
  span<const double> counts() const noexcept { return span<const double>(counts_); }
  double total() const noexcept { return total_; }
  // The extremes of x (not |x|) over everything observed.
  float observed_min() const noexcept { return observed_min_; }
  float observed_max() const noexcept { return observed_max_; }
  float observed_abs_max() const noexcept {
    return std::max(std::fabs(observed_min_), std::fabs(observed_max_));
  }

  // The float parameters of the bin rule (ref::histogram_bin).
  float bin_lo() const noexcept { return static_cast<float>(lo_); }
  float bin_scale() const noexcept {
    return static_cast<float>(static_cast<double>(bins()) / (hi() - lo_));
  }

  // Adds rows of a strided tensor: `rows` rows of `length` values, `stride` apart, x[0] being
  // element `base` of the caller's tensor (for error messages). Validates before it changes
  // anything.
  template <class Arch = default_arch>
  void observe_rows(const char* function, const float* x, std::size_t base, std::size_t rows,
                    std::size_t stride, std::size_t length) {
    const prepared p = prepare<Arch>(function, x, base, rows, stride, length);
    commit<Arch>(x, rows, stride, length, p);
  }

 private:
  friend class channel_histograms;
  friend struct detail::histogram_access;

  struct prepared {
    min_max_result range;
    bool has_non_finite = false;
  };

  template <class Arch>
  prepared prepare(const char* function, const float* x, std::size_t base, std::size_t rows,
                   std::size_t stride, std::size_t length) const {
    if (rows == 0 || length == 0) {
      QUANTA_THROW(function, ": x is empty; expected at least one value");
    }
    prepared p;
    p.range = detail::strided_range<Arch>(function, x, base, rows, stride, length, skip_non_finite_,
                                          p.has_non_finite);
    // A growth that would overflow double throws here, before anything changes.
    if (initialized_ && !p.range.empty()) {
      const range_needed r = needed(p.range);
      plan_growth(function, r.lo, r.hi);
    }
    return p;
  }

  struct range_needed {
    double lo, hi;
  };

  // The range a batch needs: its [min, max], or [0, max |x|] for a magnitude histogram.
  range_needed needed(const min_max_result& batch) const noexcept {
    if (domain_ == histogram_domain::magnitude) {
      return {0.0, std::max(std::fabs(static_cast<double>(batch.min)),
                            std::fabs(static_cast<double>(batch.max)))};
    }
    return {batch.min, batch.max};
  }

  template <class Arch>
  void commit(const float* x, std::size_t rows, std::size_t stride, std::size_t length,
              const prepared& p) {
    if (p.range.empty()) return;  // every value was skipped
    const bool magnitude = domain_ == histogram_domain::magnitude;
    const range_needed batch = needed(p.range);
    if (!initialized_) {
      set_first_range(batch.lo, batch.hi);
    } else {
      grow_to("histogram::observe", batch.lo, batch.hi);
    }
    const float lo = bin_lo();
    const float scale = bin_scale();
    const auto n = static_cast<std::uint32_t>(bins());
    double added = 0.0;
    // The float bin rule needs lo and bins / width as finite floats, the scale > 0. A range that
    // grew past -FLT_MAX, or one from from_counts whose width over- or underflows that quotient,
    // finds each value's bin in double instead (see docs/calibration.md).
    const bool float_rule = std::isfinite(lo) && std::isfinite(scale) && scale > 0.0f;
    for (std::size_t row = 0; row < rows; ++row) {
      const float* r = x + row * stride;
      if (!float_rule) {
        for (std::size_t i = 0; i < length; ++i) {
          if (!std::isfinite(r[i])) continue;
          counts_[bin_in_double(magnitude ? std::fabs(r[i]) : r[i])] += 1.0;
          added += 1.0;
        }
        continue;
      }
      if (!p.has_non_finite) {
        detail::histogram_fill<Arch>(r, length, magnitude, lo, scale, n, counts_.data());
        added += static_cast<double>(length);
        continue;
      }
      const float last = static_cast<float>(n - 1);
      for (std::size_t i = 0; i < length; ++i) {
        if (!std::isfinite(r[i])) continue;
        const float a = magnitude ? std::fabs(r[i]) : r[i];
        counts_[ref::histogram_bin(a, lo, scale, last)] += 1.0;
        added += 1.0;
      }
    }
    total_ += added;
    observed_min_ = std::min(observed_min_, p.range.min);
    observed_max_ = std::max(observed_max_, p.range.max);
  }

  void set_first_range(double lo, double hi) {
    if (hi == lo) {
      const double s = std::max(std::fabs(lo), 1.0);
      if (domain_ == histogram_domain::magnitude) {
        hi = s;
      } else {
        lo -= s / 2.0;
        hi = lo + s;
      }
    }
    lo_ = lo;
    width_ = (hi - lo) / static_cast<double>(bins());
    initialized_ = true;
  }

  // Grows [lo, hi] to cover [lo_needed, hi_needed] by the integer rule described above: the
  // fewest whole old bins m to shift by, then the smallest whole factor k >= 2 that keeps every
  // old bin inside the new range (k - 1 >= m / bins) and reaches hi_needed.
  //
  // m and k are whole numbers held in doubles, and each test can miss by a rounding of the
  // products; both only improve as m or k grows. Each is searched from its estimate in steps of 1
  // for 64 misses (always enough unless the range is ~2^52 times wider than a bin), then in steps
  // that double, so that the search ends after a bounded number of tries for any finite range
  // (where k would be at least 2^52, the first k found may exceed the smallest by a few units in
  // its last place).
  static double next_candidate(double v, int misses) noexcept {
    if (misses <= 64 && v < 0x1p52) return v + 1.0;
    return v + std::max(std::ldexp(1.0, std::min(misses, 1000) - 64), std::ldexp(v, -52));
  }

  // floor((a - lo) / width) clamped to the bins, in double.
  std::size_t bin_in_double(float a) const noexcept {
    const double t = std::floor((static_cast<double>(a) - lo_) / width_);
    const auto last = static_cast<double>(bins() - 1);
    if (!(t > 0.0)) return 0;
    return static_cast<std::size_t>(std::min(t, last));
  }

  // m old bins to shift by and the factor k; k = 1 when no growth is needed.
  struct growth {
    double m = 0.0;
    double k = 1.0;
  };

  // The growth that covers [lo_needed, hi_needed], or an error when the grown range, its bin
  // width or the shift would overflow double (a histogram from from_counts with bins far
  // narrower than the range to cover: float data alone never comes near).
  growth plan_growth(const char* function, double lo_needed, double hi_needed) const {
    if (lo_needed >= lo_ && hi_needed <= hi()) return {};
    const double n = static_cast<double>(bins());
    double m = 0.0;
    if (lo_needed < lo_) {
      m = std::ceil((lo_ - lo_needed) / width_);
      for (int misses = 1; lo_ - m * width_ > lo_needed; ++misses)
        m = next_candidate(m, misses);
    }
    const double new_lo = lo_ - m * width_;
    const double new_hi_needed = std::max(hi_needed, hi());
    double k =
        std::max({2.0, std::ceil((new_hi_needed - new_lo) / (n * width_)), std::ceil(m / n) + 1.0});
    // The test computes the new hi() as hi() will, so the range it accepts is the range kept, and
    // it asks for the old hi() too: (k - 1) * bins >= m keeps it in exact arithmetic only.
    for (int misses = 1; new_lo + width_ * k * n < new_hi_needed || (k - 1.0) * n < m; ++misses)
      k = next_candidate(k, misses);
    if (!(std::isfinite(new_lo) && std::isfinite(width_ * k) &&
          std::isfinite(new_lo + width_ * k * n))) {
      QUANTA_THROW(function, ": growing the range [", lo_, ", ", hi(), "] (bin width ", width_,
                   ") to cover [", lo_needed, ", ", hi_needed,
                   "] overflows double; expected a range to cover fewer than about 1e300 bin "
                   "widths across");
    }
    return {m, k};
  }

  void grow_to(const char* function, double lo_needed, double hi_needed) {
    const growth g = plan_growth(function, lo_needed, hi_needed);
    if (g.k == 1.0) return;
    const double m = g.m;
    const double k = g.k;
    std::vector<double> grown(bins(), 0.0);
    const std::size_t last = bins() - 1;
    if (m < 0x1p63 && k < 0x1p63) {
      const auto mi = static_cast<std::uint64_t>(m);
      const auto ki = static_cast<std::uint64_t>(k);
      for (std::size_t j = 0; j < bins(); ++j)
        grown[std::min(static_cast<std::size_t>((j + mi) / ki), last)] += counts_[j];
    } else {
      // A new bin is then over 2^39 times as wide as the whole old range: the quotient in double
      // can put the old bins next to a new edge one bin too high, a shift of no consequence at
      // that scale, and the clamp keeps every index inside.
      for (std::size_t j = 0; j < bins(); ++j) {
        const double to =
            std::min(std::floor((static_cast<double>(j) + m) / k), static_cast<double>(last));
        grown[static_cast<std::size_t>(to)] += counts_[j];
      }
    }
    counts_.swap(grown);
    lo_ -= m * width_;
    width_ *= k;
  }

  std::vector<double> counts_;
  histogram_domain domain_ = histogram_domain::value;
  bool skip_non_finite_ = false;
  bool initialized_ = false;
  double lo_ = 0.0;
  double width_ = 1.0;
  double total_ = 0.0;
  float observed_min_ = std::numeric_limits<float>::infinity();
  float observed_max_ = -std::numeric_limits<float>::infinity();
};

// One histogram per channel of a [outer, channels, inner] tensor (per-channel weights).
class channel_histograms {
 public:
  channel_histograms(std::size_t channels, std::size_t bins = histogram::default_bins,
                     histogram_domain domain = histogram_domain::value,
                     bool skip_non_finite = false)
      : histograms_(channels, histogram(bins, domain, skip_non_finite)) {}

  // Adds a batch laid out as `layout`. Throws, changing nothing, for a layout of another channel
  // count, an empty tensor, or NaN/Inf (unless skipped).
  template <class Arch = default_arch>
  void observe(span<const float> x, const channel_layout& layout) {
    constexpr const char* function = "channel_histograms::observe";
    detail::check_channel_layout(function, layout, x.size(), histograms_.size());
    std::vector<histogram::prepared> prepared;
    prepared.reserve(histograms_.size());
    const std::size_t stride = layout.channels * layout.inner;
    for (std::size_t c = 0; c < histograms_.size(); ++c) {
      prepared.push_back(histograms_[c].prepare<Arch>(function, x.data() + c * layout.inner,
                                                      c * layout.inner, layout.outer, stride,
                                                      layout.inner));
    }
    for (std::size_t c = 0; c < histograms_.size(); ++c) {
      histograms_[c].commit<Arch>(x.data() + c * layout.inner, layout.outer, stride, layout.inner,
                                  prepared[c]);
    }
  }

  std::size_t channels() const noexcept { return histograms_.size(); }
  const histogram& operator[](std::size_t c) const noexcept { return histograms_[c]; }
  span<const histogram> histograms() const noexcept { return span<const histogram>(histograms_); }

 private:
  std::vector<histogram> histograms_;
};

namespace detail {

// `name` is "histogram" or "histograms[c]".
inline void check_histogram(const char* function, const std::string& name, const histogram& h,
                            std::size_t min_bins) {
  if (h.empty()) {
    QUANTA_THROW(function, ": ", name, " is empty; expected at least one observed value");
  }
  if (h.bins() < min_bins) {
    QUANTA_THROW(function, ": ", name, " has ", h.bins(), " bins; expected at least ", min_bins);
  }
}

inline void check_histogram(const char* function, const histogram& h, std::size_t min_bins = 2) {
  check_histogram(function, "histogram", h, min_bins);
}

// The encoding of a calibrated range. A magnitude histogram's threshold t stands for [-t, t], or
// [0, t] when no negative value was observed. Ends beyond the largest float saturate at +-FLT_MAX
// (no float value lies beyond). The scale may still be unusable (a range whose scale overflows
// float, a QNN min_range that rounds it to 0): searches skip such a candidate, and calibrated()
// refuses one as the result.
inline encoding histogram_range_encoding(const histogram& h, double lo, double hi,
                                         const encoding_options& o) {
  if (h.domain() == histogram_domain::magnitude) {
    lo = h.observed_min() < 0.0f ? -hi : 0.0;
  }
  return encoding_from_checked_range(saturate_to_float(lo), saturate_to_float(hi), o);
}

// A search's result before any candidate has a usable encoding.
inline encoding no_encoding() noexcept {
  encoding e;
  e.scale = 0.0f;
  return e;
}

// The result of a histogram calibration, or the error that says why there is none: no candidate
// range had an encoding with a finite scale > 0 (and a finite cost) under the options.
// `name` is "histogram" or "histograms[c]".
inline encoding calibrated(const char* function, const std::string& name, const histogram& h,
                           const encoding& e) {
  if (!usable_scale(e)) {
    QUANTA_THROW(function, ": no range calibrated on ", name, " (observed [", h.observed_min(),
                 ", ", h.observed_max(), "], bins over [", h.lo(), ", ", h.hi(),
                 "]) has an encoding with a finite scale > 0 and a finite cost under these "
                 "options; expected a range whose scale is a finite float > 0 (with "
                 "profile::qnn, min_range included)");
  }
  return e;
}

inline encoding calibrated(const char* function, const histogram& h, const encoding& e) {
  return calibrated(function, "histogram", h, e);
}

// Per-channel forms: every histogram is checked (and named by its index) before any is used,
// then `method` gives each one's encoding.
template <class Method>
std::vector<encoding> per_histogram(const char* function, span<const histogram> histograms,
                                    std::size_t min_bins, Method method) {
  if (histograms.empty()) {
    QUANTA_THROW(function, ": histograms is empty; expected one histogram per channel");
  }
  for (std::size_t c = 0; c < histograms.size(); ++c)
    check_histogram(function, message("histograms[", c, "]"), histograms[c], min_bins);
  std::vector<encoding> encodings;
  encodings.reserve(histograms.size());
  for (std::size_t c = 0; c < histograms.size(); ++c)
    encodings.push_back(
        calibrated(function, message("histograms[", c, "]"), histograms[c], method(histograms[c])));
  return encodings;
}

}  // namespace detail

}  // namespace quanta
