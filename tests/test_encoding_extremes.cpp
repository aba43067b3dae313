// Every function that returns an encoding, fed random and extreme inputs: each call either returns
// encodings that pass check_encoding (with the bitwidth and signedness asked for) or throws
// quanta::error naming the function. Anything else (another exception, undefined behaviour under
// the asan-ubsan preset's -fno-sanitize-recover) fails the test. docs/conventions.md lists the
// rules for the degenerate and extreme cases; the cases named there are pinned at the end.
#include <quanta/bias.hpp>
#include <quanta/calibrate.hpp>
#include <quanta/encoding.hpp>
#include <quanta/reduce.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

using quanta::encoding;
using quanta::encoding_options;
using quanta::histogram;
using quanta::histogram_domain;
using quanta::profile;
using quanta::scheme;

namespace {

constexpr float big = std::numeric_limits<float>::max();
constexpr float denormal = std::numeric_limits<float>::denorm_min();
const float not_a_number = std::numeric_limits<float>::quiet_NaN();
const float infinity = std::numeric_limits<float>::infinity();

// How many calls returned encodings and how many threw quanta::error.
struct tally {
  std::size_t encodings = 0;
  std::size_t errors = 0;
};

// Assertions are recorded only when they fail: the sweeps make millions of checks, which Catch2
// would otherwise record one by one.
void check_result(const encoding& e, const encoding_options& o) {
  try {
    quanta::detail::check_encoding("returned", e);
  } catch (const quanta::error& invalid) {
    FAIL_CHECK(invalid.what());
  }
  if (e.bitwidth != o.bitwidth || e.is_signed != o.is_signed) {
    FAIL_CHECK("returned a " << e.bitwidth << "-bit " << (e.is_signed ? "signed" : "unsigned")
                             << " encoding for options of " << o.bitwidth << " bits");
  }
}

void check_error(const quanta::error& failure, const std::string& function) {
  const std::string what = failure.what();
  if (what.compare(0, function.size() + 1, function + ":") != 0) {
    FAIL_CHECK("expected an error from " << function << ", got: " << what);
  }
}

// Runs `call` (which returns one encoding or a vector of them): either valid encodings for `o`,
// or quanta::error whose message starts with `function`. Any other exception escapes to Catch2.
template <class Call>
void expect_valid_or_error(tally& t, const char* function, const encoding_options& o, Call call) {
  INFO(function);
  try {
    const auto result = call();
    if constexpr (std::is_same_v<std::decay_t<decltype(result)>, encoding>) {
      check_result(result, o);
    } else {
      for (const encoding& e : result)
        check_result(e, o);
    }
    ++t.encodings;
  } catch (const quanta::error& failure) {
    ++t.errors;
    check_error(failure, function);
  }
}

// Every profile, scheme and bitwidth (both signednesses below 32 bits), with each profile's
// variants: QNN's min_range from 5e-324 to 1e300 and its adjusted quantizer, FBGEMM's rule for
// PyTorch, ONNX's older unsigned symmetric grid.
std::vector<encoding_options> all_options(const std::vector<int>& bitwidths) {
  std::vector<encoding_options> all;
  for (profile p : {profile::qnn, profile::pytorch, profile::onnx, profile::tflite}) {
    for (scheme k : {scheme::asymmetric, scheme::symmetric, scheme::symmetric_strict,
                     scheme::unsigned_symmetric}) {
      for (int bits : bitwidths) {
        for (bool is_signed : {false, true}) {
          if (bits == 32 && !is_signed) continue;
          encoding_options o;
          o.rules = p;
          o.kind = k;
          o.bitwidth = bits;
          o.is_signed = is_signed;
          all.push_back(o);
          if (p == profile::qnn) {
            for (double min_range : {5e-324, 1e-300, 1e300}) {
              encoding_options gated = o;
              gated.min_range = min_range;
              all.push_back(gated);
            }
            if (k == scheme::symmetric) {
              encoding_options ungated = o;
              ungated.min_range = 0.0;  // legal for symmetric grids: an all-zero range has scale 0
              all.push_back(ungated);
            }
            if (k == scheme::asymmetric) {
              encoding_options tf_adjusted = o;
              tf_adjusted.qnn_adjusted = true;
              all.push_back(tf_adjusted);
            }
          }
          if (p == profile::pytorch && k == scheme::asymmetric) {
            encoding_options dynamic = o;
            dynamic.pytorch_dynamic = true;
            all.push_back(dynamic);
          }
          if (p == profile::onnx && k == scheme::unsigned_symmetric) {
            encoding_options full = o;
            full.onnx_symmetric_unsigned = quanta::onnx_unsigned_symmetric::full_range;
            all.push_back(full);
          }
        }
      }
    }
  }
  return all;
}

// Extreme batches: the float range's ends, huge and tiny ranges, denormals, signed zeros, a
// constant batch, a single value.
std::vector<std::vector<float>> extreme_batches() {
  return {{-big, big},
          {-big},
          {big},
          {3e38f, 3.1e38f},
          {-3.4e38f, -3e38f, 0.0f},
          {1.2e38f, 1.2e38f},
          {1e30f, 1e30f, 1e30f},
          {-denormal, denormal},
          {denormal},
          {-denormal},
          {0.0f, -0.0f},
          {-0.0f},
          {0.0f, denormal, 2.0f * denormal},
          {-1e-38f, 1e-45f, 1e-38f},
          {-1.0f, 1.0f},
          {-big, -1.0f, 0.0f, denormal, 1.0f, big},
          {-1e-30f, 1e30f}};
}

// Batches of random magnitudes from 2^-149 to FLT_MAX (log-uniform), random signs, some exact
// zeros and repeated values; a fixed seed.
std::vector<std::vector<float>> random_batches(std::size_t count) {
  std::mt19937 rng(20261204);
  std::uniform_real_distribution<double> exponent(-149.0, 128.0);
  std::uniform_int_distribution<int> size(1, 24);
  std::uniform_int_distribution<int> pick(0, 9);
  std::vector<std::vector<float>> batches;
  for (std::size_t b = 0; b < count; ++b) {
    // Half the batches draw from a narrow band of exponents, so that some ranges are tiny or huge
    // but not both.
    const double centre = exponent(rng);
    const double spread = b % 2 == 0 ? 300.0 : 4.0;
    std::vector<float> batch;
    const int n = size(rng);
    for (int i = 0; i < n; ++i) {
      const int kind = pick(rng);
      if (kind == 0) {
        batch.push_back(0.0f);
        continue;
      }
      if (kind == 1 && !batch.empty()) {
        batch.push_back(batch.back());
        continue;
      }
      const double e = std::clamp(centre + (exponent(rng) / 277.0) * spread, -149.0, 127.99);
      const double magnitude =
          std::ldexp(1.0, static_cast<int>(std::floor(e))) * std::exp2(e - std::floor(e));
      const auto value = static_cast<float>(std::min(magnitude, static_cast<double>(big)));
      batch.push_back(kind % 2 == 0 ? -value : value);
    }
    batches.push_back(batch);
  }
  return batches;
}

std::vector<std::vector<float>> all_batches() {
  std::vector<std::vector<float>> batches = extreme_batches();
  for (auto& b : random_batches(24))
    batches.push_back(b);
  return batches;
}

// A histogram of `bins` bins that has seen each batch in turn (growth included), or none if a
// batch was refused (reported by the histogram's own error, which is counted).
bool fill(histogram& h, const std::vector<std::vector<float>>& batches, tally& t) {
  for (const auto& b : batches) {
    try {
      h.observe(b);
    } catch (const quanta::error& failure) {
      ++t.errors;
      CHECK_THAT(failure.what(), Catch::StartsWith("histogram::observe:"));
      return false;
    }
  }
  return true;
}

// Every histogram method on `h`, single and per channel.
void histogram_methods(tally& t, const histogram& h, const std::vector<encoding_options>& options) {
  const std::vector<histogram> channels = {h, h};
  const quanta::span<const histogram> both(channels);
  for (const encoding_options& o : options) {
    INFO("profile " << int(o.rules) << " scheme " << int(o.kind) << " bits " << o.bitwidth
                    << " signed " << o.is_signed << " min_range " << o.min_range << " adjusted "
                    << o.qnn_adjusted);
    for (double p : {99.9, 100.0}) {
      quanta::percentile_options po;
      po.percentile = p;
      expect_valid_or_error(t, "percentile_encoding", o,
                            [&] { return quanta::percentile_encoding(h, o, po); });
    }
    expect_valid_or_error(t, "percentile_encodings", o,
                          [&] { return quanta::percentile_encodings(both, o); });
    expect_valid_or_error(t, "mse_encoding", o, [&] { return quanta::mse_encoding(h, o); });
    expect_valid_or_error(t, "mse_encodings", o, [&] { return quanta::mse_encodings(both, o); });
    if (h.domain() == histogram_domain::magnitude) {
      quanta::mse_options centres;
      centres.rule = quanta::mse_rule::bin_centres;
      centres.start_bin = 1;
      expect_valid_or_error(t, "mse_encoding", o,
                            [&] { return quanta::mse_encoding(h, o, centres); });
    }
    expect_valid_or_error(t, "tf_enhanced_encoding", o,
                          [&] { return quanta::tf_enhanced_encoding(h, o); });
    expect_valid_or_error(t, "tf_enhanced_encodings", o,
                          [&] { return quanta::tf_enhanced_encodings(both, o); });
    // KL needs at most 16 levels on these small histograms; wider grids are refused by name.
    if (o.bitwidth <= 4) {
      for (auto v : {quanta::entropy_variant::tensorrt, quanta::entropy_variant::mxnet,
                     quanta::entropy_variant::onnxruntime}) {
        const auto eo = quanta::entropy_options::for_variant(v);
        expect_valid_or_error(t, "entropy_encoding", o,
                              [&] { return quanta::entropy_encoding(h, o, eo); });
        expect_valid_or_error(t, "entropy_encodings", o,
                              [&] { return quanta::entropy_encodings(both, o, eo); });
      }
    }
  }
}

}  // namespace

TEST_CASE("extremes: compute_encoding over every pair of extreme and random ends",
          "[encoding][extremes]") {
  std::vector<float> ends = {-big, -3e38f,   -1e30f, -1.0f,  -1e-30f, -1e-38f, -denormal, -0.0f,
                             0.0f, denormal, 1e-38f, 1e-30f, 1.0f,    1e30f,   3e38f,     big};
  for (const auto& b : random_batches(4))
    ends.push_back(b.front());
  for (const auto& b : random_batches(4))
    ends.push_back(-b.back());
  tally t;
  for (const encoding_options& o : all_options({2, 3, 4, 8, 12, 16, 32})) {
    INFO("profile " << int(o.rules) << " scheme " << int(o.kind) << " bits " << o.bitwidth
                    << " signed " << o.is_signed << " min_range " << o.min_range);
    for (float lo : ends)
      for (float hi : ends)
        if (lo <= hi)
          expect_valid_or_error(t, "compute_encoding", o,
                                [&] { return quanta::compute_encoding(lo, hi, o); });
    // What the API rejects: NaN and +-Inf ends, min > max.
    for (float bad : {not_a_number, infinity, -infinity}) {
      CHECK_THROWS_AS(quanta::compute_encoding(bad, 1.0f, o), quanta::error);
      CHECK_THROWS_AS(quanta::compute_encoding(-1.0f, bad, o), quanta::error);
    }
    CHECK_THROWS_AS(quanta::compute_encoding(1.0f, -1.0f, o), quanta::error);
  }
  CHECK(t.encodings > 0);
  CHECK(t.errors > 0);
}

TEST_CASE("extremes: data, per-channel and per-block forms, observers and weight fits",
          "[encoding][extremes]") {
  tally t;
  const auto batches = all_batches();
  for (const encoding_options& o : all_options({2, 4, 8, 16, 32})) {
    INFO("profile " << int(o.rules) << " scheme " << int(o.kind) << " bits " << o.bitwidth
                    << " signed " << o.is_signed << " min_range " << o.min_range);
    for (std::size_t index = 0; index < batches.size(); ++index) {
      const auto& b = batches[index];
      const auto& next = batches[(index + 1) % batches.size()];
      INFO("batch of " << b.size() << " from " << b.front());
      const quanta::span<const float> x(b);
      expect_valid_or_error(t, "compute_encoding", o,
                            [&] { return quanta::compute_encoding(x, o); });
      // Two channels, both the batch.
      std::vector<float> two(b);
      two.insert(two.end(), b.begin(), b.end());
      const quanta::channel_layout rows{1, 2, b.size()};
      expect_valid_or_error(t, "compute_encodings", o, [&] {
        return quanta::compute_encodings(quanta::span<const float>(two), rows, o);
      });
      const quanta::block_layout blocks{1, b.size(), 1, 3};
      expect_valid_or_error(t, "compute_block_encodings", o,
                            [&] { return quanta::compute_block_encodings(x, blocks, o); });
      for (bool moving : {false, true}) {
        quanta::observer_options oo;
        oo.moving_average = moving;
        quanta::min_max_observer observer(oo);
        observer.observe(x);
        // The next batch, which can lie at the other end of the float range: the moving average's
        // difference then overflows float.
        observer.observe(next);
        expect_valid_or_error(t, "min_max_observer::tf_encoding", o,
                              [&] { return observer.tf_encoding(o); });
        expect_valid_or_error(t, "min_max_observer::max_abs_encoding", o,
                              [&] { return observer.max_abs_encoding(o); });
        quanta::channel_min_max_observer channels(2, oo);
        channels.observe(quanta::span<const float>(two), rows);
        expect_valid_or_error(t, "channel_min_max_observer::tf_encodings", o,
                              [&] { return channels.tf_encodings(o); });
        expect_valid_or_error(t, "channel_min_max_observer::max_abs_encodings", o,
                              [&] { return channels.max_abs_encodings(o); });
      }
      // The weight fits walk all 2^(b-1) - 1 codes: 16 bits is left to test_calibrate_admm.cpp.
      if (o.bitwidth == 16) continue;
      expect_valid_or_error(t, "admm_encoding", o, [&] { return quanta::admm_encoding(x, o); });
      expect_valid_or_error(t, "least_squares_encoding", o,
                            [&] { return quanta::least_squares_encoding(x, o); });
      expect_valid_or_error(t, "admm_encodings", o, [&] {
        return quanta::admm_encodings(quanta::span<const float>(two), rows, o);
      });
      expect_valid_or_error(t, "least_squares_encodings", o, [&] {
        return quanta::least_squares_encodings(quanta::span<const float>(two), rows, o);
      });
    }
  }
  CHECK(t.encodings > 0);
  CHECK(t.errors > 0);
}

TEST_CASE("extremes: AIMET's TF-enhanced analyzer", "[calibrate][tf_enhanced][extremes]") {
  tally t;
  std::vector<std::vector<float>> batches = extreme_batches();
  for (auto& b : random_batches(8))
    batches.push_back(b);
  for (const encoding_options& o : all_options({2, 16, 32})) {
    INFO("profile " << int(o.rules) << " scheme " << int(o.kind) << " bits " << o.bitwidth
                    << " signed " << o.is_signed << " min_range " << o.min_range);
    for (std::size_t b = 0; b < batches.size(); ++b) {
      INFO("batch " << b);
      quanta::aimet_tf_enhanced analyzer;
      try {
        analyzer.observe(batches[b]);
        // A later batch beyond the density's range, near the float range's ends.
        analyzer.observe(batches[(b + 1) % batches.size()]);
      } catch (const quanta::error& failure) {
        ++t.errors;
        CHECK_THAT(failure.what(), Catch::StartsWith("aimet_tf_enhanced::observe:"));
      }
      expect_valid_or_error(t, "aimet_tf_enhanced::compute", o,
                            [&] { return analyzer.compute(o); });
      // AIMET's own numbers and the per-channel form do not depend on the profile's variants.
      if (o.rules != profile::qnn || o.min_range != 0.01 || o.qnn_adjusted) continue;
      try {
        const quanta::aimet_tf_encoding raw = analyzer.compute_raw(o);
        CHECK(std::isfinite(raw.delta));
        CHECK(std::isfinite(raw.offset));
      } catch (const quanta::error& failure) {
        ++t.errors;
        CHECK_THAT(failure.what(), Catch::StartsWith("aimet_tf_enhanced::compute_raw:"));
      }
      const quanta::channel_layout one_channel{1, 1, batches[b].size()};
      try {
        const auto encodings = quanta::aimet_tf_enhanced_encodings(batches[b], one_channel, o);
        for (const encoding& e : encodings)
          check_result(e, o);
        ++t.encodings;
      } catch (const quanta::error& failure) {
        ++t.errors;
        CHECK_THAT(failure.what(), Catch::StartsWith("aimet_tf_enhanced"));
      }
    }
  }
  CHECK(t.encodings > 0);
  CHECK(t.errors > 0);
  // NaN and Inf are refused unless skipped.
  quanta::aimet_tf_enhanced strict;
  CHECK_THROWS_AS(strict.observe(std::vector<float>{1.0f, not_a_number}), quanta::error);
  quanta::aimet_tf_enhanced skipping(true);
  skipping.observe(std::vector<float>{-1.0f, not_a_number, infinity, 2.0f});
  CHECK_NOTHROW(quanta::detail::check_encoding("test", skipping.compute({})));
}

TEST_CASE("extremes: histogram methods on grown histograms of extreme data",
          "[calibrate][extremes]") {
  tally t;
  const auto options = all_options({2, 4, 8, 16, 32});
  const auto extremes = extreme_batches();
  const auto randoms = random_batches(8);
  // Each extreme batch alone; tiny ranges followed by huge ones (growth by factors up to ~2^276);
  // random batches in sequence.
  std::vector<std::vector<std::vector<float>>> sequences;
  for (const auto& b : extremes)
    sequences.push_back({b});
  sequences.push_back({{denormal, 2.0f * denormal}, {-big, big}});
  sequences.push_back({{-denormal}, {big}, {-big}});
  sequences.push_back({{-1.0f, 1.0f}, {-big}});
  sequences.push_back({{-big / 2.0f, big / 2.0f}, {-big}, {big}});
  sequences.push_back(randoms);
  for (const auto& sequence : sequences) {
    for (histogram_domain domain : {histogram_domain::value, histogram_domain::magnitude}) {
      histogram h(64, domain);
      if (!fill(h, sequence, t)) continue;
      INFO("histogram over [" << h.lo() << ", " << h.hi() << "] of " << h.total() << " values");
      CHECK(std::isfinite(h.lo()));
      CHECK(std::isfinite(h.hi()));
      if (domain == histogram_domain::value) CHECK(h.lo() <= h.observed_min());
      histogram_methods(t, h, options);
    }
  }
  CHECK(t.encodings > 0);
  CHECK(t.errors > 0);
}

TEST_CASE("extremes: histograms from counts over huge and tiny ranges", "[calibrate][extremes]") {
  tally t;
  const auto options = all_options({2, 8, 16, 32});
  const std::vector<double> counts = {3.0, 0.0, 1.0, 0.0, 0.0, 2.0, 0.0, 5.0};
  struct range {
    double lo, hi;
  };
  for (const range r : {range{-1e300, 1e300}, range{0.0, 1e300}, range{-1e300, -1e299},
                        range{-1e39, 1e39}, range{0.0, 1e-300}, range{-1e-300, 1e-300}}) {
    for (histogram_domain domain : {histogram_domain::value, histogram_domain::magnitude}) {
      if (domain == histogram_domain::magnitude && r.lo != 0.0) continue;
      INFO("from_counts over [" << r.lo << ", " << r.hi << "]");
      const histogram h = histogram::from_counts(counts, r.lo, r.hi, domain);
      CHECK(std::isfinite(h.observed_min()));
      CHECK(std::isfinite(h.observed_max()));
      histogram_methods(t, h, options);
      // Float data into a range whose float bin parameters overflow: counted in double.
      histogram grown = h;
      try {
        grown.observe(std::vector<float>{-big, 1.0f, big});
        CHECK(grown.total() == h.total() + 3.0);
      } catch (const quanta::error& failure) {
        ++t.errors;
        CHECK_THAT(failure.what(), Catch::StartsWith("histogram::observe: growing the range"));
        CHECK(grown.total() == h.total());  // unchanged
      }
      // Merging a huge range into a tiny one (or the reverse) grows by factors beyond double.
      histogram small = histogram::from_counts(counts, 0.0, 1e-300, domain);
      try {
        small.merge(h);
        CHECK(std::isfinite(small.hi()));
      } catch (const quanta::error& failure) {
        ++t.errors;
        CHECK_THAT(failure.what(), Catch::StartsWith("histogram::merge: growing the range"));
      }
    }
  }
  CHECK(t.encodings > 0);
  CHECK(t.errors > 0);
}

TEST_CASE("extremes: the documented results and errors", "[encoding][calibrate][extremes]") {
  encoding_options onnx;
  onnx.rules = profile::onnx;
  encoding_options pytorch;
  pytorch.rules = profile::pytorch;
  encoding_options qnn;
  // Scale inf: the width 2 FLT_MAX overflows float's arithmetic under onnx and pytorch.
  CHECK_THROWS_WITH(
      quanta::compute_encoding(-big, big, onnx),
      Catch::StartsWith("compute_encoding: the range [") && Catch::Contains("gives scale inf"));
  CHECK_THROWS_WITH(quanta::compute_encoding(-big, big, pytorch),
                    Catch::Contains("gives scale inf"));
  // Scale 0 avoided: a range narrower than the smallest normal float's steps is the empty range's
  // encoding, scale 1 and zero point 0.
  const encoding tiny = quanta::compute_encoding(0.0f, 1e-45f, onnx);
  CHECK(tiny.scale == 1.0f);
  CHECK(tiny.zero_point == 0);
  // QNN's min_range: 0 is refused for asymmetric grids; 1e300 overflows the scale; 5e-324 (a step
  // that underflows double) and 1e-300 round it to 0.
  qnn.min_range = 0.0;
  CHECK_THROWS_WITH(quanta::compute_encoding(0.0f, 0.0f, qnn),
                    Catch::StartsWith("compute_encoding: options.min_range is 0"));
  for (double min_range : {1e300, 1e-300, 5e-324}) {
    qnn.min_range = min_range;
    CHECK_THROWS_WITH(quanta::compute_encoding(0.0f, 0.0f, qnn),
                      Catch::StartsWith("compute_encoding: the range [0, 0] gives scale"));
  }
  // A symmetric QNN grid with min_range 0 on an all-zero range: scale 0, an error.
  qnn.min_range = 0.0;
  qnn.kind = scheme::symmetric;
  CHECK_THROWS_WITH(quanta::compute_encoding(0.0f, 0.0f, qnn),
                    Catch::StartsWith("compute_encoding: the range [0, 0] gives scale 0"));

  // Histograms over +-1e300: the ends saturate at +-FLT_MAX, so qnn gives the encoding of
  // [-FLT_MAX, FLT_MAX] and pytorch, whose float width overflows, an error naming the method.
  const std::vector<double> ends = {1.0, 0.0, 0.0, 1.0};
  const histogram huge = histogram::from_counts(ends, -1e300, 1e300);
  CHECK(huge.observed_min() == -big);
  CHECK(huge.observed_max() == big);
  const encoding wide = quanta::percentile_encoding(huge, encoding_options{});
  CHECK(wide.scale == quanta::compute_encoding(-big, big).scale);
  CHECK_THROWS_WITH(quanta::percentile_encoding(huge, pytorch),
                    Catch::StartsWith("percentile_encoding: no range calibrated on histogram"));
  CHECK_THROWS_WITH(quanta::tf_enhanced_encoding(huge, pytorch),
                    Catch::StartsWith("tf_enhanced_encoding: no range calibrated on histogram"));
  const histogram huge_channels[] = {huge, huge};
  CHECK_THROWS_WITH(
      quanta::percentile_encodings(huge_channels, pytorch),
      Catch::StartsWith("percentile_encodings: no range calibrated on histograms[0]"));
  // A range that is not a normal double's bins is refused.
  CHECK_THROWS_WITH(histogram::from_counts(ends, 0.0, 1e-320),
                    Catch::StartsWith("histogram::from_counts: range [0, "));
  CHECK_THROWS_WITH(
      histogram::from_counts(ends, -1.7e308, 1.7e308),
      Catch::StartsWith("histogram::from_counts: range [") && Catch::Contains("bin width inf"));

  // Growth by a factor beyond double: refused before anything changes.
  histogram narrow = histogram::from_counts(ends, 0.0, 1e-300);
  CHECK_THROWS_WITH(narrow.observe(std::vector<float>{big}),
                    Catch::StartsWith("histogram::observe: growing the range [0, 1e-300]"));
  CHECK(narrow.total() == 2.0);
  CHECK(narrow.hi() == 1e-300);
  // A histogram that grew past -FLT_MAX (52 old bins down from -FLT_MAX / 3, by a factor of 2)
  // bins float data in double: FLT_MAX / 2 lands in bin 58 of 64, where the float rule, with its
  // low end at -inf, would have put it in the last bin.
  histogram past_end(64);
  past_end.observe(std::vector<float>{-big / 3.0f, big / 2.0f});
  past_end.observe(std::vector<float>{-big});
  REQUIRE(!std::isfinite(past_end.bin_lo()));
  past_end.observe(std::vector<float>{big / 2.0f});
  const auto c = past_end.counts();
  CHECK(c[58] == 1.0);
  CHECK(c[63] == 0.0);
  double total = 0.0;
  for (double v : c)
    total += v;
  CHECK(total == 4.0);

  // AIMET's analyzer: offsets in int, so 32 bits are refused; a first batch whose tripled range
  // overflows float is refused; a constant batch too large to widen by 0.01 is refused.
  encoding_options bias;
  bias.bitwidth = 32;
  bias.is_signed = true;
  quanta::aimet_tf_enhanced analyzer;
  analyzer.observe(std::vector<float>{-1.0f, 1.0f});
  CHECK_THROWS_WITH(analyzer.compute(bias),
                    Catch::StartsWith("aimet_tf_enhanced::compute: options.bitwidth is 32"));
  CHECK_THROWS_WITH(analyzer.compute_raw(bias),
                    Catch::StartsWith("aimet_tf_enhanced::compute_raw: options.bitwidth is 32"));
  quanta::aimet_tf_enhanced near_max;
  CHECK_THROWS_WITH(near_max.observe(std::vector<float>{-3e38f, 3e38f}),
                    Catch::StartsWith("aimet_tf_enhanced::observe: the first batch's range"));
  CHECK(near_max.empty());
  CHECK_THROWS_WITH(near_max.observe(std::vector<float>{1e30f, 1e30f}),
                    Catch::Contains("buckets of 0"));
  // Within that limit, AIMET's costs, summed in float, overflow for ranges far narrower: none is
  // finite on [-5e37, 5e37], and the search reports it. On [-1e18, 1e18] they are finite.
  near_max.observe(std::vector<float>{-5e37f, 5e37f});
  CHECK_THROWS_WITH(near_max.compute({}),
                    Catch::StartsWith("aimet_tf_enhanced::compute: no candidate of AIMET's search "
                                      "has a finite cost"));
  quanta::aimet_tf_enhanced moderate;
  moderate.observe(std::vector<float>{-1e18f, 1e18f});
  CHECK_NOTHROW(quanta::detail::check_encoding("test", moderate.compute({})));

  // The bias scale is the product of two scales: refused when it overflows or underflows.
  CHECK_THROWS_AS(quanta::bias_encodings(big, std::vector<float>{2.0f}), quanta::error);
  CHECK_THROWS_AS(quanta::bias_encodings(denormal, std::vector<float>{0.5f}), quanta::error);
}
