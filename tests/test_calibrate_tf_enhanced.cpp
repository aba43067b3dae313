#include <quanta/calibrate/tf_enhanced.hpp>
#include <quanta/quantize.hpp>
#include <quanta/reduce.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

using quanta::aimet_tf_enhanced;
using quanta::encoding_options;
using quanta::scheme;

namespace {

// AIMET's TestTensorQuantizer.SanityTestCpu input: 6000 draws of N(2, 2), mt19937 seed 1.
std::vector<float> aimet_gaussian(float mean, float stddev) {
  std::normal_distribution<float> dist(mean, stddev);
  std::mt19937 gen(1);
  std::vector<float> x(6000);
  for (auto& v : x)
    v = dist(gen);
  return x;
}

double sqnr(const std::vector<float>& x, const quanta::encoding& e) {
  std::vector<float> y(x.size());
  quanta::quantize_dequantize(x, e, y);
  double signal = 0.0, noise = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    signal += static_cast<double>(x[i]) * x[i];
    noise += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
  }
  return 10.0 * std::log10(signal / noise);
}

}  // namespace

TEST_CASE("tf_enhanced: AIMET's own test vector, bit for bit", "[calibrate][tf_enhanced]") {
  aimet_tf_enhanced a;
  a.observe(aimet_gaussian(2.0f, 2.0f));
  const auto raw = a.compute_raw({});
  CHECK(raw.min == Approx(-6.52711).margin(1e-3));
  CHECK(raw.max == Approx(8.88412).margin(1e-3));
  CHECK(raw.offset == -108.0);
  CHECK(raw.bitwidth == 8);
  const auto e = a.compute({});
  CHECK(e.offset() == -108);
  CHECK(static_cast<double>(e.scale) == Approx(raw.delta).epsilon(1e-6));
  std::vector<float> five = {5.0f}, out(1);
  quanta::quantize_dequantize(five, e, out,
                              quanta::quantize_options::for_profile(quanta::profile::qnn));
  CHECK(out[0] == Approx(5.0162).margin(1e-3));
  CHECK(out[0] != 5.0f);
}

TEST_CASE("tf_enhanced: AIMET's symmetric variants and its zero-batch rule",
          "[calibrate][tf_enhanced]") {
  const auto x = aimet_gaussian(-2.0f, 1.0f);
  aimet_tf_enhanced a;
  a.observe(x);
  encoding_options o;
  o.kind = scheme::symmetric;
  const auto raw = a.compute_raw(o);
  CHECK(raw.offset == -128.0);
  CHECK(raw.max - raw.min == Approx(255.0 * raw.delta).epsilon(1e-6));
  const auto e = a.compute(o);
  CHECK(static_cast<double>(e.scale) == Approx(raw.delta).epsilon(1e-6));
  o.kind = scheme::symmetric_strict;
  const auto strict = a.compute_raw(o);
  CHECK(strict.offset == -127.0);
  CHECK(strict.min == -strict.max);

  aimet_tf_enhanced z;
  z.observe(std::vector<float>(100, 0.0f));  // ignored: AIMET waits for a non-zero batch
  CHECK(z.empty());
  CHECK(z.compute_raw({}).max == 0.0);
  z.observe(x);
  CHECK(z.iterations() == 1);
  CHECK(z.compute_raw({}).min == a.compute_raw({}).min);

  aimet_tf_enhanced same;
  same.observe(std::vector<float>(8, 4.0f));
  const auto s = same.compute_raw({});
  CHECK(s.min <= 0.0);
  CHECK(s.max >= 3.5);
}

TEST_CASE("tf_enhanced: the exact-scored mode clips outliers and beats min/max",
          "[calibrate][tf_enhanced]") {
  std::mt19937 gen(12);
  std::normal_distribution<float> dist(20.0f, 5.0f);
  std::vector<float> x(10000);
  for (auto& v : x)
    v = dist(gen);
  x[0] = 70.0f;
  x[1] = -30.0f;
  quanta::histogram h;
  h.observe(x);
  encoding_options o;
  o.bitwidth = 6;
  const auto ours = quanta::tf_enhanced_encoding(h, o);
  const auto tf = quanta::compute_encoding(x, o);
  CHECK(ours.min() > tf.min());
  CHECK(ours.max() < tf.max());
  CHECK(sqnr(x, ours) > sqnr(x, tf));
  aimet_tf_enhanced a;
  a.observe(x);
  CHECK(sqnr(x, a.compute(o)) > sqnr(x, tf));
}

TEST_CASE("tf_enhanced: per channel and errors", "[calibrate][tf_enhanced]") {
  const std::vector<float> w = {1, -2, 3, 4, 0.5f, -0.25f};
  const auto e = quanta::aimet_tf_enhanced_encodings(w, quanta::channel_layout{1, 2, 3});
  aimet_tf_enhanced c1;
  c1.observe(std::vector<float>{4, 0.5f, -0.25f});
  CHECK(e[1] == c1.compute({}));
  std::vector<quanta::histogram> hs(2, quanta::histogram(64));
  hs[0].observe(std::vector<float>{1, 2});
  CHECK_THROWS_WITH(quanta::tf_enhanced_encodings(hs),
                    Catch::StartsWith("tf_enhanced_encodings: histograms[1] is empty"));
  quanta::tf_enhanced_options bad;
  bad.gamma = 0.0;
  CHECK_THROWS_WITH(quanta::tf_enhanced_encoding(hs[0], {}, bad),
                    Catch::StartsWith("tf_enhanced_encoding: options.gamma is 0"));
  aimet_tf_enhanced a;
  CHECK_THROWS_WITH(a.observe(std::vector<float>{1.0f, std::nanf("")}),
                    Catch::StartsWith("aimet_tf_enhanced::observe: x[1] is nan"));
  CHECK(a.empty());
}
