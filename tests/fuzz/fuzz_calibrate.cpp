// quanta: post-training quantization math. Licensed under the Apache License 2.0.
// The histogram calibrations (percentile, mse, entropy, tf_enhanced) on arbitrary histograms: given
// from counts (whole or any double) over any range, or observed from batches of any floats, merged
// or not, in either domain, under every encoding option and every method option. Each call returns
// an encoding that passes check_encoding, on the storage asked for, or throws quanta::error.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "quanta/calibrate.hpp"

namespace {

using quanta::histogram;
using quanta::histogram_domain;

double choose(FuzzedDataProvider& in, double usual, double other) {
  switch (in.ConsumeIntegralInRange(0, 2)) {
    case 0:
      return usual;
    case 1:
      return other;
    default:
      return quanta_fuzz::raw<double>(in);
  }
}

// Up to 64 floats of the input, each any bit pattern.
std::vector<float> batch(FuzzedDataProvider& in) {
  std::vector<float> x(in.ConsumeIntegralInRange<std::size_t>(0, 64));
  for (float& v : x)
    v = quanta_fuzz::raw<float>(in);
  return x;
}

histogram observed(FuzzedDataProvider& in, std::size_t bins, histogram_domain domain) {
  histogram h(bins, domain, in.ConsumeBool());
  const int batches = in.ConsumeIntegralInRange(1, 3);
  for (int b = 0; b < batches; ++b) {
    const std::vector<float> x = batch(in);
    quanta_fuzz::accepted([&] { h.observe(x); });  // a refused batch leaves h unchanged
  }
  return h;
}

histogram fuzzed_histogram(FuzzedDataProvider& in) {
  const auto bins = in.ConsumeIntegralInRange<std::size_t>(1, 600);
  const histogram_domain domain =
      in.ConsumeBool() ? histogram_domain::magnitude : histogram_domain::value;
  switch (in.ConsumeIntegralInRange(0, 2)) {
    case 0: {
      const bool whole_counts = in.ConsumeBool();
      const double lo = choose(in, 0.0, -1.0);
      const double hi = choose(in, 1.0, 1e-30);
      std::vector<double> counts(bins);
      for (double& c : counts)
        c = whole_counts ? in.ConsumeIntegral<std::uint16_t>() : quanta_fuzz::raw<double>(in);
      return histogram::from_counts(counts, lo, hi, domain);
    }
    case 1:
      return observed(in, bins, domain);
    default: {
      histogram h = observed(in, bins, domain);
      h.merge(observed(in, bins, domain));
      return h;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const quanta::encoding_options options = quanta_fuzz::encoding_options_from(in);
  const int method = in.ConsumeIntegralInRange(0, 3);
  quanta::percentile_options percentile;
  quanta::mse_options mse;
  quanta::entropy_options entropy;
  quanta::tf_enhanced_options tf;
  std::string call;
  switch (method) {
    case 0:
      percentile.percentile = choose(in, 99.99, 100.0);
      percentile.rule = in.ConsumeBool() ? quanta::percentile_rule::bin_edge
                                         : quanta::percentile_rule::interpolate;
      call = quanta::detail::message("percentile_encoding(percentile ", percentile.percentile,
                                     ", bin_edge ",
                                     percentile.rule == quanta::percentile_rule::bin_edge, ")");
      break;
    case 1:
      mse.rule = in.ConsumeBool() ? quanta::mse_rule::bin_centres : quanta::mse_rule::exact;
      mse.start_bin = in.ConsumeIntegralInRange<std::size_t>(0, 40);
      call = quanta::detail::message("mse_encoding(bin_centres ",
                                     mse.rule == quanta::mse_rule::bin_centres, ", start_bin ",
                                     mse.start_bin, ")");
      break;
    case 2:
      entropy.variant =
          in.ConsumeBool() ? quanta::entropy_variant::mxnet : quanta::entropy_variant::tensorrt;
      entropy.smoothing = choose(in, 0.0, 1e-4);
      entropy.start_bin = in.ConsumeIntegralInRange<std::size_t>(0, 40);
      call = quanta::detail::message(
          "entropy_encoding(mxnet ", entropy.variant == quanta::entropy_variant::mxnet,
          ", smoothing ", entropy.smoothing, ", start_bin ", entropy.start_bin, ")");
      break;
    default:
      tf.gamma = choose(in, 3.0, 1.0);
      call = quanta::detail::message("tf_enhanced_encoding(gamma ", tf.gamma, ")");
      break;
  }

  histogram h;
  if (!quanta_fuzz::accepted([&] { h = fuzzed_histogram(in); })) return 0;
  quanta::encoding e;
  const bool returned = quanta_fuzz::accepted([&] {
    switch (method) {
      case 0:
        e = quanta::percentile_encoding(h, options, percentile);
        break;
      case 1:
        e = quanta::mse_encoding(h, options, mse);
        break;
      case 2:
        e = quanta::entropy_encoding(h, options, entropy);
        break;
      default:
        e = quanta::tf_enhanced_encoding(h, options, tf);
        break;
    }
  });
  if (!returned) return 0;
  call += quanta::detail::message(" on a ", h.bins(), "-bin ",
                                  h.domain() == histogram_domain::magnitude ? "magnitude" : "value",
                                  " histogram over [", h.lo(), ", ", h.hi(), "], observed [",
                                  h.observed_min(), ", ", h.observed_max(), "], total ", h.total());
  quanta_fuzz::require_valid(e, options, call);
  return 0;
}
