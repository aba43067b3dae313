// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "quanta/calibrate/histogram.hpp"
#include "quanta/encoding.hpp"
#include "quanta/error.hpp"
#include "quanta/span.hpp"

// Range setting by percentiles of a histogram.
namespace quanta {

enum class percentile_rule {
  // Linear interpolation inside the bin where the cumulative count crosses the target (uniform
  // density within a bin).
  interpolate,
  // The crossing bin's edge nearer the middle of the distribution: its left edge for the upper
  // tail (NVIDIA ModelOpt, ONNX Runtime: edges[searchsorted(cdf, p / 100)]), its right edge for
  // the lower tail.
  bin_edge,
};

struct percentile_options {
  // Which percentile the upper end sits at, in (0, 100]. Value histograms put the lower end at
  // 100 - percentile; magnitude histograms give a threshold t for [-t, t].
  double percentile = 99.99;
  percentile_rule rule = percentile_rule::interpolate;
};

namespace detail {

// The value below which a fraction q of the histogram's mass lies (the upper-tail reading: the
// first bin whose cumulative fraction reaches q). Clamped to the observed extent, so q = 1 gives
// the observed maximum exactly.
inline double histogram_quantile(const histogram& h, double q, percentile_rule rule, bool upper) {
  const double total = h.total();
  const double top =
      h.domain() == histogram_domain::magnitude ? h.observed_abs_max() : h.observed_max();
  const double bottom = h.domain() == histogram_domain::magnitude ? 0.0 : h.observed_min();
  if (q >= 1.0) return top;
  if (q <= 0.0) return bottom;
  double before = 0.0;
  std::size_t k = 0;
  for (; k < h.bins(); ++k) {
    const double after = before + h.counts()[k];
    if (after / total >= q) break;
    before = after;
  }
  if (k == h.bins()) return top;
  double value;
  if (rule == percentile_rule::bin_edge) {
    value = upper ? h.edge(k) : h.edge(k + 1);
  } else {
    const double inside = (q * total - before) / h.counts()[k];
    value = h.edge(k) + h.bin_width() * std::clamp(inside, 0.0, 1.0);
  }
  return std::clamp(value, bottom, top);
}

inline void check_percentile(const char* function, const percentile_options& p) {
  if (!(p.percentile > 0.0 && p.percentile <= 100.0)) {
    QUANTA_THROW(function, ": options.percentile is ", p.percentile,
                 "; expected a value in (0, 100]");
  }
}

inline encoding percentile_encoding_checked(const histogram& h, const encoding_options& o,
                                            const percentile_options& p) {
  const double q = p.percentile / 100.0;
  const double hi = histogram_quantile(h, q, p.rule, true);
  if (h.domain() == histogram_domain::magnitude) return histogram_range_encoding(h, 0.0, hi, o);
  // The lower end: the same rule read from the other side (a fraction 1 - q below it).
  const double lo = h.observed_min() >= 0.0f || q >= 1.0
                        ? static_cast<double>(h.observed_min())
                        : histogram_quantile(h, 1.0 - q, p.rule, false);
  return histogram_range_encoding(h, std::min(lo, hi), hi, o);
}

}  // namespace detail

// The encoding of the range between the (100 - p)th and pth percentiles of the histogram (value
// histograms), or of [-t, t] with t the pth percentile of |x| (magnitude histograms). p = 100
// gives the observed [min, max] exactly.
inline encoding percentile_encoding(const histogram& h, const encoding_options& options = {},
                                    const percentile_options& percentile = {}) {
  constexpr const char* function = "percentile_encoding";
  detail::check_options(function, options);
  detail::check_percentile(function, percentile);
  detail::check_histogram(function, h);
  return detail::percentile_encoding_checked(h, options, percentile);
}

inline std::vector<encoding> percentile_encodings(span<const histogram> histograms,
                                                  const encoding_options& options = {},
                                                  const percentile_options& percentile = {}) {
  constexpr const char* function = "percentile_encodings";
  detail::check_options(function, options);
  detail::check_percentile(function, percentile);
  return detail::per_histogram(function, histograms, 2, [&](const histogram& h) {
    return detail::percentile_encoding_checked(h, options, percentile);
  });
}

// The pth percentile of the histogram's values (of |x| for magnitude histograms), by `rule`.
inline double histogram_percentile(const histogram& h, double percentile,
                                   percentile_rule rule = percentile_rule::interpolate) {
  constexpr const char* function = "histogram_percentile";
  detail::check_percentile(function, percentile_options{percentile, rule});
  detail::check_histogram(function, h);
  return detail::histogram_quantile(h, percentile / 100.0, rule, true);
}

}  // namespace quanta
