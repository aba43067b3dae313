#include <quanta/calibrate/percentile.hpp>
#include <quanta/reduce.hpp>

#include <catch2/catch.hpp>

#include "data/calibrate_reference.hpp"

#include <random>
#include <vector>

using quanta::histogram;
using quanta::histogram_domain;
using quanta::percentile_options;
using quanta::percentile_rule;

TEST_CASE("percentile: ModelOpt's left-edge rule on the reference histogram",
          "[calibrate][percentile]") {
  const histogram h = quanta_test::reference_magnitude_histogram();
  CHECK(quanta::histogram_percentile(h, 99.0, percentile_rule::bin_edge) == 3.75);
  CHECK(quanta::histogram_percentile(h, 99.9, percentile_rule::bin_edge) == 6.5);
  CHECK(quanta::histogram_percentile(h, 99.99, percentile_rule::bin_edge) == 7.75);
  // Interpolated: 99% of 1669 = 1652.31 lies 0.31 / 5 into bin 15 (cumulative 1648 before it).
  CHECK(quanta::histogram_percentile(h, 99.0) == Approx(3.75 + 0.25 * (1652.31 - 1648.0) / 5.0));

  quanta::encoding_options o;
  o.bitwidth = 4;
  o.kind = quanta::scheme::symmetric_strict;
  o.is_signed = true;
  percentile_options p{99.9, percentile_rule::bin_edge};
  CHECK(quanta::percentile_encoding(h, o, p) == quanta::compute_encoding(0.0f, 6.5f, o));
}

TEST_CASE("percentile: 100 gives the observed min/max exactly", "[calibrate][percentile]") {
  std::mt19937 gen(5);
  std::normal_distribution<float> dist(0.5f, 2.0f);
  std::vector<float> x(5000);
  for (auto& v : x)
    v = dist(gen);
  for (auto domain : {histogram_domain::value, histogram_domain::magnitude}) {
    histogram h(512, domain);
    h.observe(x);
    const auto e = quanta::percentile_encoding(h, {}, percentile_options{100.0});
    if (domain == histogram_domain::value) {
      CHECK(e == quanta::compute_encoding(x));
    } else {
      CHECK(e == quanta::compute_encoding(-h.observed_abs_max(), h.observed_abs_max()));
    }
  }
}

TEST_CASE("percentile: two-sided value histograms", "[calibrate][percentile]") {
  // 10 bins of width 1 on [0, 10], 10 values each except the ends.
  std::vector<double> counts(10, 10.0);
  counts[0] = 1.0;
  counts[9] = 1.0;
  const histogram h = histogram::from_counts(counts, -5.0, 5.0);
  // total 82; 95% -> 77.9: bins 0..8 hold 81 >= 77.9, crossing in bin 8 (71 before): 0.69 in.
  const double hi = quanta::histogram_percentile(h, 95.0);
  CHECK(hi == Approx(3.0 + (77.9 - 71.0) / 10.0));
  quanta::encoding_options o;
  o.rules = quanta::profile::pytorch;
  const auto e = quanta::percentile_encoding(h, o, percentile_options{95.0});
  // The lower end mirrors: 5% of 82 = 4.1 lies in bin 1 (1 before it): 0.31 in.
  CHECK(e == quanta::compute_encoding(static_cast<float>(-4.0 + (4.1 - 1.0) / 10.0),
                                      static_cast<float>(hi), o));
}

TEST_CASE("percentile: per channel and errors", "[calibrate][percentile]") {
  std::vector<histogram> hs(2, histogram(16));
  hs[0].observe(std::vector<float>{1, 2, 3});
  hs[1].observe(std::vector<float>{-1, 5});
  const auto e = quanta::percentile_encodings(hs, {}, percentile_options{100.0});
  CHECK(e[1] == quanta::compute_encoding(-1.0f, 5.0f));
  CHECK_THROWS_WITH(quanta::percentile_encoding(hs[0], {}, percentile_options{0.0}),
                    Catch::StartsWith("percentile_encoding: options.percentile is 0; expected"));
  CHECK_THROWS_WITH(quanta::percentile_encoding(hs[0], {}, percentile_options{100.5}),
                    Catch::Contains("expected a value in (0, 100]"));
  CHECK_THROWS_WITH(quanta::percentile_encoding(histogram(16)),
                    "percentile_encoding: histogram is empty; expected at least one observed "
                    "value");
  hs.emplace_back(16);
  CHECK_THROWS_WITH(quanta::percentile_encodings(hs),
                    "percentile_encodings: histograms[2] is empty; expected at least one observed "
                    "value");
}
