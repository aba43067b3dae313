// quanta calibrate INPUT... --out FILE.json: an AIMET/QNN encodings file from activation dumps of
// calibration samples and from weight files.
#include <cstdio>
#include <string>
#include <vector>

#include <quanta/io/encodings.hpp>
#include <quanta/metrics.hpp>

#include "arguments.hpp"
#include "calibration.hpp"
#include "commands.hpp"
#include "methods.hpp"
#include "output.hpp"
#include "quantization.hpp"
#include "tensors.hpp"

namespace quanta_cli {

const char* const calibrate_usage =
    "usage: quanta calibrate INPUT... --out FILE.json [options]\n"
    "\n"
    "An encodings file for QNN/SNPE's --quantization_overrides (or AIMET) from calibration data.\n"
    "Each INPUT is a directory or a file:\n"
    "  a directory is one calibration sample: its .npy or raw float32 .bin files are activation\n"
    "    dumps, one per tensor, matched by file name across the directories (as compare matches\n"
    "    them); a single directory whose files hold the batch on axis 0 works the same way.\n"
    "    Samples are streamed: one tensor of one sample is in memory at a time.\n"
    "  a file is a weight: it goes to param_encodings (per channel with --per-channel).\n"
    "Prints a table: tensor, samples, range, encoding, and the SQNR of fake-quantizing the\n"
    "calibration data with it. Nothing is written unless every tensor calibrates.\n"
    "\n"
    "options:\n"
    "  --out FILE          the encodings file to write (replaced only on success)\n"
    "  --format V          0.6.1 | 1.0.0 | 2.0.0 (default 0.6.1, which every QNN/SNPE version "
    "reads)\n"
    "  --method M          minmax | tf_enhanced | percentile[=P] | mse | entropy (default minmax;\n"
    "                      weights also take admm)\n"
    "  --bits N            bitwidth, 2..16 (default 8)\n"
    "  --weight-bits N     bitwidth of the weights (default --bits)\n"
    "  --scheme S          asymmetric | symmetric | symmetric_strict | unsigned_symmetric\n"
    "  --signed            signed storage (default unsigned)\n"
    "  --profile P         qnn | pytorch | onnx | tflite (default qnn)\n"
    "  --per-channel AXIS  weights: one encoding per index of AXIS (negative counts from the end)\n"
    "  --shape DIMS        shape of raw .bin dumps, as 1,3,224,224\n"
    "  --json              machine-readable report on stdout\n"
    "  --progress          progress on stderr even when it is not a terminal\n"
    "  --no-progress       no progress on stderr\n"
    "\n"
    "exit status: 0 written, 2 an error (bad usage, unreadable or mismatched input, a method\n"
    "that fails on a tensor, an unwritable FILE); FILE is then left as it was.\n";

namespace {

quanta::io::tensor_encoding file_entry(const calibrated_tensor& t, const quantization& q) {
  const bool symmetric = q.options.kind != quanta::scheme::asymmetric;
  if (t.axis) return quanta::io::tensor_encoding::per_channel(t.encodings, t.axis, symmetric);
  return quanta::io::tensor_encoding::per_tensor(t.encodings.front(), symmetric);
}

std::string encoding_cell(const calibrated_tensor& t) {
  if (t.encodings.size() > 1) return std::to_string(t.encodings.size()) + " channels";
  const quanta::encoding& e = t.encodings.front();
  return "scale " + general(e.scale, 6) + " offset " + std::to_string(e.offset());
}

std::string json_report(const calibrated_tensor& t) {
  std::string out = "{\"name\": " + json_string(t.name) + ", \"section\": \"" +
                    (t.is_weight ? "param_encodings" : "activation_encodings") +
                    "\", \"samples\": " + std::to_string(t.samples) + ", \"shape\": \"" +
                    shape_string(t.shape) + "\", \"min\": " + json_number(t.min) +
                    ", \"max\": " + json_number(t.max) +
                    ", \"non_finite\": " + std::to_string(t.non_finite) + ", \"encodings\": [";
  for (std::size_t k = 0; k < t.encodings.size(); ++k) {
    const quanta::encoding& e = t.encodings[k];
    out += (k == 0 ? "" : ", ") + std::string("{\"scale\": ") + json_number(e.scale) +
           ", \"offset\": " + std::to_string(e.offset()) + "}";
  }
  return out + "], \"sqnr_db\": " + json_number(quanta::sqnr_db(t.error)) +
         ", \"cosine\": " + json_number(quanta::cosine_similarity(t.error)) + "}";
}

}  // namespace

int run_calibrate(const std::vector<std::string>& args) {
  const arguments a(args, {"signed", "json", "progress", "no-progress"},
                    {"out", "format", "method", "bits", "weight-bits", "scheme", "profile",
                     "per-channel", "shape"});
  if (a.positional().empty()) throw usage_error("expected at least one INPUT directory or file");
  const std::optional<std::string> out = a.value("out");
  if (!out || out->empty()) throw usage_error("--out FILE.json is required");
  const quanta::io::encodings_version version = read_format(a);
  const range_method method = parse_method(a.value("method").value_or("minmax"));
  const quantization activations_q = read_quantization(a);
  quantization weights_q = activations_q;
  weights_q.options.bitwidth = a.integer("weight-bits", activations_q.options.bitwidth);
  if (weights_q.options.bitwidth < 2 || weights_q.options.bitwidth > 16) {
    throw usage_error("--weight-bits is " + std::to_string(weights_q.options.bitwidth) +
                      "; expected 2..16");
  }
  const std::optional<int> axis =
      a.value("per-channel") ? std::optional<int>(a.integer("per-channel", 0)) : std::nullopt;
  const auto shape = a.shape("shape");
  const calibration_inputs inputs = find_calibration_inputs(a.positional(), shape);
  if (axis && inputs.weights.empty()) {
    throw usage_error("--per-channel applies to weight files; no INPUT is a file");
  }
  if (!inputs.sample_dirs.empty()) check_streamable(method);

  // Everything is calibrated before the file is written or anything printed on stdout.
  std::vector<calibrated_tensor> results;
  const std::size_t total = inputs.activations.size() + inputs.weights.size();
  {
    const bool show = !a.flag("no-progress") && (a.flag("progress") || stderr_is_terminal());
    progress shown(total, show);
    const auto in_context = [&](const std::string& name, const std::exception& failure) {
      return input_error(name + ": method " + method.spelling + ": " + failure.what());
    };
    for (const activation_files& files : inputs.activations) {
      shown.step(files.name);
      try {
        results.push_back(calibrate_activation(files, method, activations_q, shape));
      } catch (const quanta::error& failure) {
        throw in_context(files.name, failure);
      }
    }
    for (const std::string& path : inputs.weights) {
      shown.step(file_stem(path));
      try {
        results.push_back(
            calibrate_weight(load_float_tensor(path, shape), method, weights_q, axis));
      } catch (const quanta::error& failure) {
        throw in_context(path, failure);
      }
    }
  }

  quanta::io::encodings_file file;
  for (const calibrated_tensor& t : results) {
    auto& section = t.is_weight ? file.params : file.activations;
    if (!section.emplace(t.name, file_entry(t, t.is_weight ? weights_q : activations_q)).second) {
      throw input_error("two weight files are named " + t.name +
                        "; expected one file per tensor name");
    }
  }
  write_encodings_atomically(*out, file, version);

  if (a.flag("json")) {
    std::string report = "{\"file\": " + json_string(*out) + ", \"format\": \"" +
                         quanta::io::to_string(version) +
                         "\", \"method\": " + json_string(method.spelling) + ", \"tensors\": [";
    for (std::size_t k = 0; k < results.size(); ++k)
      report += (k == 0 ? "\n  " : ",\n  ") + json_report(results[k]);
    std::printf("%s\n]}\n", report.c_str());
    return exit_ok;
  }
  std::printf("activations: %s; weights: %s; method %s\n\n", describe(activations_q).c_str(),
              describe(weights_q).c_str(), method.spelling.c_str());
  text_table table({"tensor", "kind", "samples", "shape", "min", "max", "encoding", "SQNR dB"});
  for (const calibrated_tensor& t : results) {
    table.add_row({t.name, t.is_weight ? "weight" : "activation", std::to_string(t.samples),
                   shape_string(t.shape), general(t.min, 6), general(t.max, 6), encoding_cell(t),
                   fixed(quanta::sqnr_db(t.error), 2)});
  }
  table.print(stdout);
  std::size_t non_finite = 0;
  for (const calibrated_tensor& t : results)
    non_finite += t.non_finite;
  if (non_finite != 0) {
    std::printf("\n%zu non-finite values (NaN, inf) took no part in ranges or errors\n",
                non_finite);
  }
  std::printf("\nwrote %s (%s): %zu activation and %zu weight encodings\n", out->c_str(),
              quanta::io::to_string(version), file.activations.size(), file.params.size());
  return exit_ok;
}

}  // namespace quanta_cli
