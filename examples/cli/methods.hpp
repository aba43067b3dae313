// The `quanta` tool: range-setting methods by name.
#pragma once

#include <string>
#include <vector>

#include <quanta/encoding.hpp>
#include <quanta/span.hpp>

namespace quanta_cli {

// The methods --method accepts, minmax first.
const std::vector<std::string>& method_names();

// The encoding `method` gives x. Throws usage_error for an unknown method.
quanta::encoding encode_with(const std::string& method, quanta::span<const float> x,
                             const quanta::encoding_options& options);

// One encoding per channel: each channel's values gathered, then encode_with.
std::vector<quanta::encoding> encode_channels(const std::string& method,
                                              quanta::span<const float> x,
                                              const quanta::channel_layout& layout,
                                              const quanta::encoding_options& options);

}  // namespace quanta_cli
