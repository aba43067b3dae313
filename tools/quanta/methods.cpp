#include "methods.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <iterator>
#include <string>

#include <quanta/calibrate/admm.hpp>
#include <quanta/calibrate/entropy.hpp>
#include <quanta/calibrate/mse.hpp>
#include <quanta/calibrate/percentile.hpp>
#include <quanta/calibrate/tf_enhanced.hpp>
#include <quanta/reduce.hpp>

#include "arguments.hpp"

namespace quanta_cli {

const std::vector<std::string>& method_names() {
  static const std::vector<std::string> names = {"minmax", "tf_enhanced", "percentile",
                                                 "mse",    "entropy",     "admm"};
  return names;
}

range_method parse_method(const std::string& text) {
  range_method m;
  m.spelling = text;
  const std::size_t equals = text.find('=');
  m.name = text.substr(0, equals);
  if (std::find(method_names().begin(), method_names().end(), m.name) == method_names().end()) {
    std::string list;
    for (const std::string& n : method_names())
      list += (list.empty() ? "" : ", ") + n;
    throw usage_error("--method is \"" + text + "\"; expected one of " + list +
                      " (percentile=P names the percentile)");
  }
  if (equals == std::string::npos) return m;
  const std::string value = text.substr(equals + 1);
  if (m.name != "percentile") {
    throw usage_error("--method is \"" + text + "\"; only percentile takes a value (percentile=P)");
  }
  char* end = nullptr;
  const double p = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(p > 0.0 && p <= 100.0)) {
    throw usage_error("--method is \"" + text + "\"; expected percentile=P with P in (0, 100]");
  }
  m.percentile = p;
  return m;
}

std::vector<float> finite_values(quanta::span<const float> x, std::size_t& non_finite) {
  std::vector<float> finite;
  finite.reserve(x.size());
  std::copy_if(x.begin(), x.end(), std::back_inserter(finite),
               [](float v) { return std::isfinite(v); });
  non_finite += x.size() - finite.size();
  return finite;
}

bool is_streamable(const range_method& method) {
  return method.name != "admm";
}

quanta::histogram empty_histogram(const quanta::encoding_options& options) {
  // Symmetric grids are searched over |x| (TensorRT, ModelOpt); asymmetric grids over x itself.
  const auto domain = options.kind == quanta::scheme::asymmetric
                          ? quanta::histogram_domain::value
                          : quanta::histogram_domain::magnitude;
  return quanta::histogram(quanta::histogram::default_bins, domain, true);
}

quanta::encoding encode_histogram(const range_method& method, const quanta::histogram& h,
                                  const quanta::encoding_options& options) {
  if (method.name == "tf_enhanced") return quanta::tf_enhanced_encoding(h, options);
  if (method.name == "percentile") {
    quanta::percentile_options p;
    p.percentile = method.percentile;
    return quanta::percentile_encoding(h, options, p);
  }
  if (method.name == "mse") return quanta::mse_encoding(h, options);
  return quanta::entropy_encoding(h, options);
}

// Every method sees only the finite values (docs/cli.md), and a tensor or channel without one gets
// the encoding of the range [0, 0], as minmax gives it: one behaviour whatever the method, where
// the histogram methods would report an empty histogram and admm would reject the NaN.
quanta::encoding encode_with(const range_method& method, quanta::span<const float> all,
                             const quanta::encoding_options& options) {
  std::size_t ignored = 0;
  const std::vector<float> finite = finite_values(all, ignored);
  if (finite.empty()) return quanta::compute_encoding(0.0f, 0.0f, options);
  const quanta::span<const float> x(finite.data(), finite.size());
  if (method.name == "minmax") return quanta::compute_encoding(x, options);
  if (method.name == "admm") return quanta::admm_encoding(x, options);
  quanta::histogram h = empty_histogram(options);
  h.observe(x);
  return encode_histogram(method, h, options);
}

quanta::encoding encode_with(const std::string& method, quanta::span<const float> x,
                             const quanta::encoding_options& options) {
  return encode_with(parse_method(method), x, options);
}

std::vector<quanta::encoding> encode_channels(const range_method& method,
                                              quanta::span<const float> x,
                                              const quanta::channel_layout& layout,
                                              const quanta::encoding_options& options) {
  if (method.name == "minmax") return quanta::compute_encodings(x, layout, options);
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

std::vector<quanta::encoding> encode_channels(const std::string& method,
                                              quanta::span<const float> x,
                                              const quanta::channel_layout& layout,
                                              const quanta::encoding_options& options) {
  return encode_channels(parse_method(method), x, layout, options);
}

}  // namespace quanta_cli
