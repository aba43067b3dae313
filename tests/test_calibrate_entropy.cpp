#include <quanta/calibrate/entropy.hpp>

#include <catch2/catch.hpp>

#include "data/calibrate_reference.hpp"
#include "data/nvidia_entropy_vectors.hpp"

#include <cmath>
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
  const auto q = quanta::detail::expand_candidate(p.data(), p, 2, entropy_variant::tensorrt);
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
  const auto mxnet = quanta::entropy_encoding(h, quanta_test::int_narrow(8),
                                              entropy_options::for_variant(entropy_variant::mxnet));
  CHECK(mxnet.max() > 0.5f * fast.max());
  CHECK(mxnet.max() < 2.0f * fast.max());
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
  // MXNet's groups need at least one bin per level.
  CHECK_THROWS_WITH(quanta::entropy_encoding(small, quanta_test::int_narrow(8),
                                             entropy_options::for_variant(entropy_variant::mxnet)),
                    "entropy_encoding: histogram has 100 bins and start_bin is 128; expected "
                    "levels (128) <= start_bin < bins");
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
