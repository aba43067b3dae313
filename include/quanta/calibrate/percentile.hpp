// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
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

// The crossing bin, for both rules, is the first whose cumulative count cum reaches p% of the
// total: cum >= p / 100 * total, so at a tie (cum exactly p% of the total) it is the tie bin. That
// is NVIDIA ModelOpt's and ONNX Runtime's searchsorted(cdf, p / 100) (side 'left': the first i with
// cdf[i] >= p / 100), decided exactly here, for every p and in every build. Their cdf sums rounded
// hist / total and meets a rounded p / 100, so at or near a tie they may land one bin off; so did
// quanta's old test cum / total >= p / 100 in double (at 99.9 for the upper end, where 99.9 / 100
// rounds up; at 99, 99.99 and 99.999 for the lower end).
// - p is read as the decimal with the fewest places that converts back to the double given,
//   M / 10^k with k <= 17: 99.9 is 999 / 10, not the double's 99.900000000000005684...
// - When every count is a whole number and the total is at most 2^53 (a histogram filled by
//   observe() alone, below 2^53 values), the upper end's test is 100 * 10^k * cum >= M * total, the
//   lower end's (a fraction 1 - p / 100 below it) 100 * 10^k * cum >= (100 * 10^k - M) * total, in
//   exact integer arithmetic. interpolate's position inside the crossing bin is then the exact
//   ratio (M * total - 100 * 10^k * before) / (100 * 10^k * count), rounded: 1 at a tie.
// - Otherwise (fractional counts from from_counts or from a merge that split bins, a larger total,
//   or a p below 0.1 that needs more than 17 places) the test is cum / total >= p / 100 in double
//   and the position (p / 100 * total - before) / count, the product unrounded (std::fma).
// No flag (-ffp-contract, -march) changes the crossing, nor the value inside the bin given its
// edge: edge + width * position, rounded once (std::fma).

namespace detail {

// An unsigned integer below 2^128 as two 64-bit halves (MSVC has no unsigned __int128). The
// exact crossing test multiplies numbers below 2^64 and 2^54, and compares or subtracts the
// products.
struct uint128 {
  std::uint64_t high = 0;
  std::uint64_t low = 0;
};

inline bool operator<(uint128 a, uint128 b) noexcept {
  return a.high != b.high ? a.high < b.high : a.low < b.low;
}

inline uint128 full_product(std::uint64_t a, std::uint64_t b) noexcept {
  constexpr std::uint64_t half_mask = 0xffffffffu;
  const std::uint64_t low_low = (a & half_mask) * (b & half_mask);
  const std::uint64_t high_low = (a >> 32) * (b & half_mask);
  const std::uint64_t low_high = (a & half_mask) * (b >> 32);
  const std::uint64_t high_high = (a >> 32) * (b >> 32);
  // At most 3 * (2^32 - 1) + (2^32 - 1)^2 < 2^64: no carry is lost.
  const std::uint64_t middle = (low_low >> 32) + (high_low & half_mask) + low_high;
  return {high_high + (high_low >> 32) + (middle >> 32), (middle << 32) | (low_low & half_mask)};
}

// a - b for a >= b.
inline uint128 difference(uint128 a, uint128 b) noexcept {
  return {a.high - b.high - (a.low < b.low ? 1u : 0u), a.low - b.low};
}

// floor(v / 2^n).
inline uint128 shifted_right(uint128 v, unsigned n) noexcept {
  if (n >= 128) return {};
  if (n >= 64) return {0, v.high >> (n - 64)};
  if (n == 0) return v;
  return {v.high >> n, (v.low >> n) | (v.high << (64 - n))};
}

// v * 2^n, or false when that is 2^128 or more.
inline bool shifted_left(uint128 v, unsigned n, uint128& out) noexcept {
  unsigned bits = 0;
  for (std::uint64_t rest = v.high != 0 ? v.high : v.low; rest != 0; rest >>= 1)
    ++bits;
  if (v.high != 0) bits += 64;
  if (bits == 0) {
    out = {};
    return true;
  }
  if (bits + static_cast<std::uint64_t>(n) > 128) return false;
  if (n >= 64) {
    out = {v.low << (n - 64), 0};
  } else if (n == 0) {
    out = v;
  } else {
    out = {(v.high << n) | (v.low >> (64 - n)), v.low << n};
  }
  return true;
}

// Within a few units in the last place for v below 2^117 (high below 2^53: the scaling by 2^64 is
// exact), and the same in every build: no product is left to fuse.
inline double to_double(uint128 v) noexcept {
  return std::ldexp(static_cast<double>(v.high), 64) + static_cast<double>(v.low);
}

// A percentile as the decimal digits / scale, scale = 10^places; scale is 0 when there is none.
struct decimal_percentile {
  std::uint64_t digits = 0;
  std::uint64_t scale = 0;
};

// The decimal with the fewest places (k <= 17, so that 100 * 10^k < 2^64) that converts back to p,
// the nearer one if two of k places do, found in integer arithmetic: what the user wrote as p.
// Every p in [0.1, 100] has one (17 significant digits always read back).
inline decimal_percentile shortest_decimal(double p) noexcept {
  if (!(p >= std::numeric_limits<double>::min() && p <= 100.0)) return {};
  int exponent = 0;
  const double fraction = std::frexp(p, &exponent);
  // p = mantissa / 2^shift exactly, 2^52 <= mantissa < 2^53; shift >= 46 as p <= 100.
  const auto mantissa = static_cast<std::uint64_t>(std::ldexp(fraction, 53));
  const auto shift = static_cast<unsigned>(53 - exponent);
  // A decimal converts to p when it lies strictly between the midpoints to p's neighbours,
  // (4 mantissa - 2 or, below a power of two, - 1) / 2^(shift + 2) and (4 mantissa + 2) /
  // 2^(shift + 2). It is never on one: their reduced denominators are 2^(shift + 1) or more,
  // a decimal's hold at most 2^17.
  const std::uint64_t lower_midpoint =
      4 * mantissa - (mantissa == (std::uint64_t{1} << 52) ? 1 : 2);
  const std::uint64_t upper_midpoint = 4 * mantissa + 2;
  const auto converts_to_p = [&](std::uint64_t digits, std::uint64_t scale) {
    uint128 scaled_digits;  // digits / scale * 2^(shift + 2) * scale
    if (!shifted_left(uint128{0, digits}, shift + 2, scaled_digits)) return false;
    return full_product(lower_midpoint, scale) < scaled_digits &&
           scaled_digits < full_product(upper_midpoint, scale);
  };
  std::uint64_t scale = 1;
  for (int places = 0; places <= 17; ++places, scale *= 10) {
    const uint128 scaled = full_product(mantissa, scale);  // p * 10^places * 2^shift
    const uint128 floor_value = shifted_right(scaled, shift);
    if (floor_value.high != 0) break;
    const std::uint64_t below = floor_value.low;
    const bool nearer_above = (shifted_right(scaled, shift - 1).low & 1) != 0;
    const std::uint64_t first = nearer_above ? below + 1 : below;
    const std::uint64_t second = nearer_above ? below : below + 1;
    for (std::uint64_t digits : {first, second}) {
      if (digits != 0 && digits <= 100 * scale && converts_to_p(digits, scale)) {
        return {digits, scale};
      }
    }
  }
  return {};
}

// The fraction of the histogram's mass a percentile's value has below it: numerator / denominator
// exactly (denominator 0 when the percentile has no short decimal), and `rounded` in double.
struct mass_fraction {
  double rounded = 0.0;
  std::uint64_t numerator = 0;
  std::uint64_t denominator = 0;
};

inline mass_fraction upper_fraction(double percentile) noexcept {
  const decimal_percentile decimal = shortest_decimal(percentile);
  return {percentile / 100.0, decimal.digits, 100 * decimal.scale};
}

inline mass_fraction lower_fraction(double percentile) noexcept {
  const mass_fraction upper = upper_fraction(percentile);
  return {1.0 - upper.rounded, upper.denominator - upper.numerator, upper.denominator};
}

// The histogram's total as a whole number when every count is one and the total is at most 2^53
// (so every partial sum is exact in double too), else 0.
inline std::uint64_t whole_total(span<const double> counts) noexcept {
  constexpr double limit = 9007199254740992.0;  // 2^53
  double total = 0.0;
  for (double c : counts) {
    if (c != std::floor(c)) return 0;
    total += c;
    if (total > limit) return 0;
  }
  return static_cast<std::uint64_t>(total);
}

// The bin where the cumulative count reaches the fraction (counts.size() if none does) and the
// share of that bin's count below the crossing.
struct crossing {
  std::size_t bin = 0;
  double inside = 0.0;
};

inline crossing exact_crossing(span<const double> counts, std::uint64_t total,
                               const mass_fraction& f) noexcept {
  const uint128 target = full_product(f.numerator, total);  // times the denominator, like cum
  std::uint64_t before = 0;
  for (std::size_t k = 0; k < counts.size(); ++k) {
    const auto count = static_cast<std::uint64_t>(counts[k]);
    if (!(full_product(before + count, f.denominator) < target)) {
      // before * denominator < target <= (before + count) * denominator: count > 0.
      const uint128 below = difference(target, full_product(before, f.denominator));
      return {k, to_double(below) / to_double(full_product(count, f.denominator))};
    }
    before += count;
  }
  return {counts.size(), 0.0};
}

inline crossing rounded_crossing(span<const double> counts, double total, double q) noexcept {
  double before = 0.0;
  for (std::size_t k = 0; k < counts.size(); ++k) {
    const double after = before + counts[k];
    if (after / total >= q) return {k, std::fma(q, total, -before) / counts[k]};
    before = after;
  }
  return {counts.size(), 0.0};
}

// The value below which the fraction f of the histogram's mass lies, by the crossing rule above
// (the upper-tail reading; `upper` false takes the crossing bin's right edge). Clamped to the
// observed extent, so f = 1 gives the observed maximum exactly.
inline double histogram_quantile(const histogram& h, const mass_fraction& f, percentile_rule rule,
                                 bool upper) {
  const double top =
      h.domain() == histogram_domain::magnitude ? h.observed_abs_max() : h.observed_max();
  const double bottom = h.domain() == histogram_domain::magnitude ? 0.0 : h.observed_min();
  const std::uint64_t total = f.denominator != 0 ? whole_total(h.counts()) : 0;
  const bool exact = total != 0;
  if (exact ? f.numerator >= f.denominator : f.rounded >= 1.0) return top;
  if (exact ? f.numerator == 0 : f.rounded <= 0.0) return bottom;
  const crossing c = exact ? exact_crossing(h.counts(), total, f)
                           : rounded_crossing(h.counts(), h.total(), f.rounded);
  if (c.bin == h.bins()) return top;
  double value;
  if (rule == percentile_rule::bin_edge) {
    value = upper ? h.edge(c.bin) : h.edge(c.bin + 1);
  } else {
    value = std::fma(h.bin_width(), std::clamp(c.inside, 0.0, 1.0), h.edge(c.bin));
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
  const double hi = histogram_quantile(h, upper_fraction(p.percentile), p.rule, true);
  if (h.domain() == histogram_domain::magnitude) return histogram_range_encoding(h, 0.0, hi, o);
  // The lower end: the same rule read from the other side (a fraction 1 - p / 100 below it).
  const double lo = h.observed_min() >= 0.0f || p.percentile >= 100.0
                        ? static_cast<double>(h.observed_min())
                        : histogram_quantile(h, lower_fraction(p.percentile), p.rule, false);
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
  return detail::calibrated(function, h,
                            detail::percentile_encoding_checked(h, options, percentile));
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
  return detail::histogram_quantile(h, detail::upper_fraction(percentile), rule, true);
}

}  // namespace quanta
