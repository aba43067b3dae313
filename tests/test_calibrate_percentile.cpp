#include <quanta/calibrate/percentile.hpp>
#include <quanta/reduce.hpp>

#include <catch2/catch.hpp>

#include "data/calibrate_reference.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>
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

namespace {

// 8 bins of width 1 on [-4, 4] (bin k is [k - 4, k - 3]): `low` in bin 1, the bulk split between
// bins 3 and 5, `high` in bin 7. Empty bins after the crossing ones move both rules' results by a
// whole bin when the tie bin is skipped.
histogram tie_histogram(double low, double bulk, double high) {
  std::vector<double> counts(8, 0.0);
  counts[1] = low;
  counts[3] = std::floor(bulk / 2.0);
  counts[5] = bulk - counts[3];
  counts[7] = high;
  return histogram::from_counts(counts, -4.0, 4.0);
}

quanta::encoding two_sided(const histogram& h, double p, percentile_rule rule) {
  return quanta::percentile_encoding(h, {}, percentile_options{p, rule});
}

quanta::encoding range(double lo, double hi) {
  return quanta::compute_encoding(static_cast<float>(lo), static_cast<float>(hi));
}

}  // namespace

TEST_CASE("percentile: an exact tie takes the tie bin at 99, 99.9, 99.99 and 99.999",
          "[calibrate][percentile]") {
  // p% of the total is total - 1 and (100 - p)% is 1. A double test skips the tie bin of the upper
  // end at 99.9 (99.9 / 100 rounds up) and of the lower end at the other three.
  const std::pair<double, double> cases[] = {
      {99.0, 100.0}, {99.9, 1000.0}, {99.99, 10000.0}, {99.999, 100000.0}};
  for (const auto& [p, total] : cases) {
    INFO("percentile " << p << ", total " << total);
    const auto edge = percentile_rule::bin_edge;
    const auto interpolate = percentile_rule::interpolate;

    // The tie: bins 0..1 hold 1 (the lower target) and bins 0..5 total - 1 (the upper one).
    const histogram tie = tie_histogram(1.0, total - 2.0, 1.0);
    CHECK(quanta::histogram_percentile(tie, p, edge) == 1.0);         // bin 5's left edge
    CHECK(quanta::histogram_percentile(tie, p, interpolate) == 2.0);  // all of bin 5
    CHECK(two_sided(tie, p, edge) == range(-2.0, 1.0));               // bin 1's right edge
    CHECK(two_sided(tie, p, interpolate) == range(-2.0, 2.0));

    // One count short of the target at both ends: the crossings move to bins 7 and 3.
    const histogram short_of = tie_histogram(0.0, total - 2.0, 2.0);
    const double bin_3_share = 1.0 / (total / 2.0 - 1.0);
    CHECK(quanta::histogram_percentile(short_of, p, edge) == 3.0);
    CHECK(quanta::histogram_percentile(short_of, p, interpolate) == 3.5);
    CHECK(two_sided(short_of, p, edge) == range(0.0, 3.0));
    CHECK(two_sided(short_of, p, interpolate) == range(-1.0 + bin_3_share, 3.5));

    // One count past the target at both ends: the crossings stay in bins 1 and 5.
    const histogram past = tie_histogram(2.0, total - 2.0, 0.0);
    const double bin_5_share = (total / 2.0 - 2.0) / (total / 2.0 - 1.0);
    CHECK(quanta::histogram_percentile(past, p, edge) == 1.0);
    CHECK(quanta::histogram_percentile(past, p, interpolate) == Approx(1.0 + bin_5_share));
    CHECK(two_sided(past, p, edge) == range(-2.0, 1.0));
    CHECK(two_sided(past, p, interpolate) == range(-2.5, 1.0 + bin_5_share));
  }
}

TEST_CASE("percentile: ties at other decimals, p read as the decimal written",
          "[calibrate][percentile]") {
  struct decimal_case {
    double percentile;
    double digits;  // percentile = digits / 10^places
    double total;   // 100 * 10^places: p% of it is `digits`, a whole count
  };
  const decimal_case cases[] = {{75.0, 75.0, 100.0},
                                {95.0, 95.0, 100.0},
                                {99.5, 995.0, 1000.0},
                                {99.95, 9995.0, 10000.0},
                                {99.9999, 999999.0, 1e6},
                                {60.125, 60125.0, 1e5},
                                {99.123456789, 99123456789.0, 1e11},
                                {99.99999999, 9999999999.0, 1e10}};
  for (const auto& c : cases) {
    INFO("percentile " << c.percentile);
    const double low = c.total - c.digits;  // (100 - p)% of the total
    const histogram h = tie_histogram(low, c.digits - low, low);
    CHECK(quanta::histogram_percentile(h, c.percentile, percentile_rule::bin_edge) == 1.0);
    CHECK(quanta::histogram_percentile(h, c.percentile) == 2.0);
    CHECK(two_sided(h, c.percentile, percentile_rule::bin_edge) == range(-2.0, 1.0));
    CHECK(two_sided(h, c.percentile, percentile_rule::interpolate) == range(-2.0, 2.0));
  }
  // Below 50 the upper end's tie is the lower tail's bin: 0.1% of 1000 is bin 1's count.
  const histogram h = tie_histogram(1.0, 998.0, 1.0);
  CHECK(quanta::histogram_percentile(h, 0.1, percentile_rule::bin_edge) == -3.0);
  CHECK(quanta::histogram_percentile(h, 0.1) == -2.0);
}

TEST_CASE("percentile: fractional counts and huge totals keep the double test",
          "[calibrate][percentile]") {
  // 3 of 4 below the end of bin 2 (exact in double too).
  const histogram fractional =
      histogram::from_counts(std::vector<double>{0.25, 0.75, 2.0, 1.0}, 0.0, 4.0);
  CHECK(quanta::histogram_percentile(fractional, 75.0, percentile_rule::bin_edge) == 2.0);
  CHECK(quanta::histogram_percentile(fractional, 75.0) == 3.0);
  CHECK(quanta::histogram_percentile(fractional, 50.0) == 2.5);

  const double two_53 = 9007199254740992.0;
  const histogram huge = histogram::from_counts(std::vector<double>{two_53, two_53}, 0.0, 2.0);
  CHECK(quanta::histogram_percentile(huge, 50.0, percentile_rule::bin_edge) == 0.0);
  CHECK(quanta::histogram_percentile(huge, 50.0) == 1.0);

  // Percentiles without a decimal of at most 17 places; the smallest subnormal's p / 100 is 0.
  const histogram h = tie_histogram(1.0, 998.0, 1.0);
  for (double p : {1e-20, 1e-300}) {
    CHECK(quanta::histogram_percentile(h, p, percentile_rule::bin_edge) == -3.0);
    CHECK(quanta::histogram_percentile(h, p) == Approx(-3.0).margin(1e-12));
  }
  CHECK(quanta::histogram_percentile(h, 5e-324, percentile_rule::bin_edge) == -4.0);
  CHECK(quanta::histogram_percentile(h, 5e-324) == -4.0);
}

TEST_CASE("percentile: p is read as its shortest round-trip decimal", "[calibrate][percentile]") {
  using quanta::detail::shortest_decimal;
  const auto is = [](double p, std::uint64_t digits, std::uint64_t scale) {
    const auto d = shortest_decimal(p);
    return d.digits == digits && d.scale == scale;
  };
  CHECK(is(99.9, 999, 10));
  CHECK(is(99.99, 9999, 100));
  CHECK(is(100.0, 100, 1));
  CHECK(is(0.1, 1, 10));
  CHECK(is(0.125, 125, 1000));
  CHECK(is(64.0, 64, 1));  // a power of two: the gap below is half the gap above
  CHECK(is(std::nextafter(99.9, 100.0), 9990000000000002, 100000000000000));
  CHECK(is(std::nextafter(100.0, 0.0), 9999999999999999, 100000000000000));
  CHECK(is(std::nextafter(64.0, 0.0), 6399999999999999, 100000000000000));
  CHECK(is(1e-17, 1, 100000000000000000));
  CHECK(is(1e-20, 0, 0));
  CHECK(is(0.0, 0, 0));

  // Against printf's shortest round-trip form for random doubles in (0.1, 100] and random short
  // decimals: the same significant digits and exponent.
  std::mt19937_64 gen(13);
  std::uniform_real_distribution<double> any(0.1, 100.0);
  std::uniform_int_distribution<int> digits(1, 100000), places(0, 6);
  for (int i = 0; i < 20000; ++i) {
    const double p = i % 2 == 0 ? any(gen) : digits(gen) / std::pow(10.0, places(gen));
    if (!(p >= 0.1 && p <= 100.0)) continue;
    char expected[40];
    for (int precision = 1; precision <= 17; ++precision) {
      std::snprintf(expected, sizeof expected, "%.*e", precision - 1, p);
      if (std::strtod(expected, nullptr) == p) break;
    }
    const auto d = shortest_decimal(p);
    REQUIRE(d.scale != 0);
    std::string significant = std::to_string(d.digits);
    int exponent = static_cast<int>(significant.size()) - 1;
    for (std::uint64_t s = d.scale; s > 1; s /= 10)
      --exponent;
    while (significant.size() > 1 && significant.back() == '0')
      significant.pop_back();
    std::string printed = expected;
    const std::size_t e = printed.find('e');
    std::string printed_significant = printed.substr(0, e);
    printed_significant.erase(
        std::remove(printed_significant.begin(), printed_significant.end(), '.'),
        printed_significant.end());
    INFO("p " << expected);
    CHECK(significant == printed_significant);
    CHECK(exponent == std::stoi(printed.substr(e + 1)));
  }
}
