#include "methods.hpp"

#include <algorithm>
#include <cstddef>

#include "arguments.hpp"

namespace quanta_cli {

const std::vector<std::string>& method_names() {
  static const std::vector<std::string> names = {"minmax"};
  return names;
}

quanta::encoding encode_with(const std::string& method, quanta::span<const float> x,
                             const quanta::encoding_options& options) {
  if (method == "minmax") return quanta::compute_encoding(x, options);
  std::string list;
  for (const std::string& n : method_names())
    list += (list.empty() ? "" : ", ") + n;
  throw usage_error("--method is \"" + method + "\"; expected one of " + list);
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
    encodings.push_back(encode_with(method, channel, options));
  }
  return encodings;
}

}  // namespace quanta_cli
