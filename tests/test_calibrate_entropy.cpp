#include <quanta/calibrate/entropy.hpp>

#include <catch2/catch.hpp>

#include "data/calibrate_reference.hpp"
#include "data/entropy_peer_vectors.hpp"
#include "data/nvidia_entropy_vectors.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

using quanta::encoding_options;
using quanta::entropy_options;
using quanta::entropy_variant;
using quanta::histogram;
using quanta::histogram_domain;
using quanta::scheme;

TEST_CASE("entropy: merge into levels and expand over non-empty bins", "[calibrate][entropy]") {
  const std::vector<double> p = {1, 0, 2, 3, 5, 3, 1, 7};
  const auto q = quanta::detail::expand_candidate(p.data(), p, 2);
  CHECK(q == std::vector<double>{2, 0, 2, 2, 4, 4, 4, 4});
}

TEST_CASE("entropy: the reference histogram gives amax 4.0 (NVIDIA's rule from bin 8)",
          "[calibrate][entropy]") {
  const histogram h = quanta_test::reference_magnitude_histogram();
  entropy_options nvidia = entropy_options::for_variant(entropy_variant::tensorrt);
  nvidia.start_bin = 8;
  CHECK(quanta::entropy_encoding(h, quanta_test::int_narrow(4), nvidia).max() == 4.0f);
  // NVIDIA's default start bin is 128: on 32 bins the only candidate is the whole range.
  CHECK(quanta::entropy_encoding(h, quanta_test::int_narrow(4)).max() == 8.0f);
}

namespace {

// The grid NVIDIA's calibrator quantizes to: 2^(b-1) levels from zero (signed, narrow range) or 2^b
// (unsigned over [0, t]).
encoding_options nvidia_grid(const nvidia_entropy_vectors::entropy_case& c) {
  if (!c.is_unsigned) return quanta_test::int_narrow(c.num_bits);
  encoding_options o;
  o.bitwidth = c.num_bits;
  o.is_signed = false;
  o.kind = scheme::asymmetric;
  return o;
}

histogram nvidia_histogram(const nvidia_entropy_vectors::entropy_case& c) {
  return histogram::from_counts(c.counts, 0.0, c.hi, histogram_domain::magnitude);
}

// The encoding quanta derives from threshold edge `bin`.
quanta::encoding at_bin(const histogram& h, std::size_t bin, const encoding_options& o) {
  return quanta::detail::histogram_range_encoding(
      h, 0.0, std::min(h.edge(bin), static_cast<double>(h.observed_abs_max())), o);
}

}  // namespace

TEST_CASE("entropy: tensorrt picks the bin NVIDIA's own code picks",
          "[calibrate][entropy][nvidia]") {
  // tests/data/generate_nvidia_entropy_vectors.py ran pytorch-quantization's and ModelOpt's
  // _compute_amax_entropy on these histograms: ReLU outputs on unsigned grids (start bin below the
  // 256 levels), 4-, 8- and 16-bit grids, start bins 16 to 300, sparse and uniform data.
  for (const auto& c : nvidia_entropy_vectors::cases()) {
    if (c.nan_candidates) continue;
    CAPTURE(c.name);
    const histogram h = nvidia_histogram(c);
    const encoding_options o = nvidia_grid(c);
    entropy_options nvidia;
    nvidia.start_bin = c.start_bin;
    CHECK(quanta::entropy_encoding(h, o, nvidia) == at_bin(h, c.threshold_bin, o));
    if (c.start_bin == 128) CHECK(quanta::entropy_encoding(h, o) == at_bin(h, c.threshold_bin, o));
    CHECK(quanta::entropy_encoding(h, o, entropy_options::for_variant(entropy_variant::modelopt)) ==
          quanta::entropy_encoding(h, o));
  }
}

namespace {

using entropy_peer_vectors::peer;

histogram peer_histogram(const entropy_peer_vectors::entropy_case& c) {
  return histogram::from_counts(c.counts, c.lo, c.hi, histogram_domain::value,
                                static_cast<float>(c.data_min), static_cast<float>(c.data_max));
}

entropy_variant variant_of(const entropy_peer_vectors::entropy_case& c) {
  return c.who == peer::mxnet ? entropy_variant::mxnet : entropy_variant::onnxruntime;
}

// The grid each peer's default num_quantized_bins stands for: MXNet's 255 is int8, its 511 uint8
// over [0, t]; ORT's 128 does not depend on the grid.
encoding_options peer_grid(const entropy_peer_vectors::entropy_case& c) {
  if (c.quantized_bins != 511) return quanta_test::int_narrow(8);
  encoding_options o;
  o.is_signed = false;
  o.kind = scheme::asymmetric;
  return o;
}

}  // namespace

TEST_CASE("entropy: mxnet and onnxruntime pick the window their own code picks",
          "[calibrate][entropy][mxnet][onnxruntime]") {
  // tests/data/generate_entropy_peer_vectors.py ran MXNet 1.5.1's _get_optimal_threshold and ONNX
  // Runtime's HistogramCollector on these data: symmetric, ReLU-like, long-tailed and skewed data,
  // sparse histograms, 255 to 8001 bins (even and odd), 127 to 511 quantized bins, and two ORT
  // batches that widen the histogram. The runner-up is often within 1e-6 of the minimum, so the
  // exact bin holds only because quanta repeats the peers' float32 arithmetic.
  std::size_t mxnet = 0, onnxruntime = 0;
  for (const auto& c : entropy_peer_vectors::cases()) {
    CAPTURE(c.name);
    REQUIRE_FALSE(c.nan_candidate);
    (c.who == peer::mxnet ? mxnet : onnxruntime) += 1;
    const histogram h = peer_histogram(c);
    const encoding_options o = peer_grid(c);
    entropy_options eo = entropy_options::for_variant(variant_of(c));
    eo.quantized_bins = c.quantized_bins;
    const auto r = quanta::detail::centred_entropy_search("test", h, o, eo);
    CHECK(r.k == c.quantized_bins / 2 + c.chosen);
    // The peers' thresholds are float32 edges of their histograms; quanta computes the same.
    CHECK(r.hi == c.threshold_hi);
    CHECK(r.lo == c.threshold_lo);
    // entropy_encoding makes that range an encoding, with each peer's default num_quantized_bins
    // (MXNet's from the grid, ORT's 128) where the case used it.
    const bool peer_default = c.who == peer::mxnet
                                  ? c.quantized_bins == 255 || c.quantized_bins == 511
                                  : c.quantized_bins == 128;
    const entropy_options defaults = entropy_options::for_variant(variant_of(c));
    CHECK(quanta::entropy_encoding(h, o, peer_default ? defaults : eo) ==
          quanta::detail::histogram_range_encoding(h, std::min(r.lo, r.hi), r.hi, o));
  }
  CHECK(mxnet >= 8);
  CHECK(onnxruntime >= 8);
}

TEST_CASE("entropy: mxnet and onnxruntime differ where their Q rules differ",
          "[calibrate][entropy][mxnet][onnxruntime]") {
  // The same histogram through both rules: ORT's truncated Q, spread over empty bins and missing
  // in the remainder bins, moves the window on most of MXNet's cases (by 1% to 34% of the
  // threshold; one skewed case keeps it).
  std::size_t differ = 0, compared = 0;
  for (const auto& c : entropy_peer_vectors::cases()) {
    if (c.who != peer::mxnet || c.counts.size() == c.quantized_bins || c.counts.size() > 2001) {
      continue;
    }
    const histogram h = peer_histogram(c);
    entropy_options mx = entropy_options::for_variant(entropy_variant::mxnet);
    entropy_options ort = entropy_options::for_variant(entropy_variant::onnxruntime);
    mx.quantized_bins = ort.quantized_bins = c.quantized_bins;
    const auto a = quanta::detail::centred_entropy_search("test", h, peer_grid(c), mx);
    const auto b = quanta::detail::centred_entropy_search("test", h, peer_grid(c), ort);
    ++compared;
    differ += a.k != b.k ? 1 : 0;
  }
  CHECK(compared >= 5);
  CHECK(2 * differ > compared);
}

TEST_CASE("entropy: symmetric_entropy_histogram counts what np.histogram counts",
          "[calibrate][entropy][mxnet][onnxruntime]") {
  // The data holds values on numpy's float32 edges and one float below them, for each bin count.
  const std::vector<float>& x = entropy_peer_vectors::histogram_data();
  for (const auto& c : entropy_peer_vectors::histogram_cases()) {
    CAPTURE(c.bins);
    const histogram h = quanta::symmetric_entropy_histogram(x, c.bins);
    CHECK(std::vector<double>(h.counts().begin(), h.counts().end()) == c.counts);
    CHECK(h.lo() == -static_cast<double>(h.observed_abs_max()));
    CHECK(h.observed_min() == *std::min_element(x.begin(), x.end()));
    CHECK(h.observed_max() == *std::max_element(x.begin(), x.end()));
  }
  // All zeros: numpy widens the empty range to [-0.5, 0.5].
  const histogram zeros = quanta::symmetric_entropy_histogram(std::vector<float>(4, 0.0f), 5);
  CHECK(zeros.lo() == -0.5);
  CHECK(zeros.counts()[2] == 4.0);
  CHECK_THROWS_WITH(quanta::symmetric_entropy_histogram(std::vector<float>{}, 5),
                    "symmetric_entropy_histogram: x is empty; expected at least one value");
  CHECK_THROWS_WITH(quanta::symmetric_entropy_histogram(
                        std::vector<float>{1.0f, std::numeric_limits<float>::quiet_NaN()}, 5),
                    "symmetric_entropy_histogram: x[1] is nan; expected a finite value");
  CHECK_THROWS_WITH(quanta::symmetric_entropy_histogram(std::vector<float>{1.0f}, 1),
                    "symmetric_entropy_histogram: bins is 1; expected 2..16777216");
  // End to end: ORT's defaults on this data (128 bins, 128 quantized bins: one candidate, the
  // whole range clamped to the data).
  const histogram h = quanta::symmetric_entropy_histogram(x, 128);
  const auto e = quanta::entropy_encoding(
      h, quanta_test::int_narrow(8), entropy_options::for_variant(entropy_variant::onnxruntime));
  CHECK(e ==
        quanta::compute_encoding(h.observed_min(), h.observed_max(), quanta_test::int_narrow(8)));
}

TEST_CASE("entropy: numpy's float32 sum and the peers' smoothing", "[calibrate][entropy]") {
  // 2^24 + 1 + 1 added in order loses both ones (each sum is a tie, rounded to even); numpy's
  // eight running sums add (v0 + v1) + (v2 + v3), so 1 + 1 = 2 survives.
  std::vector<float> v(9, 0.0f);
  v[0] = 16777216.0f;
  v[2] = 1.0f;
  v[3] = 1.0f;
  CHECK(quanta::detail::numpy_sum(v) == 16777218.0f);
  // Past 128 values the halves are summed apart (at a multiple of 8), past 8192 the blocks in
  // order: 8192 ones and then 2^24 - 8192 make 2^24 exactly, whatever the grouping inside.
  std::vector<float> ones(8193, 1.0f);
  ones[8192] = 16777216.0f - 8192.0f;
  CHECK(quanta::detail::numpy_sum(ones) == 16777216.0f);
  std::vector<float> d = {0.0f, 3.0f, 0.0f, 1.0f};
  REQUIRE(quanta::detail::smooth_float32(d, 1e-4));
  CHECK(d[0] == 1e-4f);
  CHECK(d[1] == 3.0f + static_cast<float>(-1e-4));
  CHECK(d[3] == 1.0f + static_cast<float>(-1e-4));
  std::vector<float> zeros(3, 0.0f);
  CHECK_FALSE(quanta::detail::smooth_float32(zeros, 1e-4));
}

TEST_CASE("entropy: a candidate with nothing in its kept bins never wins (NVIDIA picks its NaN)",
          "[calibrate][entropy][nvidia]") {
  // Every value lies above 0.6 of the maximum. For the first candidates the kept bins are empty, Q
  // sums to 0, scipy's divergence is 0/0 = NaN and np.argmin returns that position: NVIDIA's amax
  // is the lower edge of the first non-empty bin, which saturates every value. quanta scores such
  // a candidate +infinity, as it scores any P > 0 where Q = 0, and picks the best finite one.
  std::size_t cases = 0;
  for (const auto& c : nvidia_entropy_vectors::cases()) {
    if (!c.nan_candidates) continue;
    ++cases;
    CAPTURE(c.name);
    const histogram h = nvidia_histogram(c);
    const encoding_options o = nvidia_grid(c);
    std::size_t first_non_empty = 1;
    while (h.counts()[first_non_empty] == 0.0)
      ++first_non_empty;
    CHECK(c.threshold_bin == first_non_empty);  // NVIDIA's choice, from its own output
    const quanta::encoding e = quanta::entropy_encoding(h, o);
    CHECK(e.max() > at_bin(h, c.threshold_bin, o).max());
    // The same as searching only the candidates that keep a count.
    entropy_options finite;
    finite.start_bin = first_non_empty + 1;
    CHECK(e == quanta::entropy_encoding(h, o, finite));
  }
  CHECK(cases == 1);
}

TEST_CASE("entropy: the O(levels) prefix form equals the direct divergence",
          "[calibrate][entropy]") {
  std::mt19937 gen(2);
  std::exponential_distribution<float> dist(1.0f);
  std::vector<float> x(50000);
  for (auto& v : x)
    v = dist(gen);
  histogram h(512, histogram_domain::magnitude);
  h.observe(x);
  std::vector<double> c(h.counts().begin(), h.counts().end());
  const quanta::detail::prefix_divergence prefix(c, 128);
  for (std::size_t i = 128; i < 512; i += 7) {
    const double direct = quanta::detail::window_divergence(c, 0, i, 128, entropy_options{});
    if (std::isinf(direct)) {
      CHECK(std::isinf(prefix(i)));
    } else {
      CHECK(prefix(i) == Approx(direct).epsilon(1e-9).margin(1e-12));
    }
  }
  // Smoothing (MXNet's eps) takes the direct path; the threshold stays near the fast one.
  const auto fast = quanta::entropy_encoding(h, quanta_test::int_narrow(8));
  entropy_options smoothed;
  smoothed.smoothing = 1e-4;
  const auto slow = quanta::entropy_encoding(h, quanta_test::int_narrow(8), smoothed);
  CHECK(slow.max() > 0.5f * fast.max());
  CHECK(slow.max() < 2.0f * fast.max());
}

TEST_CASE("entropy: more levels than bins give every bin its own group, at any bitwidth",
          "[calibrate][entropy]") {
  // A 32-bit grid has 2^31 levels: merging into them is the partition of 300 bins into
  // singletons, as 16 bits' 32768 levels are; it must neither allocate nor loop over 2^31 groups.
  std::mt19937 gen(5);
  std::exponential_distribution<float> dist(1.0f);
  std::vector<float> x(20000);
  for (auto& v : x)
    v = dist(gen);
  histogram h(300, histogram_domain::magnitude);
  h.observe(x);
  std::vector<double> c(h.counts().begin(), h.counts().end());
  const quanta::detail::prefix_divergence wide(c, std::size_t{1} << 31), singles(c, 300);
  for (std::size_t i = 128; i <= 300; i += 17) {
    CHECK(wide(i) == singles(i));
    CHECK(quanta::detail::window_divergence(c, 0, i, std::size_t{1} << 31, entropy_options{}) ==
          quanta::detail::window_divergence(c, 0, i, i, entropy_options{}));
  }
  // The qnn rules: PyTorch's would floor a 32-bit scale at FLT_EPSILON.
  encoding_options o16;
  o16.bitwidth = 16;
  o16.kind = scheme::symmetric;
  o16.is_signed = true;
  encoding_options o32 = o16;
  o32.bitwidth = 32;
  const quanta::encoding e16 = quanta::entropy_encoding(h, o16);
  const quanta::encoding e32 = quanta::entropy_encoding(h, o32);
  CHECK(e32.max() == Approx(e16.max()).epsilon(1e-6));  // the same threshold
}

TEST_CASE("entropy: asymmetric windows over a value histogram", "[calibrate][entropy]") {
  std::mt19937 gen(4);
  std::normal_distribution<float> dist(3.0f, 1.0f);
  std::vector<float> x(20000);
  for (auto& v : x)
    v = dist(gen);
  x[0] = -20.0f;  // one far outlier below
  histogram h(256);
  h.observe(x);
  encoding_options o;
  o.bitwidth = 4;
  const auto e = quanta::entropy_encoding(h, o);
  CHECK(e.min() > -20.0f);  // the outlier is clipped
  CHECK(e.max() > 4.0f);
}

TEST_CASE("entropy: per channel and errors", "[calibrate][entropy]") {
  std::vector<histogram> hs(2, histogram(2048, histogram_domain::magnitude));
  hs[0].observe(std::vector<float>{0.5f, 1.0f, -2.0f});
  hs[1].observe(std::vector<float>{3.0f});
  const auto e = quanta::entropy_encodings(hs, quanta_test::int_narrow(8));
  CHECK(e.size() == 2);
  CHECK_THROWS_WITH(quanta::entropy_encoding(histogram(100, histogram_domain::magnitude)),
                    Catch::StartsWith("entropy_encoding: histogram is empty"));
  histogram small(100, histogram_domain::magnitude);
  small.observe(std::vector<float>{1.0f});
  entropy_options too_far;
  too_far.start_bin = 101;
  CHECK_THROWS_WITH(quanta::entropy_encoding(small, quanta_test::int_narrow(8), too_far),
                    "entropy_encoding: histogram has 100 bins and start_bin is 101; expected "
                    "start_bin <= bins");
  // MXNet and ORT need the histogram they build: values over [-t, t]; MXNet's has odd bins.
  CHECK_THROWS_WITH(quanta::entropy_encoding(small, quanta_test::int_narrow(8),
                                             entropy_options::for_variant(entropy_variant::mxnet)),
                    "entropy_encoding: entropy_variant::mxnet with a magnitude histogram over [0, "
                    "1]; expected a value histogram over [-t, t] (symmetric_entropy_histogram "
                    "builds the peer's)");
  const std::vector<double> counts(300, 1.0);
  const histogram even = histogram::from_counts(counts, -1.0, 1.0);
  CHECK_THROWS_WITH(quanta::entropy_encoding(even, quanta_test::int_narrow(8),
                                             entropy_options::for_variant(entropy_variant::mxnet)),
                    "entropy_encoding: entropy_variant::mxnet with 300 bins; expected an odd bin "
                    "count (MXNet's default is 8001)");
  CHECK_THROWS_WITH(
      quanta::entropy_encoding(histogram::from_counts(counts, -1.0, 2.0),
                               quanta_test::int_narrow(8),
                               entropy_options::for_variant(entropy_variant::onnxruntime)),
      Catch::StartsWith("entropy_encoding: entropy_variant::onnxruntime with a value histogram "
                        "over [-1, 2]; expected a value histogram over [-t, t]"));
  entropy_options wide = entropy_options::for_variant(entropy_variant::onnxruntime);
  wide.quantized_bins = 302;
  CHECK_THROWS_WITH(quanta::entropy_encoding(even, quanta_test::int_narrow(8), wide),
                    "entropy_encoding: histogram has 300 bins and quantized_bins is 302; expected "
                    "2 <= quantized_bins and quantized_bins / 2 <= bins / 2");
  wide.quantized_bins = 300;  // one candidate, the whole histogram
  CHECK(quanta::entropy_encoding(even, quanta_test::int_narrow(8), wide).max() == 1.0f);
  entropy_options started = entropy_options::for_variant(entropy_variant::onnxruntime);
  started.start_bin = 130;
  CHECK_THROWS_WITH(quanta::entropy_encoding(even, quanta_test::int_narrow(8), started),
                    "entropy_encoding: entropy_variant::onnxruntime with start_bin 130; expected 0 "
                    "(the candidates start at quantized_bins / 2)");
  // NVIDIA's default on fewer than 128 bins: the whole range is the only candidate.
  CHECK(quanta::entropy_encoding(small, quanta_test::int_narrow(8)).max() == 1.0f);
  histogram value(256);
  value.observe(std::vector<float>{1.0f});
  CHECK_THROWS_WITH(
      quanta::entropy_encoding(value, quanta_test::int_narrow(4)),
      Catch::StartsWith("entropy_encoding: a value histogram with a symmetric scheme"));
  entropy_options bad;
  bad.smoothing = -1.0;
  CHECK_THROWS_WITH(quanta::entropy_encoding(hs[0], quanta_test::int_narrow(8), bad),
                    Catch::StartsWith("entropy_encoding: options.smoothing is -1"));
}
