#include <quanta/calibrate/admm.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using quanta::encoding_options;
using quanta::scheme;

namespace {

const std::vector<float> reference_w = {0.1f, -0.5f, 0.33f, 2.0f, -0.07f, 0.9f, 0.41f, -1.3f};

double error_at(const std::vector<float>& w, double a, double c) {
  double e = 0.0;
  for (float v : w) {
    const double q = std::clamp(std::round(v / a), -c, c);
    e += (v - a * q) * (v - a * q);
  }
  return e;
}

}  // namespace

TEST_CASE("admm: MNN's alternating fit on the reference weights", "[calibrate][admm]") {
  const auto fit = quanta::admm_fit(reference_w, 4);  // c = 7
  CHECK(fit.scale == Approx(0.2802247).epsilon(1e-6));
  CHECK(fit.error == Approx(0.0530955).epsilon(1e-5));
  for (std::size_t k = 1; k < fit.errors.size(); ++k)
    CHECK(fit.errors[k] <= fit.errors[k - 1] + 1e-15);
}

TEST_CASE("least squares: the global optimum over breakpoints", "[calibrate][admm]") {
  const auto fit = quanta::least_squares_fit(reference_w, 4);
  CHECK(fit.scale == Approx(0.413170732).epsilon(1e-7));
  CHECK(fit.error == Approx(0.042787805).epsilon(1e-6));
  // No scale on a fine grid does better.
  for (int i = 1; i <= 4000; ++i) {
    const double a = i * 0.0005;
    CHECK(fit.error <= error_at(reference_w, a, 7.0) + 1e-12);
  }
}

TEST_CASE("admm: error never increases; least squares never loses to it", "[calibrate][admm]") {
  std::mt19937 gen(8);
  std::student_t_distribution<float> dist(4.0f);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<float> w(64 + static_cast<std::size_t>(trial) * 13);
    for (auto& v : w)
      v = dist(gen);
    for (int bits : {3, 4, 8}) {
      const auto admm = quanta::admm_fit(w, bits);
      for (std::size_t k = 1; k < admm.errors.size(); ++k)
        CHECK(admm.errors[k] <= admm.errors[k - 1] * (1.0 + 1e-12));
      const auto ls = quanta::least_squares_fit(w, bits);
      CHECK(ls.error <= admm.error * (1.0 + 1e-12));
    }
  }
}

TEST_CASE("admm: encodings per tensor and per channel", "[calibrate][admm]") {
  encoding_options o;
  o.bitwidth = 4;
  o.kind = scheme::symmetric;
  o.is_signed = true;
  const auto e = quanta::admm_encoding(reference_w, o);
  CHECK(e.zero_point == 0);
  CHECK(e.scale == Approx(0.2802247).epsilon(1e-6));
  const auto ls = quanta::least_squares_encoding(reference_w, o);
  CHECK(ls.scale == Approx(0.413170732).epsilon(1e-6));
  // [outer 1, channels 2, inner 4]
  const auto per = quanta::least_squares_encodings(reference_w, quanta::channel_layout{1, 2, 4}, o);
  REQUIRE(per.size() == 2);
  const std::vector<float> second(reference_w.begin() + 4, reference_w.end());
  CHECK(per[1] == quanta::least_squares_encoding(second, o));
  const auto admm_per = quanta::admm_encodings(reference_w, quanta::channel_layout{1, 2, 4}, o);
  CHECK(admm_per[1] == quanta::admm_encoding(second, o));
  // All zeros: scale 0 is the degenerate range [0, 0], not an error.
  const std::vector<float> zeros(5, 0.0f);
  CHECK(quanta::admm_encoding(zeros, o) == quanta::compute_encoding(0.0f, 0.0f, o));
  CHECK(quanta::least_squares_fit(zeros, 4).error == 0.0);
}

TEST_CASE("admm: errors", "[calibrate][admm]") {
  CHECK_THROWS_WITH(quanta::admm_fit(std::vector<float>{}, 8),
                    "admm_fit: w is empty; expected at least one weight");
  CHECK_THROWS_WITH(quanta::least_squares_fit(std::vector<float>{1.0f, std::nanf("")}, 8),
                    Catch::StartsWith("least_squares_fit: w[1] is nan; expected finite weights"));
  CHECK_THROWS_WITH(quanta::admm_fit(reference_w, 1), "admm_fit: bitwidth is 1; expected 2..16");
  encoding_options o;
  o.bitwidth = 32;
  o.is_signed = true;
  CHECK_THROWS_WITH(quanta::admm_encoding(reference_w, o),
                    "admm_encoding: options.bitwidth is 32; expected 2..16 for weights");
  CHECK_THROWS_WITH(quanta::admm_encodings(reference_w, quanta::channel_layout{1, 3, 1}),
                    Catch::StartsWith("admm_encodings: data has 8 elements but the layout"));
}
