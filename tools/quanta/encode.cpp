// quanta encode FILE: the encoding(s) of a tensor and the error they give.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <quanta/encoding.hpp>
#include <quanta/metrics.hpp>

#include "arguments.hpp"
#include "commands.hpp"
#include "methods.hpp"
#include "output.hpp"
#include "quantization.hpp"
#include "tensors.hpp"

namespace quanta_cli {

const char* const encode_usage =
    "usage: quanta encode FILE [options]\n"
    "\n"
    "The encoding (scale, zero point, QNN offset, representable range) of a .npy or raw float32\n"
    ".bin tensor, and the error of quantizing it with that encoding (the profile's own rounding):\n"
    "SQNR, cosine, max abs error.\n"
    "\n"
    "options:\n"
    "  --bits N            bitwidth, 2..16 (default 8)\n"
    "  --scheme S          asymmetric | symmetric | symmetric_strict | unsigned_symmetric\n"
    "  --signed            signed storage (default unsigned)\n"
    "  --profile P         qnn | pytorch | onnx | tflite (default qnn)\n"
    "  --per-channel AXIS  one encoding per index of AXIS (negative counts from the end)\n"
    "  --method M          range method (default minmax; see quanta inspect for the list)\n"
    "  --shape DIMS        shape of a raw .bin dump, as 64,3,3,3\n"
    "  --json              machine-readable output on stdout\n";

namespace {

std::string json_encoding(const quanta::encoding& e) {
  return "{\"scale\": " + json_number(e.scale) +
         ", \"zero_point\": " + std::to_string(e.zero_point) +
         ", \"offset\": " + std::to_string(e.offset()) + ", \"min\": " + json_number(e.min()) +
         ", \"max\": " + json_number(e.max()) + "}";
}

std::string json_error(const quanta::error_stats& s) {
  return "{\"sqnr_db\": " + json_number(quanta::sqnr_db(s)) +
         ", \"cosine\": " + json_number(quanta::cosine_similarity(s)) +
         ", \"max_abs_error\": " + json_number(quanta::max_abs_error(s)) +
         ", \"relative_l2\": " + json_number(quanta::relative_l2(s)) + "}";
}

void print_error_line(const char* label, const quanta::error_stats& s) {
  std::printf("%s: SQNR %s dB, cosine %s, max abs error %s, relative L2 %s\n", label,
              fixed(quanta::sqnr_db(s), 2).c_str(), fixed(quanta::cosine_similarity(s), 6).c_str(),
              general(quanta::max_abs_error(s), 4).c_str(),
              general(quanta::relative_l2(s), 4).c_str());
}

}  // namespace

int run_encode(const std::vector<std::string>& args) {
  const arguments a(args, {"signed", "json"},
                    {"bits", "scheme", "profile", "per-channel", "method", "shape"});
  if (a.positional().size() != 1) {
    throw usage_error("expected one FILE, got " + std::to_string(a.positional().size()));
  }
  const quantization q = read_quantization(a);
  const std::string method = a.value("method").value_or("minmax");
  check_shape_applies({a.positional()[0]}, a.shape("shape"));
  const tensor t = load_tensor(a.positional()[0], a.shape("shape"));
  check_not_empty(t);
  const bool json = a.flag("json");
  const bool per_channel_mode = a.value("per-channel").has_value();
  const int axis = a.integer("per-channel", 0);

  // Everything is computed before anything is printed, so an error leaves no partial output.
  std::vector<quanta::encoding> encodings;
  std::vector<quanta::error_stats> per_channel;
  quanta::error_stats overall;
  quanta::channel_layout layout;
  if (per_channel_mode) layout = quanta::channel_layout::from_shape(t.shape, axis);
  // A library error says which tensor and which method gave it.
  const auto in_context = [&](const std::exception& failure) {
    return input_error(t.path + ": method " + method + ": " + failure.what());
  };
  try {
    if (per_channel_mode) {
      encodings = encode_channels(method, t.values, layout, q.options);
      per_channel = fake_quant_error(t.values, layout, encodings, q, overall);
    } else {
      encodings = {encode_with(method, t.values, q.options)};
      overall = fake_quant_error(t.values, encodings.front(), q);
    }
  } catch (const quanta::error& failure) {
    throw in_context(failure);
  } catch (const input_error& failure) {
    throw in_context(failure);
  }

  if (json) {
    std::string out =
        "{\"file\": " + json_string(t.path) + ", \"shape\": \"" + shape_string(t.shape) +
        "\", \"dtype\": \"" + t.dtype + "\", \"bitwidth\": " + std::to_string(q.options.bitwidth) +
        ", \"scheme\": \"" + q.scheme_name +
        "\", \"signed\": " + (q.options.is_signed ? "true" : "false") + ", \"profile\": \"" +
        q.profile_name + "\", \"method\": " + json_string(method);
    if (per_channel_mode) {
      out += ", \"axis\": " + std::to_string(axis) + ", \"channels\": [";
      for (std::size_t c = 0; c < encodings.size(); ++c) {
        out += (c == 0 ? "\n  " : ",\n  ") + std::string("{\"encoding\": ") +
               json_encoding(encodings[c]) + ", \"error\": " + json_error(per_channel[c]) + "}";
      }
      out += "\n]";
    } else {
      out += ", \"encoding\": " + json_encoding(encodings.front());
    }
    std::printf("%s, \"error\": %s}\n", out.c_str(), json_error(overall).c_str());
    return exit_ok;
  }

  std::printf("%s  %s %s, %zu values\n%s, method %s, ", t.path.c_str(), t.dtype.c_str(),
              shape_string(t.shape).c_str(), t.values.size(), describe(q).c_str(), method.c_str());
  if (per_channel_mode) {
    std::printf("per channel along axis %d (%zu channels)\n\n", axis, layout.channels);
  } else {
    std::printf("per tensor\n\n");
  }
  std::vector<std::string> header = {"scale", "zero point", "offset", "min", "max"};
  if (per_channel_mode) {
    header.insert(header.begin(), "channel");
    header.insert(header.end(), {"SQNR dB", "cosine"});
  }
  text_table table(header);
  for (std::size_t c = 0; c < encodings.size(); ++c) {
    const quanta::encoding& e = encodings[c];
    std::vector<std::string> cells = {general(e.scale, 9), std::to_string(e.zero_point),
                                      std::to_string(e.offset()), general(e.min(), 9),
                                      general(e.max(), 9)};
    if (per_channel_mode) {
      cells.insert(cells.begin(), std::to_string(c));
      cells.insert(cells.end(), {fixed(quanta::sqnr_db(per_channel[c]), 2),
                                 fixed(quanta::cosine_similarity(per_channel[c]), 6)});
    }
    table.add_row(cells);
  }
  table.print(stdout);
  std::printf("\n");
  print_error_line(per_channel_mode ? "error over the tensor" : "error", overall);
  return exit_ok;
}

}  // namespace quanta_cli
