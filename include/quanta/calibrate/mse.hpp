// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "quanta/calibrate/histogram.hpp"
#include "quanta/detail/affine.hpp"
#include "quanta/encoding.hpp"
#include "quanta/error.hpp"
#include "quanta/ref/quantize.hpp"
#include "quanta/span.hpp"

// Range setting by the expected squared error of the quantizer over a histogram.
namespace quanta {

enum class mse_rule {
  // The expected squared error of the encoding's own grid, integrated exactly over the histogram
  // with a uniform density inside each bin: rounding noise inside the grid plus clipping outside.
  exact,
  // NVIDIA ModelOpt: each bin's count sits at its centre; candidates are the centres from
  // start_bin on; needs a magnitude histogram.
  bin_centres,
};

struct mse_options {
  mse_rule rule = mse_rule::exact;
  // First candidate bin. 0: 1 for mse_rule::exact, 2^(bitwidth-1) for bin_centres (ModelOpt).
  std::size_t start_bin = 0;
};

namespace detail {

// The levels a + k * s, k = 0..steps, of a quantizer, in real units.
struct level_grid {
  double a = 0.0;
  double s = 1.0;
  double steps = 0.0;
  double top() const noexcept { return a + s * steps; }
};

// The grid an encoding quantizes a histogram's values with: all of it for a value histogram, the
// codes from the zero point up for a magnitude histogram.
inline level_grid grid_of(const encoding& e, histogram_domain domain) noexcept {
  const double s = e.scale;
  const double first = domain == histogram_domain::magnitude ? e.zero_point : e.qmin();
  return {s * (first - e.zero_point), s, e.qmax() - first};
}

// Integral over a fixed-width unit interval of (t - round(t))^2 from 0 to t (t >= 0), exactly:
// each whole level cell contributes 1/12.
inline double rounding_integral_fraction(double f) noexcept {
  if (f <= 0.5) return f * f * f / 3.0;
  const double g = f - 1.0;
  return 1.0 / 24.0 + (g * g * g + 0.125) / 3.0;
}

// Squared-error integrals of a histogram read as a piecewise-constant density (count / width over
// each bin). Prefix sums of the bins' zeroth, first and second moments make any whole-bin stretch
// O(1); the bins at the ends of a stretch are integrated in closed form.
class histogram_cost {
 public:
  explicit histogram_cost(const histogram& h)
      : lo_(h.lo()), w_(h.bin_width()), n_(h.bins()), counts_(h.counts().data()) {
    s0_.assign(n_ + 1, 0.0);
    s1_.assign(n_ + 1, 0.0);
    s2_.assign(n_ + 1, 0.0);
    for (std::size_t j = 0; j < n_; ++j) {
      const double c = counts_[j];
      const double m = (static_cast<double>(j) + 0.5) * w_;  // centre, relative to lo
      s0_[j + 1] = s0_[j] + c;
      s1_[j + 1] = s1_[j] + c * m;
      s2_[j + 1] = s2_[j] + c * (m * m + w_ * w_ / 12.0);
    }
  }

  // Sum over the histogram's mass of gamma * (clipping error)^2 + (rounding error)^2 for the
  // quantizer with levels g: values below g.a go to g.a, above g.top() to g.top(), and the rest
  // to the nearest level. gamma = 1 is the plain squared error (times the total count).
  double operator()(const level_grid& g, double gamma = 1.0) const {
    const double a = g.a - lo_;
    const double b = g.top() - lo_;
    const double end = w_ * static_cast<double>(n_);
    double clip = 0.0;
    if (a > 0.0) clip += to_point(0.0, std::min(a, end), a);
    if (b < end) clip += to_point(std::max(b, 0.0), end, b);
    const double y0 = std::max(a, 0.0);
    const double y1 = std::min(b, end);
    double inside = 0.0;
    if (y1 > y0 && g.steps > 0.0) {
      const double first_cell = std::clamp(std::floor((y0 - a) / g.s + 0.5), 0.0, g.steps);
      const double last_cell = std::clamp(std::floor((y1 - a) / g.s + 0.5), 0.0, g.steps);
      const double cells = last_cell - first_cell + 1.0;
      const double bins_inside = (y1 - y0) / w_ + 1.0;
      if (cells <= bins_inside) {
        for (double k = first_cell; k <= last_cell; k += 1.0) {
          const double level = a + k * g.s;
          const double u = std::max(y0, level - 0.5 * g.s);
          const double v = std::min(y1, level + 0.5 * g.s);
          if (v > u) inside += to_point(u, v, level);
        }
      } else {
        inside = by_bins(y0, y1, a, g.s);
      }
    } else if (y1 > y0) {
      inside = to_point(y0, y1, a);  // a single level
    }
    return gamma * clip + inside;
  }

 private:
  // The integral of density * (y - p)^2 over [u, v] (relative coordinates, inside the histogram).
  double to_point(double u, double v, double p) const {
    if (!(v > u)) return 0.0;
    const std::size_t ju = bin_of(u);
    const std::size_t jv = bin_of(v);
    if (ju == jv) return piece(ju, u, v, p);
    double sum = piece(ju, u, w_ * static_cast<double>(ju + 1), p);
    sum += piece(jv, w_ * static_cast<double>(jv), v, p);
    if (jv > ju + 1) {
      const double m0 = s0_[jv] - s0_[ju + 1];
      const double m1 = s1_[jv] - s1_[ju + 1];
      const double m2 = s2_[jv] - s2_[ju + 1];
      sum += std::max(0.0, m2 - 2.0 * p * m1 + p * p * m0);
    }
    return sum;
  }

  // Rounding noise over [y0, y1] for levels a + k * s, bin by bin (when cells outnumber bins).
  double by_bins(double y0, double y1, double a, double s) const {
    const std::size_t j0 = bin_of(y0);
    const std::size_t j1 = bin_of(y1);
    double sum = 0.0;
    for (std::size_t j = j0; j <= j1 && j < n_; ++j) {
      if (counts_[j] == 0.0) continue;
      const double u = std::max(y0, w_ * static_cast<double>(j));
      const double v = std::min(y1, w_ * static_cast<double>(j + 1));
      if (!(v > u)) continue;
      const double tu = (u - a) / s;
      const double tv = (v - a) / s;
      const double ku = std::floor(tu);
      const double kv = std::floor(tv);
      const double cells = (kv - ku) / 12.0 + rounding_integral_fraction(tv - kv) -
                           rounding_integral_fraction(tu - ku);
      sum += counts_[j] / w_ * s * s * s * cells;
    }
    return sum;
  }

  double piece(std::size_t j, double u, double v, double p) const {
    if (!(v > u) || counts_[j] == 0.0) return 0.0;
    const double du = u - p;
    const double dv = v - p;
    return counts_[j] / w_ * (dv * dv * dv - du * du * du) / 3.0;
  }

  std::size_t bin_of(double y) const {
    const double j = std::floor(y / w_);
    if (!(j > 0.0)) return 0;
    return std::min(static_cast<std::size_t>(j), n_ - 1);
  }

  double lo_;
  double w_;
  std::size_t n_;
  const double* counts_;
  std::vector<double> s0_, s1_, s2_;
};

// Ranges worth trying below and above zero: the bin edges strictly inside the observed extent,
// then the observed extreme itself.
inline std::vector<double> upper_candidates(const histogram& h, std::size_t start_bin,
                                            double floor_value) {
  std::vector<double> t;
  const double top =
      h.domain() == histogram_domain::magnitude ? h.observed_abs_max() : h.observed_max();
  for (std::size_t k = std::max<std::size_t>(start_bin, 1); k <= h.bins(); ++k) {
    const double e = h.edge(k);
    if (e > floor_value && e < top) t.push_back(e);
  }
  t.push_back(top);
  return t;
}

inline std::vector<double> lower_candidates(const histogram& h, double ceiling_value) {
  std::vector<double> t;
  const double bottom = h.observed_min();
  t.push_back(bottom);
  for (std::size_t k = 1; k < h.bins(); ++k) {
    const double e = h.edge(k);
    if (e > bottom && e < ceiling_value) t.push_back(e);
  }
  return t;
}

// No candidate yet: no encoding (scale 0) and an infinite cost. Candidates whose encoding has no
// usable scale, or whose cost is not finite, never replace it.
struct scored_range {
  double lo = 0.0, hi = 0.0;
  encoding e = no_encoding();
  double cost = std::numeric_limits<double>::infinity();
};

// The cost of a candidate, +inf for one whose encoding cannot be used (so that it never wins).
template <class Cost>
double candidate_cost(const encoding& e, Cost& cost) {
  return usable_scale(e) ? cost(e) : std::numeric_limits<double>::infinity();
}

// The best of the candidate ranges [lo, hi] (hi varying when `vary_hi`): the first strict minimum.
template <class Cost>
scored_range best_range(const histogram& h, const encoding_options& o, const std::vector<double>& t,
                        double fixed, bool vary_hi, Cost cost) {
  scored_range best;
  for (double c : t) {
    const double lo = vary_hi ? fixed : c;
    const double hi = vary_hi ? c : fixed;
    const encoding e = histogram_range_encoding(h, lo, hi, o);
    const double value = candidate_cost(e, cost);
    if (value < best.cost) best = {lo, hi, e, value};
  }
  return best;
}

// Minimizes `cost` over ranges from the histogram: one threshold for magnitude histograms and
// symmetric schemes; for asymmetric value histograms, alternating searches of the lower and upper
// end from the best threshold until neither moves (each step can only lower the cost).
template <class Cost>
encoding minimize_range(const histogram& h, const encoding_options& o, std::size_t start_bin,
                        Cost cost) {
  const bool symmetric = o.kind != scheme::asymmetric;
  if (h.domain() == histogram_domain::magnitude) {
    return best_range(h, o, upper_candidates(h, start_bin, 0.0), 0.0, true, cost).e;
  }
  const double low = std::min(0.0, static_cast<double>(h.observed_min()));
  const double high = std::max(0.0, static_cast<double>(h.observed_max()));
  // Thresholds t for [-t, t] (or [0, t] without negatives), every |edge| a candidate.
  const double top = std::max(-low, high);
  std::vector<double> thresholds;
  for (std::size_t k = 1; k < h.bins(); ++k) {
    const double e = std::fabs(h.edge(k));
    if (e > 0.0 && e < top) thresholds.push_back(e);
  }
  thresholds.push_back(top);
  std::sort(thresholds.begin(), thresholds.end());
  scored_range current;
  for (double c : thresholds) {
    const double lo = std::max(low, -c);
    const double hi = std::min(high, c);
    const encoding e = histogram_range_encoding(h, lo, hi, o);
    const double value = candidate_cost(e, cost);
    if (value < current.cost) current = {lo, hi, e, value};
  }
  if (symmetric) return current.e;
  // Asymmetric: from the best threshold (or the observed [min, max] if better), the lower and
  // upper ends in turn until neither moves.
  const encoding observed = histogram_range_encoding(h, low, high, o);
  const double observed_cost = candidate_cost(observed, cost);
  if (observed_cost < current.cost) current = {low, high, observed, observed_cost};
  for (int round = 0; round < 64; ++round) {
    bool moved = false;
    if (low < 0.0) {
      const scored_range r = best_range(h, o, lower_candidates(h, 0.0), current.hi, false, cost);
      if (r.cost < current.cost) {
        current = r;
        moved = true;
      }
    }
    if (high > 0.0) {
      const scored_range r = best_range(h, o, upper_candidates(h, 1, 0.0), current.lo, true, cost);
      if (r.cost < current.cost) {
        current = r;
        moved = true;
      }
    }
    if (!moved) break;
  }
  return current.e;
}

// ModelOpt's score: sum of count * (fake_quant(centre) - centre)^2 over all bins.
inline double centres_cost(const histogram& h, const encoding& e) {
  const affine_params p = make_affine_params(e, quantize_options{});
  double sum = 0.0;
  for (std::size_t j = 0; j < h.bins(); ++j) {
    const double c = h.counts()[j];
    if (c == 0.0) continue;
    const float centre = saturate_to_float(h.lo() + (static_cast<double>(j) + 0.5) * h.bin_width());
    const float y = ref::dequantize_code(ref::quantize_code(centre, p), p);
    const double d = static_cast<double>(y) - static_cast<double>(centre);
    sum += c * d * d;
  }
  return sum;
}

inline encoding mse_encoding_checked(const char* function, const histogram& h,
                                     const encoding_options& o, const mse_options& m) {
  if (m.rule == mse_rule::bin_centres) {
    if (h.domain() != histogram_domain::magnitude) {
      QUANTA_THROW(function,
                   ": options.rule is bin_centres on a value histogram; expected a magnitude "
                   "histogram (ModelOpt's rule)");
    }
    const std::size_t start =
        m.start_bin != 0 ? m.start_bin : std::size_t{1} << (std::min(o.bitwidth, 31) - 1);
    if (start >= h.bins()) {
      QUANTA_THROW(function, ": histogram has ", h.bins(), " bins; expected more than start_bin ",
                   start);
    }
    // Candidates are the bin centres from start_bin on; ties keep the first (smallest).
    scored_range best;
    for (std::size_t j = start; j < h.bins(); ++j) {
      const double t = h.lo() + (static_cast<double>(j) + 0.5) * h.bin_width();
      const encoding e = histogram_range_encoding(h, 0.0, t, o);
      const double value =
          usable_scale(e) ? centres_cost(h, e) : std::numeric_limits<double>::infinity();
      if (value < best.cost) best = {0.0, t, e, value};
    }
    return best.e;
  }
  if (m.start_bin >= h.bins()) {
    QUANTA_THROW(function, ": options.start_bin is ", m.start_bin, "; expected less than ",
                 h.bins(), " (the histogram's bins)");
  }
  const histogram_cost cost(h);
  return minimize_range(h, o, m.start_bin,
                        [&](const encoding& e) { return cost(grid_of(e, h.domain())); });
}

}  // namespace detail

// The encoding whose quantizer has the least expected squared error over the histogram's
// distribution. Exact rule: every bin edge inside the observed range is a candidate threshold
// (lower and upper ends searched in turn for asymmetric value histograms); each candidate's
// encoding comes from compute_encoding's profile rules and is scored on its own grid.
inline encoding mse_encoding(const histogram& h, const encoding_options& options = {},
                             const mse_options& mse = {}) {
  constexpr const char* function = "mse_encoding";
  detail::check_options(function, options);
  detail::check_histogram(function, h);
  return detail::calibrated(function, h, detail::mse_encoding_checked(function, h, options, mse));
}

// One encoding per channel histogram.
inline std::vector<encoding> mse_encodings(span<const histogram> histograms,
                                           const encoding_options& options = {},
                                           const mse_options& mse = {}) {
  constexpr const char* function = "mse_encodings";
  detail::check_options(function, options);
  return detail::per_histogram(function, histograms, 2, [&](const histogram& h) {
    return detail::mse_encoding_checked(function, h, options, mse);
  });
}

// The expected squared error per value (the histogram's mean) of quantizing its distribution with
// `e`: the exact rule's score divided by the total count.
inline double expected_squared_error(const histogram& h, const encoding& e) {
  constexpr const char* function = "expected_squared_error";
  detail::check_histogram(function, h);
  detail::check_encoding(function, e);
  return detail::histogram_cost(h)(detail::grid_of(e, h.domain())) / h.total();
}

}  // namespace quanta
