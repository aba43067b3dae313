#include <quanta/calibrate/entropy.hpp>

#include <catch2/catch.hpp>

#include "data/calibrate_reference.hpp"

#include <cmath>
#include <random>
#include <vector>

using quanta::encoding_options;
using quanta::entropy_options;
using quanta::entropy_variant;
using quanta::histogram;
using quanta::histogram_domain;
using quanta::scheme;

TEST_CASE("entropy: merge into levels and expand over non-empty bins", "[calibrate][entropy]") {
  const std::vector<double> p = {1, 0, 2, 3, 5, 3, 1, 7};
  const auto q = quanta::detail::expand_candidate(p.data(), p, 2, entropy_variant::tensorrt);
  CHECK(q == std::vector<double>{2, 0, 2, 2, 4, 4, 4, 4});
}

TEST_CASE("entropy: the reference histogram gives amax 4.0 (TensorRT and ModelOpt rules)",
          "[calibrate][entropy]") {
  const histogram h = quanta_test::reference_magnitude_histogram();
  for (auto v : {entropy_variant::tensorrt, entropy_variant::modelopt}) {
    const auto e =
        quanta::entropy_encoding(h, quanta_test::int_narrow(4), entropy_options::for_variant(v));
    CHECK(e.max() == 4.0f);
  }
}

TEST_CASE("entropy: the O(levels) prefix form equals the direct divergence",
          "[calibrate][entropy]") {
  std::mt19937 gen(2);
  std::exponential_distribution<float> dist(1.0f);
  std::vector<float> x(50000);
  for (auto& v : x)
    v = dist(gen);
  histogram h(512, histogram_domain::magnitude);
  h.observe(x);
  std::vector<double> c(h.counts().begin(), h.counts().end());
  const quanta::detail::prefix_divergence prefix(c, 128);
  for (std::size_t i = 128; i < 512; i += 7) {
    const double direct = quanta::detail::window_divergence(c, 0, i, 128, entropy_options{});
    if (std::isinf(direct)) {
      CHECK(std::isinf(prefix(i)));
    } else {
      CHECK(prefix(i) == Approx(direct).epsilon(1e-9).margin(1e-12));
    }
  }
  // Smoothing (MXNet's eps) takes the direct path; the threshold stays near the fast one.
  const auto fast = quanta::entropy_encoding(h, quanta_test::int_narrow(8));
  const auto mxnet = quanta::entropy_encoding(h, quanta_test::int_narrow(8),
                                              entropy_options::for_variant(entropy_variant::mxnet));
  CHECK(mxnet.max() > 0.5f * fast.max());
  CHECK(mxnet.max() < 2.0f * fast.max());
}

TEST_CASE("entropy: asymmetric windows over a value histogram", "[calibrate][entropy]") {
  std::mt19937 gen(4);
  std::normal_distribution<float> dist(3.0f, 1.0f);
  std::vector<float> x(20000);
  for (auto& v : x)
    v = dist(gen);
  x[0] = -20.0f;  // one far outlier below
  histogram h(256);
  h.observe(x);
  encoding_options o;
  o.bitwidth = 4;
  const auto e = quanta::entropy_encoding(h, o);
  CHECK(e.min() > -20.0f);  // the outlier is clipped
  CHECK(e.max() > 4.0f);
}

TEST_CASE("entropy: per channel and errors", "[calibrate][entropy]") {
  std::vector<histogram> hs(2, histogram(2048, histogram_domain::magnitude));
  hs[0].observe(std::vector<float>{0.5f, 1.0f, -2.0f});
  hs[1].observe(std::vector<float>{3.0f});
  const auto e = quanta::entropy_encodings(hs, quanta_test::int_narrow(8));
  CHECK(e.size() == 2);
  CHECK_THROWS_WITH(quanta::entropy_encoding(histogram(100, histogram_domain::magnitude)),
                    Catch::StartsWith("entropy_encoding: histogram is empty"));
  histogram small(100, histogram_domain::magnitude);
  small.observe(std::vector<float>{1.0f});
  CHECK_THROWS_WITH(quanta::entropy_encoding(small, quanta_test::int_narrow(8)),
                    "entropy_encoding: histogram has 100 bins and start_bin is 128; expected "
                    "levels (128) <= start_bin < bins");
  histogram value(256);
  value.observe(std::vector<float>{1.0f});
  CHECK_THROWS_WITH(
      quanta::entropy_encoding(value, quanta_test::int_narrow(4)),
      Catch::StartsWith("entropy_encoding: a value histogram with a symmetric scheme"));
  entropy_options bad;
  bad.smoothing = -1.0;
  CHECK_THROWS_WITH(quanta::entropy_encoding(hs[0], quanta_test::int_narrow(8), bad),
                    Catch::StartsWith("entropy_encoding: options.smoothing is -1"));
}
