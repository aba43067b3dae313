#include "quantization.hpp"

namespace quanta_cli {

quantization read_quantization(const arguments& a, bool read_bits) {
  quantization q;
  q.options.bitwidth = read_bits ? a.integer("bits", 8) : 8;
  if (q.options.bitwidth < 2 || q.options.bitwidth > 16) {
    throw usage_error("--bits is " + std::to_string(q.options.bitwidth) + "; expected 2..16");
  }
  q.scheme_name =
      a.choice("scheme", {"asymmetric", "symmetric", "symmetric_strict", "unsigned_symmetric"},
               "asymmetric");
  q.options.kind = q.scheme_name == "asymmetric"         ? quanta::scheme::asymmetric
                   : q.scheme_name == "symmetric"        ? quanta::scheme::symmetric
                   : q.scheme_name == "symmetric_strict" ? quanta::scheme::symmetric_strict
                                                         : quanta::scheme::unsigned_symmetric;
  q.options.is_signed = a.flag("signed");
  q.profile_name = a.choice("profile", {"qnn", "pytorch", "onnx", "tflite"}, "qnn");
  q.options.rules = q.profile_name == "qnn"       ? quanta::profile::qnn
                    : q.profile_name == "pytorch" ? quanta::profile::pytorch
                    : q.profile_name == "onnx"    ? quanta::profile::onnx
                                                  : quanta::profile::tflite;
  // Inspecting a tensor that holds NaN should still show its finite values' encodings.
  q.options.skip_non_finite = true;
  q.rounding = quanta::quantize_options::for_profile(q.options.rules);
  return q;
}

std::string describe(const quantization& q) {
  return std::to_string(q.options.bitwidth) + "-bit " + q.scheme_name + " " +
         (q.options.is_signed ? "signed" : "unsigned") + ", profile " + q.profile_name;
}

quanta::error_stats fake_quant_error(const std::vector<float>& x, const quanta::encoding& e,
                                     const quantization& q) {
  std::vector<float> y(x.size());
  quanta::quantize_dequantize(x, e, y, q.rounding);
  return quanta::measure_error(x, y);
}

std::vector<quanta::error_stats> fake_quant_error(const std::vector<float>& x,
                                                  const quanta::channel_layout& layout,
                                                  const std::vector<quanta::encoding>& encodings,
                                                  const quantization& q,
                                                  quanta::error_stats& overall) {
  std::vector<float> y(x.size());
  quanta::quantize_dequantize(x, layout, encodings, y, q.rounding);
  overall = quanta::measure_error(x, y);
  return quanta::measure_error_per_channel(x, y, layout);
}

}  // namespace quanta_cli
