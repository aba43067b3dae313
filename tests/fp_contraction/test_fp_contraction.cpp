// Built with -ffp-contract=fast (and -march=native in the native presets, where the host has FMA):
// quanta's results must not change when the host's compiler may fuse a product and a sum.
#include <quanta/calibrate/observer.hpp>
#include <quanta/ref/quantize.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace {

// a * b rounded to float, then + c rounded: what the math contract computes. The volatile store
// keeps even this TU's compiler from fusing it.
float unfused_multiply_add(float a, float b, float c) {
  volatile float product = a * b;
  return product + c;
}

}  // namespace

TEST_CASE("fp contraction: the moving-average observer rounds the product first",
          "[calibrate][observer][fp_contract]") {
  quanta::observer_options opts;
  opts.moving_average = true;
  opts.averaging_constant = 0.01f;
  std::mt19937 rng(20261203);
  std::uniform_real_distribution<float> value(-8.0f, 8.0f);
  int fused_would_differ = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const float first = value(rng), second = value(rng);
    quanta::min_max_observer o(opts);
    o.observe(std::vector<float>{first, first + 1.0f});
    o.observe(std::vector<float>{second, second + 1.0f});
    const float c = opts.averaging_constant;
    const float expected_min = unfused_multiply_add(c, second - first, first);
    const float expected_max = unfused_multiply_add(c, second - first, first + 1.0f);
    if (std::fma(c, second - first, first) != expected_min) ++fused_would_differ;
    INFO("trial " << trial << ": batches at " << first << " and " << second);
    REQUIRE(o.range().min == expected_min);
    REQUIRE(o.range().max == expected_max);
  }
  // The inputs reach cases where one rounding instead of two changes the result.
  CHECK(fused_would_differ > 0);
}

TEST_CASE("fp contraction: ref::quantize rounds x * inv_scale before adding the zero point",
          "[quantize][fp_contract]") {
  // The QNN rule adds the zero point before rounding (pre_offset), the case a fused build changes.
  quanta::quantize_options o = quanta::quantize_options::for_profile(quanta::profile::qnn);
  o.divide_by_scale = false;  // the multiply path: x * inv_scale + pre_offset is an FMA candidate
  const quanta::encoding e = quanta::compute_encoding(-0.7f, 1.3f);
  const quanta::detail::affine_params p = quanta::detail::make_affine_params(e, o);
  REQUIRE(p.pre_offset != 0.0f);

  // Inputs a few ulps around every tie (k + 0.5) * scale, where one rounding instead of two can
  // move t across the tie.
  int fused_would_differ = 0;
  for (int k = -200; k <= 200; ++k) {
    float x = static_cast<float>(k + 0.5) * e.scale;
    for (int step = 0; step < 8; ++step)
      x = std::nextafter(x, -INFINITY);
    for (int step = 0; step < 17; ++step, x = std::nextafter(x, INFINITY)) {
      const float t = unfused_multiply_add(x, p.inv_scale, p.pre_offset);
      const float fused_t = std::fma(x, p.inv_scale, p.pre_offset);
      const double r =
          static_cast<double>(quanta::ref::round_to_integral(t, p.round)) + p.post_offset;
      const double fused_r =
          static_cast<double>(quanta::ref::round_to_integral(fused_t, p.round)) + p.post_offset;
      if (r != fused_r) ++fused_would_differ;
      const auto expected = static_cast<std::int64_t>(std::fmin(std::fmax(r, p.qmin), p.qmax));
      INFO("x = " << x);
      REQUIRE(quanta::ref::quantize_code(x, p) == expected);
    }
  }
  CHECK(fused_would_differ > 0);
}
