#include <quanta/calibrate/pytorch_histogram.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "data/pytorch_histogram_vectors.hpp"

using quanta::encoding;
using quanta::encoding_options;
using quanta::profile;
using quanta::pytorch_histogram_observer;
using quanta::pytorch_histogram_options;
using quanta::scheme;

namespace {

// The encoding_options of a HistogramObserver(dtype, qscheme, reduce_range), or of one with the
// quant_min / quant_max of a custom_bits grid.
encoding_options torch_options(const pytorch_histogram_vectors::qparams& q) {
  encoding_options o = pytorch_histogram_observer::default_options();
  o.is_signed = std::string(q.dtype) == "qint8";
  o.kind = std::string(q.qscheme) == "symmetric" ? scheme::symmetric : scheme::asymmetric;
  o.bitwidth = q.custom_bits != 0 ? q.custom_bits : (q.reduce_range ? 7 : 8);
  return o;
}

// The generator's formula(), in the same float32 steps.
std::vector<float> formula_batch(const pytorch_histogram_vectors::formula& f) {
  std::vector<float> x(static_cast<std::size_t>(f.n));
  for (std::int64_t i = 0; i < f.n; ++i) {
    const std::int64_t k = (i * f.multiplier) % f.modulus - f.offset;
    float v = static_cast<float>(k) / f.divisor;
    if (f.square) v = v * std::fabs(v);
    x[static_cast<std::size_t>(i)] = v;
  }
  return x;
}

// FNV-1a (64-bit) over the float32 bit patterns, as the generator hashes torch's histogram.
std::uint64_t fnv1a(quanta::span<const float> histogram) {
  std::uint64_t h = 0xcbf29ce484222325u;
  for (const float count : histogram) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &count, sizeof bits);
    h = (h ^ bits) * 0x100000001b3u;
  }
  return h;
}

}  // namespace

TEST_CASE("pytorch_histogram_observer: bit-equal to PyTorch 1.13's HistogramObserver",
          "[calibrate][pytorch_histogram]") {
  std::size_t checked = 0;
  std::size_t combined = 0;
  for (const auto& c : pytorch_histogram_vectors::cases()) {
    INFO(c.name);
    pytorch_histogram_observer o(pytorch_histogram_options{c.bins, c.upsample_rate});
    for (const auto& batch : c.batches)
      o.observe(batch);
    for (const auto& f : c.formulas)
      o.observe(formula_batch(f));
    if (c.batches.size() + c.formulas.size() > 1) ++combined;
    // The whole histogram, bit for bit.
    CHECK(fnv1a(o.histogram()) == c.histogram_fnv1a);
    CHECK(o.range().min == c.min_val);
    CHECK(o.range().max == c.max_val);
    const quanta::min_max_result searched = o.search_range();
    CHECK(searched.min == c.search_min);
    CHECK(searched.max == c.search_max);
    for (const auto& probe : c.errors) {
      INFO("bins " << probe.first_bin << ".." << probe.last_bin);
      CHECK(o.search_error(probe.first_bin, probe.last_bin) == static_cast<double>(probe.error));
    }
    for (const auto& q : c.expected) {
      INFO(q.dtype << " " << q.qscheme << (q.reduce_range ? " reduce_range" : "") << " custom bits "
                   << q.custom_bits);
      const encoding e = o.encoding(torch_options(q));
      CHECK(e.scale == q.scale);
      // reduce_range quint8 symmetric: PyTorch keeps zero point 128, outside its own [0, 127];
      // quanta's 7-bit pytorch grid centres it at 63 (docs/calibration.md).
      const bool off_grid = q.reduce_range && std::string(q.qscheme) == "symmetric" &&
                            std::string(q.dtype) == "quint8";
      if (off_grid) {
        CHECK(q.zero_point == 128);
        CHECK(e.zero_point == 63);
      } else {
        CHECK(e.zero_point == q.zero_point);
      }
      ++checked;
    }
  }
  CHECK(checked == pytorch_histogram_vectors::cases().size() * 11);
  CHECK(combined >= 12);
}

TEST_CASE("pytorch_histogram_observer: state, defaults and the min == max paths",
          "[calibrate][pytorch_histogram]") {
  pytorch_histogram_observer o;
  CHECK(o.empty());
  CHECK(o.bins() == 2048);
  o.observe(std::vector<float>{});  // an empty batch is ignored, as in PyTorch
  CHECK(o.empty());
  // All equal: torch.histc widens [v, v] to [v - 1, v + 1], so the value sits in the middle bin.
  o.observe(std::vector<float>{2.5f, 2.5f, 2.5f});
  CHECK(o.range().min == 2.5f);
  CHECK(o.range().max == 2.5f);
  CHECK(o.histogram()[1024] == 3.0f);
  // After min == max the next batch starts afresh: the first histogram is dropped.
  o.observe(std::vector<float>{-0.5f, 0.25f});
  CHECK(o.range().min == -0.5f);
  CHECK(o.range().max == 0.25f);
  float total = 0.0f;
  for (const float count : o.histogram())
    total += count;
  CHECK(total == 2.0f);
  // torch.histc gets the range truncated to integers, [-1, 2] here: both values fall outside it
  // and are dropped, while min_val and max_val keep them.
  pytorch_histogram_observer truncated;
  truncated.observe(std::vector<float>{-1.5f, 2.75f});
  CHECK(truncated.range().min == -1.5f);
  CHECK(truncated.range().max == 2.75f);
  float kept = 0.0f;
  for (const float count : truncated.histogram())
    kept += count;
  CHECK(kept == 0.0f);
  // An empty histogram leaves the search where it starts: the whole range (torch: zero point 90).
  CHECK(truncated.search_range().min == -1.5f);
  CHECK(truncated.encoding().zero_point == 90);
  // The default encoding is quint8 per_tensor_affine.
  const encoding e = o.encoding();
  CHECK(!e.is_signed);
  CHECK(e.bitwidth == 8);
}

TEST_CASE("pytorch_histogram_observer: errors", "[calibrate][pytorch_histogram]") {
  pytorch_histogram_observer o;
  CHECK_THROWS_WITH(o.encoding(),
                    "pytorch_histogram_observer::encoding: the observer is empty; "
                    "expected at least one value");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(o.observe(std::vector<float>{1.0f, nan}),
                    Catch::StartsWith("pytorch_histogram_observer::observe: x[1] is nan"));
  CHECK(o.empty());
  o.observe(std::vector<float>{-1.0f, 1.0f});
  encoding_options qnn;
  CHECK_THROWS_WITH(o.encoding(qnn), Catch::Contains("options.rules is profile::qnn"));
  encoding_options strict = pytorch_histogram_observer::default_options();
  strict.kind = scheme::symmetric_strict;
  CHECK_THROWS_WITH(o.encoding(strict), Catch::Contains("scheme::symmetric_strict"));
  encoding_options wide = pytorch_histogram_observer::default_options();
  wide.bitwidth = 16;
  CHECK_THROWS_WITH(o.encoding(wide), Catch::Contains("options.bitwidth is 16"));
  CHECK_THROWS_WITH(pytorch_histogram_observer(pytorch_histogram_options{0, 128}),
                    "pytorch_histogram_observer: options.bins is 0; expected at least 1");
  CHECK_THROWS_WITH(o.search_range(0), Catch::Contains("storage_bits is 0"));
  CHECK_THROWS_WITH(o.search_error(5, 4), Catch::Contains("bins 5..4; expected first_bin"));
  CHECK_THROWS_WITH(o.search_error(0, 2048), Catch::Contains("last_bin < 2048"));
}
