// The `quanta` tool: the quantization settings encode and inspect share.
#pragma once

#include <string>
#include <vector>

#include <quanta/encoding.hpp>
#include <quanta/metrics.hpp>
#include <quanta/quantize.hpp>

#include "arguments.hpp"

namespace quanta_cli {

struct quantization {
  quanta::encoding_options options;
  quanta::quantize_options rounding;  // the profile's quantize arithmetic
  std::string scheme_name = "asymmetric";
  std::string profile_name = "qnn";
};

// --bits, --scheme, --signed, --profile. Commands whose --bits is a list of widths read it
// themselves (read_bits false; the bitwidth is then 8).
quantization read_quantization(const arguments& a, bool read_bits = true);
// "8-bit asymmetric unsigned, profile qnn"
std::string describe(const quantization& q);

// The error of fake-quantizing x with one encoding, or one per channel.
quanta::error_stats fake_quant_error(const std::vector<float>& x, const quanta::encoding& e,
                                     const quantization& q);
std::vector<quanta::error_stats> fake_quant_error(const std::vector<float>& x,
                                                  const quanta::channel_layout& layout,
                                                  const std::vector<quanta::encoding>& encodings,
                                                  const quantization& q,
                                                  quanta::error_stats& overall);

}  // namespace quanta_cli
