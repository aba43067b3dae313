#include <quanta/equalize.hpp>

#include <catch2/catch.hpp>

// The reference network of these tests is Eigen's double matrix products, which GCC 12 on AMD Zen
// hosts (-march=native) reports as reading uninitialized registers in its own AVX-512 intrinsics
// once inlined; quanta's headers do not use Eigen. Placed before Eigen so that it covers its code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

using quanta::clip_activation;
using quanta::layer_view;
using quanta::weight_layout;
using quanta::weight_view;

namespace {

using shape_t = std::vector<std::int64_t>;

// A single-image convolution in double, stride 1, zero padding `pad`: OIHW weights, NCHW input
// [channels, height, width], groups 1 or depthwise. im2col rows are (input channel, tap), the
// order of an OIHW row.
struct conv_spec {
  std::int64_t out, in, kh, kw;
  bool depthwise = false;
  std::int64_t pad = 0;
};

Eigen::MatrixXd im2col(const Eigen::MatrixXd& x, std::int64_t height, std::int64_t width,
                       const conv_spec& c, std::int64_t& out_h, std::int64_t& out_w) {
  out_h = height + 2 * c.pad - c.kh + 1;
  out_w = width + 2 * c.pad - c.kw + 1;
  Eigen::MatrixXd cols = Eigen::MatrixXd::Zero(x.rows() * c.kh * c.kw, out_h * out_w);
  for (Eigen::Index ch = 0; ch < x.rows(); ++ch) {
    for (std::int64_t ky = 0; ky < c.kh; ++ky) {
      for (std::int64_t kx = 0; kx < c.kw; ++kx) {
        const Eigen::Index row = (ch * c.kh + ky) * c.kw + kx;
        for (std::int64_t y = 0; y < out_h; ++y) {
          for (std::int64_t xx = 0; xx < out_w; ++xx) {
            const std::int64_t sy = y + ky - c.pad;
            const std::int64_t sx = xx + kx - c.pad;
            if (sy < 0 || sy >= height || sx < 0 || sx >= width) continue;
            cols(row, y * out_w + xx) = x(ch, sy * width + sx);
          }
        }
      }
    }
  }
  return cols;
}

// x: [in channels, height * width]; returns [out channels, out_h * out_w].
Eigen::MatrixXd conv(const Eigen::MatrixXd& x, std::int64_t& height, std::int64_t& width,
                     const std::vector<float>& w, const std::vector<float>& b, const conv_spec& c) {
  std::int64_t out_h = 0;
  std::int64_t out_w = 0;
  const Eigen::MatrixXd cols = im2col(x, height, width, c, out_h, out_w);
  const Eigen::Index k = c.kh * c.kw;
  const Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>
      weights(w.data(), c.out, c.depthwise ? k : c.in * k);
  Eigen::MatrixXd y(c.out, out_h * out_w);
  if (c.depthwise) {
    for (Eigen::Index o = 0; o < c.out; ++o) {
      y.row(o) = weights.row(o).cast<double>() * cols.middleRows(o * k, k);
    }
  } else {
    y = weights.cast<double>() * cols;
  }
  for (Eigen::Index o = 0; o < c.out; ++o) {
    if (!b.empty()) y.row(o).array() += static_cast<double>(b[static_cast<std::size_t>(o)]);
  }
  height = out_h;
  width = out_w;
  return y;
}

Eigen::MatrixXd relu(Eigen::MatrixXd x) {
  return x.cwiseMax(0.0);
}

std::vector<float> random_weights(std::mt19937& rng, std::size_t n) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> w(n);
  for (float& v : w)
    v = normal(rng);
  return w;
}

// Multiplies each OIHW output channel by 10^u, u uniform in [-e, e]: ranges that differ by orders
// of magnitude, as after folding MobileNet's batch norms.
void spread_channels(std::mt19937& rng, std::vector<float>& w, std::size_t channels, double e) {
  std::uniform_real_distribution<double> u(-e, e);
  const std::size_t per = w.size() / channels;
  for (std::size_t o = 0; o < channels; ++o) {
    const auto f = static_cast<float>(std::pow(10.0, u(rng)));
    for (std::size_t k = 0; k < per; ++k)
      w[o * per + k] *= f;
  }
}

// OIHW [o, i, h, w] -> HWIO [h, w, i, o].
std::vector<float> to_hwio(const std::vector<float>& w, std::size_t o_n, std::size_t i_n,
                           std::size_t taps) {
  std::vector<float> r(w.size());
  for (std::size_t o = 0; o < o_n; ++o) {
    for (std::size_t i = 0; i < i_n; ++i) {
      for (std::size_t t = 0; t < taps; ++t)
        r[(t * i_n + i) * o_n + o] = w[(o * i_n + i) * taps + t];
    }
  }
  return r;
}

double max_abs(const Eigen::MatrixXd& m) {
  return m.cwiseAbs().maxCoeff();
}

// max |w| over each OIHW output channel, and over each input channel.
std::vector<double> out_ranges(const std::vector<float>& w, std::size_t o_n) {
  std::vector<double> r(o_n, 0.0);
  const std::size_t per = w.size() / o_n;
  for (std::size_t k = 0; k < w.size(); ++k)
    r[k / per] = std::max(r[k / per], double(std::fabs(w[k])));
  return r;
}

std::vector<double> in_ranges(const std::vector<float>& w, std::size_t o_n, std::size_t i_n) {
  std::vector<double> r(i_n, 0.0);
  const std::size_t taps = w.size() / (o_n * i_n);
  for (std::size_t k = 0; k < w.size(); ++k) {
    const std::size_t i = (k / taps) % i_n;
    r[i] = std::max(r[i], double(std::fabs(w[k])));
  }
  return r;
}

}  // namespace

TEST_CASE("equalize_pair: REFERENCE.md fully connected example", "[equalize][cle]") {
  std::vector<float> w1 = {4.0f, -2.0f, 0.5f, 0.25f};
  std::vector<float> b1 = {1.0f, 0.5f};
  std::vector<float> w2 = {0.5f, 3.0f, -1.0f, 6.0f};
  const auto run = [&](const Eigen::Vector2d& x) {
    Eigen::Matrix2d m1, m2;
    m1 << w1[0], w1[1], w1[2], w1[3];
    m2 << w2[0], w2[1], w2[2], w2[3];
    const Eigen::Vector2d h = (m1 * x + Eigen::Vector2d(b1[0], b1[1])).cwiseMax(0.0);
    return Eigen::Vector2d(m2 * h);
  };
  const Eigen::Vector2d x(0.3, -0.7);
  const Eigen::Vector2d before = run(x);
  CHECK(before[0] == Approx(3.225));
  CHECK(before[1] == Approx(-0.75));

  const layer_view first{{w1, weight_layout::linear, {2, 2}}, b1};
  const layer_view second{{w2, weight_layout::linear, {2, 2}}, {}};
  const std::vector<float> s = quanta::equalize_pair(first, second);
  REQUIRE(s.size() == 2);
  CHECK(s[0] == Approx(2.0).epsilon(1e-7));
  CHECK(s[1] == Approx(0.28867513).epsilon(1e-7));
  const std::vector<float> w1_expected = {2.0f, -1.0f, 1.7320508f, 0.8660254f};
  const std::vector<float> w2_expected = {1.0f, 0.8660254f, -2.0f, 1.7320508f};
  for (std::size_t k = 0; k < 4; ++k) {
    CHECK(w1[k] == Approx(w1_expected[k]).epsilon(1e-6));
    CHECK(w2[k] == Approx(w2_expected[k]).epsilon(1e-6));
  }
  CHECK(b1[0] == Approx(0.5).epsilon(1e-7));
  CHECK(b1[1] == Approx(1.7320508).epsilon(1e-6));
  const Eigen::Vector2d after = run(x);
  CHECK(after[0] == Approx(3.225).epsilon(1e-6));
  CHECK(after[1] == Approx(-0.75).epsilon(1e-6));
  // The scales applied are the ones returned: first's weights are exactly w / s.
  CHECK(w1[0] == 4.0f / s[0]);
  CHECK(w1[2] == 0.5f / s[1]);
}

TEST_CASE("equalize_depthwise_separable: AIMET's triple test", "[equalize][cle]") {
  // AIMET shapes all three as [2, 2, 3, 1]; the depthwise layer here is a real depthwise
  // convolution [2, 1, 3, 2] with the same channel ranges (11 and 23).
  std::vector<float> w1(12), wdw(12), w3(12);
  for (std::size_t k = 0; k < 12; ++k) {
    w1[k] = static_cast<float>(k + 1);
    wdw[k] = static_cast<float>(2 * k + 1);
    w3[k] = static_cast<float>(k + 1);
  }
  std::vector<float> b1 = {1.0f, 2.0f};
  std::vector<float> bdw = {1.0f, 3.0f};
  const layer_view conv1{{w1, weight_layout::oihw, {2, 2, 3, 1}}, b1};
  const layer_view dw{{wdw, weight_layout::oihw, {2, 1, 3, 2}, 2}, bdw};
  const layer_view conv3{{w3, weight_layout::oihw, {2, 2, 3, 1}}, {}};
  const auto s = quanta::equalize_depthwise_separable(conv1, dw, conv3);
  CHECK(1.0f / w1[0] == Approx(0.7137658f).epsilon(1e-6));
  CHECK(w1[0] == b1[0]);
  CHECK(w3[0] == Approx(0.93401319f).epsilon(1e-6));
  // Every range of a channel becomes cbrt(r1 r2 r3).
  const double c0 = std::cbrt(6.0 * 11.0 * 9.0);
  const double c1 = std::cbrt(12.0 * 23.0 * 12.0);
  const auto r1 = out_ranges(w1, 2);
  const auto r2 = out_ranges(wdw, 2);
  const auto r3 = in_ranges(w3, 2, 2);
  CHECK(r1[0] == Approx(c0).epsilon(1e-6));
  CHECK(r2[0] == Approx(c0).epsilon(1e-6));
  CHECK(r3[0] == Approx(c0).epsilon(1e-6));
  CHECK(r1[1] == Approx(c1).epsilon(1e-6));
  CHECK(r2[1] == Approx(c1).epsilon(1e-6));
  CHECK(r3[1] == Approx(c1).epsilon(1e-6));
  CHECK(s.first[0] == Approx(6.0 / c0).epsilon(1e-7));
  CHECK(s.second[1] == Approx(c1 / 12.0).epsilon(1e-7));
  CHECK(bdw[1] == Approx(3.0 / (c1 / 12.0)).epsilon(1e-6));
}

TEST_CASE("equalize_pair: conv -> ReLU -> conv output unchanged, ranges equal",
          "[equalize][cle][invariance]") {
  std::mt19937 rng(7);
  const conv_spec c1{6, 3, 3, 3, false, 1};
  const conv_spec c2{4, 6, 3, 3, false, 1};
  std::vector<float> w1 = random_weights(rng, 6 * 3 * 9);
  spread_channels(rng, w1, 6, 2.0);
  std::vector<float> b1 = random_weights(rng, 6);
  std::vector<float> w2 = random_weights(rng, 4 * 6 * 9);
  const std::vector<float> b2 = random_weights(rng, 4);
  const Eigen::MatrixXd x = Eigen::MatrixXd::Random(3, 7 * 5);
  const auto block = [&] {
    std::int64_t h = 7, w = 5;
    return conv(relu(conv(x, h, w, w1, b1, c1)), h, w, w2, b2, c2);
  };
  const Eigen::MatrixXd before = block();
  const std::vector<float> s = quanta::equalize_pair({{w1, weight_layout::oihw, {6, 3, 3, 3}}, b1},
                                                     {{w2, weight_layout::oihw, {4, 6, 3, 3}}, {}});
  const Eigen::MatrixXd after = block();
  CHECK(max_abs(after - before) <= 1e-5 * max_abs(before));
  const auto r1 = out_ranges(w1, 6);
  const auto r2 = in_ranges(w2, 4, 6);
  for (std::size_t c = 0; c < 6; ++c) {
    CHECK(r1[c] == Approx(r2[c]).epsilon(1e-6));
    CHECK(s[c] != 1.0f);
  }
}

TEST_CASE("equalize_pair: conv -> linear and linear -> linear", "[equalize][cle][invariance]") {
  std::mt19937 rng(11);
  // A 1x1 spatial output (a 3x3 conv over a 3x3 image) feeding a linear layer.
  const conv_spec c1{5, 2, 3, 3, false, 0};
  std::vector<float> w1 = random_weights(rng, 5 * 2 * 9);
  spread_channels(rng, w1, 5, 1.5);
  std::vector<float> b1 = random_weights(rng, 5);
  std::vector<float> w2 = random_weights(rng, 3 * 5);
  std::vector<float> w3 = random_weights(rng, 2 * 3);
  const Eigen::MatrixXd x = Eigen::MatrixXd::Random(2, 9);
  const auto run = [&] {
    std::int64_t h = 3, w = 3;
    const Eigen::MatrixXd y1 = relu(conv(x, h, w, w1, b1, c1));  // [5, 1]
    const Eigen::Map<const Eigen::Matrix<float, 3, 5, Eigen::RowMajor>> m2(w2.data());
    const Eigen::Map<const Eigen::Matrix<float, 2, 3, Eigen::RowMajor>> m3(w3.data());
    const Eigen::VectorXd y2 = relu(m2.cast<double>() * y1);
    return Eigen::VectorXd(m3.cast<double>() * y2);
  };
  const Eigen::VectorXd before = run();
  quanta::equalize_pair({{w1, weight_layout::oihw, {5, 2, 3, 3}}, b1},
                        {{w2, weight_layout::linear, {3, 5}}, {}});
  quanta::equalize_pair({{w2, weight_layout::linear, {3, 5}}, {}},
                        {{w3, weight_layout::linear, {2, 3}}, {}});
  CHECK(max_abs(run() - before) <= 1e-5 * max_abs(before));
}

TEST_CASE("equalize: depthwise-separable block output unchanged", "[equalize][cle][invariance]") {
  std::mt19937 rng(3);
  // A copy of the block's parameters and the three layer views over it.
  struct block_params {
    std::vector<float> w1, b1, wdw, bdw, w3;
    std::vector<layer_view> layers() {
      return {{{w1, weight_layout::oihw, {8, 3, 1, 1}}, b1},
              {{wdw, weight_layout::oihw, {8, 1, 3, 3}, 8}, bdw},
              {{w3, weight_layout::oihw, {5, 8, 1, 1}}, {}}};
    }
  };
  block_params original{random_weights(rng, 8 * 3), random_weights(rng, 8),
                        random_weights(rng, 8 * 9), random_weights(rng, 8),
                        random_weights(rng, 5 * 8)};
  spread_channels(rng, original.wdw, 8, 2.0);
  const std::vector<float> b3 = random_weights(rng, 5);
  const Eigen::MatrixXd x = Eigen::MatrixXd::Random(3, 6 * 6);
  const auto block = [&](const block_params& p) {
    std::int64_t h = 6, w = 6;
    const Eigen::MatrixXd y1 = relu(conv(x, h, w, p.w1, p.b1, {8, 3, 1, 1}));
    const Eigen::MatrixXd y2 = relu(conv(y1, h, w, p.wdw, p.bdw, {8, 8, 3, 3, true, 1}));
    return conv(y2, h, w, p.w3, b3, {5, 8, 1, 1});
  };
  const Eigen::MatrixXd before = block(original);
  block_params closed = original;
  const std::vector<layer_view> c = closed.layers();
  const auto closed_scales = quanta::equalize_depthwise_separable(c[0], c[1], c[2]);

  SECTION("closed form") {
    CHECK(max_abs(block(closed) - before) <= 1e-5 * max_abs(before));
    const auto r1 = out_ranges(closed.w1, 8);
    const auto r2 = out_ranges(closed.wdw, 8);
    const auto r3 = in_ranges(closed.w3, 5, 8);
    for (std::size_t k = 0; k < 8; ++k) {
      CHECK(r1[k] == Approx(r2[k]).epsilon(1e-6));
      CHECK(r3[k] == Approx(r2[k]).epsilon(1e-6));
    }
  }
  SECTION("chain sweeps converge to the closed form") {
    block_params swept = original;
    const quanta::chain_equalization r = quanta::equalize_chain(swept.layers());
    CHECK(r.converged);
    CHECK(r.sweeps > 1);
    CHECK(r.sweeps < 100);
    REQUIRE(r.scales.size() == 2);
    CHECK(max_abs(block(swept) - before) <= 1e-5 * max_abs(before));
    for (std::size_t k = 0; k < 8; ++k) {
      CHECK(r.scales[0][k] == Approx(closed_scales.first[k]).epsilon(1e-4));
      CHECK(r.scales[1][k] == Approx(closed_scales.second[k]).epsilon(1e-4));
    }
    for (std::size_t k = 0; k < swept.w1.size(); ++k) {
      CHECK(swept.w1[k] == Approx(closed.w1[k]).epsilon(1e-4));
    }
    for (std::size_t k = 0; k < swept.w3.size(); ++k) {
      CHECK(swept.w3[k] == Approx(closed.w3[k]).epsilon(1e-4));
    }
  }
  SECTION("a single sweep is AIMET's pairwise pass") {
    block_params swept = original;
    quanta::equalize_options once;
    once.max_sweeps = 1;
    const quanta::chain_equalization r = quanta::equalize_chain(swept.layers(), once);
    CHECK(r.sweeps == 1);
    CHECK_FALSE(r.converged);

    block_params pairwise = original;
    const std::vector<layer_view> l = pairwise.layers();
    CHECK(r.scales[0] == quanta::equalize_pair(l[0], l[1]));
    CHECK(r.scales[1] == quanta::equalize_pair(l[1], l[2]));
    CHECK(swept.w1 == pairwise.w1);
    CHECK(swept.wdw == pairwise.wdw);
    CHECK(swept.w3 == pairwise.w3);
    CHECK(swept.bdw == pairwise.bdw);
  }
}

TEST_CASE("equalize: HWIO and hwcm give the same weights as OIHW", "[equalize][cle][layout]") {
  std::mt19937 rng(5);
  std::vector<float> w1 = random_weights(rng, 6 * 4 * 9);
  spread_channels(rng, w1, 6, 2.0);
  std::vector<float> wdw = random_weights(rng, 6 * 9);
  spread_channels(rng, wdw, 6, 2.0);
  std::vector<float> w3 = random_weights(rng, 3 * 6);
  std::vector<float> b1 = random_weights(rng, 6);
  std::vector<float> bdw = random_weights(rng, 6);

  auto h1 = to_hwio(w1, 6, 4, 9);
  auto hdw = to_hwio(wdw, 6, 1, 9);  // [3, 3, 1, 6]: hwio depthwise, and the same bytes as hwcm
  auto h3 = to_hwio(w3, 3, 6, 1);    // a TensorFlow Dense kernel [6, 3]
  auto hb1 = b1;
  auto hbdw = bdw;
  auto m1 = h1, mdw = hdw, m3 = h3, mb1 = b1, mbdw = bdw;

  const auto s =
      quanta::equalize_depthwise_separable({{w1, weight_layout::oihw, {6, 4, 3, 3}}, b1},
                                           {{wdw, weight_layout::oihw, {6, 1, 3, 3}, 6}, bdw},
                                           {{w3, weight_layout::linear, {3, 6}}, {}});
  const auto hs = quanta::equalize_depthwise_separable(
      {{h1, weight_layout::hwio, {3, 3, 4, 6}}, hb1},
      {{hdw, weight_layout::hwio, {3, 3, 1, 6}, 6}, hbdw}, {{h3, weight_layout::hwio, {6, 3}}, {}});
  const auto ms = quanta::equalize_depthwise_separable(
      {{m1, weight_layout::hwio, {3, 3, 4, 6}}, mb1},
      {{mdw, weight_layout::hwcm, {3, 3, 6, 1}}, mbdw}, {{m3, weight_layout::hwio, {6, 3}}, {}});
  CHECK(s.first == hs.first);
  CHECK(s.second == hs.second);
  CHECK(s.first == ms.first);
  CHECK(to_hwio(w1, 6, 4, 9) == h1);
  CHECK(to_hwio(wdw, 6, 1, 9) == hdw);
  CHECK(to_hwio(w3, 3, 6, 1) == h3);
  CHECK(b1 == hb1);
  CHECK(bdw == hbdw);
  CHECK(h1 == m1);
  CHECK(hdw == mdw);
  CHECK(h3 == m3);
}

TEST_CASE("equalize: zero, NaN and infinite ranges give scale 1", "[equalize][cle][degenerate]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  // Channel 0 zero in the first layer, 1 NaN, 2 infinite in the second layer, 3 ordinary.
  std::vector<float> w1 = {0.0f, 0.0f, nan, 1.0f, 2.0f, -3.0f, 8.0f, 0.5f};
  std::vector<float> b1 = {1.0f, 1.0f, 1.0f, 1.0f};
  std::vector<float> w2 = {1.0f, 1.0f, inf, 2.0f, 1.0f, 1.0f, 1.0f, 0.5f};
  const std::vector<float> s = quanta::equalize_pair({{w1, weight_layout::linear, {4, 2}}, b1},
                                                     {{w2, weight_layout::linear, {2, 4}}, {}});
  CHECK(s[0] == 1.0f);
  CHECK(s[1] == 1.0f);
  CHECK(s[2] == 1.0f);
  CHECK(s[3] == 2.0f);  // sqrt(8 / 2)
  CHECK(w1[0] == 0.0f);
  CHECK(std::isnan(w1[2]));
  CHECK(w1[3] == 1.0f);
  CHECK(w2[2] == inf);
  CHECK(w1[6] == 4.0f);
  CHECK(w2[7] == 1.0f);
  const auto is_nan = [](float v) { return std::isnan(v); };
  CHECK(std::count_if(w1.begin(), w1.end(), is_nan) + std::count_if(w2.begin(), w2.end(), is_nan) ==
        1);  // only the caller's own

  // A ratio no float holds: r1 = FLT_MAX, r2 = the smallest subnormal.
  std::vector<float> big = {std::numeric_limits<float>::max()};
  std::vector<float> tiny = {std::numeric_limits<float>::denorm_min()};
  const auto extreme = quanta::equalize_pair({{big, weight_layout::linear, {1, 1}}, {}},
                                             {{tiny, weight_layout::linear, {1, 1}}, {}});
  CHECK(extreme[0] == 1.0f);

  // All zeros through the triple and the chain: nothing changes, scales 1.
  std::vector<float> z1(4, 0.0f), z2(2, 0.0f), z3(4, 0.0f);
  const auto t = quanta::equalize_depthwise_separable(
      {{z1, weight_layout::linear, {2, 2}}, {}}, {{z2, weight_layout::oihw, {2, 1, 1, 1}, 2}, {}},
      {{z3, weight_layout::linear, {2, 2}}, {}});
  CHECK(t.first == std::vector<float>{1.0f, 1.0f});
  CHECK(t.second == std::vector<float>{1.0f, 1.0f});
  const std::vector<layer_view> chain = {{{z1, weight_layout::linear, {2, 2}}, {}},
                                         {{z3, weight_layout::linear, {2, 2}}, {}}};
  const auto r = quanta::equalize_chain(chain);
  CHECK(r.converged);
  CHECK(r.sweeps == 1);
  CHECK(r.scales[0] == std::vector<float>{1.0f, 1.0f});
}

TEST_CASE("fold_batch_norm: hand-computed and invariance", "[equalize][bn]") {
  std::vector<float> w = {1.0f, 2.0f, 3.0f, 4.0f};
  std::vector<float> b = {0.5f, -1.0f};
  const std::vector<float> gamma = {2.0f, 0.5f};
  const std::vector<float> beta = {1.0f, -1.0f};
  const std::vector<float> mean = {0.5f, 2.0f};
  const std::vector<float> var = {3.0f, 0.25f};
  quanta::batch_norm bn{gamma, beta, mean, var, 1.0f};
  quanta::fold_batch_norm({w, weight_layout::linear, {2, 2}}, b, bn);
  const double f1 = 0.5 / std::sqrt(1.25);
  CHECK(w[0] == 1.0f);
  CHECK(w[1] == 2.0f);
  CHECK(w[2] == static_cast<float>(3.0 * f1));
  CHECK(w[3] == static_cast<float>(4.0 * f1));
  CHECK(b[0] == 1.0f);
  CHECK(b[1] == static_cast<float>(-1.0 - 3.0 * f1));

  std::vector<float> scale(2), shift(2);
  quanta::batch_norm_to_affine(bn, scale, shift);
  CHECK(scale[0] == 1.0f);
  CHECK(scale[1] == static_cast<float>(f1));
  CHECK(shift[0] == 0.5f);
  CHECK(shift[1] == static_cast<float>(-1.0 - 2.0 * f1));

  // conv -> BN equals the folded conv, OIHW and HWIO alike.
  std::mt19937 rng(9);
  const conv_spec c{4, 3, 3, 3, false, 1};
  std::vector<float> wc = random_weights(rng, 4 * 3 * 9);
  std::vector<float> bc = random_weights(rng, 4);
  std::vector<float> g4 = random_weights(rng, 4), be4 = random_weights(rng, 4),
                     m4 = random_weights(rng, 4), v4 = random_weights(rng, 4);
  for (float& v : v4)
    v = v * v;
  const quanta::batch_norm bn4{g4, be4, m4, v4};
  const Eigen::MatrixXd x = Eigen::MatrixXd::Random(3, 25);
  std::int64_t h = 5, wd = 5;
  Eigen::MatrixXd expected = conv(x, h, wd, wc, bc, c);
  for (Eigen::Index o = 0; o < 4; ++o) {
    const auto k = static_cast<std::size_t>(o);
    const double factor = g4[k] / std::sqrt(double(v4[k]) + 1e-5);
    expected.row(o) =
        ((expected.row(o).array() - double(m4[k])) * factor + double(be4[k])).matrix();
  }
  auto hw = to_hwio(wc, 4, 3, 9);
  auto hb = bc;
  quanta::fold_batch_norm({wc, weight_layout::oihw, {4, 3, 3, 3}}, bc, bn4);
  quanta::fold_batch_norm({hw, weight_layout::hwio, {3, 3, 3, 4}}, hb, bn4);
  h = 5;
  wd = 5;
  CHECK(max_abs(conv(x, h, wd, wc, bc, c) - expected) <= 1e-5 * max_abs(expected));
  CHECK(to_hwio(wc, 4, 3, 9) == hw);
  CHECK(hb == bc);
}

TEST_CASE("absorb_high_bias: REFERENCE.md vector", "[equalize][hba]") {
  std::vector<float> b1 = {0.1f, 0.2f, 0.3f};
  std::vector<float> w2 = {1.0f, -1.0f, 0.5f, 2.0f, 0.0f, -1.0f};
  std::vector<float> b2 = {0.0f, 1.0f};
  const std::vector<float> gamma = {1.0f, 0.5f, -2.0f};
  const std::vector<float> beta = {5.0f, 1.0f, 7.0f};
  const layer_view second{{w2, weight_layout::linear, {2, 3}}, b2};
  const std::vector<float> c =
      quanta::absorb_high_bias(b1, second, gamma, beta, {}, clip_activation::relu());
  CHECK(c == std::vector<float>{2.0f, 0.0f, 1.0f});
  CHECK(b1[0] == Approx(-1.9f));
  CHECK(b1[1] == 0.2f);
  CHECK(b1[2] == Approx(-0.7f));
  CHECK(b2[0] == 2.5f);
  CHECK(b2[1] == 4.0f);

  SECTION("CLE scales divide gamma and beta") {
    std::vector<float> a1 = {0.1f, 0.2f, 0.3f};
    std::vector<float> a2 = {0.0f, 1.0f};
    std::vector<float> v2 = {1.0f, -1.0f, 0.5f, 2.0f, 0.0f, -1.0f};
    const std::vector<float> s = {2.0f, 1.0f, 0.5f};
    const std::vector<float> cs = quanta::absorb_high_bias(
        a1, {{v2, weight_layout::linear, {2, 3}}, a2}, gamma, beta, s, clip_activation::relu());
    CHECK(cs == std::vector<float>{1.0f, 0.0f, 2.0f});  // 2.5 - 1.5, 0, 14 - 12
  }
  SECTION("without an activation all of beta moves, exactly") {
    std::vector<float> a1 = {0.1f, 0.2f, 0.3f};
    std::vector<float> a2 = {0.0f, 1.0f};
    std::vector<float> v2 = {1.0f, -1.0f, 0.5f, 2.0f, 0.0f, -1.0f};
    const std::vector<float> cs = quanta::absorb_high_bias(
        a1, {{v2, weight_layout::linear, {2, 3}}, a2}, gamma, beta, {}, clip_activation::none());
    CHECK(cs == beta);
    CHECK(a1[0] == Approx(-4.9f));
    CHECK(a2[0] == Approx(5.0 - 1.0 + 3.5));
    CHECK(a2[1] == Approx(1.0 + 10.0 - 7.0));
  }
}

TEST_CASE("absorb_high_bias: conv -> ReLU -> depthwise keeps the output", "[equalize][hba]") {
  // Valid (unpadded) convolutions and layer-1 outputs that stay above c: exact.
  std::mt19937 rng(13);
  const conv_spec c1{4, 2, 1, 1};
  const conv_spec dw{4, 4, 3, 3, true, 0};
  std::vector<float> w1 = random_weights(rng, 8);
  for (float& v : w1)
    v = 0.1f * std::fabs(v);
  std::vector<float> b1 = {10.0f, 0.5f, 7.0f, -1.0f};
  std::vector<float> wdw = random_weights(rng, 36);
  std::vector<float> bdw = random_weights(rng, 4);
  const std::vector<float> gamma = {1.0f, 1.0f, 2.0f, 1.0f};
  const std::vector<float> beta = {10.0f, 0.5f, 7.0f, -1.0f};
  const Eigen::MatrixXd x = Eigen::MatrixXd::Random(2, 25).cwiseAbs();
  const auto run = [&] {
    std::int64_t h = 5, w = 5;
    return conv(relu(conv(x, h, w, w1, b1, c1)), h, w, wdw, bdw, dw);
  };
  const Eigen::MatrixXd before = run();
  const std::vector<float> c =
      quanta::absorb_high_bias(b1, {{wdw, weight_layout::oihw, {4, 1, 3, 3}, 4}, bdw}, gamma, beta,
                               {}, clip_activation::relu());
  CHECK(c == std::vector<float>{7.0f, 0.0f, 1.0f, 0.0f});
  CHECK(max_abs(run() - before) <= 1e-5 * max_abs(before));
}

TEST_CASE("equalize: bad input is reported and changes nothing", "[equalize][errors]") {
  std::vector<float> w1 = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
  std::vector<float> b1 = {1.0f, 2.0f};
  std::vector<float> w2 = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
  const auto w1_0 = w1, b1_0 = b1, w2_0 = w2;
  using Catch::Contains;
  using Catch::StartsWith;

  // A grouped convolution that is not depthwise: 4 outputs in 2 groups.
  std::vector<float> g(4, 1.0f);
  CHECK_THROWS_WITH(quanta::equalize_pair({{w1, weight_layout::linear, {2, 3}}, b1},
                                          {{g, weight_layout::oihw, {4, 1, 1, 1}, 2}, {}}),
                    StartsWith("equalize_pair: second.weight.groups is 2") &&
                        Contains("expected groups 1, or a depthwise convolution"));
  CHECK_THROWS_WITH(quanta::equalize_pair({{w1, weight_layout::linear, {2, 3}}, b1},
                                          {{w2, weight_layout::linear, {2, 3}}, {}}),
                    StartsWith("equalize_pair: second reads 3 input channels but first writes 2 "
                               "output channels; expected equal counts"));
  CHECK_THROWS_WITH(quanta::equalize_pair({{w1, weight_layout::linear, {3, 2}}, b1},
                                          {{w2, weight_layout::linear, {2, 3}}, {}}),
                    StartsWith("equalize_pair: first.bias has 2 elements; expected 3"));
  CHECK_THROWS_WITH(quanta::equalize_pair({{w1, weight_layout::linear, {2, 2}}, b1},
                                          {{w2, weight_layout::linear, {3, 2}}, {}}),
                    StartsWith("equalize_pair: first.weight.data has 6 elements but shape [2, 2] "
                               "describes 4; expected equal sizes"));
  CHECK_THROWS_WITH(quanta::equalize_pair({{w1, weight_layout::linear, {2, 3, 1}}, b1},
                                          {{w2, weight_layout::linear, {3, 2}}, {}}),
                    StartsWith("equalize_pair: first.weight.shape is [2, 3, 1] (rank 3); expected "
                               "rank 2 for layout linear"));
  CHECK_THROWS_WITH(quanta::equalize_pair({{w1, weight_layout::oihw, {2, 0, 3}}, b1},
                                          {{w2, weight_layout::linear, {3, 2}}, {}}),
                    Contains("expected sizes >= 1"));
  CHECK_THROWS_WITH(
      quanta::equalize_pair({{w1, weight_layout::hwcm, {1, 3, 2}}, b1},
                            {{w2, weight_layout::linear, {3, 2}}, {}}),
      StartsWith("equalize_pair: first.weight.shape is [1, 3, 2] with channel multiplier 2"));
  CHECK_THROWS_WITH(quanta::equalize_depthwise_separable({{w1, weight_layout::linear, {2, 3}}, b1},
                                                         {{w2, weight_layout::linear, {3, 2}}, {}},
                                                         {{g, weight_layout::linear, {2, 2}}, {}}),
                    StartsWith("equalize_depthwise_separable: depthwise.weight is not a depthwise "
                               "convolution (linear [3, 2], groups 1)"));
  std::vector<layer_view> one = {{{w1, weight_layout::linear, {2, 3}}, b1}};
  CHECK_THROWS_WITH(quanta::equalize_chain(one),
                    StartsWith("equalize_chain: layers has 1 elements; expected 2 or more"));
  std::vector<float> w3 = {1.0f, 2.0f};
  const std::vector<layer_view> chain = {{{w1, weight_layout::linear, {2, 3}}, b1},
                                         {{w2, weight_layout::linear, {3, 2}}, {}},
                                         {{w3, weight_layout::linear, {1, 2}}, {}}};
  CHECK_THROWS_WITH(quanta::equalize_chain(chain),
                    StartsWith("equalize_chain: layers[2] reads 2 input channels but layers[1] "
                               "writes 3 output channels; expected equal counts"));
  quanta::equalize_options bad;
  bad.max_sweeps = 0;
  CHECK_THROWS_WITH(quanta::equalize_chain(chain, bad),
                    StartsWith("equalize_chain: options.max_sweeps is 0; expected >= 1"));

  const std::vector<float> ones = {1.0f, 1.0f}, neg = {1.0f, -1.0f};
  quanta::batch_norm bn{ones, ones, ones, neg};
  CHECK_THROWS_WITH(quanta::fold_batch_norm({w1, weight_layout::linear, {2, 3}}, b1, bn),
                    StartsWith("fold_batch_norm: bn.variance[1] is -1; expected a value >= 0"));
  const std::vector<float> zeros = {0.0f, 0.0f};
  bn = quanta::batch_norm{ones, ones, ones, zeros, 0.0f};
  CHECK_THROWS_WITH(quanta::fold_batch_norm({w1, weight_layout::linear, {2, 3}}, b1, bn),
                    StartsWith("fold_batch_norm: bn.variance[0] + bn.epsilon is 0"));
  bn = quanta::batch_norm{ones, ones, ones, {}};
  CHECK_THROWS_WITH(quanta::fold_batch_norm({w1, weight_layout::linear, {2, 3}}, b1, bn),
                    StartsWith("fold_batch_norm: bn.variance has 0 elements; expected 2"));
  std::vector<float> no_bias;
  bn = quanta::batch_norm{ones, ones, ones, ones};
  CHECK_THROWS_WITH(
      quanta::fold_batch_norm({w1, weight_layout::linear, {2, 3}}, no_bias, bn),
      StartsWith("fold_batch_norm: bias has 0 elements; expected 2") && Contains("pass zeros"));

  std::vector<float> b2 = {0.0f, 0.0f, 0.0f};
  CHECK_THROWS_WITH(quanta::absorb_high_bias(b1, {{w2, weight_layout::linear, {3, 2}}, b2}, ones,
                                             ones, {}, clip_activation::relu6()),
                    StartsWith("absorb_high_bias: between is clip [0, 6]; expected none or relu"));
  const std::vector<float> bad_scales = {1.0f, 0.0f};
  CHECK_THROWS_WITH(quanta::absorb_high_bias(b1, {{w2, weight_layout::linear, {3, 2}}, b2}, ones,
                                             ones, bad_scales, clip_activation::relu()),
                    StartsWith("absorb_high_bias: cle_scales[1] is 0; expected a value > 0"));
  const std::vector<float> nan_beta = {1.0f, std::numeric_limits<float>::quiet_NaN()};
  CHECK_THROWS_WITH(quanta::absorb_high_bias(b1, {{w2, weight_layout::linear, {3, 2}}, b2}, ones,
                                             nan_beta, {}, clip_activation::relu()),
                    StartsWith("absorb_high_bias: beta[1] is nan; expected a finite value"));

  CHECK(w1 == w1_0);
  CHECK(b1 == b1_0);
  CHECK(w2 == w2_0);
  CHECK(b2 == std::vector<float>{0.0f, 0.0f, 0.0f});
}
