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
// entropy calibration, and MXNet's and ONNX Runtime's versions of it). docs/calibration.md
// compares the variants.
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
  // MXNet 1.5.1's `_get_optimal_threshold` (python/mxnet/contrib/quantization.py, commit
  // c9818480, the last numpy version), on the histogram MXNet builds (symmetric_entropy_histogram):
  // a value histogram of an odd number of bins (8001 by default) over [-t, t], t = max |x|.
  // Candidates are windows of 2k + 1 bins centred on the zero bin, k from
  // quantized_bins / 2 to bins / 2, the rest folded into the end bins (P). Q: the unfolded window
  // merged into quantized_bins groups of floor(width / quantized_bins) bins, the remainder in the
  // last group, each group's sum spread over the bins where P is non-zero (float32). P and Q are
  // smoothed (eps = 0.0001) and compared as scipy.stats.entropy does in float32; the first
  // minimum wins and the threshold th is the window's right edge (numpy's float32 edge): the
  // range is [-th, th], or [0, th] when nothing negative was observed.
  mxnet,
  // ONNX Runtime's HistogramCollector.get_entropy_threshold (onnxruntime/python/tools/
  // quantization/calibrate.py, commit b15ffcdd), on ORT's histogram (symmetric_entropy_histogram):
  // a value histogram of any bin count (128 by default) over [-t, t]. The same centred windows
  // (clipped to the histogram when the bin count is even), but Q is int64: each group's sum divided
  // by the count of non-zero P bins in it and truncated, written to every bin of the group
  // (also where P is 0), and the remainder bins (counted in the last group's sum) get no Q. The
  // range is the window's two edges, each clamped to the observed extremes.
  onnxruntime,
};

struct entropy_options {
  entropy_variant variant = entropy_variant::tensorrt;
  // MXNet's and ORT's smoothing: zero entries become eps, non-zero entries lose
  // eps * zeros / non_zeros (in float32 for mxnet and onnxruntime, as they do). 0: none, and a
  // candidate whose Q is 0 where P is not scores +infinity.
  double smoothing = 0.0;
  // tensorrt: first candidate (bins kept), at most the bin count; 0: 128 (at most the bin count).
  // mxnet and onnxruntime have no such parameter: it must be 0.
  std::size_t start_bin = 0;
  // mxnet and onnxruntime: the peer's num_quantized_bins, the groups Q is merged into (at least 2,
  // and quantized_bins / 2 <= bins / 2). 0: the peer's default. MXNet: 2^b - 1 (255 for 8 bits),
  // or 2^(b+1) - 1 (511) on an unsigned grid when nothing negative was observed, as MXNet doubles
  // it for uint8. ORT: 128 whatever the grid (its extra_options default). Unused by tensorrt.
  std::size_t quantized_bins = 0;

  // The options that make `v` its peer's code: smoothing 0.0001 for mxnet and onnxruntime.
  static entropy_options for_variant(entropy_variant v) noexcept {
    const bool smoothed = v == entropy_variant::mxnet || v == entropy_variant::onnxruntime;
    return {v, smoothed ? 1e-4 : 0.0, 0, 0};
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

// The group of bin j (0-based inside a window of `width` bins) when merging into `levels`:
// floor(j * levels / width), which is np.digitize on linspace(0, width) (NVIDIA's rule).
inline std::size_t entropy_group(std::size_t j, std::size_t width, std::size_t levels) noexcept {
  return j * levels / width;
}

// NVIDIA's Q for the window counts `c` (unfolded) and the folded P: each group's sum spread evenly
// over the group's bins that are non-empty in c.
inline std::vector<double> expand_candidate(const double* c, const std::vector<double>& p,
                                            std::size_t all_levels) {
  const std::size_t width = p.size();
  // More levels than bins leave every bin a group of its own, as `width` levels do: the same
  // partition, without vectors of 2^31 groups for a 32-bit grid.
  const std::size_t levels = std::min(all_levels, width);
  std::vector<double> sums(levels, 0.0);
  std::vector<double> non_empty(levels, 0.0);
  for (std::size_t j = 0; j < width; ++j) {
    const std::size_t g = entropy_group(j, width, levels);
    sums[g] += c[j];
    non_empty[g] += c[j] != 0.0 ? 1.0 : 0.0;
  }
  std::vector<double> q(width, 0.0);
  for (std::size_t j = 0; j < width; ++j) {
    const std::size_t g = entropy_group(j, width, levels);
    if (c[j] != 0.0 && non_empty[g] > 0.0) q[j] = sums[g] / non_empty[g];
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
  std::vector<double> q = expand_candidate(c.data() + b0, p, levels);
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
    // As in expand_candidate: more levels than bins give every bin its own group.
    const std::size_t levels = std::min(levels_, i);
    for (std::size_t g = 0; g < levels; ++g) {
      // Bins j of group g: floor(j * levels / i) == g  <=>  ceil(g * i / levels) <= j.
      const std::size_t end = ((g + 1) * i + levels - 1) / levels;
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

// ---- MXNet and ONNX Runtime: windows centred on the zero bin, float32 arithmetic ----------------
// Both peers compute their divergences in float32 with numpy and scipy, and the best candidates
// are often within a few float32 roundings of each other (1e-6 relative and less is common), so
// the functions below repeat the peers' float32 operations one by one, in their order: only
// additions, divisions and a double product rounded once, so no flag (-ffp-contract, -march)
// changes a result.

// numpy's np.sum of a contiguous float32 or float64 array: pairwise summation (eight running sums
// up to 128 values, halves at a multiple of 8 above) inside blocks of 8192 values, the blocks added
// in order (the reduction's buffer).
template <class T>
T numpy_pairwise_sum(const T* a, std::size_t n) noexcept {
  if (n < 8) {
    T sum = 0;
    for (std::size_t i = 0; i < n; ++i)
      sum += a[i];
    return sum;
  }
  if (n <= 128) {
    T r[8];
    for (std::size_t j = 0; j < 8; ++j)
      r[j] = a[j];
    std::size_t i = 8;
    for (; i < n - n % 8; i += 8) {
      for (std::size_t j = 0; j < 8; ++j)
        r[j] += a[i + j];
    }
    T sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i)
      sum += a[i];
    return sum;
  }
  std::size_t half = n / 2;
  half -= half % 8;
  return numpy_pairwise_sum(a, half) + numpy_pairwise_sum(a + half, n - half);
}

template <class T>
T numpy_sum(const std::vector<T>& a) noexcept {
  constexpr std::size_t block = 8192;
  T sum = 0;
  for (std::size_t b = 0; b < a.size(); b += block) {
    const T part = numpy_pairwise_sum(a.data() + b, std::min(block, a.size() - b));
    sum = b == 0 ? part : sum + part;
  }
  return sum;
}

// MXNet's `_smooth_distribution` and ORT's `smooth_distribution` on a float32 array: zero entries
// become float32(eps), the others have float32(-eps1) added, eps1 = eps * zeros / non_zeros in
// double. False (the peers raise or return -1) when every entry is 0.
inline bool smooth_float32(std::vector<float>& d, double eps) {
  std::size_t zeros = 0;
  for (float v : d)
    zeros += v == 0.0f ? 1 : 0;
  const std::size_t non_zeros = d.size() - zeros;
  if (non_zeros == 0) return false;
  const double eps1 = eps * static_cast<double>(zeros) / static_cast<double>(non_zeros);
  const float on_zero = static_cast<float>(eps);
  const float on_non_zero = static_cast<float>(-eps1);
  for (float& v : d)
    v = v == 0.0f ? on_zero : v + on_non_zero;
  return true;
}

// scipy.stats.entropy(p, q) of float32 arrays: each divided by its numpy sum in float32, each term
// scipy.special.rel_entr (x ln(x / y) in double, rounded to float32), the terms summed by numpy.
inline float scipy_entropy_float32(std::vector<float>& p, std::vector<float>& q) {
  const float sum_p = numpy_sum(p);
  const float sum_q = numpy_sum(q);
  std::vector<float> terms(p.size());
  for (std::size_t k = 0; k < p.size(); ++k) {
    const float x = p[k] / sum_p;
    const float y = q[k] / sum_q;
    const double xd = static_cast<double>(x);
    const double yd = static_cast<double>(y);
    if (std::isnan(x) || std::isnan(y)) {
      terms[k] = std::numeric_limits<float>::quiet_NaN();
    } else if (x > 0.0f && y > 0.0f) {
      terms[k] = static_cast<float>(xd * std::log(xd / yd));
    } else if (x == 0.0f && y >= 0.0f) {
      terms[k] = 0.0f;
    } else {
      terms[k] = std::numeric_limits<float>::infinity();
    }
  }
  return numpy_sum(terms);
}

// The divergence of the centred window [start, end) of `c`, as MXNet (mxnet = true) or ORT
// computes it. +infinity where Q is all zero (ORT's; MXNet's is NaN, see docs/calibration.md).
inline double centred_divergence(const std::vector<double>& c, std::size_t start, std::size_t end,
                                 std::size_t quantized_bins, double eps, bool mxnet) {
  const std::size_t width = end - start;
  std::vector<double> folded(c.begin() + static_cast<std::ptrdiff_t>(start),
                             c.begin() + static_cast<std::ptrdiff_t>(end));
  for (std::size_t j = 0; j < start; ++j)
    folded.front() += c[j];
  for (std::size_t j = end; j < c.size(); ++j)
    folded.back() += c[j];
  const std::size_t merged = width / quantized_bins;
  std::vector<float> q(width, 0.0f);
  for (std::size_t g = 0; g < quantized_bins; ++g) {
    const bool last = g + 1 == quantized_bins;
    const std::size_t g0 = g * merged;
    // MXNet's last group runs to the window's end; ORT's stops at a multiple of `merged`.
    const std::size_t g1 = last && mxnet ? width : g0 + merged;
    double group_sum = 0.0;  // of the unfolded counts, the remainder bins in the last group
    for (std::size_t k = g0; k < (last ? width : g0 + merged); ++k)
      group_sum += c[start + k];
    std::size_t non_zero = 0;
    for (std::size_t k = g0; k < g1; ++k)
      if (folded[k] != 0.0) ++non_zero;
    if (non_zero == 0) continue;
    const double share = group_sum / static_cast<double>(non_zero);
    for (std::size_t k = g0; k < g1; ++k) {
      if (mxnet) {
        q[k] = folded[k] != 0.0 ? static_cast<float>(share) : 0.0f;
      } else {
        q[k] = static_cast<float>(std::trunc(share));  // stored into ORT's int64 array
      }
    }
  }
  std::vector<float> p(width);
  for (std::size_t k = 0; k < width; ++k)
    p[k] = static_cast<float>(folded[k]);
  if (!smooth_float32(p, eps) || !smooth_float32(q, eps)) {
    return std::numeric_limits<double>::infinity();
  }
  return static_cast<double>(scipy_entropy_float32(p, q));
}

// A double product the compiler must round before the following addition (no FMA), as numpy does.
inline double rounded_product(double a, double b) noexcept {
  double v = a * b;
#if defined(__GNUC__) && defined(__x86_64__)
  __asm__("" : "+x"(v));
#elif defined(__GNUC__) && defined(__aarch64__)
  __asm__("" : "+w"(v));
#else
  volatile double stored = v;
  v = stored;
#endif
  return v;
}

// Edge k of a histogram over [lo, hi] as np.histogram makes it for float32 data:
// float32(k * step + lo), step = (hi - lo) / bins in double (histogram::bin_width()), the last
// edge float32(hi).
inline double numpy_edge(const histogram& h, std::size_t k) noexcept {
  if (k == h.bins()) return static_cast<double>(static_cast<float>(h.hi()));
  const double v = rounded_product(static_cast<double>(k), h.bin_width()) + h.lo();
  return static_cast<double>(static_cast<float>(v));
}

// The candidate MXNet or ORT picks: the window [start, end) of half-width k around the zero bin,
// and the range it gives.
struct centred_entropy_result {
  std::size_t k = 0;
  std::size_t start = 0, end = 0;
  double lo = 0.0, hi = 0.0;
};

inline std::size_t peer_quantized_bins(const histogram& h, const encoding_options& o,
                                       const entropy_options& eo) {
  if (eo.quantized_bins != 0) return eo.quantized_bins;
  if (eo.variant == entropy_variant::onnxruntime) return 128;
  const std::size_t codes = std::size_t{1} << o.bitwidth;
  const bool one_sided = !o.is_signed && h.observed_min() >= 0.0f;
  return one_sided ? 2 * codes - 1 : codes - 1;
}

inline centred_entropy_result centred_entropy_search(const char* function, const histogram& h,
                                                     const encoding_options& o,
                                                     const entropy_options& eo) {
  const bool mxnet = eo.variant == entropy_variant::mxnet;
  const char* peer = mxnet ? "mxnet" : "onnxruntime";
  const std::size_t n = h.bins();
  if (h.domain() != histogram_domain::value ||
      std::fabs(h.lo() + h.hi()) > 1e-9 * (h.hi() - h.lo())) {
    QUANTA_THROW(function, ": entropy_variant::", peer, " with a ",
                 h.domain() == histogram_domain::value ? "value" : "magnitude", " histogram over [",
                 h.lo(), ", ", h.hi(),
                 "]; expected a value histogram over [-t, t] (symmetric_entropy_histogram builds "
                 "the peer's)");
  }
  if (mxnet && n % 2 == 0) {
    QUANTA_THROW(function, ": entropy_variant::mxnet with ", n,
                 " bins; expected an odd bin count (MXNet's default is 8001)");
  }
  if (eo.start_bin != 0) {
    QUANTA_THROW(function, ": entropy_variant::", peer, " with start_bin ", eo.start_bin,
                 "; expected 0 (the candidates start at quantized_bins / 2)");
  }
  const std::size_t quantized_bins = peer_quantized_bins(h, o, eo);
  const std::size_t zero = n / 2;
  if (quantized_bins < 2 || quantized_bins / 2 > zero) {
    QUANTA_THROW(function, ": histogram has ", n, " bins and quantized_bins is ", quantized_bins,
                 "; expected 2 <= quantized_bins and quantized_bins / 2 <= bins / 2");
  }
  const std::vector<double> c(h.counts().begin(), h.counts().end());
  centred_entropy_result best;
  double best_divergence = std::numeric_limits<double>::infinity();
  for (std::size_t k = quantized_bins / 2; k <= zero; ++k) {
    const std::size_t start = zero - k;
    const std::size_t end = std::min(zero + k + 1, n);
    const double d = centred_divergence(c, start, end, quantized_bins, eo.smoothing, mxnet);
    // np.argmin: the first minimum; the first candidate when every one is infinite.
    if (k == quantized_bins / 2 || d < best_divergence) {
      best_divergence = d;
      best.k = k;
      best.start = start;
      best.end = end;
    }
  }
  // The peers' thresholds are their float32 edges (the histogram's own are in double).
  if (mxnet) {
    // MXNet's threshold th gives (0, th) when nothing negative was observed, else (-th, th).
    best.hi = numpy_edge(h, best.end);
    best.lo = h.observed_min() >= 0.0f ? 0.0 : -best.hi;
  } else {
    best.lo = std::max(numpy_edge(h, best.start), static_cast<double>(h.observed_min()));
    best.hi = std::min(numpy_edge(h, best.end), static_cast<double>(h.observed_max()));
  }
  return best;
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
  if (eo.variant == entropy_variant::mxnet || eo.variant == entropy_variant::onnxruntime) {
    const centred_entropy_result r = centred_entropy_search(function, h, o, eo);
    return histogram_range_encoding(h, std::min(r.lo, r.hi), r.hi, o);
  }
  if (h.domain() == histogram_domain::value && o.kind != scheme::asymmetric) {
    QUANTA_THROW(function,
                 ": a value histogram with a symmetric scheme; expected a magnitude histogram "
                 "(symmetric thresholds) or scheme::asymmetric (two-sided windows)");
  }
  const bool two_sided = h.domain() == histogram_domain::value;
  const std::size_t levels = entropy_levels(h, o, two_sided);
  if (!two_sided) {
    if (eo.start_bin > h.bins()) {
      QUANTA_THROW(function, ": histogram has ", h.bins(), " bins and start_bin is ", eo.start_bin,
                   "; expected start_bin <= bins");
    }
  } else {
    // Two-sided windows keep every level.
    const std::size_t start = eo.start_bin != 0 ? eo.start_bin : levels;
    if (start < levels || start >= h.bins()) {
      QUANTA_THROW(function, ": histogram has ", h.bins(), " bins and start_bin is ", start,
                   "; expected levels (", levels, ") <= start_bin < bins");
    }
  }
  std::vector<double> c(h.counts().begin(), h.counts().end());
  if (!two_sided) {
    c[0] = c[1];
    const std::size_t stop = h.bins();
    const std::size_t start =
        eo.start_bin != 0 ? eo.start_bin : std::min(detail::nvidia_entropy_start_bin, h.bins());
    const bool fast = eo.smoothing == 0.0;
    const prefix_divergence prefix(c, levels);
    double best = std::numeric_limits<double>::infinity();
    std::size_t best_i = stop;
    for (std::size_t i = start; i <= stop; ++i) {
      const double d = fast ? prefix(i) : window_divergence(c, 0, i, levels, eo);
      if (d <= best) {  // NVIDIA keeps the last minimum
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

// The histogram MXNet and ONNX Runtime calibrate entropy on, from one batch x: np.histogram(x,
// bins, range=(-t, t)) with t = max |x| ([-0.5, 0.5] when t = 0, as numpy widens an empty range),
// float32 edges float32(k * 2t / bins - t), a value counted in bin k when edge k <= x < edge k+1
// (the last bin closed), so that every count is the peer's. observed_min/max are x's extremes.
// bins: 8001 is MXNet's default (odd), 128 ORT's. The peers merge later batches by widening the
// range by whole bins on both sides; quanta does not repeat that: calibrate on one batch (or on
// the concatenated batches) to match them.
inline histogram symmetric_entropy_histogram(span<const float> x, std::size_t bins) {
  constexpr const char* function = "symmetric_entropy_histogram";
  if (x.empty()) QUANTA_THROW(function, ": x is empty; expected at least one value");
  if (bins < 2 || bins > (std::size_t{1} << 24)) {
    QUANTA_THROW(function, ": bins is ", bins, "; expected 2..", std::size_t{1} << 24);
  }
  float t = 0.0f, lowest = x[0], highest = x[0];
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i])) {
      QUANTA_THROW(function, ": x[", i, "] is ", x[i], "; expected a finite value");
    }
    t = std::max(t, std::fabs(x[i]));
    lowest = std::min(lowest, x[i]);
    highest = std::max(highest, x[i]);
  }
  const double lo = t > 0.0f ? -static_cast<double>(t) : -0.5;
  const double hi = t > 0.0f ? static_cast<double>(t) : 0.5;
  std::vector<double> counts(bins, 0.0);
  // The edges numpy compares with, through a histogram of the same range and bin width.
  const histogram shape = histogram::from_counts(counts, lo, hi);
  std::vector<float> edges(bins + 1);
  for (std::size_t k = 0; k <= bins; ++k)
    edges[k] = static_cast<float>(detail::numpy_edge(shape, k));
  const double n = static_cast<double>(bins);
  for (float v : x) {
    // A first guess from the bin width, then the edges decide (numpy does the same).
    const double guess = std::clamp((static_cast<double>(v) - lo) / (hi - lo) * n, 0.0, n - 1.0);
    auto k = static_cast<std::size_t>(guess);
    while (k > 0 && v < edges[k])
      --k;
    while (k + 1 < bins && v >= edges[k + 1])
      ++k;
    counts[k] += 1.0;
  }
  return histogram::from_counts(counts, lo, hi, histogram_domain::value, lowest, highest);
}

// The encoding whose range minimizes the KL divergence between the histogram and its quantized
// form. tensorrt: magnitude histograms give a threshold t for [-t, t] (TensorRT, ModelOpt); value
// histograms with scheme::asymmetric search both ends of a window of bins. mxnet and onnxruntime:
// the peer's search on the peer's value histogram over [-t, t] (symmetric_entropy_histogram).
inline encoding entropy_encoding(const histogram& h, const encoding_options& options = {},
                                 const entropy_options& entropy = {}) {
  constexpr const char* function = "entropy_encoding";
  detail::check_options(function, options);
  detail::check_histogram(function, h);
  detail::check_entropy(function, entropy);
  return detail::calibrated(function, h,
                            detail::entropy_encoding_checked(function, h, options, entropy));
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
