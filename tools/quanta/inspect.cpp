// quanta inspect FILE: range, a terminal histogram, and each range method's SQNR side by side.
#include <algorithm>
#include <cmath>
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

const char* const inspect_usage =
    "usage: quanta inspect FILE [options]\n"
    "\n"
    "The range and moments of a .npy or raw float32 .bin tensor, a histogram drawn in the\n"
    "terminal, and for each range method its encoding's range and the SQNR of quantizing the\n"
    "tensor per tensor and per channel.\n"
    "\n"
    "options:\n"
    "  --bins N       histogram rows (default 24)\n"
    "  --axis AXIS    channel axis of the per-channel column (default 0 for rank >= 2; none\n"
    "                 for vectors)\n"
    "  --bits, --scheme, --signed, --profile   the quantization, as for quanta encode\n"
    "  --shape DIMS   shape of a raw .bin dump\n";

namespace {

constexpr int bar_width = 50;

struct summary {
  std::size_t finite = 0, nan = 0, inf = 0, zeros = 0;
  double min = 0.0, max = 0.0, mean = 0.0, stddev = 0.0, abs_max = 0.0;
};

summary summarize(const std::vector<float>& x) {
  summary s;
  double sum = 0.0, squares = 0.0;
  bool first = true;
  for (const float v : x) {
    if (std::isnan(v)) {
      ++s.nan;
      continue;
    }
    if (std::isinf(v)) {
      ++s.inf;
      continue;
    }
    const double d = v;
    s.min = first ? d : std::min(s.min, d);
    s.max = first ? d : std::max(s.max, d);
    first = false;
    ++s.finite;
    if (v == 0.0f) ++s.zeros;
    sum += d;
    squares += d * d;
  }
  if (s.finite != 0) {
    const auto n = static_cast<double>(s.finite);
    s.mean = sum / n;
    s.stddev = std::sqrt(std::max(0.0, squares / n - s.mean * s.mean));
    s.abs_max = std::max(-s.min, s.max);
  }
  return s;
}

void print_histogram(const std::vector<float>& x, const summary& s, int rows) {
  if (s.finite == 0) {
    std::printf("histogram: no finite values\n");
    return;
  }
  const auto bins = static_cast<std::size_t>(s.max > s.min ? rows : 1);
  const double width = (s.max - s.min) / static_cast<double>(bins);
  std::vector<std::size_t> counts(bins, 0);
  for (const float v : x) {
    if (!std::isfinite(v)) continue;
    auto b = bins == 1 ? 0 : static_cast<std::size_t>((v - s.min) / width);
    counts[std::min(b, bins - 1)] += 1;
  }
  const std::size_t peak = *std::max_element(counts.begin(), counts.end());
  std::printf("histogram of the %zu finite values:\n", s.finite);
  for (std::size_t b = 0; b < bins; ++b) {
    const double lo = s.min + width * static_cast<double>(b);
    const double hi = b + 1 == bins ? s.max : lo + width;
    // Any non-empty bin shows at least one mark, so thin tails stay visible.
    const auto length =
        counts[b] == 0
            ? 0
            : std::max<std::size_t>(1, counts[b] * bar_width / std::max<std::size_t>(peak, 1));
    std::printf("%12s .. %-12s |%-*s| %zu\n", general(lo, 5).c_str(), general(hi, 5).c_str(),
                bar_width, std::string(length, '#').c_str(), counts[b]);
  }
}

}  // namespace

int run_inspect(const std::vector<std::string>& args) {
  const arguments a(args, {"signed"}, {"bins", "axis", "bits", "scheme", "profile", "shape"});
  if (a.positional().size() != 1) {
    throw usage_error("expected one FILE, got " + std::to_string(a.positional().size()));
  }
  const int rows = a.integer("bins", 24);
  if (rows < 1 || rows > 1000)
    throw usage_error("--bins is " + std::to_string(rows) + "; expected 1..1000");
  const quantization q = read_quantization(a);
  check_shape_applies({a.positional()[0]}, a.shape("shape"));
  const tensor t = load_tensor(a.positional()[0], a.shape("shape"));
  check_not_empty(t);
  const summary s = summarize(t.values);
  // Per channel along --axis, or axis 0 (output channels of a weight) for rank >= 2. A bad axis is
  // the command line's error, reported before anything is printed.
  const bool per_channel = a.value("axis").has_value() || t.shape.size() >= 2;
  const int axis = a.integer("axis", 0);
  if (per_channel) {
    try {
      (void)quanta::channel_layout::from_shape(t.shape, axis);
    } catch (const quanta::error& failure) {
      throw usage_error(std::string("--axis: ") + failure.what());
    }
  }

  std::printf("%s  %s %s, %zu values\n\n", t.path.c_str(), t.dtype.c_str(),
              shape_string(t.shape).c_str(), t.values.size());
  text_table stats({"min", "max", "mean", "std", "abs max", "zeros", "NaN", "inf"});
  stats.add_row({general(s.min, 7), general(s.max, 7), general(s.mean, 7), general(s.stddev, 7),
                 general(s.abs_max, 7), std::to_string(s.zeros), std::to_string(s.nan),
                 std::to_string(s.inf)});
  stats.print(stdout);
  std::printf("\n");
  print_histogram(t.values, s, rows);

  std::printf("\n%s: range and SQNR of each method", describe(q).c_str());
  if (per_channel) std::printf(" (per channel along axis %d)", axis);
  std::printf("\n\n");
  std::vector<std::string> header = {"method", "min", "max", "SQNR dB"};
  if (per_channel) header.push_back("per-channel SQNR dB");
  text_table table(header);
  for (const std::string& method : method_names()) {
    std::vector<std::string> cells = {method};
    try {
      const quanta::encoding e = encode_with(method, t.values, q.options);
      const quanta::error_stats err = fake_quant_error(t.values, e, q);
      cells.insert(cells.end(),
                   {general(e.min(), 7), general(e.max(), 7), fixed(quanta::sqnr_db(err), 2)});
      if (per_channel) {
        const auto layout = quanta::channel_layout::from_shape(t.shape, axis);
        quanta::error_stats overall;
        fake_quant_error(t.values, layout, encode_channels(method, t.values, layout, q.options), q,
                         overall);
        cells.push_back(fixed(quanta::sqnr_db(overall), 2));
      }
    } catch (const usage_error&) {
      throw;
    } catch (const std::exception& failure) {
      cells.resize(header.size());
      cells.back() = std::string("error: ") + failure.what();
    }
    table.add_row(cells);
  }
  table.print(stdout);
  return exit_ok;
}

}  // namespace quanta_cli
