// quanta advise INPUT...: per tensor, the smallest bitwidth and the range method that meet an
// accuracy target, the bit budget, and a QNN/SNPE overrides file.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
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

const char* const advise_usage =
    "usage: quanta advise INPUT... [options]\n"
    "\n"
    "For each tensor, the smallest allowed bitwidth, and the range method at it, whose\n"
    "fake-quantization error meets the target; tensors that meet it at no width are marked for\n"
    "float fallback (QNN) or skip_node_quant (Magik). INPUTs are as for quanta calibrate:\n"
    "directories are calibration samples of the activations (matched by file name), files are\n"
    "weights. The error is measured on the held-out samples of --validate, else on the\n"
    "calibration samples (the report says which). Prints a table sorted by error (worst first)\n"
    "and the bit budget against all-8-bit.\n"
    "\n"
    "options:\n"
    "  --cosine MIN        cosine target per tensor (default 0.99, unless only --sqnr is given)\n"
    "  --sqnr DB           SQNR target per tensor\n"
    "  --bits LIST         activation widths to try, as 8,16 (QNN) or 8,10,12,14 (Magik);\n"
    "                      default 8,16\n"
    "  --weight-bits LIST  weight widths to try (default 4,8)\n"
    "  --methods LIST      range methods to try (default "
    "minmax,tf_enhanced,percentile,mse,entropy;\n"
    "                      weights also take admm)\n"
    "  --validate DIRS     held-out sample directories, comma-separated\n"
    "  --scheme S          asymmetric | symmetric | symmetric_strict | unsigned_symmetric\n"
    "  --signed            signed storage (default unsigned)\n"
    "  --profile P         qnn | pytorch | onnx | tflite (default qnn)\n"
    "  --per-channel AXIS  weights: one encoding per index of AXIS\n"
    "  --shape DIMS        shape of raw .bin dumps, as 1,3,224,224\n"
    "  --out FILE          write an overrides file: the chosen encoding of each tensor, and\n"
    "                      {\"bitwidth\": 32, \"dtype\": \"float\"} for the tensors to skip\n"
    "  --format V          0.6.1 | 1.0.0 | 2.0.0 for --out (default 0.6.1)\n"
    "  --bitwidth-only     --out holds only bitwidth and dtype, leaving ranges to the converter\n"
    "  --json              machine-readable report on stdout\n"
    "  --progress          progress on stderr even when it is not a terminal\n"
    "  --no-progress       no progress on stderr\n"
    "\n"
    "exit status: 0 every tensor meets the target at an allowed width, 1 a tensor meets it at\n"
    "none, 2 an error (FILE is then left as it was).\n";

namespace {

std::vector<std::string> split_list(const std::string& option, const std::string& text) {
  std::vector<std::string> items;
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    items.push_back(text.substr(at, comma - at));
    if (items.back().empty())
      throw usage_error("--" + option + " \"" + text + "\" has an empty item");
    at = comma + 1;
  }
  return items;
}

std::vector<int> read_widths(const arguments& a, const std::string& option, const char* fallback) {
  std::vector<int> widths;
  for (const std::string& item : split_list(option, a.value(option).value_or(fallback))) {
    char* end = nullptr;
    const long b = std::strtol(item.c_str(), &end, 10);
    if (*end != '\0' || b < 2 || b > 16) {
      throw usage_error("--" + option + " has \"" + item + "\"; expected widths in 2..16");
    }
    widths.push_back(static_cast<int>(b));
  }
  std::sort(widths.begin(), widths.end());
  widths.erase(std::unique(widths.begin(), widths.end()), widths.end());
  return widths;
}

struct target {
  std::optional<double> cosine;
  std::optional<double> sqnr;

  bool met_by(const quanta::error_stats& e) const {
    return (!cosine || quanta::cosine_similarity(e) >= *cosine) &&
           (!sqnr || quanta::sqnr_db(e) >= *sqnr);
  }
  std::string describe() const {
    std::string s;
    if (cosine) s = "cosine >= " + general(*cosine, 6);
    if (sqnr) s += (s.empty() ? "" : " and ") + std::string("SQNR >= ") + general(*sqnr, 6) + " dB";
    return s;
  }
};

// One width and method tried on one tensor.
struct candidate {
  int bits = 0;
  std::string method;
  std::vector<quanta::encoding> encodings;  // empty when the method failed at this width
  std::string failure;
  quanta::error_stats error;
};

struct advice {
  std::string name;
  bool is_weight = false;
  std::size_t elements = 0;  // per sample, for the budget
  std::optional<int> axis;   // per-channel weights
  std::vector<candidate> tried;
  const candidate* chosen = nullptr;  // the best method at the smallest width meeting the target
  const candidate* best = nullptr;    // the lowest error of all, shown when nothing meets it
};

// Higher is better: the SQNR, which orders the same way as the error energy.
double quality(const candidate& c) {
  const double s = quanta::sqnr_db(c.error);
  return std::isnan(s) ? -HUGE_VAL : s;
}

void choose(advice& a, const target& goal) {
  for (const candidate& c : a.tried) {
    if (c.encodings.empty()) continue;
    if (a.best == nullptr || quality(c) > quality(*a.best)) a.best = &c;
    if (!goal.met_by(c.error)) continue;
    if (a.chosen == nullptr || c.bits < a.chosen->bits ||
        (c.bits == a.chosen->bits && quality(c) > quality(*a.chosen))) {
      a.chosen = &c;
    }
  }
}

quantization at_width(const quantization& q, int bits) {
  quantization w = q;
  w.options.bitwidth = bits;
  return w;
}

advice advise_activation(const activation_files& calibration,
                         const std::vector<std::string>& validation,
                         const std::vector<range_method>& methods, const std::vector<int>& widths,
                         const quantization& q,
                         const std::optional<std::vector<std::int64_t>>& shape) {
  advice a;
  a.name = calibration.name;
  const bool histograms = std::any_of(methods.begin(), methods.end(),
                                      [](const range_method& m) { return m.name != "minmax"; });
  const observed_samples observed = observe_samples(calibration, q.options, histograms, shape);
  a.elements = observed.elements;
  std::vector<quanta::encoding> encodings;
  std::vector<quanta::quantize_options> rounding;
  for (int bits : widths) {
    const quantization w = at_width(q, bits);
    for (const range_method& m : methods) {
      candidate c;
      c.bits = bits;
      c.method = m.spelling;
      try {
        c.encodings = {encode_observed(observed, m, w.options)};
        encodings.push_back(c.encodings.front());
        rounding.push_back(w.rounding);
      } catch (const quanta::error& failure) {
        c.failure = failure.what();
      }
      a.tried.push_back(c);
    }
  }
  const std::vector<quanta::error_stats> errors =
      sample_errors(validation, encodings, rounding, shape);
  std::size_t k = 0;
  for (candidate& c : a.tried)
    if (!c.encodings.empty()) c.error = errors[k++];
  return a;
}

advice advise_weight(const std::string& path, const std::vector<range_method>& methods,
                     const std::vector<int>& widths, const quantization& q, std::optional<int> axis,
                     const std::optional<std::vector<std::int64_t>>& shape) {
  advice a;
  a.name = file_stem(path);
  a.is_weight = true;
  a.axis = axis;
  const tensor weight = load_float_tensor(path, shape);  // once, for every candidate
  a.elements = weight.values.size();
  for (int bits : widths) {
    for (const range_method& m : methods) {
      candidate c;
      c.bits = bits;
      c.method = m.spelling;
      try {
        const calibrated_tensor t = calibrate_weight(weight, m, at_width(q, bits), axis);
        c.encodings = t.encodings;
        c.error = t.error;
      } catch (const quanta::error& failure) {
        c.failure = failure.what();
      } catch (const input_error& failure) {
        // A method that fails on a channel is one candidate less, not a failed run.
        c.failure = failure.what();
      }
      a.tried.push_back(c);
    }
  }
  if (std::all_of(a.tried.begin(), a.tried.end(),
                  [](const candidate& c) { return c.encodings.empty(); })) {
    throw input_error(a.tried.front().failure);
  }
  return a;
}

std::string chosen_bits(const advice& a) {
  return a.chosen != nullptr ? std::to_string(a.chosen->bits) : "float";
}

const candidate& shown(const advice& a) {
  return a.chosen != nullptr ? *a.chosen : *a.best;
}

quanta::io::tensor_encoding overrides_entry(const advice& a, const quantization& q,
                                            bool bitwidth_only) {
  if (a.chosen == nullptr) return quanta::io::tensor_encoding::floating(32);
  const bool symmetric = q.options.kind != quanta::scheme::asymmetric;
  if (bitwidth_only) return quanta::io::tensor_encoding::bitwidth_only(a.chosen->bits, symmetric);
  if (a.axis)
    return quanta::io::tensor_encoding::per_channel(a.chosen->encodings, a.axis, symmetric);
  return quanta::io::tensor_encoding::per_tensor(a.chosen->encodings.front(), symmetric);
}

}  // namespace

int run_advise(const std::vector<std::string>& args) {
  const arguments a(args, {"signed", "json", "progress", "no-progress", "bitwidth-only"},
                    {"cosine", "sqnr", "bits", "weight-bits", "methods", "validate", "scheme",
                     "profile", "per-channel", "shape", "out", "format"});
  if (a.positional().empty()) throw usage_error("expected at least one INPUT directory or file");
  target goal;
  if (a.value("sqnr")) goal.sqnr = a.number("sqnr", 0.0);
  if (a.value("cosine") || !goal.sqnr) goal.cosine = a.number("cosine", 0.99);
  const std::vector<int> widths = read_widths(a, "bits", "8,16");
  const std::vector<int> weight_widths = read_widths(a, "weight-bits", "4,8");
  std::vector<range_method> methods;
  for (const std::string& m : split_list(
           "methods", a.value("methods").value_or("minmax,tf_enhanced,percentile,mse,entropy")))
    methods.push_back(parse_method(m));
  const quantization q = read_quantization(a, false);
  const std::optional<int> axis =
      a.value("per-channel") ? std::optional<int>(a.integer("per-channel", 0)) : std::nullopt;
  const auto shape = a.shape("shape");
  const quanta::io::encodings_version format = read_format(a);
  const std::optional<std::string> out = a.value("out");
  if (a.flag("bitwidth-only") && !out) throw usage_error("--bitwidth-only applies to --out");

  const calibration_inputs inputs = find_calibration_inputs(a.positional(), shape);
  if (axis && inputs.weights.empty()) {
    throw usage_error("--per-channel applies to weight files; no INPUT is a file");
  }
  std::vector<range_method> activation_methods;
  for (const range_method& m : methods)
    if (is_streamable(m)) activation_methods.push_back(m);
  if (!inputs.sample_dirs.empty() && activation_methods.empty()) check_streamable(methods.front());

  // Held-out samples, matched to the calibration samples' tensors by name.
  std::optional<calibration_inputs> held_out;
  if (const auto v = a.value("validate")) {
    if (inputs.sample_dirs.empty()) {
      throw usage_error("--validate holds activation samples; no INPUT is a sample directory");
    }
    const std::vector<std::string> dirs = split_list("validate", *v);
    for (const std::string& d : dirs)
      if (!is_directory(d)) throw usage_error("--validate has \"" + d + "\"; expected a directory");
    held_out = find_calibration_inputs(dirs, shape);
    for (const activation_files& t : inputs.activations) {
      const bool found = std::any_of(held_out->activations.begin(), held_out->activations.end(),
                                     [&](const activation_files& h) { return h.name == t.name; });
      if (!found) {
        throw input_error("held-out sample " + dirs.front() + " has no " + t.name +
                          "; expected every calibrated tensor");
      }
    }
  }

  std::vector<advice> report;
  {
    const bool show = !a.flag("no-progress") && (a.flag("progress") || stderr_is_terminal());
    progress step(inputs.activations.size() + inputs.weights.size(), show);
    for (const activation_files& t : inputs.activations) {
      step.step(t.name);
      std::vector<std::string> validation = t.paths;
      if (held_out) {
        for (const activation_files& h : held_out->activations)
          if (h.name == t.name) validation = h.paths;
      }
      report.push_back(advise_activation(t, validation, activation_methods, widths, q, shape));
    }
    for (const std::string& path : inputs.weights) {
      step.step(file_stem(path));
      report.push_back(advise_weight(path, methods, weight_widths, q, axis, shape));
    }
  }
  for (advice& t : report)
    choose(t, goal);

  // The budget: bytes at the chosen widths (float fallback at 4 bytes) against all-8-bit.
  double chosen_bytes = 0.0, eight_bit_bytes = 0.0;
  std::size_t misses = 0;
  for (const advice& t : report) {
    const double bits = t.chosen != nullptr ? t.chosen->bits : 32.0;
    chosen_bytes += static_cast<double>(t.elements) * bits / 8.0;
    eight_bit_bytes += static_cast<double>(t.elements);
    misses += t.chosen == nullptr ? 1 : 0;
  }

  if (out) {
    quanta::io::encodings_file file;
    for (const advice& t : report) {
      auto& section = t.is_weight ? file.params : file.activations;
      if (!section.emplace(t.name, overrides_entry(t, q, a.flag("bitwidth-only"))).second) {
        throw input_error("two weight files are named " + t.name +
                          "; expected one file per tensor name");
      }
    }
    write_encodings_atomically(*out, file, format);
  }

  // Worst first: the tensors that need attention lead the table.
  std::vector<const advice*> order;
  for (const advice& t : report)
    order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [](const advice* x, const advice* y) {
    return quality(shown(*x)) < quality(shown(*y));
  });
  const char* measured_on = held_out ? "held-out samples (--validate)" : "the calibration samples";

  if (a.flag("json")) {
    std::string s = "{\"target\": " + json_string(goal.describe()) +
                    ", \"measured_on\": " + json_string(measured_on) + ", \"tensors\": [";
    for (std::size_t k = 0; k < order.size(); ++k) {
      const advice& t = *order[k];
      const candidate& c = shown(t);
      s += (k == 0 ? "\n  " : ",\n  ") + std::string("{\"name\": ") + json_string(t.name) +
           ", \"section\": \"" + (t.is_weight ? "param_encodings" : "activation_encodings") +
           "\", \"meets_target\": " + (t.chosen != nullptr ? "true" : "false") +
           ", \"bits\": " + (t.chosen != nullptr ? std::to_string(c.bits) : "\"float\"") +
           ", \"method\": " + json_string(c.method) +
           ", \"cosine\": " + json_number(quanta::cosine_similarity(c.error)) +
           ", \"sqnr_db\": " + json_number(quanta::sqnr_db(c.error)) + ", \"tried\": [";
      bool first = true;
      for (const candidate& tried : t.tried) {
        s += (first ? "" : ", ") + std::string("{\"bits\": ") + std::to_string(tried.bits) +
             ", \"method\": " + json_string(tried.method);
        s += tried.encodings.empty()
                 ? ", \"error\": " + json_string(tried.failure) + "}"
                 : ", \"cosine\": " + json_number(quanta::cosine_similarity(tried.error)) +
                       ", \"sqnr_db\": " + json_number(quanta::sqnr_db(tried.error)) + "}";
        first = false;
      }
      s += "]}";
    }
    s += "\n], \"bytes\": " + json_number(chosen_bytes) +
         ", \"bytes_all_8_bit\": " + json_number(eight_bit_bytes) +
         ", \"misses\": " + std::to_string(misses);
    if (out) s += ", \"file\": " + json_string(*out);
    std::printf("%s}\n", s.c_str());
    return misses == 0 ? exit_ok : exit_below_threshold;
  }

  std::printf("target %s, measured on %s; %s %s, profile %s\n\n", goal.describe().c_str(),
              measured_on, q.scheme_name.c_str(), q.options.is_signed ? "signed" : "unsigned",
              q.profile_name.c_str());
  text_table table({"tensor", "kind", "bits", "method", "cosine", "SQNR dB", "advice"});
  for (const advice* t : order) {
    const candidate& c = shown(*t);
    std::string verdict = "ok";
    if (t->chosen == nullptr) {
      verdict = "MISS: best " + std::to_string(c.bits) + "-bit " + c.method +
                "; keep in float (QNN float fallback, Magik skip_node_quant)";
    } else if (t->chosen->bits > (t->is_weight ? weight_widths : widths).front()) {
      verdict = "needs " + std::to_string(c.bits) + " bits";
    }
    table.add_row({t->name, t->is_weight ? "weight" : "activation", chosen_bits(*t), c.method,
                   fixed(quanta::cosine_similarity(c.error), 6), fixed(quanta::sqnr_db(c.error), 2),
                   verdict});
  }
  table.print(stdout);
  std::printf("\nbudget: %s bytes at the chosen widths against %s at 8 bits (%s%%)\n",
              general(chosen_bytes, 10).c_str(), general(eight_bit_bytes, 10).c_str(),
              fixed(eight_bit_bytes > 0 ? 100.0 * chosen_bytes / eight_bit_bytes : 0.0, 1).c_str());
  if (misses == 0) {
    std::printf("every tensor meets the target at an allowed width\n");
  } else {
    std::printf("%zu of %zu tensors meet the target at no allowed width: keep them in float\n",
                misses, report.size());
  }
  if (out) std::printf("wrote %s (%s)\n", out->c_str(), quanta::io::to_string(format));
  return misses == 0 ? exit_ok : exit_below_threshold;
}

}  // namespace quanta_cli
