#include <quanta/bias_correction.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <quanta/encoding.hpp>
#include <quanta/quantize.hpp>
#include <quanta/reduce.hpp>

using quanta::clip_activation;
using quanta::expected_clipped_normal;
using quanta::weight_layout;

namespace {

// E[clamp(X, lo, hi)] by Simpson's rule over mean +- 12 stddev, split at the clip points so that
// every piece is smooth: an independent check of the closed form.
double simpson(double a, double b, double mean, double stddev, double lo, double hi) {
  if (!(b > a)) return 0.0;
  const int n = 20000;
  const double h = (b - a) / n;
  double sum = 0.0;
  for (int k = 0; k <= n; ++k) {
    const double x = a + k * h;
    const double z = (x - mean) / stddev;
    const double f = std::min(std::max(x, lo), hi) * std::exp(-0.5 * z * z);
    sum += (k == 0 || k == n) ? f : (k % 2 == 1 ? 4.0 * f : 2.0 * f);
  }
  return sum * h / 3.0;
}

double integrate_clipped_normal(double mean, double stddev, double lo, double hi) {
  const double a = mean - 12.0 * stddev;
  const double b = mean + 12.0 * stddev;
  const double p = std::min(std::max(lo, a), b);
  const double q = std::min(std::max(hi, a), b);
  const double total = simpson(a, p, mean, stddev, lo, hi) + simpson(p, q, mean, stddev, lo, hi) +
                       simpson(q, b, mean, stddev, lo, hi);
  return total / (stddev * std::sqrt(2.0 * std::acos(-1.0)));
}

}  // namespace

TEST_CASE("expected_clipped_normal: REFERENCE.md vectors", "[bias_correction][analytical]") {
  CHECK(expected_clipped_normal(0.5, 1.0, clip_activation::relu()) ==
        Approx(0.697796557).epsilon(1e-9));
  CHECK(expected_clipped_normal(-1.0, 2.0, clip_activation::relu()) ==
        Approx(0.395593115).epsilon(1e-9));
  CHECK(expected_clipped_normal(5.0, 2.0, clip_activation::relu6()) ==
        Approx(4.6084152).epsilon(1e-8));
}

TEST_CASE("expected_clipped_normal: limits and integration", "[bias_correction][analytical]") {
  CHECK(expected_clipped_normal(-3.25, 7.0, clip_activation::none()) == Approx(-3.25));
  // stddev 0 is the clamp of the mean.
  CHECK(expected_clipped_normal(-3.0, 0.0, clip_activation::relu()) == 0.0);
  CHECK(expected_clipped_normal(9.0, 0.0, clip_activation::relu6()) == 6.0);
  CHECK(expected_clipped_normal(2.5, 0.0, clip_activation::relu6()) == 2.5);
  // lo == hi is the constant.
  CHECK(expected_clipped_normal(1.0, 3.0, clip_activation::clip(0.75, 0.75)) == Approx(0.75));
  // Far tails: no NaN, no cancellation to a negative value.
  CHECK(expected_clipped_normal(-40.0, 1.0, clip_activation::relu()) >= 0.0);
  CHECK(expected_clipped_normal(-40.0, 1.0, clip_activation::relu()) < 1e-300);
  CHECK(expected_clipped_normal(40.0, 1.0, clip_activation::relu()) == Approx(40.0));
  CHECK(expected_clipped_normal(40.0, 1.0, clip_activation::relu6()) == Approx(6.0));
  CHECK(expected_clipped_normal(1e6, 1.0, clip_activation::clip(1e6 - 1.0, 1e6 + 1.0)) ==
        Approx(1e6).epsilon(1e-12));
  struct row {
    double mean, stddev, lo, hi;
  };
  const double inf = std::numeric_limits<double>::infinity();
  const row rows[] = {{0.5, 1.0, 0.0, inf},   {-1.0, 2.0, 0.0, inf}, {5.0, 2.0, 0.0, 6.0},
                      {0.0, 1.0, -1.0, 1.0},  {3.0, 0.5, -inf, 2.0}, {-2.0, 3.0, -1.5, 4.0},
                      {10.0, 4.0, 8.0, 12.0}, {0.1, 0.01, 0.0, 0.2}};
  for (const row& r : rows) {
    INFO("N(" << r.mean << ", " << r.stddev << "^2) clipped to [" << r.lo << ", " << r.hi << "]");
    CHECK(expected_clipped_normal(r.mean, r.stddev, clip_activation::clip(r.lo, r.hi)) ==
          Approx(integrate_clipped_normal(r.mean, r.stddev, r.lo, r.hi))
              .epsilon(1e-10)
              .margin(1e-12));
  }
}

TEST_CASE("correct_bias_analytical: AIMET's vectors", "[bias_correction][analytical]") {
  // weight = 0..17 as [3, 2, 3, 1], quantized weight one higher: every (output, input) pair has
  // an error of 3 summed over its taps. Input channels ~ N(-2, 1) and N(1, 3^2).
  std::vector<float> w(18), wq(18);
  for (std::size_t k = 0; k < 18; ++k) {
    w[k] = static_cast<float>(k);
    wq[k] = static_cast<float>(k + 1);
  }
  const std::vector<float> mean = {-2.0f, 1.0f};
  const std::vector<float> stddev = {1.0f, 3.0f};
  const quanta::const_weight_view view{w, weight_layout::oihw, {3, 2, 3, 1}};

  std::vector<float> bias = {5.0f, 5.0f, 5.0f};
  quanta::correct_bias_analytical(view, wq, mean, stddev, clip_activation::none(), bias);
  CHECK(bias == std::vector<float>{8.0f, 8.0f, 8.0f});

  bias = {5.0f, 5.0f, 5.0f};
  quanta::correct_bias_analytical(view, wq, mean, stddev, clip_activation::relu(), bias);
  for (float b : bias)
    CHECK(b == Approx(-0.3135972f).epsilon(1e-6));
}

TEST_CASE("correct_bias_analytical: depthwise is elementwise, layouts agree",
          "[bias_correction][analytical]") {
  // Depthwise [2, 1, 2, 1]: channel 0 errors 0.5 + 0.25, channel 1 errors -1 + 0.
  const std::vector<float> w = {1.0f, 2.0f, 3.0f, 4.0f};
  const std::vector<float> wq = {1.5f, 2.25f, 2.0f, 4.0f};
  const std::vector<float> mean = {2.0f, -1.0f};
  const std::vector<float> stddev = {0.0f, 0.0f};
  std::vector<float> bias = {0.0f, 1.0f};
  quanta::correct_bias_analytical({w, weight_layout::oihw, {2, 1, 2, 1}, 2}, wq, mean, stddev,
                                  clip_activation::none(), bias);
  CHECK(bias[0] == -1.5f);  // 0 - 0.75 * 2
  CHECK(bias[1] == 0.0f);   // 1 - (-1) * (-1)

  // The same depthwise weights as hwcm [2, 1, 2, 1] (taps, width, channels, multiplier): element
  // (t, c) at t * 2 + c.
  const std::vector<float> hw = {1.0f, 3.0f, 2.0f, 4.0f};
  const std::vector<float> hwq = {1.5f, 2.0f, 2.25f, 4.0f};
  std::vector<float> hbias = {0.0f, 1.0f};
  quanta::correct_bias_analytical({hw, weight_layout::hwcm, {2, 1, 2, 1}}, hwq, mean, stddev,
                                  clip_activation::none(), hbias);
  CHECK(hbias == bias);

  // A linear layer [2, 3] and the same as a TensorFlow Dense kernel [3, 2] (hwio of rank 2).
  const std::vector<float> l = {1.0f, -2.0f, 0.5f, 4.0f, 0.0f, -1.0f};
  const std::vector<float> lq = {1.25f, -2.0f, 0.25f, 3.5f, 0.5f, -1.0f};
  const std::vector<float> t = {1.0f, 4.0f, -2.0f, 0.0f, 0.5f, -1.0f};
  const std::vector<float> tq = {1.25f, 3.5f, -2.0f, 0.5f, 0.25f, -1.0f};
  const std::vector<float> m3 = {1.0f, 2.0f, -0.5f}, s3 = {1.0f, 0.5f, 2.0f};
  std::vector<float> lb = {0.0f, 0.0f}, tb = {0.0f, 0.0f};
  quanta::correct_bias_analytical({l, weight_layout::linear, {2, 3}}, lq, m3, s3,
                                  clip_activation::relu6(), lb);
  quanta::correct_bias_analytical({t, weight_layout::hwio, {3, 2}}, tq, m3, s3,
                                  clip_activation::relu6(), tb);
  CHECK(lb == tb);
  const double e0 = expected_clipped_normal(1.0, 1.0, clip_activation::relu6());
  const double e1 = expected_clipped_normal(2.0, 0.5, clip_activation::relu6());
  const double e2 = expected_clipped_normal(-0.5, 2.0, clip_activation::relu6());
  CHECK(lb[0] == Approx(-(0.25 * e0 - 0.25 * e2)).epsilon(1e-6));
  CHECK(lb[1] == Approx(-(-0.5 * e0 + 0.5 * e1)).epsilon(1e-6));
}

TEST_CASE("correct_bias_analytical: removes the mean output error of 4-bit weights",
          "[bias_correction][analytical][property]") {
  // A linear layer [8, 16] after ReLU with inputs ~ N(mean_i, stddev_i^2): the mean over many
  // samples of (quantized layer - float layer) is the bias shift the correction removes.
  std::mt19937 rng(21);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(-1.0f, 2.0f);
  const std::size_t out = 8, in = 16;
  std::vector<float> w(out * in), mean(in), stddev(in);
  for (float& v : w)
    v = normal(rng);
  for (std::size_t i = 0; i < in; ++i) {
    mean[i] = uniform(rng);
    stddev[i] = 0.5f + std::fabs(normal(rng));
  }
  quanta::encoding_options o;
  o.bitwidth = 4;
  o.kind = quanta::scheme::symmetric;
  o.is_signed = true;
  std::vector<float> wq(w.size());
  quanta::quantize_dequantize(w, quanta::compute_encoding(w, o), wq);
  std::vector<float> bias(out, 0.0f);
  quanta::correct_bias_analytical({w, weight_layout::linear, {8, 16}}, wq, mean, stddev,
                                  clip_activation::relu(), bias);

  std::vector<double> error_before(out, 0.0), error_after(out, 0.0);
  const int samples = 200000;
  std::vector<double> x(in);
  for (int n = 0; n < samples; ++n) {
    for (std::size_t i = 0; i < in; ++i) {
      x[i] = std::max(0.0, static_cast<double>(mean[i]) + stddev[i] * normal(rng));
    }
    for (std::size_t o_ = 0; o_ < out; ++o_) {
      double d = 0.0;
      for (std::size_t i = 0; i < in; ++i)
        d += (double(wq[o_ * in + i]) - w[o_ * in + i]) * x[i];
      error_before[o_] += d;
      error_after[o_] += d + bias[o_];
    }
  }
  double worst_before = 0.0, worst_after = 0.0;
  for (std::size_t o_ = 0; o_ < out; ++o_) {
    worst_before = std::max(worst_before, std::fabs(error_before[o_] / samples));
    worst_after = std::max(worst_after, std::fabs(error_after[o_] / samples));
  }
  CHECK(worst_before > 0.05);
  CHECK(worst_after < 0.1 * worst_before);
}

TEST_CASE("empirical_bias_correction: AIMET's vector and layouts", "[bias_correction][empirical]") {
  // Float outputs 0..11 and quantized outputs 1..12 as [2, 2, 3, 1] (NCHW), added twice: the
  // quantized model is 1 too high everywhere.
  std::vector<float> f(12), q(12);
  for (std::size_t k = 0; k < 12; ++k) {
    f[k] = static_cast<float>(k);
    q[k] = static_cast<float>(k + 1);
  }
  const std::vector<std::int64_t> shape = {2, 2, 3, 1};
  const auto nchw = quanta::channel_layout::from_shape(shape, 1);
  quanta::empirical_bias_correction c(2);
  c.add_float(f, nchw);
  c.add_float(f, nchw);
  c.add_quantized(q, nchw);
  c.add_quantized(q, nchw);
  CHECK(c.float_count() == 12);
  CHECK(c.quantized_count() == 12);
  std::vector<float> bias = {10.0f, 10.0f};
  c.correct(bias);
  CHECK(bias == std::vector<float>{9.0f, 9.0f});

  // Per channel, over N and the spatial positions; NHWC sees the same batch transposed.
  std::vector<float> fq(12), qq(12);
  for (std::size_t k = 0; k < 12; ++k) {
    const std::size_t channel = (k / 3) % 2;
    fq[k] = static_cast<float>(k);
    qq[k] = fq[k] + (channel == 0 ? 0.5f : -2.0f);
  }
  std::vector<float> fn(12), qn(12);  // [2, 3, 1, 2]
  for (std::size_t n = 0; n < 2; ++n) {
    for (std::size_t ch = 0; ch < 2; ++ch) {
      for (std::size_t p = 0; p < 3; ++p) {
        fn[(n * 3 + p) * 2 + ch] = fq[(n * 2 + ch) * 3 + p];
        qn[(n * 3 + p) * 2 + ch] = qq[(n * 2 + ch) * 3 + p];
      }
    }
  }
  const std::vector<std::int64_t> nhwc_shape = {2, 3, 1, 2};
  quanta::empirical_bias_correction a(2), b(2);
  a.add(fq, qq, nchw);
  b.add(fn, qn, quanta::channel_layout::from_shape(nhwc_shape, -1));
  CHECK(a.mean_error() == std::vector<double>{0.5, -2.0});
  CHECK(b.mean_error() == a.mean_error());

  // Nothing added: no correction.
  quanta::empirical_bias_correction empty(3);
  std::vector<float> untouched = {1.0f, 2.0f, 3.0f};
  empty.correct(untouched);
  CHECK(untouched == std::vector<float>{1.0f, 2.0f, 3.0f});
}

TEST_CASE("empirical_bias_correction: sums in memory order, the same for every -m flag",
          "[bias_correction][empirical]") {
  // In double, 2^54 + 1 rounds back to 2^54: in memory order the sum of {2^54, 1, -2^54, 1} is 1;
  // any pairwise or vectorized order (as Eigen's, which depended on -m flags) gives 0 or 2.
  const float big = std::ldexp(1.0f, 54);
  const std::vector<float> float_output = {big, 1.0f, -big, 1.0f};
  const std::vector<float> quantized_output(4, 0.0f);
  const std::vector<std::int64_t> shape = {1, 1, 4};
  quanta::empirical_bias_correction c(1);
  c.add(float_output, quantized_output, quanta::channel_layout::from_shape(shape, 1));
  CHECK(c.mean_error() == std::vector<double>{-0.25});
  // Each call's sum is added to the running sum: split over two calls, 2^54 + 1 and -2^54 + 1 each
  // round to +-2^54 first, and the sum is 0.
  const std::vector<float> first = {big, 1.0f}, second = {-big, 1.0f};
  const std::vector<float> zeros(2, 0.0f);
  const std::vector<std::int64_t> half = {1, 1, 2};
  quanta::empirical_bias_correction split(1);
  split.add(first, zeros, quanta::channel_layout::from_shape(half, 1));
  split.add(second, zeros, quanta::channel_layout::from_shape(half, 1));
  CHECK(split.mean_error() == std::vector<double>{0.0});
}

TEST_CASE("bias correction: bad input is reported and changes nothing",
          "[bias_correction][errors]") {
  using Catch::Contains;
  using Catch::StartsWith;
  CHECK_THROWS_WITH(
      expected_clipped_normal(0.0, -1.0, clip_activation::relu()),
      StartsWith("expected_clipped_normal: stddev is -1; expected a finite value >= 0"));
  CHECK_THROWS_WITH(expected_clipped_normal(0.0, 1.0, clip_activation::clip(2.0, 1.0)),
                    StartsWith("expected_clipped_normal: activation is clip [2, 1]; expected lo "
                               "<= hi"));
  CHECK_THROWS_WITH(expected_clipped_normal(std::numeric_limits<double>::quiet_NaN(), 1.0,
                                            clip_activation::relu()),
                    StartsWith("expected_clipped_normal: mean is nan; expected a finite value"));

  const std::vector<float> w = {1.0f, 2.0f, 3.0f, 4.0f};
  const std::vector<float> wq = {1.0f, 2.0f, 3.0f};
  const std::vector<float> two = {1.0f, 1.0f};
  const std::vector<float> negative = {1.0f, -1.0f};
  std::vector<float> bias = {7.0f, 7.0f};
  CHECK_THROWS_WITH(quanta::correct_bias_analytical({w, weight_layout::linear, {2, 2}}, wq, two,
                                                    two, clip_activation::relu(), bias),
                    StartsWith("correct_bias_analytical: quantized_weight has 3 elements but "
                               "weight has 4; expected equal sizes"));
  CHECK_THROWS_WITH(quanta::correct_bias_analytical({w, weight_layout::linear, {2, 2}}, w, two,
                                                    negative, clip_activation::relu(), bias),
                    StartsWith("correct_bias_analytical: input_stddev[1] is -1; expected a value "
                               ">= 0") &&
                        Contains("|gamma|"));
  CHECK_THROWS_WITH(quanta::correct_bias_analytical({w, weight_layout::linear, {2, 2}}, w, wq, two,
                                                    clip_activation::relu(), bias),
                    StartsWith("correct_bias_analytical: input_mean has 3 elements; expected 2"));
  CHECK_THROWS_WITH(quanta::correct_bias_analytical({w, weight_layout::oihw, {4, 1, 1, 1}, 2}, w,
                                                    two, two, clip_activation::relu(), bias),
                    StartsWith("correct_bias_analytical: weight.groups is 2") &&
                        Contains("expected groups 1, or a depthwise convolution"));
  CHECK(bias == std::vector<float>{7.0f, 7.0f});

  CHECK_THROWS_WITH(quanta::empirical_bias_correction(0),
                    StartsWith("empirical_bias_correction: channels is 0; expected at least 1"));
  quanta::empirical_bias_correction c(2);
  const std::vector<float> batch = {1.0f, 2.0f, 3.0f, 4.0f};
  const std::vector<float> short_batch = {1.0f, 2.0f, 3.0f};
  const quanta::channel_layout layout{2, 2, 1};
  CHECK_THROWS_WITH(c.add(batch, short_batch, layout),
                    StartsWith("empirical_bias_correction::add: quantized_output has 3 elements "
                               "but the layout [outer 2, channels 2, inner 1] describes 4"));
  CHECK(c.float_count() == 0);  // the valid float batch was not taken either
  CHECK_THROWS_WITH(c.add_float(batch, quanta::channel_layout{1, 4, 1}),
                    StartsWith("empirical_bias_correction::add_float: layout has 4 channels; "
                               "expected 2"));
  c.add_float(batch, layout);
  CHECK_THROWS_WITH(c.correct(bias),
                    StartsWith("empirical_bias_correction::correct: 2 float values per channel but "
                               "0 quantized; expected equal counts"));
  CHECK_THROWS_WITH(c.mean_error(), StartsWith("empirical_bias_correction::mean_error: 2 float"));
  c.add_quantized(batch, layout);
  std::vector<float> wrong(3, 0.0f);
  CHECK_THROWS_WITH(
      c.correct(wrong),
      StartsWith("empirical_bias_correction::correct: bias has 3 elements; expected 2"));
  CHECK(bias == std::vector<float>{7.0f, 7.0f});
}
