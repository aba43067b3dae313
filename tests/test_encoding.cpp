#include <quanta/encoding.hpp>
#include <quanta/reduce.hpp>  // compute_encoding(data) and its per-channel and per-block forms
#include <quanta/ref/quantize.hpp>

#include <catch2/catch.hpp>

#include "data/onnx_vectors.hpp"
#include "data/pytorch_vectors.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

using quanta::compute_encoding;
using quanta::encoding;
using quanta::encoding_options;
using quanta::profile;
using quanta::scheme;

namespace {

encoding_options options(profile p, scheme k = scheme::asymmetric, int bits = 8,
                         bool is_signed = false) {
  encoding_options o;
  o.rules = p;
  o.kind = k;
  o.bitwidth = bits;
  o.is_signed = is_signed;
  return o;
}

encoding_options adjusted(int bits = 8, bool is_signed = false) {
  encoding_options o = options(profile::qnn, scheme::asymmetric, bits, is_signed);
  o.qnn_adjusted = true;
  return o;
}

// What the qnn rules hold: [min, max] widened to include 0, then max raised to min + min_range.
struct gated_range {
  double lo, hi;
};

gated_range qnn_gated(float min, float max, double min_range) {
  const double lo = std::min(static_cast<double>(min), 0.0);
  const double hi = std::max(std::max(static_cast<double>(max), 0.0), lo + min_range);
  return {lo, hi};
}

// Whether the exact reals scale * (qmin - zero_point) and scale * (qmax - zero_point) enclose
// [lo, hi]; each fma rounds once and so keeps the sign of the exact difference.
bool grid_holds(float scale, std::int64_t zero_point, const encoding& shape, double lo, double hi) {
  const auto s = static_cast<double>(scale);
  return std::fma(s, static_cast<double>(shape.qmin() - zero_point), -lo) <= 0.0 &&
         std::fma(s, static_cast<double>(shape.qmax() - zero_point), -hi) >= 0.0;
}

bool grid_holds(const encoding& e, double lo, double hi) {
  return grid_holds(e.scale, e.zero_point, e, lo, hi);
}

// Every zero point of the storage range tried: the brute force the minimality claim is checked
// against.
bool some_zero_point_holds(float scale, const encoding& shape, double lo, double hi) {
  for (std::int64_t z = shape.qmin(); z <= shape.qmax(); ++z) {
    if (grid_holds(scale, z, shape, lo, hi)) return true;
  }
  return false;
}

// QNN's code for x before the clamp to the storage range (conventions.md section 2).
double unclamped_qnn_code(float x, const encoding& e) {
  const float t = x / e.scale + static_cast<float>(e.zero_point - e.storage_min());
  return static_cast<double>(std::round(t)) + static_cast<double>(e.storage_min());
}

}  // namespace

TEST_CASE("encoding: ranges, offsets and storage", "[encoding]") {
  const encoding u8{0.5f, 10, 8, false};
  CHECK(u8.qmin() == 0);
  CHECK(u8.qmax() == 255);
  CHECK(u8.offset() == -10);
  CHECK(u8.min() == -5.0f);
  CHECK(u8.max() == 122.5f);

  const encoding s8{0.5f, -3, 8, true};
  CHECK(s8.qmin() == -128);
  CHECK(s8.qmax() == 127);
  CHECK(s8.offset() == -125);  // QNN counts codes from the bottom of the unsigned grid
  CHECK(encoding::from_offset(0.5f, -125, 8, true) == s8);
  CHECK(encoding::from_offset(0.5f, -10, 8, false) == u8);

  const encoding strict{1.0f, 0, 8, true, true};
  CHECK(strict.qmin() == -127);
  CHECK(strict.min() == -127.0f);

  const encoding s4{1.0f, 0, 4, true};
  CHECK(s4.qmin() == -8);
  CHECK(s4.qmax() == 7);
  const encoding u16{1.0f, 0, 16, false};
  CHECK(u16.qmax() == 65535);
  const encoding bias{1.0f, 0, 32, true};
  CHECK(bias.qmin() == std::numeric_limits<std::int32_t>::min());
  CHECK(bias.qmax() == std::numeric_limits<std::int32_t>::max());
}

TEST_CASE("qnn: SNPE's documented example", "[encoding][qnn]") {
  const std::vector<float> x = {-1.8f, -1.0f, 0.0f, 0.5f};
  const encoding e = compute_encoding(x);  // qnn, 8-bit asymmetric unsigned by default
  CHECK(e.offset() == -200);
  CHECK(e.zero_point == 200);
  CHECK(e.scale == Approx(0.009020).margin(5e-7));
  CHECK(e.min() == Approx(-1.803922).margin(1e-6));
  CHECK(e.max() == Approx(0.496078).margin(1e-6));
}

TEST_CASE("qnn: AIMET ComputeDeltaOffset vectors", "[encoding][qnn]") {
  struct row {
    float min, max;
    double scale;
    std::int64_t offset;
  };
  const row rows[] = {
      {-40.0f, 80.0f, 120.0 / 255.0, -85}, {10.0f, 10.0f, 10.0 / 255.0, 0},
      {0.0f, 0.0f, 0.01 / 255.0, 0},       {1000.0f, 1200.0f, 1200.0 / 255.0, 0},
      {-8.0f, -5.0f, 8.0 / 255.0, -255},
  };
  for (const auto& r : rows) {
    const encoding e = compute_encoding(r.min, r.max);
    INFO("min " << r.min << " max " << r.max);
    CHECK(e.scale == static_cast<float>(r.scale));
    CHECK(e.offset() == r.offset);
  }
}

TEST_CASE("qnn: minimum range is an option", "[encoding][qnn]") {
  encoding_options o;
  o.min_range = 0.0001;
  const encoding e = compute_encoding(0.0f, 0.0f, o);
  CHECK(e.scale == static_cast<float>(0.0001 / 255.0));
  o.min_range = -1.0;
  CHECK_THROWS_WITH(compute_encoding(0.0f, 1.0f, o), Catch::Contains("min_range is -1"));
}

TEST_CASE("qnn: symmetric, strict and unsigned symmetric", "[encoding][qnn]") {
  const encoding sym = compute_encoding(-2.0f, 1.0f, options(profile::qnn, scheme::symmetric));
  CHECK(sym.scale == static_cast<float>(2.0 / 127.0));
  CHECK(sym.offset() == -128);
  CHECK(sym.zero_point == 128);
  CHECK_FALSE(sym.narrow_range);

  const encoding sym_signed =
      compute_encoding(-2.0f, 1.0f, options(profile::qnn, scheme::symmetric, 8, true));
  CHECK(sym_signed.zero_point == 0);
  CHECK(sym_signed.offset() == -128);

  const encoding strict =
      compute_encoding(-2.0f, 1.0f, options(profile::qnn, scheme::symmetric_strict, 8, true));
  CHECK(strict.scale == static_cast<float>(2.0 / 127.0));
  CHECK(strict.qmin() == -127);
  CHECK(strict.zero_point == 0);
  CHECK(strict.offset() == -128);  // exported as -128: the SNPE converter rejects -127

  const encoding unsigned_sym =
      compute_encoding(0.5f, 3.0f, options(profile::qnn, scheme::unsigned_symmetric));
  CHECK(unsigned_sym.zero_point == 0);
  CHECK(unsigned_sym.scale == static_cast<float>(3.0 / 255.0));
  // With negative values unsigned symmetric falls back to symmetric.
  const encoding fallback =
      compute_encoding(-0.5f, 3.0f, options(profile::qnn, scheme::unsigned_symmetric));
  CHECK(fallback.zero_point == 128);
  CHECK(fallback.scale == static_cast<float>(3.0 / 127.0));

  const encoding sym16 =
      compute_encoding(-1.0f, 1.0f, options(profile::qnn, scheme::symmetric, 16));
  CHECK(sym16.scale == static_cast<float>(1.0 / 32767.0));
  CHECK(sym16.offset() == -32768);
}

TEST_CASE("profiles: the tie at 76.5 (min -3, max 7)", "[encoding][profiles]") {
  CHECK(compute_encoding(-3.0f, 7.0f, options(profile::qnn)).offset() == -77);
  const encoding qnn = compute_encoding(-3.0f, 7.0f, options(profile::qnn));
  CHECK(qnn.min() == Approx(-3.019607843).margin(1e-6));
  CHECK(qnn.max() == Approx(6.980392157).margin(1e-6));
  CHECK(compute_encoding(-3.0f, 7.0f, options(profile::pytorch)).zero_point == 76);
  CHECK(compute_encoding(-3.0f, 7.0f, options(profile::onnx)).zero_point == 76);
}

TEST_CASE("profiles: zero point 126.5 (min -253, max 257)", "[encoding][profiles]") {
  for (profile p : {profile::pytorch, profile::onnx}) {
    const encoding e = compute_encoding(-253.0f, 257.0f, options(p));
    CHECK(e.scale == 2.0f);
    CHECK(e.zero_point == 126);
  }
  encoding_options fbgemm = options(profile::pytorch);
  fbgemm.pytorch_dynamic = true;
  CHECK(compute_encoding(-253.0f, 257.0f, fbgemm).zero_point == 126);
  CHECK(compute_encoding(-253.0f, 257.0f, options(profile::tflite)).zero_point == 127);
  CHECK(compute_encoding(-253.0f, 257.0f, options(profile::qnn)).zero_point == 127);
}

TEST_CASE("pytorch: observer on SNPE's example", "[encoding][pytorch]") {
  const std::vector<float> x = {-1.8f, -1.0f, 0.0f, 0.5f};
  const encoding e = compute_encoding(x, options(profile::pytorch));
  CHECK(e.scale == Approx(0.0090196).margin(1e-7));
  CHECK(e.zero_point == 200);
}

TEST_CASE("pytorch: symmetric observers and eps", "[encoding][pytorch]") {
  const encoding s8 =
      compute_encoding(-2.0f, 1.0f, options(profile::pytorch, scheme::symmetric, 8, true));
  CHECK(s8.scale == 2.0f / 127.5f);
  CHECK(s8.zero_point == 0);
  const encoding u8 = compute_encoding(-2.0f, 1.0f, options(profile::pytorch, scheme::symmetric));
  CHECK(u8.zero_point == 128);
  const encoding zero = compute_encoding(0.0f, 0.0f, options(profile::pytorch));
  CHECK(zero.scale == std::numeric_limits<float>::epsilon());
  CHECK(zero.zero_point == 0);
}

TEST_CASE("pytorch: observers with a customized quant range (b < 8 bits)", "[encoding][pytorch]") {
  // torch 1.13's MinMaxObserver with quant_min/quant_max set to a b-bit grid: symmetric quint8
  // takes (quant_min + quant_max) // 2 as its zero point.
  std::size_t symmetric_unsigned = 0;
  for (const auto& c : pytorch_vectors::custom_range()) {
    INFO(c.name << " " << c.kind << (c.is_signed ? " qint8 " : " quint8 ") << c.bitwidth);
    const bool symmetric = std::string(c.kind) == "symmetric";
    const encoding_options o =
        options(profile::pytorch, symmetric ? scheme::symmetric : scheme::asymmetric, c.bitwidth,
                c.is_signed);
    const encoding e = compute_encoding(c.x, o);
    CHECK(e.scale == c.scale);
    CHECK(e.zero_point == c.zero_point);
    if (symmetric && !c.is_signed) {
      ++symmetric_unsigned;
      CHECK(e.zero_point == ((1 << c.bitwidth) - 1) / 2);
    }
  }
  CHECK(symmetric_unsigned == 9);
  // 8 bits is PyTorch's default quint8 range: 128.
  CHECK(compute_encoding(-1.0f, 1.0f, options(profile::pytorch, scheme::symmetric)).zero_point ==
        128);
}

TEST_CASE("fbgemm: ChooseQuantizationParams rules", "[encoding][pytorch]") {
  encoding_options o = options(profile::pytorch);
  o.pytorch_dynamic = true;
  const encoding zero = compute_encoding(0.0f, 0.0f, o);
  CHECK(zero.scale == 0.1f);
  CHECK(zero.zero_point == 0);
  // A scale below 6.1e-5 is raised to it and the range stretched with it.
  const encoding tiny = compute_encoding(-1e-4f, 1e-4f, o);
  CHECK(tiny.scale == 6.1e-5f);
  CHECK(tiny.zero_point == 128);
}

TEST_CASE("onnx: DynamicQuantizeLinear and symmetric", "[encoding][onnx]") {
  const encoding zero = compute_encoding(0.0f, 0.0f, options(profile::onnx));
  CHECK(zero.scale == 1.0f);
  CHECK(zero.zero_point == 0);
  const encoding s8 =
      compute_encoding(-2.0f, 1.0f, options(profile::onnx, scheme::symmetric, 8, true));
  CHECK(s8.qmin() == -127);
  CHECK(s8.scale == 4.0f / 254.0f);
  CHECK(s8.zero_point == 0);
  // Since ONNX Runtime PR #22020 the tool's symmetric uint8 grid is [0, 254]; before it [0, 255].
  const encoding u8 = compute_encoding(-2.0f, 1.0f, options(profile::onnx, scheme::symmetric));
  CHECK(u8.zero_point == 127);
  CHECK(u8.scale == static_cast<float>(4.0 / 254.0));
  encoding_options before = options(profile::onnx, scheme::symmetric);
  before.onnx_symmetric_unsigned = quanta::onnx_unsigned_symmetric::full_range;
  const encoding u8_before = compute_encoding(-2.0f, 1.0f, before);
  CHECK(u8_before.zero_point == 128);
  CHECK(u8_before.scale == static_cast<float>(4.0 / 255.0));
}

TEST_CASE("onnx: the quantization tool's compute_scale_zp on its own output", "[encoding][onnx]") {
  // tests/data/generate_onnx_vectors.py ran ONNX Runtime's compute_scale_zp on 85 ranges for
  // int8, uint8, int16, uint16, int4 and uint4, asymmetric and symmetric (both versions of the
  // unsigned symmetric grid). uint8 asymmetric is DynamicQuantizeLinear's float rule in quanta;
  // the two agree on every one of these ranges.
  std::size_t checked = 0;
  for (const auto& c : onnx_vectors::tool()) {
    const std::string kind = c.kind;
    INFO(kind << " " << (c.is_signed ? "int" : "uint") << c.bitwidth << " [" << c.min << ", "
              << c.max << "]");
    encoding_options o =
        options(profile::onnx, kind == "asymmetric" ? scheme::asymmetric : scheme::symmetric,
                c.bitwidth, c.is_signed);
    if (kind == "symmetric_before_pr_22020")
      o.onnx_symmetric_unsigned = quanta::onnx_unsigned_symmetric::full_range;
    const encoding e = compute_encoding(c.min, c.max, o);
    CHECK(e.scale == c.scale);
    CHECK(e.zero_point == c.zero_point);
    ++checked;
  }
  CHECK(checked == 1190);
  // The example that float32 arithmetic gets wrong: qmin - min / scale = -31636.5000004.
  const encoding s16 = compute_encoding(-0.0010471622f, 0.059603125f,
                                        options(profile::onnx, scheme::asymmetric, 16, true));
  CHECK(s16.zero_point == -31637);
}

TEST_CASE("tflite: symmetric weights and the degenerate range", "[encoding][tflite]") {
  const encoding s8 =
      compute_encoding(-2.0f, 1.0f, options(profile::tflite, scheme::symmetric, 8, true));
  CHECK(s8.scale == 2.0f / 127.0f);
  CHECK(s8.qmin() == -127);
  const encoding zero =
      compute_encoding(0.0f, 0.0f, options(profile::tflite, scheme::asymmetric, 8, true));
  CHECK(zero.scale == 1.0f);
  CHECK(zero.zero_point == 0);
}

TEST_CASE("every profile, scheme and bitwidth gives a valid encoding", "[encoding]") {
  const float ranges[][2] = {{-1.0f, 1.0f},  {0.0f, 0.0f},      {-3.0f, 7.0f},  {2.0f, 9.0f},
                             {-9.0f, -2.0f}, {-1e-30f, 1e-30f}, {-1e30f, 1e30f}};
  for (profile p : {profile::qnn, profile::pytorch, profile::onnx, profile::tflite}) {
    for (scheme k : {scheme::asymmetric, scheme::symmetric, scheme::symmetric_strict,
                     scheme::unsigned_symmetric}) {
      for (int bits : {2, 3, 4, 8, 12, 16, 32}) {
        for (bool is_signed : {false, true}) {
          if (bits == 32 && !is_signed) continue;
          for (const auto& r : ranges) {
            const encoding e = compute_encoding(r[0], r[1], options(p, k, bits, is_signed));
            INFO("profile " << int(p) << " scheme " << int(k) << " bits " << bits << " signed "
                            << is_signed << " range " << r[0] << " " << r[1]);
            CHECK(std::isfinite(e.scale));
            CHECK(e.scale > 0.0f);
            CHECK(e.zero_point >= e.qmin());
            CHECK(e.zero_point <= e.qmax());
            CHECK(e.bitwidth == bits);
            CHECK(e.is_signed == is_signed);
            // Zero is exactly representable in every scheme.
            CHECK(static_cast<float>(e.zero_point - e.zero_point) * e.scale == 0.0f);
          }
        }
      }
    }
  }
}

TEST_CASE("compute_encoding: extreme ranges give a valid encoding or a quanta::error",
          "[encoding][errors]") {
  // Under the asan-ubsan preset this also shows that no conversion is undefined on the way.
  constexpr float big = std::numeric_limits<float>::max();
  constexpr float denormal = std::numeric_limits<float>::denorm_min();
  const std::vector<float> values = {-big,    -3e38f,    -1e30f, -1.0f,    -1e-30f,
                                     -1e-38f, -denormal, 0.0f,   denormal, 1e-38f,
                                     1e-30f,  1.0f,      1e30f,  3e38f,    big};
  std::size_t encodings = 0, errors = 0;
  for (profile p : {profile::qnn, profile::pytorch, profile::onnx, profile::tflite}) {
    for (scheme k : {scheme::asymmetric, scheme::symmetric, scheme::symmetric_strict,
                     scheme::unsigned_symmetric}) {
      for (int bits : {2, 4, 8, 16, 32}) {
        for (bool is_signed : {false, true}) {
          if (bits == 32 && !is_signed) continue;
          for (double min_range : {0.01, 1e-300, 1e300}) {
            if (p != profile::qnn && min_range != 0.01) continue;
            encoding_options o = options(p, k, bits, is_signed);
            o.min_range = min_range;
            for (float lo : values) {
              for (float hi : values) {
                if (lo > hi) continue;
                INFO("profile " << int(p) << " scheme " << int(k) << " bits " << bits << " signed "
                                << is_signed << " min_range " << min_range << " range " << lo << " "
                                << hi);
                try {
                  const encoding e = compute_encoding(lo, hi, o);
                  ++encodings;
                  CHECK_NOTHROW(quanta::detail::check_encoding("test", e));
                } catch (const quanta::error& failure) {
                  ++errors;
                  CHECK_THAT(failure.what(), Catch::StartsWith("compute_encoding: the range ["));
                }
              }
            }
          }
        }
      }
    }
  }
  CHECK(encodings > 0);
  CHECK(errors > 0);  // (-FLT_MAX, FLT_MAX) has no float scale under most rules
  // The documented results for ranges too narrow for a normal scale.
  const encoding tiny_onnx = compute_encoding(0.0f, denormal, options(profile::onnx));
  CHECK(tiny_onnx.scale == 1.0f);
  CHECK(tiny_onnx.zero_point == 0);
  const encoding tiny_tflite = compute_encoding(0.0f, denormal, options(profile::tflite));
  CHECK(tiny_tflite.scale == 1.0f);
  CHECK_THROWS_WITH(
      compute_encoding(-big, big, options(profile::pytorch)),
      Catch::StartsWith("compute_encoding: the range [") && Catch::Contains("gives scale inf"));
}

TEST_CASE("compute_encoding: bad arguments", "[encoding][errors]") {
  CHECK_THROWS_AS(compute_encoding(1.0f, 0.0f), quanta::error);
  CHECK_THROWS_WITH(compute_encoding(1.0f, 0.0f),
                    Catch::StartsWith("compute_encoding: min 1 is greater than max 0"));
  CHECK_THROWS_WITH(compute_encoding(std::nanf(""), 0.0f), Catch::Contains("min is nan"));
  CHECK_THROWS_WITH(compute_encoding(0.0f, INFINITY), Catch::Contains("max is inf"));
  CHECK_THROWS_WITH(compute_encoding(0.0f, 1.0f, options(profile::qnn, scheme::asymmetric, 1)),
                    Catch::Contains("bitwidth is 1; expected 2..16"));
  CHECK_THROWS_WITH(compute_encoding(0.0f, 1.0f, options(profile::qnn, scheme::asymmetric, 17)),
                    Catch::Contains("bitwidth is 17"));
  CHECK_THROWS_WITH(compute_encoding(0.0f, 1.0f, options(profile::qnn, scheme::asymmetric, 32)),
                    Catch::Contains("expected is_signed = true"));
  const std::vector<float> empty;
  CHECK_THROWS_WITH(compute_encoding(empty), Catch::Contains("data is empty"));
}

TEST_CASE("compute_encoding: non-finite data", "[encoding][errors]") {
  std::vector<float> x = {0.5f, -1.0f, std::nanf(""), 2.0f, INFINITY};
  CHECK_THROWS_WITH(compute_encoding(x), Catch::StartsWith("compute_encoding: data[2] is nan"));
  x[2] = 0.0f;
  CHECK_THROWS_WITH(compute_encoding(x), Catch::StartsWith("compute_encoding: data[4] is inf"));
  encoding_options skip;
  skip.skip_non_finite = true;
  x[2] = std::nanf("");
  CHECK(compute_encoding(x, skip) == compute_encoding(-1.0f, 2.0f));
  const std::vector<float> all_bad = {std::nanf(""), -INFINITY};
  CHECK(compute_encoding(all_bad, skip) == compute_encoding(0.0f, 0.0f));
}

TEST_CASE("channel_layout::from_shape", "[encoding][layout]") {
  const std::vector<std::int64_t> shape = {2, 3, 4, 5};
  const auto l1 = quanta::channel_layout::from_shape(shape, 1);
  CHECK(l1.outer == 2);
  CHECK(l1.channels == 3);
  CHECK(l1.inner == 20);
  const auto last = quanta::channel_layout::from_shape(shape, -1);
  CHECK(last.outer == 24);
  CHECK(last.channels == 5);
  CHECK(last.inner == 1);
  const auto first = quanta::channel_layout::from_shape(shape, -4);
  CHECK(first.outer == 1);
  CHECK(first.channels == 2);
  CHECK(first.inner == 60);
  CHECK_THROWS_WITH(quanta::channel_layout::from_shape(shape, 4),
                    Catch::Contains("axis is 4; expected -4..3"));
  CHECK_THROWS_WITH(quanta::channel_layout::from_shape(shape, -5), Catch::Contains("axis is -5"));
  const std::vector<std::int64_t> negative = {2, -1};
  CHECK_THROWS_WITH(quanta::channel_layout::from_shape(negative, 0),
                    Catch::Contains("shape[1] is -1"));
  const std::vector<std::int64_t> none;
  CHECK_THROWS_WITH(quanta::channel_layout::from_shape(none, 0), Catch::Contains("shape is empty"));
  const std::vector<std::int64_t> huge = {std::int64_t{1} << 40, std::int64_t{1} << 40};
  CHECK_THROWS_WITH(quanta::channel_layout::from_shape(huge, 0), Catch::Contains("overflows"));
}

TEST_CASE("compute_encodings: one per channel, any axis", "[encoding][per-channel]") {
  // shape [2, 3, 2], axis 1: channel c holds values from both outer rows.
  const std::vector<float> x = {1,  2, -3, 4, 5,    6,  // o = 0
                                -7, 0, 0,  8, 0.5f, -0.5f};
  const auto layout = quanta::channel_layout{2, 3, 2};
  const auto e = quanta::compute_encodings(x, layout);
  REQUIRE(e.size() == 3);
  CHECK(e[0] == compute_encoding(-7.0f, 2.0f));
  CHECK(e[1] == compute_encoding(-3.0f, 8.0f));
  CHECK(e[2] == compute_encoding(-0.5f, 6.0f));
  std::vector<float> bad = x;
  bad[9] = std::nanf("");
  CHECK_THROWS_WITH(quanta::compute_encodings(bad, layout),
                    Catch::StartsWith("compute_encodings: data[9] is nan"));
  CHECK_THROWS_WITH(quanta::compute_encodings(x, quanta::channel_layout{2, 3, 3}),
                    Catch::Contains("data has 12 elements but the layout"));
}

TEST_CASE("compute_block_encodings: ONNX blocked layout", "[encoding][per-block]") {
  // [2 rows, 5 columns], blocks of 2 along the columns: 3 blocks per row (the last one short).
  const std::vector<float> x = {1,  -1, 2,    4,     8,  //
                                -2, 3,  0.5f, 0.25f, -9};
  const std::vector<std::int64_t> shape = {2, 5};
  const auto layout = quanta::block_layout::from_shape(shape, 1, 2);
  CHECK(layout.blocks() == 3);
  CHECK(layout.encoding_count() == 6);
  const auto e = quanta::compute_block_encodings(x, layout);
  REQUIRE(e.size() == 6);
  CHECK(e[0] == compute_encoding(-1.0f, 1.0f));
  CHECK(e[1] == compute_encoding(2.0f, 4.0f));
  CHECK(e[2] == compute_encoding(8.0f, 8.0f));
  CHECK(e[3] == compute_encoding(-2.0f, 3.0f));
  CHECK(e[4] == compute_encoding(0.25f, 0.5f));
  CHECK(e[5] == compute_encoding(-9.0f, -9.0f));
  CHECK_THROWS_WITH(quanta::block_layout::from_shape(shape, 1, 0),
                    Catch::Contains("block_size is 0"));
}

TEST_CASE("qnn_adjusted: the issue's [-5.1, 5.1] at 8 bits", "[encoding][qnn][adjusted]") {
  // The TF rule puts the zero point at round(127.5) = 128, which shifts the grid to
  // [-5.12, 5.08]: 5.1 rounds to code 256 and saturates at 255.
  const encoding tf = compute_encoding(-5.1f, 5.1f);
  CHECK(tf.offset() == -128);
  CHECK(tf.max() < 5.1f);
  CHECK(unclamped_qnn_code(5.1f, tf) == 256.0);
  // Zero points 127 and 128 both need 5.1 / 127 (one end exact, the other with a step to
  // spare); the tie keeps the TF rule's 128, so the grid is [-5.14, 5.1].
  const encoding e = compute_encoding(-5.1f, 5.1f, adjusted());
  CHECK(e.zero_point == 128);
  CHECK(e.scale == Approx(5.1 / 127.0).epsilon(1e-6));
  CHECK(e.min() <= -5.1f);
  CHECK(e.max() >= 5.1f);
  CHECK(unclamped_qnn_code(5.1f, e) == 255.0);
  CHECK(unclamped_qnn_code(-5.1f, e) == 1.0);
  CHECK(grid_holds(e, -5.1f, 5.1f));
  CHECK_FALSE(some_zero_point_holds(std::nextafter(e.scale, 0.0f), e, -5.1f, 5.1f));
  // Signed storage is the same grid, shifted by -128.
  const encoding s8 = compute_encoding(-5.1f, 5.1f, adjusted(8, true));
  CHECK(s8.scale == e.scale);
  CHECK(s8.offset() == e.offset());
  CHECK(s8.zero_point == 0);
}

TEST_CASE("qnn_adjusted: extremes held, zero exact, minimal scale, min_range kept",
          "[encoding][qnn][adjusted]") {
  std::mt19937 rng(16);
  std::uniform_real_distribution<float> exponent(-30.0f, 30.0f);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  const auto magnitude = [&] { return std::pow(10.0f, exponent(rng)) * (1.0f + unit(rng)); };
  constexpr float big = std::numeric_limits<float>::max();
  constexpr float denormal = std::numeric_limits<float>::denorm_min();
  std::vector<std::pair<float, float>> ranges = {
      {-5.1f, 5.1f},     {0.0f, 0.0f},      {0.0f, 1.0f},      {-1.0f, 0.0f},    {-3.0f, 7.0f},
      {2.0f, 9.0f},      {-9.0f, -2.0f},    {10.0f, 10.0f},    {-9.0f, -9.0f},   {-0.003f, 0.004f},
      {0.0f, 0.002f},    {-1e-38f, 1e-38f}, {-denormal, 0.0f}, {0.0f, denormal}, {-1e-6f, 1000.0f},
      {-1000.0f, 1e-6f}, {-3e38f, 3e38f},   {-big, big},       {0.0f, big},      {-big, 0.0f},
      {-big, 1.0f},      {-1.0f, 3e38f},    {-253.0f, 257.0f}, {-0.5f, 254.5f}};
  for (int i = 0; i < 40; ++i)
    ranges.emplace_back(-magnitude(), magnitude());
  for (int i = 0; i < 10; ++i) {
    const float a = magnitude(), b = magnitude();
    ranges.emplace_back(std::min(a, b), std::max(a, b));
    ranges.emplace_back(-std::max(a, b), -std::min(a, b));
  }
  for (int i = 0; i < 10; ++i) {
    const float width = unit(rng) * 0.02f;  // near the default min_range of 0.01
    const float lo = -width * unit(rng);
    ranges.emplace_back(lo, lo + width);
  }
  std::size_t same_as_tf = 0, wider_than_tf = 0;
  for (int bits : {2, 4, 8, 16}) {
    for (bool is_signed : {false, true}) {
      const encoding_options o = adjusted(bits, is_signed);
      for (const auto& [min, max] : ranges) {
        INFO("bits " << bits << " signed " << is_signed << " range [" << min << ", " << max << "]");
        const encoding e = compute_encoding(min, max, o);
        INFO("scale " << e.scale << " zero point " << e.zero_point);
        CHECK_NOTHROW(quanta::detail::check_encoding("test", e));
        CHECK(e.bitwidth == bits);
        CHECK(e.is_signed == is_signed);
        CHECK_FALSE(e.narrow_range);
        // Zero is exact: it quantizes to the zero point, which dequantizes to 0.
        const auto qnn = quanta::detail::make_affine_params(
            e, quanta::quantize_options::for_profile(profile::qnn));
        CHECK(quanta::ref::quantize_code(0.0f, qnn) == e.zero_point);
        CHECK(quanta::ref::dequantize_code(e.zero_point, qnn) == 0.0f);
        // Both extremes, and the min_range the TF rule keeps, inside the grid's exact ends.
        const gated_range g = qnn_gated(min, max, o.min_range);
        CHECK(grid_holds(e, g.lo, g.hi));
        CHECK(grid_holds(e, g.lo, g.lo + o.min_range));
        CHECK(e.min() <= std::min(min, 0.0f));
        CHECK(e.max() >= std::max(max, 0.0f));
        // Neither extreme is clamped: QNN's quantize rounds each onto the grid by itself.
        for (float x : {min, max}) {
          const double code = unclamped_qnn_code(x, e);
          CHECK(code >= e.qmin());
          CHECK(code <= e.qmax());
          CHECK(static_cast<double>(quanta::ref::quantize_code(x, qnn)) == code);
        }
        // No smaller float scale holds the range with any zero point.
        const float smaller = std::nextafter(e.scale, 0.0f);
        if (smaller > 0.0f) CHECK_FALSE(some_zero_point_holds(smaller, e, g.lo, g.hi));
        // Where the TF grid already holds the range, the adjusted rule changes nothing.
        const encoding tf =
            compute_encoding(min, max, options(profile::qnn, scheme::asymmetric, bits, is_signed));
        if (grid_holds(tf, g.lo, g.hi)) {
          ++same_as_tf;
          CHECK(e == tf);
        } else {
          ++wider_than_tf;
          CHECK(e.scale >= tf.scale);
        }
      }
    }
  }
  CHECK(same_as_tf > 100);
  CHECK(wider_than_tf > 100);
}

TEST_CASE("qnn_adjusted: degenerate ranges and min_range", "[encoding][qnn][adjusted]") {
  // An all-zero range is [0, min_range]: zero point at the bottom, as the TF rule, and here the
  // TF scale 0.01 / 255 already spans min_range.
  const encoding zero = compute_encoding(0.0f, 0.0f, adjusted());
  CHECK(zero.offset() == 0);
  CHECK(zero == compute_encoding(0.0f, 0.0f));
  CHECK(grid_holds(zero, 0.0, 0.01));
  // A positive constant keeps the bottom zero point, a negative one the top, as the TF rule.
  CHECK(compute_encoding(10.0f, 10.0f, adjusted()).offset() == 0);
  const encoding negative = compute_encoding(-9.0f, -9.0f, adjusted());
  CHECK(negative.offset() == -255);
  CHECK(negative.min() <= -9.0f);
  // A wider min_range widens the adjusted grid as it does the TF grid.
  encoding_options wide = adjusted();
  wide.min_range = 0.5;
  const encoding gated = compute_encoding(0.1f, 0.2f, wide);
  CHECK(gated.offset() == 0);
  CHECK(grid_holds(gated, 0.0, 0.5));
  CHECK_FALSE(some_zero_point_holds(std::nextafter(gated.scale, 0.0f), gated, 0.0, 0.5));
  // A min_range so small that the TF scale rounds to 0 still has a holding float scale: the
  // smallest denormal.
  encoding_options tiny = adjusted();
  tiny.min_range = 1e-300;
  CHECK(compute_encoding(0.0f, 0.0f, tiny).scale == std::numeric_limits<float>::denorm_min());
}

TEST_CASE("qnn_adjusted: extreme ranges give a holding encoding or a quanta::error",
          "[encoding][qnn][adjusted][errors]") {
  constexpr float big = std::numeric_limits<float>::max();
  constexpr float denormal = std::numeric_limits<float>::denorm_min();
  const std::vector<float> values = {-big,    -3e38f,    -1e30f, -1.0f,    -1e-30f,
                                     -1e-38f, -denormal, 0.0f,   denormal, 1e-38f,
                                     1e-30f,  1.0f,      1e30f,  3e38f,    big};
  std::size_t encodings = 0, errors = 0;
  for (int bits : {2, 4, 8, 16, 32}) {
    for (bool is_signed : {false, true}) {
      if (bits == 32 && !is_signed) continue;
      for (double min_range : {0.01, 1e-300, 1e300}) {
        encoding_options o = adjusted(bits, is_signed);
        o.min_range = min_range;
        for (float lo : values) {
          for (float hi : values) {
            if (lo > hi) continue;
            INFO("bits " << bits << " signed " << is_signed << " min_range " << min_range
                         << " range " << lo << " " << hi);
            try {
              const encoding e = compute_encoding(lo, hi, o);
              ++encodings;
              CHECK_NOTHROW(quanta::detail::check_encoding("test", e));
              const gated_range g = qnn_gated(lo, hi, min_range);
              CHECK(grid_holds(e, g.lo, g.hi));
            } catch (const quanta::error& failure) {
              ++errors;
              CHECK_THAT(failure.what(), Catch::StartsWith("compute_encoding: the range ["));
            }
          }
        }
      }
    }
  }
  CHECK(encodings > 0);
  CHECK(errors > 0);  // min_range 1e300 needs a scale beyond FLT_MAX
}

TEST_CASE("qnn_adjusted: other profiles and schemes are an error", "[encoding][qnn][adjusted]") {
  encoding_options o = adjusted();
  o.rules = profile::pytorch;
  CHECK_THROWS_WITH(compute_encoding(-1.0f, 1.0f, o),
                    "compute_encoding: options.qnn_adjusted is true with profile::pytorch; "
                    "expected profile::qnn (the TF-adjusted quantizer is SNPE/QNN's)");
  o.rules = profile::onnx;
  const std::vector<float> x = {-1.0f, 2.0f};
  CHECK_THROWS_WITH(quanta::compute_encodings(x, quanta::channel_layout{1, 2, 1}, o),
                    Catch::StartsWith("compute_encodings: options.qnn_adjusted is true with "
                                      "profile::onnx; expected profile::qnn"));
  for (scheme k : {scheme::symmetric, scheme::symmetric_strict, scheme::unsigned_symmetric}) {
    encoding_options sym = adjusted();
    sym.kind = k;
    CHECK_THROWS_WITH(compute_encoding(x, sym),
                      Catch::StartsWith("compute_encoding: options.qnn_adjusted is true with "
                                        "scheme::") &&
                          Catch::EndsWith("; expected scheme::asymmetric"));
  }
  encoding_options strict = adjusted();
  strict.kind = scheme::symmetric_strict;
  CHECK_THROWS_WITH(compute_encoding(0.0f, 1.0f, strict),
                    Catch::Contains("with scheme::symmetric_strict;"));
}
