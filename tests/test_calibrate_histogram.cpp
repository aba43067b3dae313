#include <quanta/calibrate/histogram.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using quanta::channel_histograms;
using quanta::histogram;
using quanta::histogram_domain;

namespace {

std::vector<double> counts_of(const histogram& h) {
  return std::vector<double>(h.counts().begin(), h.counts().end());
}

// The histogram the normative scalar rule gives for one batch on h's current range.
std::vector<double> reference_counts(const histogram& h, const std::vector<float>& x) {
  std::vector<double> c(h.bins(), 0.0);
  quanta::ref::histogram_fill(x, h.domain() == histogram_domain::magnitude, h.bin_lo(),
                              h.bin_scale(), static_cast<std::uint32_t>(h.bins()), c.data());
  return c;
}

template <class Arch>
void check_arch_matches_reference(const char* name) {
#if QUANTA_SIMD
  // Instruction sets this machine lacks are compiled in but not run.
  if (!(xsimd::available_architectures().best >= Arch::version())) return;
#endif
  INFO(name);
  std::mt19937 gen(7);
  std::lognormal_distribution<float> dist(0.0f, 1.5f);
  for (std::size_t n : {0u, 1u, 15u, 16u, 17u, 1000u, 4099u}) {
    std::vector<float> x(n);
    for (auto& v : x)
      v = gen() % 2 ? dist(gen) : -dist(gen);
    // Values on bin edges and the range's ends exercise the clamp and the truncation.
    if (n > 4) {
      x[0] = -1.0f;
      x[1] = 1.0f;
      x[2] = 0.0f;
      x[3] = -0.0f;
    }
    for (auto domain : {histogram_domain::value, histogram_domain::magnitude}) {
      const float lo = domain == histogram_domain::magnitude ? 0.0f : -1.0f;
      std::vector<double> simd(64, 0.0), scalar(64, 0.0);
      quanta::detail::histogram_fill<Arch>(
          x.data(), x.size(), domain == histogram_domain::magnitude, lo, 32.0f, 64, simd.data());
      quanta::ref::histogram_fill(x, domain == histogram_domain::magnitude, lo, 32.0f, 64,
                                  scalar.data());
      CHECK(simd == scalar);
    }
  }
}

}  // namespace

TEST_CASE("histogram: the first batch sets the range; bins follow the documented rule",
          "[calibrate][histogram]") {
  histogram h(8);
  const std::vector<float> x = {0, 1, 2, 3, 4, 5, 6, 7};
  h.observe(x);
  CHECK(h.lo() == 0.0);
  CHECK(h.hi() == 7.0);
  CHECK(h.bin_width() == 0.875);
  // t = x * (8 / 7) in float: 7 lands on 8.0, clamped into the last bin.
  CHECK(counts_of(h) == std::vector<double>{1, 1, 1, 1, 1, 1, 1, 1});
  CHECK(h.total() == 8.0);
  CHECK(h.observed_min() == 0.0f);
  CHECK(h.observed_max() == 7.0f);
  CHECK(counts_of(h) == reference_counts(h, x));
}

TEST_CASE("histogram: growing keeps every count, by an integer factor", "[calibrate][histogram]") {
  histogram h(8);
  h.observe(std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7});
  h.observe(std::vector<float>{-10, 20});
  // span 30 over 8 bins of 0.875 needs k = 5; m = ceil(10 / 0.875) = 12 old bins below.
  CHECK(h.bin_width() == Approx(4.375).epsilon(1e-15));
  CHECK(h.lo() == Approx(-10.5).epsilon(1e-15));
  CHECK(counts_of(h) == std::vector<double>{1, 0, 3, 5, 0, 0, 1, 0});
  CHECK(h.total() == 10.0);
  CHECK(h.observed_min() == -10.0f);
  CHECK(h.observed_max() == 20.0f);

  // A batch inside the range changes nothing but the counts.
  const double width = h.bin_width();
  h.observe(std::vector<float>{1.0f});
  CHECK(h.bin_width() == width);
  CHECK(h.total() == 11.0);
}

TEST_CASE("histogram: growth preserves the total over many random batches",
          "[calibrate][histogram]") {
  std::mt19937 gen(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  histogram h(128);
  double total = 0.0;
  for (int batch = 0; batch < 20; ++batch) {
    std::vector<float> x(100 + static_cast<std::size_t>(batch));
    for (auto& v : x)
      v = dist(gen) * static_cast<float>(1 + batch);
    h.observe(x);
    total += static_cast<double>(x.size());
    double sum = 0.0;
    for (double c : h.counts())
      sum += c;
    CHECK(sum == total);
    CHECK(h.total() == total);
    CHECK(h.lo() <= h.observed_min());
    CHECK(h.hi() >= h.observed_max());
  }
}

TEST_CASE("histogram: growth by huge factors ends, and keeps every count",
          "[calibrate][histogram]") {
  constexpr float big = std::numeric_limits<float>::max();
  struct growth {
    std::vector<float> first, second;
  };
  // A narrow first range, then values up to 2^200 of its width away: the factor k and the shift m
  // are far beyond 2^53, where whole numbers in double are no longer consecutive.
  const std::vector<growth> cases = {
      {{0.0f, 1e-30f}, {3e38f}},
      {{0.0f, 1e-30f}, {-3e38f}},
      {{0.0f, 1e-30f}, {-big, big}},
      {{3e38f}, {-big}},
      {{-big}, {big}},
      {{1.0f, 1.0f + 1e-7f}, {-1e20f, 1e20f}},
      {{-1e-38f, 1e-38f}, {big}},
  };
  for (std::size_t bins : {2u, 3u, 128u, 2048u}) {
    for (const auto& c : cases) {
      CAPTURE(bins, c.first, c.second);
      histogram h(bins);
      h.observe(c.first);
      h.observe(c.second);
      const double total = static_cast<double>(c.first.size() + c.second.size());
      double sum = 0.0;
      for (double count : h.counts())
        sum += count;
      CHECK(sum == total);
      CHECK(h.total() == total);
      CHECK(std::isfinite(h.lo()));
      CHECK(std::isfinite(h.bin_width()));
      CHECK(h.bin_width() > 0.0);
      CHECK(h.lo() <= static_cast<double>(h.observed_min()));
      CHECK(h.hi() >= static_cast<double>(h.observed_max()));
      // The histogram still takes batches inside its range after such a growth.
      h.observe(std::vector<float>{c.second.front()});
      CHECK(h.total() == total + 1.0);
    }
  }
}

TEST_CASE("histogram: magnitude histograms start at 0", "[calibrate][histogram]") {
  histogram h(4, histogram_domain::magnitude);
  h.observe(std::vector<float>{-4.0f, 1.0f, -0.5f, 3.0f});
  CHECK(h.lo() == 0.0);
  CHECK(h.hi() == 4.0);
  CHECK(counts_of(h) == std::vector<double>{1, 1, 0, 2});
  CHECK(h.observed_min() == -4.0f);
  CHECK(h.observed_abs_max() == 4.0f);
  h.observe(std::vector<float>{-7.0f});
  CHECK(h.lo() == 0.0);
  CHECK(h.hi() == 8.0);
  CHECK(counts_of(h) == std::vector<double>{2, 2, 0, 1});
}

TEST_CASE("histogram: degenerate ranges are widened, not errors", "[calibrate][histogram]") {
  histogram h(4);
  h.observe(std::vector<float>{2.0f, 2.0f});
  CHECK(h.lo() == 1.0);
  CHECK(h.hi() == 3.0);
  CHECK(h.total() == 2.0);
  histogram z(4, histogram_domain::magnitude);
  z.observe(std::vector<float>{0.0f, -0.0f});
  CHECK(z.lo() == 0.0);
  CHECK(z.hi() == 1.0);
  CHECK(counts_of(z) == std::vector<double>{2, 0, 0, 0});
}

TEST_CASE("histogram: merge", "[calibrate][histogram]") {
  histogram a(8), b(8);
  a.observe(std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7});
  b.observe(std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7});
  b.observe(std::vector<float>{15.0f});
  histogram merged = a;
  merged.merge(b);
  CHECK(merged.total() == 17.0);
  CHECK(merged.observed_max() == 15.0f);
  // b grew from the same first batch (k = 3: bins of 2.625 over [0, 21]), so a grows to the same
  // edges and every count moves whole.
  CHECK(merged.hi() == b.hi());
  CHECK(counts_of(b) == std::vector<double>{3, 3, 2, 0, 0, 1, 0, 0});
  CHECK(counts_of(merged) == std::vector<double>{6, 6, 4, 0, 0, 1, 0, 0});

  // Unaligned edges split counts in proportion; the total stays exact.
  histogram c(4);
  c.observe(std::vector<float>{0.5f, 1.5f, 2.5f, 3.5f, 0.0f, 4.0f});
  histogram d(4);
  d.observe(std::vector<float>{1.0f, 2.0f});
  c.merge(d);
  CHECK(c.total() == 8.0);
  double sum = 0.0;
  for (double v : c.counts())
    sum += v;
  CHECK(sum == Approx(8.0).epsilon(1e-15));

  histogram empty(4);
  c.merge(empty);
  CHECK(c.total() == 8.0);
  empty.merge(d);
  CHECK(counts_of(empty) == counts_of(d));

  histogram other_bins(5);
  other_bins.observe(std::vector<float>{1.0f});
  CHECK_THROWS_WITH(c.merge(other_bins),
                    Catch::StartsWith("histogram::merge: other has 5 value bins; expected 4"));
}

TEST_CASE("histogram: SIMD filling equals the scalar reference on every instruction set",
          "[calibrate][histogram][simd]") {
#if QUANTA_SIMD
#if XSIMD_WITH_SSE2
  check_arch_matches_reference<xsimd::sse2>("sse2");
#endif
#if XSIMD_WITH_SSE4_1
  check_arch_matches_reference<xsimd::sse4_1>("sse4_1");
#endif
#if XSIMD_WITH_AVX2
  check_arch_matches_reference<xsimd::avx2>("avx2");
#endif
#if XSIMD_WITH_AVX512BW
  check_arch_matches_reference<xsimd::avx512bw>("avx512bw");
#endif
#endif
  check_arch_matches_reference<quanta::default_arch>("default");
}

TEST_CASE("histogram: observe equals the reference rule on random data", "[calibrate][histogram]") {
  std::mt19937 gen(11);
  std::normal_distribution<float> dist(1.0f, 3.0f);
  std::vector<float> x(10007);
  for (auto& v : x)
    v = dist(gen);
  for (auto domain : {histogram_domain::value, histogram_domain::magnitude}) {
    histogram h(2048, domain);
    h.observe(x);
    CHECK(counts_of(h) == reference_counts(h, x));
  }
}

TEST_CASE("histogram: errors, and nothing changes when one is thrown", "[calibrate][histogram]") {
  CHECK_THROWS_WITH(histogram(1), Catch::StartsWith("histogram: bins is 1; expected 2.."));
  histogram h(8);
  h.observe(std::vector<float>{1.0f, 2.0f});
  const auto before = counts_of(h);
  CHECK_THROWS_WITH(h.observe(std::vector<float>{}),
                    "histogram::observe: x is empty; expected at least one value");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(h.observe(std::vector<float>{100.0f, nan}),
                    Catch::StartsWith("histogram::observe: data[1] is nan; expected finite"));
  CHECK_THROWS_WITH(h.observe(std::vector<float>{std::numeric_limits<float>::infinity()}),
                    Catch::StartsWith("histogram::observe: data[0] is inf; expected finite"));
  CHECK(counts_of(h) == before);
  CHECK(h.hi() == 2.0);
  CHECK(h.observed_max() == 2.0f);

  histogram skip(8, histogram_domain::value, true);
  skip.observe(std::vector<float>{1.0f, nan, 3.0f, -std::numeric_limits<float>::infinity()});
  CHECK(skip.total() == 2.0);
  CHECK(skip.observed_min() == 1.0f);
  skip.observe(std::vector<float>{nan});
  CHECK(skip.total() == 2.0);

  const std::vector<double> counts = {1.0, -1.0};
  CHECK_THROWS_WITH(histogram::from_counts(counts, 0.0, 1.0),
                    Catch::StartsWith("histogram::from_counts: counts[1] is -1"));
  CHECK_THROWS_WITH(histogram::from_counts(std::vector<double>{1.0, 1.0}, 1.0, 1.0),
                    Catch::StartsWith("histogram::from_counts: range is [1, 1]"));

  // With the extremes of the data the counts came from.
  const std::vector<double> two = {1.0, 1.0};
  const histogram seen =
      histogram::from_counts(two, -2.0, 2.0, histogram_domain::value, -1.5f, 0.5f);
  CHECK(seen.observed_min() == -1.5f);
  CHECK(seen.observed_max() == 0.5f);
  CHECK(seen.hi() == 2.0);
  CHECK_THROWS_WITH(
      histogram::from_counts(two, -2.0, 2.0, histogram_domain::value, -2.5f, 0.5f),
      "histogram::from_counts: observed range is [-2.5, 0.5]; expected min <= max inside the "
      "histogram's range [-2, 2]");
  CHECK_THROWS_WITH(histogram::from_counts(two, -2.0, 2.0, histogram_domain::value, 1.0f, 0.5f),
                    Catch::StartsWith("histogram::from_counts: observed range is [1, 0.5]"));
  // Magnitudes: the data may be negative, its largest magnitude inside [0, hi].
  const histogram mags =
      histogram::from_counts(two, 0.0, 2.0, histogram_domain::magnitude, -2.0f, 1.0f);
  CHECK(mags.observed_abs_max() == 2.0f);
  CHECK_THROWS_WITH(
      histogram::from_counts(two, 0.0, 2.0, histogram_domain::magnitude, -3.0f, 1.0f),
      "histogram::from_counts: observed range is [-3, 1]; expected min <= max inside the "
      "histogram's range [0, 2] (magnitudes)");
}

TEST_CASE("channel_histograms: one histogram per channel", "[calibrate][histogram]") {
  // [outer 2, channels 3, inner 2]
  const std::vector<float> x = {0, 1, 10, 11, -5, 5, 2, 3, 12, 13, -6, 6};
  channel_histograms h(3, 16);
  h.observe(x, quanta::channel_layout{2, 3, 2});
  CHECK(h[0].observed_min() == 0.0f);
  CHECK(h[0].observed_max() == 3.0f);
  CHECK(h[1].observed_min() == 10.0f);
  CHECK(h[2].observed_min() == -6.0f);
  CHECK(h[2].observed_max() == 6.0f);
  CHECK(h[1].total() == 4.0);
  std::vector<float> bad = x;
  bad[8] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(h.observe(bad, quanta::channel_layout{2, 3, 2}),
                    Catch::StartsWith("channel_histograms::observe: data[8] is nan"));
  CHECK(h[0].total() == 4.0);  // nothing changed, not even channel 0
  CHECK_THROWS_WITH(h.observe(x, quanta::channel_layout{1, 6, 2}),
                    "channel_histograms::observe: layout has 6 channels; expected 3");
}
