// The `quanta` tool: range-setting methods by name.
#pragma once

#include <string>
#include <vector>

#include <quanta/calibrate/histogram.hpp>
#include <quanta/encoding.hpp>
#include <quanta/span.hpp>

namespace quanta_cli {

// The methods --method accepts, minmax first.
const std::vector<std::string>& method_names();

// A method as written on the command line: "percentile=99.9" names the percentile.
struct range_method {
  std::string name;           // one of method_names()
  double percentile = 99.99;  // percentile only: quanta::percentile_options' default
  std::string spelling;       // as given, for messages and reports
};

// Parses --method. Throws usage_error for an unknown method or a percentile outside (0, 100].
range_method parse_method(const std::string& text);

// The finite values of x, in order; adds the count of the others to `non_finite`.
std::vector<float> finite_values(quanta::span<const float> x, std::size_t& non_finite);

// The encoding `method` gives x. Throws usage_error for an unknown method.
quanta::encoding encode_with(const std::string& method, quanta::span<const float> x,
                             const quanta::encoding_options& options);
quanta::encoding encode_with(const range_method& method, quanta::span<const float> x,
                             const quanta::encoding_options& options);

// One encoding per channel: each channel's values gathered, then encode_with.
std::vector<quanta::encoding> encode_channels(const range_method& method,
                                              quanta::span<const float> x,
                                              const quanta::channel_layout& layout,
                                              const quanta::encoding_options& options);
std::vector<quanta::encoding> encode_channels(const std::string& method,
                                              quanta::span<const float> x,
                                              const quanta::channel_layout& layout,
                                              const quanta::encoding_options& options);

// Methods that can see a tensor one batch at a time (all but admm, which needs every value).
bool is_streamable(const range_method& method);

// The histogram the histogram methods fill for `options`: symmetric grids over |x|, asymmetric
// grids over x; non-finite values are skipped.
quanta::histogram empty_histogram(const quanta::encoding_options& options);

// The encoding a histogram method (tf_enhanced, percentile, mse, entropy) gives a filled
// histogram.
quanta::encoding encode_histogram(const range_method& method, const quanta::histogram& h,
                                  const quanta::encoding_options& options);

}  // namespace quanta_cli
