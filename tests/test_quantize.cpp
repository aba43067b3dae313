#include <quanta/quantize.hpp>
#include <quanta/reduce.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "data/pytorch_vectors.hpp"

using quanta::encoding;
using quanta::profile;
using quanta::quantize_options;
using quanta::rounding;

namespace {

const quantize_options qnn_rules = quantize_options::for_profile(profile::qnn);

quanta::encoding_options qnn_options(int bits = 8, bool is_signed = false) {
  quanta::encoding_options o;
  o.bitwidth = bits;
  o.is_signed = is_signed;
  return o;
}

}  // namespace

TEST_CASE("quantize: SNPE's documented example", "[quantize][qnn]") {
  const std::vector<float> x = {-1.8f, -1.0f, 0.0f, 0.5f};
  const encoding e = quanta::compute_encoding(x);
  std::vector<std::uint8_t> q(4);
  quanta::quantize(x, e, q, qnn_rules);
  CHECK(q == std::vector<std::uint8_t>{0, 89, 200, 255});
  std::vector<float> y(4);
  quanta::dequantize(q, e, y);
  CHECK(y[0] == Approx(-1.8039).margin(5e-5));
  CHECK(y[1] == Approx(-1.0011).margin(1e-4));  // the documentation truncates
  CHECK(y[2] == 0.0f);
  CHECK(y[3] == Approx(0.4961).margin(5e-5));
}

TEST_CASE("quantize: AIMET fake quantization, min -0.46 max 0.72", "[quantize][qnn]") {
  const encoding e = quanta::compute_encoding(-0.46f, 0.72f);
  // AIMET's test passes the double range; -0.46f and 0.72f widen it by a few ulp.
  CHECK(e.scale == Approx(0.0046274509803921563).margin(1e-10));
  CHECK(e.offset() == -99);
  const std::vector<float> x = {-0.5f, -0.25f, 0.0f, 0.25f, 0.5f, 0.75f};
  std::vector<std::uint8_t> q(x.size());
  quanta::quantize(x, e, q, qnn_rules);
  CHECK(q == std::vector<std::uint8_t>{0, 45, 99, 153, 207, 255});

  const encoding s = quanta::compute_encoding(-0.46f, 0.72f, qnn_options(8, true));
  std::vector<std::int8_t> qs(x.size());
  quanta::quantize(x, s, qs, qnn_rules);
  CHECK(qs == std::vector<std::int8_t>{-128, -83, -29, 25, 79, 127});

  // AIMET's outputs come from its own float arithmetic; quanta's are scale * (q - zp) rounded
  // once, which agrees to a few ulp.
  const std::vector<float> aimet = {-0.45811754f, -0.2498823f, 0.0f,
                                    0.2498823f,   0.49976459f, 0.72188222f};
  std::vector<float> y(x.size());
  quanta::quantize_dequantize(x, e, y, qnn_rules);
  for (std::size_t i = 0; i < x.size(); ++i)
    CHECK(y[i] == Approx(aimet[i]).margin(2e-7));
}

TEST_CASE("quantize: AIMET external encoding {0, 255, scale 1}: ties away", "[quantize][qnn]") {
  const encoding e{1.0f, 0, 8, false};
  const std::vector<float> x = {-10, -0.5f, 0, 1.5f, 2.5f, 3, 3.1f, 3.9f, 255, 255.1f, 300};
  std::vector<std::uint8_t> q(x.size());
  quanta::quantize(x, e, q, qnn_rules);
  CHECK(q == std::vector<std::uint8_t>{0, 0, 0, 2, 3, 3, 3, 4, 255, 255, 255});
  quanta::quantize(x, e, q);  // half even
  CHECK(q == std::vector<std::uint8_t>{0, 0, 0, 2, 2, 3, 3, 4, 255, 255, 255});
}

TEST_CASE("quantize: 32-bit grids quantize zero to the zero point and keep small codes",
          "[quantize][qnn]") {
  // QNN adds the zero point before rounding; on a 32-bit grid that sum needs more than float's 24
  // bits, so it is computed in double (quanta's reading: a float sum would round 2^31 + 2.147 to
  // a multiple of 256).
  quanta::encoding_options o;
  o.bitwidth = 32;
  o.is_signed = true;
  o.kind = quanta::scheme::symmetric;
  const auto qnn = quantize_options::for_profile(profile::qnn);
  const encoding bias = quanta::compute_encoding(-1000.0f, 1000.0f, o);
  REQUIRE(bias.zero_point == 0);
  const std::vector<float> x = {0.0f, 1e-6f, 3e-7f, -5.5e-7f, 100.3f, -2.5f * bias.scale};
  std::vector<std::int32_t> q(x.size());
  quanta::quantize(x, bias, q, qnn);
  CHECK(q[0] == 0);
  CHECK(q[1] == 2);   // 2.147
  CHECK(q[2] == 1);   // 0.644
  CHECK(q[3] == -1);  // -1.181
  CHECK(q[4] == std::lround(static_cast<double>(100.3f / bias.scale)));
  CHECK(q[5] == -2);  // -2.5 on the unsigned grid: 2^31 - 2.5 rounds away from zero, to 2^31 - 2

  // Asymmetric 32-bit ranges, every profile: zero is exactly the zero point, and a negative range
  // puts it at the top of the grid.
  o.kind = quanta::scheme::asymmetric;
  const std::vector<std::pair<float, float>> ranges = {
      {-7.3f, 11.9f}, {-1e-3f, 5e3f}, {-10.0f, -5.0f}, {3.0f, 4.0f}, {-1.0f, 1e-30f}};
  for (profile p : {profile::qnn, profile::pytorch, profile::onnx, profile::tflite}) {
    o.rules = p;
    for (const auto& [lo, hi] : ranges) {
      CAPTURE(static_cast<int>(p), lo, hi);
      const encoding e = quanta::compute_encoding(lo, hi, o);
      std::vector<std::int32_t> zero(1);
      quanta::quantize(std::vector<float>{0.0f}, e, zero, quantize_options::for_profile(p));
      CHECK(zero[0] == e.zero_point);
      // (PyTorch's scale floor, FLT_EPSILON, stretches such a range past zero.)
      if (hi < 0.0f && p != profile::pytorch) CHECK(e.zero_point == e.qmax());
    }
  }
}

TEST_CASE("quantize: rounding modes on ties", "[quantize][rounding]") {
  const encoding e{1.0f, 0, 8, true};
  const std::vector<float> x = {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, -0.49999997f, 0.49999997f};
  std::vector<std::int8_t> q(x.size());
  quantize_options o;
  o.round = rounding::half_even;
  quanta::quantize(x, e, q, o);
  CHECK(q == std::vector<std::int8_t>{-2, -2, 0, 0, 2, 2, 0, 0});
  o.round = rounding::half_away;
  quanta::quantize(x, e, q, o);
  CHECK(q == std::vector<std::int8_t>{-3, -2, -1, 1, 2, 3, 0, 0});
  o.round = rounding::half_up;
  quanta::quantize(x, e, q, o);
  CHECK(q == std::vector<std::int8_t>{-2, -1, 0, 1, 2, 3, 0, 0});
}

TEST_CASE("quantize: the zero point is added after rounding, except for QNN", "[quantize][qnn]") {
  // x / scale = -0.5 with zero point 99: round(-0.5) + 99 = 98 or 99 depends on where zp goes.
  const encoding e{0.5f, 99, 8, false};
  const std::vector<float> x = {-0.25f};
  std::vector<std::uint8_t> q(1);
  quantize_options tflite = quantize_options::for_profile(profile::tflite);
  quanta::quantize(x, e, q, tflite);
  CHECK(q[0] == 98);  // round_half_away(-0.5) = -1
  quanta::quantize(x, e, q, qnn_rules);
  CHECK(q[0] == 99);  // round_half_away(98.5) = 99
}

TEST_CASE("quantize: multiply by the reciprocal or divide", "[quantize][profiles]") {
  // Search the ties data set for an input where x * (1/s) and x / s round differently: PyTorch
  // multiplies, ONNX Runtime divides, and both must be reproduced exactly.
  const float scale = 0.05f;
  const encoding e{scale, 0, 16, true};
  const float inv = 1.0f / scale;
  int differing = 0;
  for (int k = -2000; k < 2000; ++k) {
    for (float x : {(static_cast<float>(k) + 0.5f) * scale,
                    std::nextafter((static_cast<float>(k) + 0.5f) * scale, 0.0f)}) {
      const float by_multiply = std::nearbyint(x * inv);
      const float by_divide = std::nearbyint(x / scale);
      std::vector<std::int16_t> q(1);
      quanta::quantize(std::vector<float>{x}, e, q,
                       quantize_options::for_profile(profile::pytorch));
      CHECK(q[0] == static_cast<std::int16_t>(by_multiply));
      quanta::quantize(std::vector<float>{x}, e, q, quantize_options::for_profile(profile::onnx));
      CHECK(q[0] == static_cast<std::int16_t>(by_divide));
      if (by_multiply != by_divide) ++differing;
    }
  }
  CHECK(differing > 0);
}

TEST_CASE("quantize: NaN, infinities, signed zeros, denormals", "[quantize][special]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const float denormal = std::numeric_limits<float>::denorm_min();
  const std::vector<float> x = {nan,   -nan,     inf,       -inf,  0.0f,
                                -0.0f, denormal, -denormal, 1e38f, -1e38f};
  for (profile p : {profile::qnn, profile::pytorch, profile::onnx, profile::tflite}) {
    const auto o = quantize_options::for_profile(p);
    const encoding u8{0.1f, 37, 8, false};
    std::vector<std::uint8_t> q(x.size());
    quanta::quantize(x, u8, q, o);
    CHECK(q == std::vector<std::uint8_t>{37, 37, 255, 0, 37, 37, 37, 37, 255, 0});
    const encoding s16{0.1f, -5, 16, true};
    std::vector<std::int16_t> q16(x.size());
    quanta::quantize(x, s16, q16, o);
    CHECK(q16 == std::vector<std::int16_t>{-5, -5, 32767, -32768, -5, -5, -5, -5, 32767, -32768});
    std::vector<float> y(x.size());
    quanta::quantize_dequantize(x, u8, y, o);
    CHECK(y[0] == 0.0f);
    CHECK(y[2] == u8.max());
    CHECK(y[3] == u8.min());
  }
}

TEST_CASE("quantize: saturation of narrow and sub-byte grids", "[quantize]") {
  const std::vector<float> x = {-100.0f, -8.5f, -7.5f, 0.0f, 6.5f, 7.5f, 100.0f};
  const encoding s4{1.0f, 0, 4, true};
  std::vector<std::int8_t> q(x.size());
  quanta::quantize(x, s4, q);
  CHECK(q == std::vector<std::int8_t>{-8, -8, -8, 0, 6, 7, 7});
  const encoding strict{1.0f, 0, 8, true, true};
  quanta::quantize(std::vector<float>{-200.0f, 200.0f, -127.4f}, strict,
                   quanta::span<std::int8_t>(q.data(), 3));
  CHECK(q[0] == -127);
  CHECK(q[1] == 127);
  CHECK(q[2] == -127);
}

TEST_CASE("quantize: int32 biases and uint16", "[quantize]") {
  const encoding bias{0.5f, 0, 32, true};
  const std::vector<float> x = {3e9f, -3e9f, 1e9f, -1.25f, 2147483520.0f};
  std::vector<std::int32_t> q(x.size());
  quanta::quantize(x, bias, q);
  CHECK(q[0] == std::numeric_limits<std::int32_t>::max());
  CHECK(q[1] == std::numeric_limits<std::int32_t>::min());
  CHECK(q[2] == 2000000000);
  CHECK(q[3] == -2);  // -2.5 to even
  CHECK(q[4] == std::numeric_limits<std::int32_t>::max());
  std::vector<float> y(x.size());
  quanta::dequantize(q, bias, y);
  CHECK(y[2] == 1e9f);
  // q - zero_point is computed in 64 bits: no overflow at the ends of the int32 range.
  const encoding shifted{1.0f, -5, 32, true};
  const std::vector<std::int32_t> ends = {std::numeric_limits<std::int32_t>::max(),
                                          std::numeric_limits<std::int32_t>::min()};
  std::vector<float> ends_y(2);
  quanta::dequantize(ends, shifted, ends_y);
  CHECK(ends_y[0] == 2147483652.0f);
  CHECK(ends_y[1] == -2147483643.0f);

  const encoding u16{0.001f, 32768, 16, false};
  std::vector<std::uint16_t> q16(3);
  quanta::quantize(std::vector<float>{-100.0f, 0.0f, 32.767f}, u16, q16);
  CHECK(q16 == std::vector<std::uint16_t>{0, 32768, 65535});
}

TEST_CASE("quantize_dequantize: in place, and equal to quantize then dequantize", "[quantize]") {
  std::vector<float> x(257);
  for (std::size_t i = 0; i < x.size(); ++i)
    x[i] = std::sin(static_cast<float>(i)) * 3.0f;
  const encoding e = quanta::compute_encoding(x);
  std::vector<std::uint8_t> q(x.size());
  std::vector<float> two_steps(x.size());
  quanta::quantize(x, e, q);
  quanta::dequantize(q, e, two_steps);
  quanta::quantize_dequantize(x, e, x);
  CHECK(x == two_steps);
}

// quantize, dequantize and quantize_dequantize of x over a layout, with QNN's rules and int8 codes.
struct layout_results {
  std::vector<std::int8_t> q;
  std::vector<float> y, fake;
};

template <class Layout>
layout_results quantize_layout(const std::vector<float>& x, const Layout& layout,
                               const std::vector<encoding>& encodings) {
  layout_results r{std::vector<std::int8_t>(x.size()), std::vector<float>(x.size()),
                   std::vector<float>(x.size())};
  quanta::quantize(x, layout, encodings, r.q, qnn_rules);
  quanta::dequantize(r.q, layout, encodings, r.y);
  quanta::quantize_dequantize(x, layout, encodings, r.fake, qnn_rules);
  return r;
}

TEST_CASE("quantize: per channel equals per tensor on each channel", "[quantize][per-channel]") {
  const quanta::channel_layout layout{3, 4, 5};  // [outer 3, channels 4, inner 5]
  std::vector<float> x(layout.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = std::cos(static_cast<float>(i) * 0.7f) * static_cast<float>(1 + (i / 5) % 4);
  }
  const auto encodings = quanta::compute_encodings(x, layout, qnn_options(8, true));
  const auto [q, y, fake] = quantize_layout(x, layout, encodings);
  for (std::size_t o = 0; o < 3; ++o) {
    for (std::size_t c = 0; c < 4; ++c) {
      const std::size_t base = (o * 4 + c) * 5;
      std::vector<std::int8_t> expected(5);
      quanta::quantize(quanta::span<const float>(x.data() + base, 5), encodings[c], expected,
                       qnn_rules);
      for (std::size_t i = 0; i < 5; ++i) {
        CHECK(q[base + i] == expected[i]);
        CHECK(y[base + i] ==
              static_cast<float>(expected[i] - encodings[c].zero_point) * encodings[c].scale);
        CHECK(fake[base + i] == y[base + i]);
      }
    }
  }
}

TEST_CASE("quantize: per block", "[quantize][per-block]") {
  const std::vector<std::int64_t> shape = {2, 5};
  const auto layout = quanta::block_layout::from_shape(shape, 1, 2);
  const std::vector<float> x = {1, -1, 2, 4, 8, -2, 3, 0.5f, 0.25f, -9};
  const auto encodings = quanta::compute_block_encodings(x, layout, qnn_options(4, true));
  const auto [q, y, fake] = quantize_layout(x, layout, encodings);
  for (std::size_t r = 0; r < 2; ++r) {
    for (std::size_t c = 0; c < 5; ++c) {
      const encoding& e = encodings[layout.encoding_index(r, c, 0)];
      const std::size_t k = r * 5 + c;
      std::vector<std::int8_t> one(1);
      quanta::quantize(quanta::span<const float>(&x[k], 1), e, one, qnn_rules);
      CHECK(q[k] == one[0]);
      CHECK(q[k] >= -8);
      CHECK(q[k] <= 7);
      CHECK(fake[k] == y[k]);
    }
  }
  // Each block's extremes are representable up to half a step.
  for (std::size_t k = 0; k < x.size(); ++k) {
    const encoding& e = encodings[layout.encoding_index(k / 5, k % 5, 0)];
    CHECK(std::fabs(fake[k] - x[k]) <= e.scale * 0.5f + 1e-6f);
  }
}

TEST_CASE("quantize: bad arguments leave the output untouched", "[quantize][errors]") {
  const std::vector<float> x = {0.0f, 1.0f, 2.0f};
  std::vector<std::int8_t> q(3, 42);
  const std::vector<std::int8_t> untouched(3, 42);
  CHECK_THROWS_WITH(
      quanta::quantize(x, encoding{0.0f, 0, 8, true}, q),
      Catch::StartsWith("quantize: encoding.scale is 0; expected a finite value > 0"));
  CHECK_THROWS_WITH(quanta::quantize(x, encoding{-1.0f, 0, 8, true}, q),
                    Catch::Contains("scale is -1"));
  CHECK_THROWS_WITH(quanta::quantize(x, encoding{std::nanf(""), 0, 8, true}, q),
                    Catch::Contains("scale is nan"));
  CHECK_THROWS_WITH(quanta::quantize(x, encoding{1.0f, 200, 8, true}, q),
                    Catch::Contains("zero_point is 200; expected -128..127"));
  CHECK_THROWS_WITH(quanta::quantize(x, encoding{1.0f, 0, 16, true}, q),
                    Catch::Contains("that int8 cannot hold"));
  CHECK_THROWS_WITH(quanta::quantize(x, encoding{1.0f, 0, 8, false}, q),
                    Catch::Contains("codes 0..255 that int8 cannot hold"));
  CHECK_THROWS_WITH(quanta::quantize(x, encoding{1.0f, 0, 1, true}, q),
                    Catch::Contains("bitwidth is 1"));
  std::vector<std::int8_t> short_q(2, 42);
  CHECK_THROWS_WITH(quanta::quantize(x, encoding{1.0f, 0, 8, true}, short_q),
                    Catch::StartsWith("quantize: q has 2 elements but x has 3; expected equal"));
  CHECK(q == untouched);
  CHECK(short_q == std::vector<std::int8_t>(2, 42));

  const quanta::channel_layout layout{1, 3, 1};
  std::vector<encoding> encodings(3, encoding{1.0f, 0, 8, true});
  encodings[2].scale = INFINITY;
  CHECK_THROWS_WITH(quanta::quantize(x, layout, encodings, q),
                    Catch::Contains("encodings[2].scale is inf"));
  encodings.pop_back();
  CHECK_THROWS_WITH(quanta::quantize(x, layout, encodings, q),
                    Catch::Contains("encodings has 2 entries; expected 3 (one per channel)"));
  CHECK(q == untouched);

  std::vector<float> y(4, 7.0f);
  CHECK_THROWS_WITH(
      quanta::quantize_dequantize(quanta::span<const float>(y.data(), 3),
                                  encoding{1.0f, 0, 8, true}, quanta::span<float>(y.data() + 1, 3)),
      Catch::Contains("partly overlaps"));
  CHECK(y == std::vector<float>(4, 7.0f));
  std::vector<std::int8_t> qd = {1, 2, 3};
  std::vector<float> xd(3, 5.0f);
  CHECK_THROWS_WITH(quanta::dequantize(qd, encoding{1.0f, 0, 8, false}, xd),
                    Catch::StartsWith("dequantize: encoding is a 8-bit unsigned encoding"));
  CHECK(xd == std::vector<float>(3, 5.0f));
}

TEST_CASE("quantize: many channels, and a bad encoding among them", "[quantize][per-channel]") {
  // More encodings than the public functions keep on the stack (param_list), channels-last.
  const std::size_t channels = 300;
  const quanta::channel_layout layout{7, channels, 1};
  std::vector<float> x(layout.size());
  std::vector<encoding> encodings;
  for (std::size_t c = 0; c < channels; ++c)
    encodings.push_back(
        {0.01f * static_cast<float>(1 + c % 7), static_cast<std::int32_t>(c % 9), 8, false});
  for (std::size_t i = 0; i < x.size(); ++i)
    x[i] = std::sin(static_cast<float>(i)) * 2.0f;
  std::vector<std::uint8_t> q(x.size());
  quanta::quantize(x, layout, encodings, q);
  std::vector<float> fake(x.size());
  quanta::quantize_dequantize(x, layout, encodings, fake);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const encoding& e = encodings[i % channels];
    std::uint8_t expected = 0;
    quanta::quantize(quanta::span<const float>(&x[i], 1), e,
                     quanta::span<std::uint8_t>(&expected, 1));
    REQUIRE(q[i] == expected);
    REQUIRE(fake[i] == static_cast<float>(expected - e.zero_point) * e.scale);
  }

  encodings[250].zero_point = 300;
  const std::vector<std::uint8_t> before = q;
  CHECK_THROWS_WITH(
      quanta::quantize(x, layout, encodings, q),
      Catch::StartsWith("quantize: encodings[250].zero_point is 300; expected 0..255"));
  CHECK_THROWS_WITH(quanta::quantize_dequantize(x, layout, encodings, fake),
                    Catch::StartsWith("quantize_dequantize: encodings[250].zero_point is 300"));
  CHECK(q == before);
}

TEST_CASE("quantize: empty tensors are fine", "[quantize]") {
  const std::vector<float> x;
  std::vector<std::uint8_t> q;
  std::vector<float> y;
  quanta::quantize(x, encoding{}, q);
  quanta::dequantize(q, encoding{}, y);
  quanta::quantize_dequantize(x, encoding{}, y);
  CHECK(q.empty());
}

namespace {

// PyTorch's qint8 or quint8 codes, written by `quantize_into` into a span of the storage type and
// widened to int32 for comparison.
template <class QuantizeInto>
std::vector<std::int32_t> codes_of(bool is_signed, std::size_t n, QuantizeInto quantize_into) {
  std::vector<std::int8_t> s8(is_signed ? n : 0);
  std::vector<std::uint8_t> u8(is_signed ? 0 : n);
  if (is_signed) {
    quantize_into(quanta::span<std::int8_t>(s8));
    return {s8.begin(), s8.end()};
  }
  quantize_into(quanta::span<std::uint8_t>(u8));
  return {u8.begin(), u8.end()};
}

}  // namespace

TEST_CASE("pytorch parity: observers, quantize_per_tensor, fake_quantize", "[quantize][pytorch]") {
  for (const auto& c : pytorch_vectors::per_tensor()) {
    INFO(c.name << " " << c.kind << (c.is_signed ? " qint8" : " quint8"));
    quanta::encoding_options o;
    o.rules = profile::pytorch;
    o.is_signed = c.is_signed;
    o.kind =
        std::string(c.kind) == "symmetric" ? quanta::scheme::symmetric : quanta::scheme::asymmetric;
    const encoding e = quanta::compute_encoding(c.x, o);
    CHECK(e.scale == c.scale);
    CHECK(e.zero_point == c.zero_point);
    std::vector<float> fake(c.x.size());
    const auto rules = quantize_options::for_profile(profile::pytorch);
    CHECK(codes_of(c.is_signed, c.x.size(),
                   [&](auto q8) { quanta::quantize(c.x, e, q8, rules); }) == c.q);
    quanta::quantize_dequantize(c.x, e, fake, rules);
    CHECK(fake == c.fake);
  }
}

TEST_CASE("pytorch parity: per-channel observers and quantize_per_channel",
          "[quantize][pytorch][per-channel]") {
  for (const auto& c : pytorch_vectors::per_channel()) {
    INFO(c.name << " " << c.kind << " axis " << c.axis);
    quanta::encoding_options o;
    o.rules = profile::pytorch;
    o.is_signed = c.is_signed;
    o.kind =
        std::string(c.kind) == "symmetric" ? quanta::scheme::symmetric : quanta::scheme::asymmetric;
    const std::vector<std::int64_t> shape = {c.rows, c.cols};
    const auto layout = quanta::channel_layout::from_shape(shape, c.axis);
    const auto encodings = quanta::compute_encodings(c.x, layout, o);
    REQUIRE(encodings.size() == c.scales.size());
    for (std::size_t k = 0; k < encodings.size(); ++k) {
      CHECK(encodings[k].scale == c.scales[k]);
      CHECK(encodings[k].zero_point == c.zero_points[k]);
    }
    CHECK(codes_of(c.is_signed, c.x.size(),
                   [&](auto q8) { quanta::quantize(c.x, layout, encodings, q8); }) == c.q);
  }
}

TEST_CASE("pytorch parity: FBGEMM ChooseQuantizationParams", "[encoding][pytorch]") {
  for (const auto& c : pytorch_vectors::dynamic()) {
    INFO(c.name);
    quanta::encoding_options o;
    o.rules = profile::pytorch;
    o.pytorch_dynamic = true;
    const encoding e = quanta::compute_encoding(c.x, o);
    CHECK(e.scale == c.scale);
    CHECK(e.zero_point == c.zero_point);
  }
}

TEST_CASE("ref::round_to_integral agrees with the C library on every magnitude", "[rounding]") {
  std::uint32_t state = 12345u;
  auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return state;
  };
  for (int i = 0; i < 200000; ++i) {
    // Random bit patterns cover every exponent, ties included (low mantissa bits zeroed often).
    std::uint32_t bits = next();
    if (i % 3 == 0) bits &= 0xFFFFF000u;
    float v;
    std::memcpy(&v, &bits, sizeof v);
    if (!std::isfinite(v)) continue;
    INFO("v = " << v);
    CHECK(quanta::ref::round_to_integral(v, rounding::half_even) == std::nearbyint(v));
    CHECK(quanta::ref::round_to_integral(v, rounding::half_away) == std::round(v));
    CHECK(quanta::ref::round_to_integral(v, rounding::half_up) ==
          static_cast<float>(std::floor(static_cast<double>(v) + 0.5)));
  }
}
