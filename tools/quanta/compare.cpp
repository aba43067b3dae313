// quanta compare REF TEST: per-tensor error metrics of two runs' layer dumps.
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <quanta/metrics.hpp>

#include "arguments.hpp"
#include "commands.hpp"
#include "output.hpp"
#include "tensors.hpp"

namespace quanta_cli {

const char* const compare_usage =
    "usage: quanta compare REF TEST [options]\n"
    "\n"
    "REF and TEST are .npy files (float32, float16, int8, uint8, int16, int32) or raw float32\n"
    ".bin dumps, or directories of them matched by file name without extension (conv1.npy in\n"
    "REF pairs with conv1.npy or conv1.bin in TEST). Prints one row per tensor: shape, cosine,\n"
    "SQNR, max abs error, relative L2; marks rows under the thresholds and the first of them\n"
    "(the first layer, in natural name order, where quality drops).\n"
    "\n"
    "options:\n"
    "  --cosine MIN     cosine threshold (default 0.99)\n"
    "  --sqnr DB        also flag tensors whose SQNR is under DB\n"
    "  --shape DIMS     shape of raw .bin dumps, as 1,3,224,224 (default: flat, or the\n"
    "                   counterpart's shape when the element counts agree)\n"
    "  --per-sample     treat axis 0 as samples: add the mean and minimum cosine over samples\n"
    "                   (Magik's cosine_avg) and AIMET's mean-ratio SQNR\n"
    "  --json           machine-readable output on stdout\n"
    "  --progress       progress on stderr even when it is not a terminal\n"
    "  --no-progress    no progress on stderr\n"
    "\n"
    "exit status: 0 every tensor passes, 1 a tensor is under a threshold, 2 an error\n"
    "(unreadable file, dtype or shape mismatch, missing counterpart).\n";

namespace {

// Magik's guidance: a last layer under this cosine means something is wrong.
constexpr double last_layer_alarm = 0.95;

struct settings {
  double cosine_threshold = 0.99;
  std::optional<double> sqnr_threshold;
  std::optional<std::vector<std::int64_t>> bin_shape;
  bool per_sample = false;
  bool json = false;
};

struct row {
  std::string name;
  std::string ref_path;
  std::string test_path;
  std::vector<std::int64_t> shape;
  quanta::error_stats stats;
  quanta::error_accumulator samples;
  std::string error;  // set when the pair could not be compared
  bool below = false;
  bool first_drop = false;
};

void check_compatible(const tensor& ref, tensor& test, row& r) {
  if (!(ref.is_float && test.is_float) && ref.dtype != test.dtype) {
    throw input_error("dtype mismatch: REF " + ref.path + " is " + ref.dtype + ", TEST " +
                      test.path + " is " + test.dtype);
  }
  r.shape = ref.shape;
  if (ref.shape == test.shape) return;
  const bool counts_agree = ref.values.size() == test.values.size();
  if (counts_agree && test.flat) return;
  if (counts_agree && ref.flat) {
    r.shape = test.shape;
    return;
  }
  throw input_error("shape mismatch: REF " + ref.path + " is " + shape_string(ref.shape) +
                    ", TEST " + test.path + " is " + shape_string(test.shape));
}

void measure(row& r, const settings& s) {
  try {
    const tensor ref = load_tensor(r.ref_path, s.bin_shape);
    tensor test = load_tensor(r.test_path, s.bin_shape);
    check_compatible(ref, test, r);
    r.stats = quanta::measure_error(ref.values, test.values);
    if (s.per_sample) {
      tensor shaped = ref;
      shaped.shape = r.shape;
      const std::size_t step = slice_size(shaped);
      const quanta::span<const float> rv(ref.values), tv(test.values);
      for (std::size_t at = 0; step != 0 && at < rv.size(); at += step)
        r.samples.add(rv.subspan(at, step), tv.subspan(at, step));
    }
  } catch (const std::exception& failure) {
    r.error = failure.what();
    return;
  }
  const double cosine = quanta::cosine_similarity(r.stats);
  const double sqnr = quanta::sqnr_db(r.stats);
  r.below = !(cosine >= s.cosine_threshold) || (s.sqnr_threshold && !(sqnr >= *s.sqnr_threshold));
}

// The pairs to compare: REF's files in natural order, then TEST's files that REF lacks.
std::vector<row> match(const std::string& ref, const std::string& test,
                       const std::optional<std::vector<std::int64_t>>& bin_shape) {
  const bool ref_dir = is_directory(ref);
  if (ref_dir != is_directory(test)) {
    throw usage_error("REF and TEST must both be files or both be directories");
  }
  if (!ref_dir) {
    check_shape_applies({ref, test}, bin_shape);
    row r;
    r.name = file_stem(ref) == file_stem(test) ? file_stem(ref)
                                               : file_name(ref) + " vs " + file_name(test);
    r.ref_path = ref;
    r.test_path = test;
    return {r};
  }
  const std::vector<std::string> ref_files = list_tensor_files(ref);
  const std::vector<std::string> test_files = list_tensor_files(test);
  std::map<std::string, std::vector<std::string>> by_name;
  for (const std::string& f : test_files)
    by_name[file_stem(f)].push_back(f);
  std::map<std::string, int> ref_names;
  std::vector<row> rows;
  for (const std::string& f : ref_files) {
    row r;
    r.name = file_stem(f);
    r.ref_path = f;
    if (++ref_names[r.name] > 1) {
      r.error = "two files in REF are named " + r.name + " (.npy and .bin); expected one";
    }
    const auto it = by_name.find(r.name);
    if (it == by_name.end()) {
      if (r.error.empty()) r.error = "missing counterpart: TEST " + test + " has no " + r.name;
    } else if (it->second.size() > 1) {
      r.error = "two files in TEST are named " + r.name + " (.npy and .bin); expected one";
    } else {
      r.test_path = it->second.front();
    }
    rows.push_back(r);
  }
  for (const std::string& f : test_files) {
    if (ref_names.count(file_stem(f)) != 0) continue;
    row r;
    r.name = file_stem(f);
    r.test_path = f;
    r.error = "missing counterpart: REF " + ref + " has no " + r.name;
    rows.push_back(r);
  }
  if (rows.empty()) {
    throw input_error("no .npy or .bin files in " + ref + " or " + test);
  }
  return rows;
}

void print_text(const std::vector<row>& rows, const settings& s, const std::string& ref,
                const std::string& test) {
  std::printf("REF   %s\nTEST  %s\n\n", ref.c_str(), test.c_str());
  std::vector<std::string> header = {"tensor",  "shape",       "cosine",
                                     "SQNR dB", "max abs err", "rel L2"};
  if (s.per_sample) {
    header.insert(header.end(), {"samples", "cos avg", "cos min", "AIMET SQNR"});
  }
  header.push_back("status");
  text_table table(header);
  for (const row& r : rows) {
    if (!r.error.empty()) {
      std::vector<std::string> cells(header.size());
      cells.front() = r.name;
      cells.back() = "ERROR";
      table.add_row(cells);
      continue;
    }
    std::vector<std::string> cells = {r.name,
                                      shape_string(r.shape),
                                      fixed(quanta::cosine_similarity(r.stats), 6),
                                      fixed(quanta::sqnr_db(r.stats), 2),
                                      general(quanta::max_abs_error(r.stats), 4),
                                      general(quanta::relative_l2(r.stats), 4)};
    if (s.per_sample) {
      cells.insert(cells.end(),
                   {std::to_string(r.samples.batches()), fixed(r.samples.mean_cosine(), 6),
                    fixed(r.samples.min_cosine(), 6),
                    fixed(r.samples.sqnr_db(quanta::sqnr_convention::aimet), 2)});
    }
    std::string status = r.below ? "LOW" : "ok";
    if (r.stats.non_finite != 0) status += " (" + std::to_string(r.stats.non_finite) + " NaN/inf)";
    if (r.first_drop) status += "  <- first drop";
    cells.push_back(status);
    table.add_row(cells);
  }
  table.print(stdout);

  std::size_t below = 0, errors = 0;
  const row* first = nullptr;
  const row* last = nullptr;
  for (const row& r : rows) {
    if (!r.error.empty()) {
      ++errors;
      std::fprintf(stderr, "error: %s: %s\n", r.name.c_str(), r.error.c_str());
      continue;
    }
    last = &r;
    if (r.below) ++below;
    if (r.first_drop) first = &r;
  }
  std::printf("\n%zu compared: %zu under cosine %s", rows.size() - errors, below,
              general(s.cosine_threshold, 6).c_str());
  if (s.sqnr_threshold) std::printf(" or SQNR %s dB", general(*s.sqnr_threshold, 6).c_str());
  if (first != nullptr) std::printf(" (first: %s)", first->name.c_str());
  std::printf(", %zu errors\n", errors);
  if (last != nullptr && rows.size() > 1) {
    const double c = quanta::cosine_similarity(last->stats);
    if (!(c >= last_layer_alarm)) {
      std::printf("the last tensor, %s, has cosine %s < %s: the output is likely wrong\n",
                  last->name.c_str(), fixed(c, 6).c_str(), general(last_layer_alarm, 3).c_str());
    }
  }
}

void print_json(const std::vector<row>& rows, const settings& s, const std::string& ref,
                const std::string& test) {
  std::string out =
      "{\n  \"ref\": " + json_string(ref) + ",\n  \"test\": " + json_string(test) +
      ",\n  \"cosine_threshold\": " + json_number(s.cosine_threshold) +
      ",\n  \"sqnr_threshold\": " + (s.sqnr_threshold ? json_number(*s.sqnr_threshold) : "null") +
      ",\n  \"tensors\": [";
  std::string first_drop = "null";
  std::size_t below = 0, errors = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const row& r = rows[i];
    out += i == 0 ? "\n" : ",\n";
    out += "    {\"name\": " + json_string(r.name);
    out += ", \"ref\": " + (r.ref_path.empty() ? "null" : json_string(r.ref_path));
    out += ", \"test\": " + (r.test_path.empty() ? "null" : json_string(r.test_path));
    if (!r.error.empty()) {
      ++errors;
      out += ", \"error\": " + json_string(r.error) + "}";
      continue;
    }
    std::string shape;
    for (const std::int64_t d : r.shape)
      shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    out += ", \"shape\": [" + shape + "]";
    out += ", \"count\": " + std::to_string(r.stats.count);
    out += ", \"non_finite\": " + std::to_string(r.stats.non_finite);
    out += ", \"cosine\": " + json_number(quanta::cosine_similarity(r.stats));
    out += ", \"sqnr_db\": " + json_number(quanta::sqnr_db(r.stats));
    out += ", \"max_abs_error\": " + json_number(quanta::max_abs_error(r.stats));
    out += ", \"relative_l2\": " + json_number(quanta::relative_l2(r.stats));
    out += ", \"mse\": " + json_number(quanta::mse(r.stats));
    out += ", \"mae\": " + json_number(quanta::mae(r.stats));
    out += ", \"psnr_db\": " + json_number(quanta::psnr_db(r.stats));
    if (s.per_sample) {
      out += ", \"samples\": " + std::to_string(r.samples.batches());
      out += ", \"mean_cosine\": " + json_number(r.samples.mean_cosine());
      out += ", \"min_cosine\": " + json_number(r.samples.min_cosine());
      out +=
          ", \"aimet_sqnr_db\": " + json_number(r.samples.sqnr_db(quanta::sqnr_convention::aimet));
    }
    out += std::string(", \"below_threshold\": ") + (r.below ? "true" : "false") + "}";
    if (r.below) ++below;
    if (r.first_drop) first_drop = json_string(r.name);
  }
  out += "\n  ],\n  \"below_threshold\": " + std::to_string(below) +
         ",\n  \"first_drop\": " + first_drop + ",\n  \"errors\": " + std::to_string(errors) +
         "\n}\n";
  std::fputs(out.c_str(), stdout);
}

}  // namespace

int run_compare(const std::vector<std::string>& args) {
  const arguments a(args, {"json", "per-sample", "progress", "no-progress"},
                    {"cosine", "sqnr", "shape"});
  if (a.positional().size() != 2) {
    throw usage_error("expected REF and TEST, got " + std::to_string(a.positional().size()) +
                      " paths");
  }
  settings s;
  s.cosine_threshold = a.number("cosine", s.cosine_threshold);
  if (a.value("sqnr")) s.sqnr_threshold = a.number("sqnr", 0.0);
  s.bin_shape = a.shape("shape");
  s.per_sample = a.flag("per-sample");
  s.json = a.flag("json");
  const std::string& ref = a.positional()[0];
  const std::string& test = a.positional()[1];

  std::vector<row> rows = match(ref, test, s.bin_shape);
  {
    const bool show = !a.flag("no-progress") && (a.flag("progress") || stderr_is_terminal());
    progress shown(rows.size(), show && rows.size() > 1);
    for (row& r : rows) {
      shown.step(r.name);
      if (r.error.empty()) measure(r, s);
    }
  }
  // One pair of files: its error is the whole answer.
  if (!is_directory(ref) && !rows.front().error.empty()) throw input_error(rows.front().error);
  bool any_error = false, any_below = false;
  for (row& r : rows) {
    any_error = any_error || !r.error.empty();
    if (r.below && !any_below) r.first_drop = true;
    any_below = any_below || r.below;
  }
  if (s.json) {
    print_json(rows, s, ref, test);
  } else {
    print_text(rows, s, ref, test);
  }
  if (any_error) return exit_error;
  return any_below ? exit_below_threshold : exit_ok;
}

}  // namespace quanta_cli
