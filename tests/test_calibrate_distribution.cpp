#include <quanta/calibrate/distribution.hpp>

#include <catch2/catch.hpp>

#include "data/ort_distribution_vectors.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

using quanta::distribution_scenario;
using quanta::histogram;
using quanta::histogram_domain;

namespace {

histogram peer_histogram(const ort_distribution_vectors::distribution_case& c) {
  return histogram::from_counts(c.counts, -c.t, c.t, histogram_domain::value,
                                static_cast<float>(c.data_min), static_cast<float>(c.data_max));
}

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

TEST_CASE("distribution: ORT's mean, deviation and float8 scale, bit for bit",
          "[calibrate][distribution][onnxruntime]") {
  // tests/data/generate_ort_distribution_vectors.py ran ORT's HistogramCollector
  // (collect_value, compute_distribution) and compute_scale_zp_float8 on these data: normal,
  // shifted, Laplace, ReLU, long-tailed, sparse, skewed and uniform data, 512 to 20000 bins (more
  // than numpy's 8192-value reduction blocks), values near 1e-30, a constant, and two batches
  // that leave the range as it was or widen it.
  std::size_t compared = 0;
  for (const auto& c : ort_distribution_vectors::cases()) {
    CAPTURE(c.name);
    const histogram h = peer_histogram(c);
    struct expected {
      distribution_scenario scenario;
      float mean, deviation, scale;
    };
    for (const expected& e :
         {expected{distribution_scenario::same, c.same_avg, c.same_std, c.same_scale},
          expected{distribution_scenario::p3, c.p3_avg, c.p3_std, c.p3_scale}}) {
      CAPTURE(e.scenario == distribution_scenario::p3);
      const quanta::distribution_statistics s = quanta::onnxruntime_distribution(h, e.scenario);
      const float scale = quanta::onnxruntime_float8_scale(s.deviation);
      if (e.scenario == distribution_scenario::same) {
        CHECK(same_bits(s.mean, e.mean));
        if (std::isnan(e.deviation)) {
          // ORT's variance rounded below 0: its deviation and scale are NaN; quanta's 0 and 1.
          CHECK(s.deviation == 0.0f);
          CHECK(scale == 1.0f);
          continue;
        }
        CHECK(same_bits(s.deviation, e.deviation));
        // ORT's scale of 0 is unusable; quanta gives 1.
        CHECK(same_bits(scale, e.scale == 0.0f ? 1.0f : e.scale));
        ++compared;
        continue;
      }
      // p3: numpy's float32 power on this AVX-512 host differs from libm's powf by one unit in
      // the last place in about a fifth of the values (its vectorised loop), so ORT's p3 result
      // depends on the host numpy ran on; quanta uses powf and agrees to a few float32 roundings.
      if (std::isnan(e.deviation)) {
        CHECK(s.deviation <= 1e-3f * std::fabs(s.mean));
        continue;
      }
      CHECK(std::fabs(s.mean - e.mean) <= 1e-5f * e.deviation);
      CHECK(std::fabs(s.deviation - e.deviation) <= 1e-5f * e.deviation);
      CHECK(std::fabs(scale - e.scale) <= 1e-5f * e.scale);
    }
  }
  CHECK(compared >= 10);
}

TEST_CASE("distribution: the E4M3FN values and their deviation as numpy computes it",
          "[calibrate][distribution][onnxruntime]") {
  const std::vector<float> v = quanta::detail::e4m3fn_finite_values();
  REQUIRE(v.size() == 254);
  CHECK(v[0] == 0.0f);
  CHECK(v[1] == std::ldexp(1.0f, -9));  // the smallest subnormal
  CHECK(v[8] == std::ldexp(1.0f, -6));  // the smallest normal
  CHECK(v[126] == 448.0f);              // 0x7E, the largest
  CHECK(v[127] == -0.0f);
  CHECK(std::signbit(v[127]));
  CHECK(v[253] == -448.0f);
  CHECK(same_bits(quanta::detail::e4m3fn_deviation(), ort_distribution_vectors::e4m3fn_std));
}

TEST_CASE("distribution: on ORT's one-batch histogram built by quanta",
          "[calibrate][distribution]") {
  // symmetric_entropy_histogram is ORT's collect_value for one batch (tested against ORT in
  // test_calibrate_entropy.cpp); the mean of symmetric data is near 0, its deviation near the
  // data's.
  std::vector<float> x;
  for (int k = -500; k <= 500; ++k)
    x.push_back(static_cast<float>(k) / 100.0f);
  const histogram h = quanta::symmetric_entropy_histogram(x, 1000);
  const quanta::distribution_statistics s = quanta::onnxruntime_distribution(h);
  CHECK(std::fabs(s.mean) < 1e-2f);
  // The deviation of 1001 evenly spaced values over [-5, 5]: about 2.8896.
  CHECK(std::fabs(s.deviation - 2.8896f) < 5e-3f);
  const quanta::distribution_statistics p3 =
      quanta::onnxruntime_distribution(h, distribution_scenario::p3);
  CHECK(std::fabs(p3.mean) < 1e-2f);
  CHECK(p3.deviation > 0.5f);
  CHECK(p3.deviation < 1.71f);  // below 5^(1/3)
}

TEST_CASE("distribution: bad input is refused with the function and the value",
          "[calibrate][distribution]") {
  const histogram magnitude =
      histogram::from_counts(std::vector<double>{1, 2, 3}, 0.0, 3.0, histogram_domain::magnitude);
  CHECK_THROWS_WITH(
      quanta::onnxruntime_distribution(magnitude),
      Catch::Contains("onnxruntime_distribution") && Catch::Contains("magnitude histogram"));
  const histogram empty = histogram::from_counts(std::vector<double>{0, 0, 0}, -1.0, 1.0);
  CHECK_THROWS_WITH(quanta::onnxruntime_distribution(empty), Catch::Contains("counted nothing"));
  for (float bad :
       {-1.0f, std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
        -std::numeric_limits<float>::denorm_min()}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH(quanta::onnxruntime_float8_scale(bad),
                      Catch::Contains("onnxruntime_float8_scale: deviation is"));
  }
  CHECK(quanta::onnxruntime_float8_scale(0.0f) == 1.0f);
  CHECK(quanta::onnxruntime_float8_scale(-0.0f) == 1.0f);
}
