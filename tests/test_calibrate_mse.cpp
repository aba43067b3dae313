#include <quanta/calibrate/mse.hpp>

#include <catch2/catch.hpp>

#include "data/calibrate_reference.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using quanta::encoding_options;
using quanta::histogram;
using quanta::histogram_domain;
using quanta::mse_options;
using quanta::mse_rule;
using quanta::scheme;

TEST_CASE("mse: ModelOpt's bin-centre rule on the reference histogram", "[calibrate][mse]") {
  mse_options m;
  m.rule = mse_rule::bin_centres;
  const auto e = quanta::mse_encoding(quanta_test::reference_magnitude_histogram(),
                                      quanta_test::int_narrow(4), m);
  CHECK(e.max() == 4.375f);
  CHECK(e.scale == 4.375f / 7.0f);
}

TEST_CASE("mse: the exact cost is the integral, checked by hand", "[calibrate][mse]") {
  // Uniform density on [0, 4) (4 bins of 1, count 1 each), grid step 1 from 0 to 2 (levels 0, 1,
  // 2): rounding noise 1/12 per unit on [0, 2.5) ... computed piece by piece below.
  const histogram h = histogram::from_counts(std::vector<double>{1, 1, 1, 1}, 0.0, 4.0);
  const quanta::encoding e{1.0f, 0, 2, false};  // codes 0..3: levels 0, 1, 2, 3
  // Rounding over [0, 3]: [0, 0.5] gives 0.5^3 / 3, each whole cell 1/12 (cells around 1 and 2),
  // [2.5, 3] 0.5^3 / 3; clipping over [3, 4]: 1/3.
  const double expected = (0.125 / 3.0 + 2.0 / 12.0 + 0.125 / 3.0 + 1.0 / 3.0) / 4.0;
  CHECK(quanta::expected_squared_error(h, e) == Approx(expected).epsilon(1e-12));

  // Many fine cells inside one bin take the bin-by-bin path: s^2 / 12 per unit of mass.
  const histogram one = histogram::from_counts(std::vector<double>{0, 5}, 0.0, 2.0);
  const quanta::encoding fine{1.0f / 64.0f, 0, 8, false};  // [0, 255/64] covers [1, 2]
  CHECK(quanta::expected_squared_error(one, fine) ==
        Approx(1.0 / (64.0 * 64.0 * 12.0)).epsilon(1e-9));
}

TEST_CASE("mse: the exact search is never worse than any grid candidate", "[calibrate][mse]") {
  std::mt19937 gen(9);
  std::student_t_distribution<float> dist(3.0f);
  std::vector<float> x(20000);
  for (auto& v : x)
    v = dist(gen) + 0.3f;
  for (auto domain : {histogram_domain::value, histogram_domain::magnitude}) {
    histogram h(256, domain);
    h.observe(x);
    for (int bits : {4, 8}) {
      for (scheme k : {scheme::asymmetric, scheme::symmetric}) {
        encoding_options o;
        o.bitwidth = bits;
        o.kind = k;
        const auto best = quanta::mse_encoding(h, o);
        const double best_cost = quanta::expected_squared_error(h, best);
        INFO("bits " << bits << " asymmetric " << (k == scheme::asymmetric) << " magnitude "
                     << (domain == histogram_domain::magnitude));
        // Every bin-edge threshold t, as [-t, t] clipped to the observed range, scores no better.
        const double low = std::min(0.0f, h.observed_min());
        const double high =
            domain == histogram_domain::magnitude ? h.observed_abs_max() : h.observed_max();
        for (std::size_t i = 1; i < h.bins(); ++i) {
          const double t = std::fabs(h.edge(i));
          const auto lo =
              static_cast<float>(domain == histogram_domain::magnitude ? -t : std::max(low, -t));
          const auto candidate =
              quanta::compute_encoding(lo, static_cast<float>(std::min(high, t)), o);
          CHECK(best_cost <= quanta::expected_squared_error(h, candidate) * (1.0 + 1e-12));
        }
        if (domain == histogram_domain::value) {
          CHECK(best_cost <=
                quanta::expected_squared_error(
                    h, quanta::compute_encoding(h.observed_min(), h.observed_max(), o)) *
                    (1.0 + 1e-12));
        }
      }
    }
  }
}

TEST_CASE("mse: per channel and errors", "[calibrate][mse]") {
  std::vector<histogram> hs(2, histogram(64));
  hs[0].observe(std::vector<float>{0, 1, 2, 3});
  hs[1].observe(std::vector<float>{-2, 0, 7});
  const auto e = quanta::mse_encodings(hs);
  REQUIRE(e.size() == 2);
  CHECK(e[0] == quanta::mse_encoding(hs[0]));
  mse_options m;
  m.rule = mse_rule::bin_centres;
  CHECK_THROWS_WITH(quanta::mse_encoding(hs[0], {}, m),
                    Catch::StartsWith("mse_encoding: options.rule is bin_centres on a value "
                                      "histogram; expected a magnitude histogram"));
  m.rule = mse_rule::exact;
  m.start_bin = 64;
  CHECK_THROWS_WITH(quanta::mse_encoding(hs[0], {}, m),
                    "mse_encoding: options.start_bin is 64; expected less than 64 (the "
                    "histogram's bins)");
  CHECK_THROWS_WITH(quanta::mse_encoding(histogram(8)),
                    Catch::StartsWith("mse_encoding: histogram is empty"));
}
