// quanta at a glance, on built-in data: a MobileNet-style depthwise-separable block whose channel
// ranges differ by orders of magnitude, with long-tailed activations. The walkthrough shows where
// 8-bit accuracy goes and how each tool gets it back, then writes a QNN/SNPE
// --quantization_overrides file for the result.
//
//   walkthrough [OUTPUT.json]     (default: walkthrough_encodings.json beside the executable)
#include <cstdint>
#include <cstdio>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include <quanta/calibrate.hpp>
#include <quanta/encoding.hpp>
#include <quanta/equalize.hpp>
#include <quanta/io/encodings.hpp>
#include <quanta/metrics.hpp>
#include <quanta/pack.hpp>
#include <quanta/quantize.hpp>
#include <quanta/reduce.hpp>

#include "support/mobilenet_block.hpp"

namespace {

using example::layer;

const quanta::quantize_options qnn_rules =
    quanta::quantize_options::for_profile(quanta::profile::qnn);

quanta::encoding_options weight_options(int bits = 8) {
  quanta::encoding_options o;
  o.bitwidth = bits;
  o.kind = quanta::scheme::symmetric;
  o.is_signed = true;
  return o;
}

quanta::channel_layout output_channels(const layer& l) {
  return quanta::channel_layout::from_shape(l.shape, 0);
}

double per_tensor_sqnr(const layer& l) {
  std::vector<float> y(l.weight.size());
  quanta::quantize_dequantize(l.weight, quanta::compute_encoding(l.weight, weight_options()), y,
                              qnn_rules);
  return quanta::sqnr_db(l.weight, y);
}

double per_channel_sqnr(const layer& l) {
  const auto layout = output_channels(l);
  std::vector<float> y(l.weight.size());
  quanta::quantize_dequantize(l.weight, layout,
                              quanta::compute_encodings(l.weight, layout, weight_options()), y,
                              qnn_rules);
  return quanta::sqnr_db(l.weight, y);
}

std::vector<float> images(std::mt19937& rng, std::size_t count) {
  // Heavy-tailed inputs (Student-t, 3 degrees of freedom) give the activations rare large values.
  std::student_t_distribution<float> t(3.0f);
  std::vector<float> x(count * example::in_channels * example::side * example::side);
  for (float& v : x)
    v = t(rng);
  return x;
}

std::vector<float> run(const example::block_layers& b, const std::vector<float>& batch,
                       std::vector<float>* depthwise_out) {
  const std::size_t image = example::in_channels * example::side * example::side;
  std::vector<float> out;
  for (std::size_t k = 0; k < batch.size() / image; ++k) {
    const std::vector<float> x(batch.begin() + static_cast<std::ptrdiff_t>(k * image),
                               batch.begin() + static_cast<std::ptrdiff_t>((k + 1) * image));
    const std::vector<float> middle =
        example::conv(example::conv(x, b.expand, true), b.depthwise, true);
    const std::vector<float> y = example::conv(middle, b.project, false);
    if (depthwise_out) depthwise_out->insert(depthwise_out->end(), middle.begin(), middle.end());
    out.insert(out.end(), y.begin(), y.end());
  }
  return out;
}

double fake_quant_sqnr(const std::vector<float>& x, const quanta::encoding& e) {
  std::vector<float> y(x.size());
  quanta::quantize_dequantize(x, e, y, qnn_rules);
  return quanta::sqnr_db(x, y);
}

std::string default_output(const char* argv0) {
  const std::string self = argv0;
  const auto slash = self.find_last_of('/');
  return (slash == std::string::npos ? std::string() : self.substr(0, slash + 1)) +
         "walkthrough_encodings.json";
}

}  // namespace

int main(int argc, char** argv) try {
  std::mt19937 rng(2019);
  example::block_layers net = example::make_block(rng);
  const example::block_layers folded = net;
  std::printf(
      "quanta walkthrough: conv 1x1 (16->32) -> ReLU -> depthwise 3x3 -> ReLU -> conv 1x1 "
      "(32->24),\nbatch norms folded; the depthwise gammas span four decades.\n\n");

  std::printf("1. Weights, 8-bit symmetric: one encoding per tensor or per output channel\n");
  std::printf("   %-10s %12s %13s\n", "layer", "per tensor", "per channel");
  const struct {
    const char* name;
    const layer& l;
  } layers[] = {{"expand", net.expand}, {"depthwise", net.depthwise}, {"project", net.project}};
  for (const auto& entry : layers) {
    std::printf("   %-10s %9.1f dB %10.1f dB\n", entry.name, per_tensor_sqnr(entry.l),
                per_channel_sqnr(entry.l));
  }

  const std::vector<float> calibration = images(rng, 8);
  const std::vector<float> reference = run(folded, calibration, nullptr);
  const auto block_sqnr = [&](const example::block_layers& b) {
    const example::block_layers q{example::quantized(b.expand), example::quantized(b.depthwise),
                                  example::quantized(b.project)};
    return quanta::sqnr_db(reference, run(q, calibration, nullptr));
  };
  const double before = block_sqnr(net);
  quanta::equalize_depthwise_separable({net.expand.view(), net.expand.bias},
                                       {net.depthwise.view(), net.depthwise.bias},
                                       {net.project.view(), {}});
  std::printf(
      "\n2. Cross-layer equalization, per-tensor 8-bit weights: block output SQNR %.1f dB -> "
      "%.1f dB\n   (the float block is unchanged: %.0f dB between before and after)\n",
      before, block_sqnr(net), quanta::sqnr_db(reference, run(net, calibration, nullptr)));

  // Calibrate the depthwise layer's ReLU output on 8 images, judge each range on 8 others.
  std::vector<float> hidden, unseen_hidden;
  const std::vector<float> output = run(net, calibration, &hidden);
  run(net, images(rng, 8), &unseen_hidden);
  quanta::histogram values(2048);
  quanta::histogram magnitudes(2048, quanta::histogram_domain::magnitude);
  values.observe(hidden);
  magnitudes.observe(hidden);
  quanta::min_max_observer observer;
  observer.observe(hidden);
  const quanta::encoding_options activation;  // 8-bit asymmetric, QNN rules
  // KL calibration searches thresholds on |x|; for a ReLU output that is the same grid [0, T].
  quanta::encoding_options threshold = activation;
  threshold.kind = quanta::scheme::unsigned_symmetric;
  std::printf(
      "\n3. Activations: the depthwise ReLU output, calibrated on 8 images (%zu values),\n"
      "   8-bit asymmetric, SQNR measured on 8 other images\n",
      hidden.size());
  std::printf("   %-22s %-22s %s\n", "method", "range", "SQNR");
  const struct {
    const char* name;
    quanta::encoding e;
  } methods[] = {
      {"tf (min/max)", observer.tf_encoding(activation)},
      {"percentile 99.99", quanta::percentile_encoding(values, activation)},
      {"tf_enhanced (exact)", quanta::tf_enhanced_encoding(values, activation)},
      {"mse (exact)", quanta::mse_encoding(values, activation)},
      // NVIDIA's KL search flattens the spike of ReLU zeros (bin 0 takes bin 1's count) first.
      {"entropy (NVIDIA)", quanta::entropy_encoding(magnitudes, threshold)},
  };
  quanta::encoding chosen = methods[0].e;
  double best = -1.0;
  for (const auto& m : methods) {
    const double sqnr = fake_quant_sqnr(unseen_hidden, m.e);
    std::printf("   %-22s [%8.3f, %8.3f]  %6.2f dB\n", m.name, static_cast<double>(m.e.min()),
                static_cast<double>(m.e.max()), sqnr);
    if (sqnr > best) {
      best = sqnr;
      chosen = m.e;
    }
  }

  const layer& project = net.project;
  const auto rows = static_cast<std::size_t>(project.shape[0]);
  const std::size_t cols = project.weight.size() / rows;
  const auto int4 =
      quanta::compute_encodings(project.weight, output_channels(project), weight_options(4));
  std::vector<std::uint8_t> packed(quanta::packed_rows_size(rows, cols, 4));
  quanta::quantize_pack_int4_rows(project.weight, rows, cols, int4, packed, qnn_rules);
  std::vector<float> unpacked(project.weight.size());
  quanta::unpack_dequantize_int4_rows(packed, rows, cols, int4, unpacked);
  std::printf(
      "\n4. int4 weights for the projection, per channel, packed per row (ONNX nibble order):\n"
      "   %zu bytes (float32 %zu, int8 %zu), SQNR %.1f dB (int8: %.1f dB)\n",
      packed.size(), project.weight.size() * sizeof(float), project.weight.size(),
      quanta::sqnr_db(project.weight, unpacked), per_channel_sqnr(project));

  // The same weights blocked along the input channels, 8 to a block: per-block int4 (a float
  // scale per block), and LPBQ as AIMET computes it for QNN (a float scale per output channel
  // times a 4-bit integer per block, decompressed to 8 bits).
  const std::vector<std::int64_t> matrix = {static_cast<std::int64_t>(rows),
                                            static_cast<std::int64_t>(cols)};
  const auto blocked = quanta::block_layout::from_shape(matrix, 1, 8);
  std::vector<float> fake(project.weight.size());
  quanta::quantize_dequantize(
      project.weight, blocked,
      quanta::compute_block_encodings(project.weight, blocked, weight_options(4)), fake, qnn_rules);
  const double block_sqnr_int4 = quanta::sqnr_db(project.weight, fake);
  const quanta::lpbq_encoding lpbq = quanta::compute_lpbq_encodings(project.weight, blocked);
  quanta::quantize_dequantize(project.weight, blocked, lpbq, fake);
  std::printf(
      "   blocks of 8 inputs: per-block int4 SQNR %.1f dB, LPBQ (4-bit codes, 4-bit block\n"
      "   scales on a per-channel float) %.1f dB, per-channel int4 %.1f dB\n",
      block_sqnr_int4, quanta::sqnr_db(project.weight, fake),
      quanta::sqnr_db(project.weight, unpacked));

  quanta::io::encodings_file file;
  file.activations["input"] =
      quanta::io::tensor_encoding::per_tensor(quanta::compute_encoding(calibration));
  file.activations["depthwise_out"] = quanta::io::tensor_encoding::per_tensor(chosen);
  file.activations["output"] =
      quanta::io::tensor_encoding::per_tensor(quanta::compute_encoding(output));
  for (const auto& entry : layers) {
    file.params[std::string(entry.name) + ".weight"] = quanta::io::tensor_encoding::per_channel(
        quanta::compute_encodings(entry.l.weight, output_channels(entry.l), weight_options()), 0,
        true);
  }
  file.params["project.weight"] = quanta::io::tensor_encoding::per_channel(int4, 0, true);
  // LPBQ needs AIMET's 1.0.0 format (0.6.1 has no blockwise entries), which stores no axis;
  // QNN converters take both.
  quanta::io::encodings_file lpbq_file;
  lpbq_file.params["project.weight"] =
      quanta::io::tensor_encoding::from_lpbq(lpbq, std::nullopt, {});
  const std::string path = argc > 1 ? argv[1] : default_output(argv[0]);
  quanta::io::write_encodings_file(path, file);
  // 0.6.1 stores codes on the unsigned grid and no channel axis: read the weights back as signed
  // codes and compare the grids.
  quanta::io::read_options signed_weights;
  signed_weights.storage = quanta::io::code_storage::signed_if_symmetric;
  const quanta::io::encodings_file back =
      quanta::io::read_encodings_file(path, signed_weights).encodings;
  bool same = back.activations == file.activations && back.params.size() == file.params.size();
  for (const auto& [name, tensor] : file.params) {
    same = same && back.params.count(name) && back.params.at(name).encodings == tensor.encodings;
  }
  const std::string lpbq_path = path.substr(0, path.rfind(".json")) + "_lpbq.json";
  quanta::io::write_options v1;
  v1.version = quanta::io::encodings_version::v1_0_0;
  quanta::io::write_encodings_file(lpbq_path, lpbq_file, v1);
  same = same && quanta::io::read_encodings_file(lpbq_path).encodings == lpbq_file;
  std::printf(
      "\n5. Wrote %s: AIMET 0.6.1 encodings (--quantization_overrides)\n"
      "   for %zu activations and %zu weights, and the LPBQ projection weights in AIMET 1.0.0\n"
      "   form to %s; read back %s.\n",
      path.c_str(), file.activations.size(), file.params.size(), lpbq_path.c_str(),
      same ? "identical" : "DIFFERENT (a bug: please report it)");
  return same ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "walkthrough: %s\n", e.what());
  return 1;
}
