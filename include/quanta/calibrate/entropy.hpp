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

// Range setting by the KL divergence between a histogram and its quantized form (TensorRT's
// entropy calibration). docs/calibration.md compares the variants.
namespace quanta {

enum class entropy_variant {
  // NVIDIA's published rule (`_compute_amax_entropy` in pytorch-quantization, which ships with
  // TensorRT, and in ModelOpt; the two are the same code): bin 0's count is replaced by bin 1's;
  // candidates i = start_bin .. bins (start_bin 128 by default on every grid); P = the first i bins
  // with the rest folded into bin i - 1; Q = the unfolded bins merged into `levels` groups and
  // spread back over the non-empty bins of each group; the last minimum wins. A candidate whose
  // kept bins are all empty scores +infinity, where NVIDIA's scipy divergence is NaN and
  // np.argmin picks it (docs/calibration.md says why quanta does not).
  tensorrt,
  modelopt = tensorrt,
  // MXNet / ONNX Runtime: groups of i / levels bins with the remainder in the last group, Q spread
  // over the bins where the folded P is non-zero, candidates to i = bins, first minimum. They
  // smooth P and Q with eps = 0.0001 (entropy_options::for_variant sets it).
  mxnet,
};

struct entropy_options {
  entropy_variant variant = entropy_variant::tensorrt;
  // MXNet's smoothing: zero entries become eps, non-zero entries lose eps * zeros / non_zeros.
  // 0: none, and a candidate whose Q is 0 where P is not scores +infinity.
  double smoothing = 0.0;
  // First candidate (bins kept), at most the bin count. 0: the variant's default, 128 for tensorrt
  // (at most the bin count) and the number of levels for mxnet.
  std::size_t start_bin = 0;

  static entropy_options for_variant(entropy_variant v) noexcept {
    return {v, v == entropy_variant::mxnet ? 1e-4 : 0.0, 0};
  }
};

namespace detail {

// Subtracts eps * zeros / non_zeros from the non-zero entries and sets zero entries to eps.
inline void smooth_distribution(std::vector<double>& d, double eps) {
  std::size_t zeros = 0;
  for (double v : d)
    zeros += v == 0.0 ? 1 : 0;
  const std::size_t non_zeros = d.size() - zeros;
  if (non_zeros == 0) return;
  const double eps1 = eps * static_cast<double>(zeros) / static_cast<double>(non_zeros);
  for (double& v : d)
    v = v == 0.0 ? eps : v - eps1;
}

// KL(P || Q) of unnormalized P and Q (scipy.stats.entropy): terms with P = 0 are 0, P > 0 with
// Q = 0 is +infinity.
inline double kl_divergence(const std::vector<double>& p, const std::vector<double>& q) {
  double sp = 0.0, sq = 0.0;
  for (std::size_t j = 0; j < p.size(); ++j) {
    sp += p[j];
    sq += q[j];
  }
  if (!(sp > 0.0) || !(sq > 0.0)) return std::numeric_limits<double>::infinity();
  double kl = 0.0;
  for (std::size_t j = 0; j < p.size(); ++j) {
    if (p[j] <= 0.0) continue;
    if (q[j] <= 0.0) return std::numeric_limits<double>::infinity();
    const double pj = p[j] / sp;
    kl += pj * std::log(pj / (q[j] / sq));
  }
  return kl;
}

// The group of bin j (0-based inside a window of `width` bins) when merging into `levels`.
inline std::size_t entropy_group(std::size_t j, std::size_t width, std::size_t levels,
                                 entropy_variant v) noexcept {
  if (v == entropy_variant::mxnet) return std::min(j / (width / levels), levels - 1);
  return j * levels / width;  // floor(j * levels / width): np.digitize on linspace(0, width)
}

// Q for the window counts `c` (unfolded) and the folded P: each group's sum spread evenly over its
// non-empty bins (non-empty in c, or in P for mxnet).
inline std::vector<double> expand_candidate(const double* c, const std::vector<double>& p,
                                            std::size_t levels, entropy_variant v) {
  const std::size_t width = p.size();
  std::vector<double> sums(levels, 0.0);
  std::vector<double> non_empty(levels, 0.0);
  for (std::size_t j = 0; j < width; ++j) {
    const std::size_t g = entropy_group(j, width, levels, v);
    sums[g] += c[j];
    const bool counts = v == entropy_variant::mxnet ? p[j] != 0.0 : c[j] != 0.0;
    non_empty[g] += counts ? 1.0 : 0.0;
  }
  std::vector<double> q(width, 0.0);
  for (std::size_t j = 0; j < width; ++j) {
    const std::size_t g = entropy_group(j, width, levels, v);
    const bool counts = v == entropy_variant::mxnet ? p[j] != 0.0 : c[j] != 0.0;
    if (counts && non_empty[g] > 0.0) q[j] = sums[g] / non_empty[g];
  }
  return q;
}

// The divergence of the window [b0, b1) of `c` (n bins) with everything outside folded into its
// end bins, evaluated directly in O(b1 - b0).
inline double window_divergence(const std::vector<double>& c, std::size_t b0, std::size_t b1,
                                std::size_t levels, const entropy_options& o) {
  std::vector<double> p(c.begin() + static_cast<std::ptrdiff_t>(b0),
                        c.begin() + static_cast<std::ptrdiff_t>(b1));
  double below = 0.0, above = 0.0;
  for (std::size_t j = 0; j < b0; ++j)
    below += c[j];
  for (std::size_t j = b1; j < c.size(); ++j)
    above += c[j];
  p.front() += below;
  p.back() += above;
  std::vector<double> q = expand_candidate(c.data() + b0, p, levels, o.variant);
  if (o.smoothing > 0.0) {
    smooth_distribution(p, o.smoothing);
    smooth_distribution(q, o.smoothing);
  }
  return kl_divergence(p, q);
}

// The same for windows [0, i), in O(levels) per candidate from prefix sums of c, c ln c and the
// count of non-empty bins (tensorrt and modelopt without smoothing). Algebraically equal to
// window_divergence; the sums are regrouped, so the last bits may differ.
class prefix_divergence {
 public:
  prefix_divergence(const std::vector<double>& c, std::size_t levels)
      : c_(c),
        levels_(levels),
        sum_(c.size() + 1, 0.0),
        clogc_(c.size() + 1, 0.0),
        non_empty_(c.size() + 1, 0.0) {
    for (std::size_t j = 0; j < c.size(); ++j) {
      sum_[j + 1] = sum_[j] + c[j];
      clogc_[j + 1] = clogc_[j] + (c[j] > 0.0 ? c[j] * std::log(c[j]) : 0.0);
      non_empty_[j + 1] = non_empty_[j] + (c[j] > 0.0 ? 1.0 : 0.0);
    }
  }

  double operator()(std::size_t i) const {
    const double total = sum_.back();
    const double last = c_[i - 1] + (total - sum_[i]);  // P[i - 1] with the outliers
    if (c_[i - 1] == 0.0 && last > 0.0) return std::numeric_limits<double>::infinity();
    const double sq = sum_[i];
    double p_log_p = clogc_[i - 1] + (last > 0.0 ? last * std::log(last) : 0.0);
    double p_log_q = 0.0;
    std::size_t start = 0;
    for (std::size_t g = 0; g < levels_; ++g) {
      // Bins j of group g: floor(j * levels / i) == g  <=>  ceil(g * i / levels) <= j.
      const std::size_t end = ((g + 1) * i + levels_ - 1) / levels_;
      const double group_sum = sum_[end] - sum_[start];
      const double group_bins = non_empty_[end] - non_empty_[start];
      if (group_sum > 0.0) {
        const double q = group_sum / group_bins;
        double p_sum = group_sum;  // sum of P over the group's bins
        if (end == i) p_sum += last - c_[i - 1];
        p_log_q += p_sum * std::log(q);
      }
      start = end;
    }
    return (p_log_p - p_log_q) / total - std::log(total) + std::log(sq);
  }

 private:
  const std::vector<double>& c_;
  std::size_t levels_;
  std::vector<double> sum_, clogc_, non_empty_;
};

inline bool better(double value, double best, entropy_variant v) noexcept {
  // NVIDIA's rule keeps the last minimum; MXNet's the first.
  return v == entropy_variant::tensorrt ? value <= best : value < best;
}

// NVIDIA's default first candidate, whatever the grid.
constexpr std::size_t nvidia_entropy_start_bin = 128;

// The number of levels KL merges into: the codes from zero to the top of the grid (128 for
// symmetric int8) for thresholds, all codes for two-sided windows.
inline std::size_t entropy_levels(const histogram& h, const encoding_options& o, bool two_sided) {
  // Only the grid's shape matters here, not its scale.
  const double top =
      h.domain() == histogram_domain::magnitude ? h.observed_abs_max() : h.observed_max();
  const encoding e = histogram_range_encoding(h, two_sided ? std::min(0.0f, h.observed_min()) : 0.0,
                                              top > 0.0 ? top : 1.0, o);
  const std::int64_t from = two_sided ? e.qmin() : e.zero_point;
  return static_cast<std::size_t>(std::max<std::int64_t>(1, e.qmax() - from + 1));
}

inline encoding entropy_encoding_checked(const char* function, const histogram& h,
                                         const encoding_options& o, const entropy_options& eo) {
  if (h.domain() == histogram_domain::value && o.kind != scheme::asymmetric) {
    QUANTA_THROW(function,
                 ": a value histogram with a symmetric scheme; expected a magnitude histogram "
                 "(symmetric thresholds) or scheme::asymmetric (two-sided windows)");
  }
  const bool two_sided = h.domain() == histogram_domain::value;
  const std::size_t levels = entropy_levels(h, o, two_sided);
  const entropy_variant v = eo.variant;
  if (v == entropy_variant::tensorrt && !two_sided) {
    if (eo.start_bin > h.bins()) {
      QUANTA_THROW(function, ": histogram has ", h.bins(), " bins and start_bin is ", eo.start_bin,
                   "; expected start_bin <= bins");
    }
  } else {
    // MXNet's groups have at least one bin each, and two-sided windows keep every level.
    const std::size_t start = eo.start_bin != 0 ? eo.start_bin : levels;
    if (start < levels || start >= h.bins()) {
      QUANTA_THROW(function, ": histogram has ", h.bins(), " bins and start_bin is ", start,
                   "; expected levels (", levels, ") <= start_bin < bins");
    }
  }
  std::vector<double> c(h.counts().begin(), h.counts().end());
  if (!two_sided) {
    const bool nvidia = v == entropy_variant::tensorrt;
    if (nvidia) c[0] = c[1];
    const std::size_t stop = h.bins();
    const std::size_t start = eo.start_bin != 0 ? eo.start_bin
                              : nvidia ? std::min(detail::nvidia_entropy_start_bin, h.bins())
                                       : levels;
    const bool fast = eo.smoothing == 0.0 && nvidia;
    const prefix_divergence prefix(c, levels);
    double best = std::numeric_limits<double>::infinity();
    std::size_t best_i = stop;
    for (std::size_t i = start; i <= stop; ++i) {
      const double d = fast ? prefix(i) : window_divergence(c, 0, i, levels, eo);
      if (better(d, best, v)) {
        best = d;
        best_i = i;
      }
    }
    const double t = std::min(h.edge(best_i), static_cast<double>(h.observed_abs_max()));
    return histogram_range_encoding(h, 0.0, t, o);
  }
  // Two-sided windows [b0, b1) of at least `levels` bins: the ends searched in turn from the full
  // histogram until neither moves.
  std::size_t b0 = 0, b1 = h.bins();
  double best = window_divergence(c, b0, b1, levels, eo);
  for (int round = 0; round < 64; ++round) {
    bool moved = false;
    for (std::size_t e = b0 + levels; e <= h.bins(); ++e) {
      const double d = window_divergence(c, b0, e, levels, eo);
      if (d < best) {
        best = d;
        b1 = e;
        moved = true;
      }
    }
    for (std::size_t s = 0; s + levels <= b1; ++s) {
      const double d = window_divergence(c, s, b1, levels, eo);
      if (d < best) {
        best = d;
        b0 = s;
        moved = true;
      }
    }
    if (!moved) break;
  }
  const double lo = std::max(h.edge(b0), static_cast<double>(h.observed_min()));
  const double hi = std::min(h.edge(b1), static_cast<double>(h.observed_max()));
  return histogram_range_encoding(h, std::min(lo, hi), hi, o);
}

inline void check_entropy(const char* function, const entropy_options& o) {
  if (!(o.smoothing >= 0.0 && o.smoothing < 1.0)) {
    QUANTA_THROW(function, ": options.smoothing is ", o.smoothing, "; expected 0 <= eps < 1");
  }
}

}  // namespace detail

// The encoding whose range minimizes the KL divergence between the histogram and its quantized
// form. Magnitude histograms give a threshold t for [-t, t] (TensorRT, ModelOpt); value histograms
// with scheme::asymmetric search both ends of a window of bins.
inline encoding entropy_encoding(const histogram& h, const encoding_options& options = {},
                                 const entropy_options& entropy = {}) {
  constexpr const char* function = "entropy_encoding";
  detail::check_options(function, options);
  detail::check_histogram(function, h);
  detail::check_entropy(function, entropy);
  return detail::entropy_encoding_checked(function, h, options, entropy);
}

inline std::vector<encoding> entropy_encodings(span<const histogram> histograms,
                                               const encoding_options& options = {},
                                               const entropy_options& entropy = {}) {
  constexpr const char* function = "entropy_encodings";
  detail::check_options(function, options);
  detail::check_entropy(function, entropy);
  return detail::per_histogram(function, histograms, 2, [&](const histogram& h) {
    return detail::entropy_encoding_checked(function, h, options, entropy);
  });
}

}  // namespace quanta
