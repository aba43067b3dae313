#include "methods.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <iterator>
#include <string>

#include <quanta/calibrate/admm.hpp>
#include <quanta/calibrate/entropy.hpp>
#include <quanta/calibrate/histogram.hpp>
#include <quanta/calibrate/mse.hpp>
#include <quanta/calibrate/percentile.hpp>
#include <quanta/calibrate/tf_enhanced.hpp>
#include <quanta/reduce.hpp>

#include "arguments.hpp"

namespace quanta_cli {

namespace {

// Symmetric grids are searched over |x| (TensorRT, ModelOpt); asymmetric grids over x itself.
quanta::histogram histogram_of(quanta::span<const float> x,
                               const quanta::encoding_options& options) {
  const auto domain = options.kind == quanta::scheme::asymmetric
                          ? quanta::histogram_domain::value
                          : quanta::histogram_domain::magnitude;
  quanta::histogram h(quanta::histogram::default_bins, domain, options.skip_non_finite);
  h.observe(x);
  return h;
}

}  // namespace

const std::vector<std::string>& method_names() {
  static const std::vector<std::string> names = {"minmax", "tf_enhanced", "percentile",
                                                 "mse",    "entropy",     "admm"};
  return names;
}

// Every method sees only the finite values (docs/cli.md), and a tensor or channel without one gets
// the encoding of the range [0, 0], as minmax gives it: one behaviour whatever the method, where
// the histogram methods would report an empty histogram and admm would reject the NaN.
quanta::encoding encode_with(const std::string& method, quanta::span<const float> all,
                             const quanta::encoding_options& options) {
  if (std::find(method_names().begin(), method_names().end(), method) == method_names().end()) {
    std::string list;
    for (const std::string& n : method_names())
      list += (list.empty() ? "" : ", ") + n;
    throw usage_error("--method is \"" + method + "\"; expected one of " + list);
  }
  std::vector<float> finite;
  finite.reserve(all.size());
  std::copy_if(all.begin(), all.end(), std::back_inserter(finite),
               [](float v) { return std::isfinite(v); });
  if (finite.empty()) return quanta::compute_encoding(0.0f, 0.0f, options);
  const quanta::span<const float> x(finite.data(), finite.size());
  if (method == "minmax") return quanta::compute_encoding(x, options);
  if (method == "admm") return quanta::admm_encoding(x, options);
  if (method == "tf_enhanced")
    return quanta::tf_enhanced_encoding(histogram_of(x, options), options);
  if (method == "percentile") return quanta::percentile_encoding(histogram_of(x, options), options);
  if (method == "mse") return quanta::mse_encoding(histogram_of(x, options), options);
  return quanta::entropy_encoding(histogram_of(x, options), options);
}

std::vector<quanta::encoding> encode_channels(const std::string& method,
                                              quanta::span<const float> x,
                                              const quanta::channel_layout& layout,
                                              const quanta::encoding_options& options) {
  if (method == "minmax") return quanta::compute_encodings(x, layout, options);
  std::vector<quanta::encoding> encodings;
  std::vector<float> channel(layout.outer * layout.inner);
  for (std::size_t c = 0; c < layout.channels; ++c) {
    for (std::size_t o = 0; o < layout.outer; ++o) {
      const float* row = x.data() + (o * layout.channels + c) * layout.inner;
      std::copy(row, row + layout.inner,
                channel.begin() + static_cast<std::ptrdiff_t>(o * layout.inner));
    }
    try {
      encodings.push_back(encode_with(method, channel, options));
    } catch (const quanta::error& failure) {
      throw input_error("channel " + std::to_string(c) + ": " + failure.what());
    }
  }
  return encodings;
}

}  // namespace quanta_cli
