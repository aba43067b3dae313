#include <quanta/metrics.hpp>
#include <quanta/ref/metrics.hpp>

#include <catch2/catch.hpp>

#include "support/random_floats.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

using quanta::error_accumulator;
using quanta::error_stats;
using quanta::sqnr_convention;
using quanta::test::random_floats;

namespace {

const double inf = std::numeric_limits<double>::infinity();

std::vector<float> perturbed(const std::vector<float>& x, std::uint32_t seed, float noise) {
  std::vector<float> y = random_floats(x.size(), seed, noise);
  for (std::size_t i = 0; i < x.size(); ++i)
    y[i] += x[i];
  return y;
}

// SIMD sums differ from the scalar reference only by the order of the additions.
void check_close(const error_stats& a, const error_stats& b) {
  CHECK(a.count == b.count);
  CHECK(a.non_finite == b.non_finite);
  if (a.non_finite != 0) return;  // the sums are NaN or infinite
  CHECK(a.ref_energy == Approx(b.ref_energy).epsilon(1e-12));
  CHECK(a.test_energy == Approx(b.test_energy).epsilon(1e-12));
  CHECK(a.dot == Approx(b.dot).epsilon(1e-12).margin(1e-12));
  CHECK(a.error_energy == Approx(b.error_energy).epsilon(1e-12));
  CHECK(a.error_abs_sum == Approx(b.error_abs_sum).epsilon(1e-12));
  CHECK(a.error_abs_max == b.error_abs_max);
  CHECK(a.ref_abs_max == b.ref_abs_max);
}

}  // namespace

TEST_CASE("metrics: REFERENCE.md section 6 vector", "[metrics]") {
  const std::vector<float> x = {1.0f, 2.0f, 3.0f, 4.0f};
  const std::vector<float> y = {1.1f, 1.9f, 3.2f, 3.9f};
  // The published digits.
  CHECK(quanta::cosine_similarity(x, y) == Approx(0.998848583).margin(1e-9));
  CHECK(quanta::sqnr_db(x, y) == Approx(26.320232).margin(1e-6));
  CHECK(quanta::psnr_db(x, y) == Approx(29.610819).margin(1e-6));
  CHECK(quanta::relative_l2(x, y) == Approx(0.0483046).margin(1e-7));
  // The float32 inputs evaluated in double (NumPy, float64 after astype).
  CHECK(quanta::cosine_similarity(x, y) == Approx(0.9988485827329647).epsilon(1e-14));
  CHECK(quanta::sqnr_db(x, y) == Approx(26.320231555374043).epsilon(1e-14));
  CHECK(quanta::psnr_db(x, y) == Approx(29.610818748016293).epsilon(1e-14));
  CHECK(quanta::psnr_db(x, y, 4.0) == Approx(29.610818748016293).epsilon(1e-14));
  CHECK(quanta::relative_l2(x, y) == Approx(0.048304592444458005).epsilon(1e-14));
  CHECK(quanta::mse(x, y) == Approx(0.017500002384188917).epsilon(1e-14));
  CHECK(quanta::mae(x, y) == Approx(0.125).epsilon(1e-14));
  CHECK(quanta::max_abs_error(x, y) == Approx(0.20000004768371582).epsilon(1e-15));
  CHECK(quanta::euclidean_distance(x, y) == Approx(0.2645751491292326).epsilon(1e-14));
  // AIMET: 10 log10(mean(x^2) / (mean(e^2) + 1e-4)).
  CHECK(quanta::sqnr_db(x, y, sqnr_convention::aimet) == Approx(26.295485367457307).epsilon(1e-14));
}

TEST_CASE("metrics: hand-computed sums and PSNR with a given peak", "[metrics]") {
  const std::vector<float> x = {3.0f, -4.0f};
  const std::vector<float> y = {3.0f, -2.0f};
  const error_stats s = quanta::measure_error(x, y);
  CHECK(s.count == 2);
  CHECK(s.ref_energy == 25.0);
  CHECK(s.test_energy == 13.0);
  CHECK(s.dot == 17.0);
  CHECK(s.error_energy == 4.0);
  CHECK(s.error_abs_sum == 2.0);
  CHECK(s.error_abs_max == 2.0);
  CHECK(s.ref_abs_max == 4.0);
  CHECK(quanta::cosine_similarity(s) == Approx(17.0 / (5.0 * std::sqrt(13.0))).epsilon(1e-15));
  CHECK(quanta::sqnr_db(s) == Approx(10.0 * std::log10(25.0 / 4.0)).epsilon(1e-15));
  CHECK(quanta::psnr_db(s, 255.0) == Approx(10.0 * std::log10(255.0 * 255.0 / 2.0)).epsilon(1e-15));
  CHECK(quanta::euclidean_distance(s) == 2.0);
}

TEST_CASE("metrics: degenerate inputs have defined results", "[metrics]") {
  const std::vector<float> zeros(5, 0.0f);
  const std::vector<float> ones(5, 1.0f);
  const std::vector<float> none;

  SECTION("two zero tensors") {
    const error_stats s = quanta::measure_error(zeros, zeros);
    CHECK(quanta::cosine_similarity(s) == 1.0);
    CHECK(quanta::sqnr_db(s) == inf);
    CHECK(quanta::psnr_db(s) == inf);
    CHECK(quanta::relative_l2(s) == 0.0);
    CHECK(quanta::mse(s) == 0.0);
    CHECK(quanta::max_abs_error(s) == 0.0);
    // AIMET's floor keeps the ratio finite: 0 / (0 + 1e-4).
    CHECK(quanta::sqnr_db(s, sqnr_convention::aimet) == -inf);
  }
  SECTION("zero reference, non-zero test") {
    const error_stats s = quanta::measure_error(zeros, ones);
    CHECK(quanta::cosine_similarity(s) == 0.0);
    CHECK(quanta::sqnr_db(s) == -inf);
    CHECK(quanta::psnr_db(s) == -inf);
    CHECK(quanta::relative_l2(s) == inf);
    CHECK(quanta::mse(s) == 1.0);
  }
  SECTION("non-zero reference, zero test") {
    const error_stats s = quanta::measure_error(ones, zeros);
    CHECK(quanta::cosine_similarity(s) == 0.0);
    CHECK(quanta::sqnr_db(s) == 0.0);
    CHECK(quanta::relative_l2(s) == 1.0);
  }
  SECTION("empty") {
    const error_stats s = quanta::measure_error(none, none);
    CHECK(s.count == 0);
    CHECK(quanta::cosine_similarity(s) == 1.0);
    CHECK(quanta::sqnr_db(s) == inf);
    CHECK(quanta::sqnr_db(s, sqnr_convention::aimet) == inf);
    CHECK(quanta::mse(s) == 0.0);
    CHECK(quanta::mae(s) == 0.0);
    CHECK(quanta::euclidean_distance(s) == 0.0);
  }
  SECTION("extreme magnitudes stay finite and in range") {
    const std::vector<float> big(64, 3.0e38f);
    const std::vector<float> tiny(64, 1.0e-45f);
    CHECK(quanta::cosine_similarity(big, big) == 1.0);
    CHECK(quanta::cosine_similarity(tiny, tiny) == 1.0);
    CHECK(quanta::cosine_similarity(big, tiny) == Approx(1.0).epsilon(1e-15));
  }
}

TEST_CASE("metrics: a NaN or an infinity makes every metric NaN", "[metrics]") {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    for (std::size_t n : {std::size_t{3}, std::size_t{67}}) {
      std::vector<float> x = random_floats(n, 7);
      std::vector<float> y = x;
      y[n - 2] = bad;
      x[0] = bad;
      const error_stats s = quanta::measure_error(x, y);
      CHECK(s.non_finite == 2);
      CHECK(std::isnan(quanta::cosine_similarity(s)));
      CHECK(std::isnan(quanta::sqnr_db(s)));
      CHECK(std::isnan(quanta::sqnr_db(s, sqnr_convention::aimet)));
      CHECK(std::isnan(quanta::mse(s)));
      CHECK(std::isnan(quanta::mae(s)));
      CHECK(std::isnan(quanta::max_abs_error(s)));
      CHECK(std::isnan(quanta::relative_l2(s)));
      CHECK(std::isnan(quanta::psnr_db(s)));
      CHECK(std::isnan(quanta::psnr_db(s, 1.0)));
      CHECK(std::isnan(quanta::euclidean_distance(s)));
      check_close(s, quanta::ref::measure_error(x, y));
    }
  }
}

TEST_CASE("metrics: properties", "[metrics]") {
  const auto x = random_floats(1001, 1);
  const auto y = perturbed(x, 2, 0.05f);

  SECTION("x against itself") {
    CHECK(quanta::sqnr_db(x, x) == inf);
    CHECK(quanta::cosine_similarity(x, x) == 1.0);
    CHECK(quanta::relative_l2(x, x) == 0.0);
    CHECK(quanta::psnr_db(x, x) == inf);
    CHECK(quanta::max_abs_error(x, x) == 0.0);
  }
  SECTION("cosine is invariant to positive scaling of either side and odd in sign") {
    const double c = quanta::cosine_similarity(x, y);
    CHECK(c > 0.99);
    CHECK(c < 1.0);
    for (float a : {1e-3f, 0.37f, 3.0f, 1e4f}) {
      std::vector<float> ay(y.size());
      std::vector<float> ax(x.size());
      for (std::size_t i = 0; i < y.size(); ++i) {
        ay[i] = a * y[i];
        ax[i] = a * x[i];
      }
      CHECK(quanta::cosine_similarity(x, ay) == Approx(c).epsilon(1e-6));
      CHECK(quanta::cosine_similarity(ax, y) == Approx(c).epsilon(1e-6));
    }
    std::vector<float> minus_y(y.size());
    for (std::size_t i = 0; i < y.size(); ++i)
      minus_y[i] = -y[i];
    CHECK(quanta::cosine_similarity(x, minus_y) == Approx(-c).epsilon(1e-15));
  }
  SECTION("SQNR is invariant to scaling both sides by a power of two, and exact there") {
    std::vector<float> ax(x.size());
    std::vector<float> ay(y.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      ax[i] = 8.0f * x[i];
      ay[i] = 8.0f * y[i];
    }
    CHECK(quanta::sqnr_db(ax, ay) == quanta::sqnr_db(x, y));
    CHECK(quanta::cosine_similarity(ax, ay) == quanta::cosine_similarity(x, y));
  }
  SECTION("symmetric metrics") {
    CHECK(quanta::mse(x, y) == Approx(quanta::mse(y, x)).epsilon(1e-15));
    CHECK(quanta::max_abs_error(x, y) == quanta::max_abs_error(y, x));
    CHECK(quanta::cosine_similarity(x, y) ==
          Approx(quanta::cosine_similarity(y, x)).epsilon(1e-15));
  }
  SECTION("the definitions tie together") {
    const error_stats s = quanta::measure_error(x, y);
    CHECK(quanta::relative_l2(s) ==
          Approx(std::pow(10.0, -quanta::sqnr_db(s) / 20.0)).epsilon(1e-12));
    CHECK(quanta::euclidean_distance(s) ==
          Approx(std::sqrt(quanta::mse(s) * static_cast<double>(s.count))).epsilon(1e-12));
    CHECK(quanta::mae(s) <= quanta::max_abs_error(s));
    CHECK(quanta::mae(s) * quanta::mae(s) <= quanta::mse(s));
  }
}

TEST_CASE("metrics: SIMD kernels match the scalar reference", "[metrics][parity]") {
  for (std::size_t n :
       {0u, 1u, 2u, 3u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 33u, 63u, 100u, 1000u, 4097u}) {
    CAPTURE(n);
    const auto x = random_floats(n, static_cast<std::uint32_t>(n) + 11u, 3.0f);
    const auto y = perturbed(x, static_cast<std::uint32_t>(n) + 12u, 0.1f);
    check_close(quanta::measure_error(x, y), quanta::ref::measure_error(x, y));
    // A misaligned start exercises unaligned loads.
    if (n > 1) {
      const quanta::span<const float> xs(x.data() + 1, n - 1);
      const quanta::span<const float> ys(y.data() + 1, n - 1);
      check_close(quanta::measure_error(xs, ys), quanta::ref::measure_error(xs, ys));
    }
  }
}

TEST_CASE("metrics: per channel", "[metrics]") {
  // [outer 3, channels 4, inner n] for short (scalar) and long (SIMD) rows.
  for (std::size_t inner : {1u, 5u, 40u}) {
    CAPTURE(inner);
    const std::vector<std::int64_t> shape = {3, 4, static_cast<std::int64_t>(inner)};
    const auto layout = quanta::channel_layout::from_shape(shape, 1);
    const auto x = random_floats(layout.size(), 21);
    auto y = perturbed(x, 22, 0.01f);
    for (std::size_t o = 0; o < 3; ++o)  // channel 2 is exact
      for (std::size_t i = 0; i < inner; ++i)
        y[(o * 4 + 2) * inner + i] = x[(o * 4 + 2) * inner + i];

    const auto per_channel = quanta::measure_error_per_channel(x, y, layout);
    const auto expected = quanta::ref::measure_error_per_channel(x, y, 3, 4, inner);
    REQUIRE(per_channel.size() == 4);
    error_stats merged;
    for (std::size_t c = 0; c < 4; ++c) {
      check_close(per_channel[c], expected[c]);
      CHECK(per_channel[c].count == 3 * inner);
      merged.merge(per_channel[c]);
    }
    CHECK(quanta::sqnr_db(per_channel[2]) == inf);
    check_close(merged, quanta::ref::measure_error(x, y));
  }
}

TEST_CASE("metrics: streaming accumulator", "[metrics][accumulator]") {
  const auto x = random_floats(300, 31);
  const auto y = perturbed(x, 32, 0.05f);
  const quanta::span<const float> xs(x), ys(y);

  SECTION("pooled statistics equal those of the whole") {
    error_accumulator acc;
    for (std::size_t b = 0; b < 3; ++b)
      acc.add(xs.subspan(b * 100, 100), ys.subspan(b * 100, 100));
    CHECK(acc.batches() == 3);
    check_close(acc.pooled(), quanta::ref::measure_error(x, y));
    CHECK(acc.sqnr_db() == Approx(quanta::sqnr_db(x, y)).epsilon(1e-12));

    double cos_sum = 0.0, cos_min = 2.0;
    for (std::size_t b = 0; b < 3; ++b) {
      const double c =
          quanta::cosine_similarity(xs.subspan(b * 100, 100), ys.subspan(b * 100, 100));
      cos_sum += c;
      cos_min = std::min(cos_min, c);
    }
    CHECK(acc.mean_cosine() == Approx(cos_sum / 3.0).epsilon(1e-15));
    CHECK(acc.min_cosine() == cos_min);
  }
  SECTION("AIMET's mean of per-batch ratios, by hand") {
    // Batch 1: E[r^2] = 5, E[e^2] = 1; batch 2: E[r^2] = 1, E[e^2] = 0.
    const std::vector<float> r1 = {1.0f, 3.0f}, t1 = {2.0f, 2.0f};
    const std::vector<float> r2 = {1.0f, -1.0f}, t2 = {1.0f, -1.0f};
    error_accumulator acc;
    acc.add(r1, t1);
    acc.add(r2, t2);
    const double expected = 10.0 * std::log10((5.0 / 1.0001 + 1.0 / 1e-4) / 2.0);
    CHECK(acc.sqnr_db(sqnr_convention::aimet) == Approx(expected).epsilon(1e-14));
    CHECK(acc.sqnr_db() == Approx(10.0 * std::log10(12.0 / 2.0)).epsilon(1e-14));
  }
  SECTION("merging accumulators equals one accumulator") {
    error_accumulator all, first, second;
    for (std::size_t b = 0; b < 3; ++b)
      all.add(xs.subspan(b * 100, 100), ys.subspan(b * 100, 100));
    first.add(xs.subspan(0, 100), ys.subspan(0, 100));
    second.add(xs.subspan(100, 100), ys.subspan(100, 100));
    second.add(xs.subspan(200, 100), ys.subspan(200, 100));
    first.merge(second);
    CHECK(first.batches() == 3);
    check_close(first.pooled(), all.pooled());
    CHECK(first.mean_cosine() == Approx(all.mean_cosine()).epsilon(1e-15));
    CHECK(first.min_cosine() == all.min_cosine());
    CHECK(first.sqnr_db(sqnr_convention::aimet) ==
          Approx(all.sqnr_db(sqnr_convention::aimet)).epsilon(1e-14));
    error_accumulator empty;
    first.merge(empty);
    CHECK(first.batches() == 3);
  }
  SECTION("an empty accumulator") {
    const error_accumulator acc;
    CHECK(acc.batches() == 0);
    CHECK(acc.mean_cosine() == 1.0);
    CHECK(acc.min_cosine() == 1.0);
    CHECK(acc.sqnr_db() == inf);
    CHECK(acc.sqnr_db(sqnr_convention::aimet) == inf);
  }
  SECTION("a batch with a NaN marks the whole stream") {
    error_accumulator acc;
    acc.add(xs.subspan(0, 100), ys.subspan(0, 100));
    std::vector<float> bad(y.begin(), y.begin() + 100);
    bad[5] = std::numeric_limits<float>::quiet_NaN();
    acc.add(xs.subspan(0, 100), bad);
    acc.add(xs.subspan(100, 100), ys.subspan(100, 100));
    CHECK(acc.pooled().non_finite == 1);
    CHECK(std::isnan(acc.min_cosine()));
    CHECK(std::isnan(acc.mean_cosine()));
    CHECK(std::isnan(acc.sqnr_db()));
    CHECK(std::isnan(acc.sqnr_db(sqnr_convention::aimet)));
  }
}

TEST_CASE("metrics: bad arguments", "[metrics][errors]") {
  const std::vector<float> three(3, 1.0f), four(4, 1.0f);
  using Catch::Contains;
  using Catch::StartsWith;
  CHECK_THROWS_WITH(quanta::cosine_similarity(three, four),
                    StartsWith("cosine_similarity: test has 4 elements but ref has 3") &&
                        Contains("expected equal sizes"));
  CHECK_THROWS_WITH(quanta::sqnr_db(three, four), StartsWith("sqnr_db: test has 4"));
  CHECK_THROWS_WITH(quanta::mse(three, four), StartsWith("mse: "));
  CHECK_THROWS_WITH(quanta::mae(three, four), StartsWith("mae: "));
  CHECK_THROWS_WITH(quanta::max_abs_error(three, four), StartsWith("max_abs_error: "));
  CHECK_THROWS_WITH(quanta::relative_l2(three, four), StartsWith("relative_l2: "));
  CHECK_THROWS_WITH(quanta::euclidean_distance(three, four), StartsWith("euclidean_distance: "));
  CHECK_THROWS_WITH(quanta::psnr_db(three, four), StartsWith("psnr_db: "));
  CHECK_THROWS_WITH(quanta::measure_error(three, four), StartsWith("measure_error: "));
  CHECK_THROWS_WITH(quanta::psnr_db(three, three, 0.0),
                    StartsWith("psnr_db: peak is 0; expected a finite value > 0"));
  CHECK_THROWS_WITH(quanta::psnr_db(quanta::measure_error(three, three), -1.0),
                    StartsWith("psnr_db: peak is -1"));
  CHECK_THROWS_WITH(
      quanta::measure_error_per_channel(four, four, quanta::channel_layout{1, 3, 1}),
      StartsWith("measure_error_per_channel: data has 4 elements but the layout [outer 1, "
                 "channels 3, inner 1] describes 3"));
  CHECK_THROWS_WITH(quanta::measure_error_per_channel(three, four, quanta::channel_layout{1, 3, 1}),
                    StartsWith("measure_error_per_channel: test has 4 elements but ref has 3"));

  error_accumulator acc;
  acc.add(three, three);
  CHECK_THROWS_WITH(acc.add(three, four), StartsWith("error_accumulator::add: test has 4"));
  CHECK(acc.batches() == 1);
  CHECK(acc.pooled().count == 3);
}
