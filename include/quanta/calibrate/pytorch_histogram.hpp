// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "quanta/detail/rounded.hpp"
#include "quanta/encoding.hpp"
#include "quanta/error.hpp"
#include "quanta/min_max_result.hpp"
#include "quanta/span.hpp"

// PyTorch 1.13's HistogramObserver (torch.ao.quantization.observer), the default activation
// observer of its x86 and fbgemm static qconfigs, reproduced bit for bit: the running histogram
// (torch.histc in float32, the combination of batches through an upsampled grid), the L2 search
// over bin ranges (_non_linear_param_search) and the observer's qparams (docs/calibration.md).
//
// Every step keeps the dtype torch computes it in: float32 tensors round after each operation, a
// Python float operand of a float32 tensor is first rounded to float32, Python scalars (.item())
// are doubles. Products that feed a sum are rounded before it (detail::rounded), so that no build
// flag (-ffp-contract=fast, -march with FMA) fuses what torch rounds twice.
namespace quanta {

struct pytorch_histogram_options {
  std::size_t bins = 2048;          // HistogramObserver(bins=2048)
  std::size_t upsample_rate = 128;  // HistogramObserver(upsample_rate=128)
};

namespace detail {

// torch.sum of a contiguous float32 tensor of up to 32768 elements (ATen's GRAIN_SIZE; larger
// ones are split across threads): ATen's cascade sum as its AVX2 kernels run it, on vectors of 8
// lanes. The vectors are summed as 4 interleaved rows whose partial sums are carried up through
// 4 levels of accumulators every 2^p rows, then the rows are added, the elements past the last
// whole vector are summed in order, and the 8 lanes are added to that one by one.
template <std::size_t Lanes>
void pytorch_cascade_rows(const float* x, std::size_t n, std::array<float, Lanes>& lanes) {
  using vector = std::array<float, Lanes>;
  const std::size_t vectors = n / Lanes;
  const auto add = [&](vector& to, std::size_t index) {
    for (std::size_t k = 0; k < Lanes; ++k)
      to[k] += x[index * Lanes + k];
  };
  const auto add_vector = [](vector& to, const vector& from) {
    for (std::size_t k = 0; k < Lanes; ++k)
      to[k] += from[k];
  };
  constexpr std::size_t rows = 4;
  constexpr std::size_t levels = 4;
  const std::size_t row_count = vectors / rows;
  // ceil(log2(row_count)), 1 for row_count <= 2.
  std::size_t ceil_log2 = 1;
  if (row_count > 2) {
    ceil_log2 = 0;
    while ((std::size_t{1} << ceil_log2) < row_count)
      ++ceil_log2;
  }
  const std::size_t level_power = std::max<std::size_t>(4, ceil_log2 / levels);
  const std::size_t level_step = std::size_t{1} << level_power;
  const std::size_t level_mask = level_step - 1;
  std::array<std::array<vector, rows>, levels> acc{};
  std::size_t i = 0;
  while (i + level_step <= row_count) {
    for (std::size_t j = 0; j < level_step; ++j, ++i) {
      for (std::size_t k = 0; k < rows; ++k)
        add(acc[0][k], i * rows + k);
    }
    for (std::size_t level = 1; level < levels; ++level) {
      for (std::size_t k = 0; k < rows; ++k) {
        add_vector(acc[level][k], acc[level - 1][k]);
        acc[level - 1][k] = vector{};
      }
      if ((i & (level_mask << (level * level_power))) != 0) break;
    }
  }
  for (; i < row_count; ++i) {
    for (std::size_t k = 0; k < rows; ++k)
      add(acc[0][k], i * rows + k);
  }
  for (std::size_t level = 1; level < levels; ++level) {
    for (std::size_t k = 0; k < rows; ++k)
      add_vector(acc[0][k], acc[level][k]);
  }
  vector total = acc[0][0];
  for (std::size_t v = row_count * rows; v < vectors; ++v)
    add(total, v);
  for (std::size_t k = 1; k < rows; ++k)
    add_vector(total, acc[0][k]);
  lanes = total;
}

inline float pytorch_sum(span<const float> x) {
  constexpr std::size_t lanes = 8;
  if (x.size() < lanes) {
    // Too short for a vector: the same cascade on single elements.
    std::array<float, 1> scalar{};
    pytorch_cascade_rows<1>(x.data(), x.size(), scalar);
    return 0.0f + scalar[0];
  }
  std::array<float, lanes> partials{};
  pytorch_cascade_rows<lanes>(x.data(), x.size(), partials);
  float sum = 0.0f;
  for (std::size_t k = x.size() / lanes * lanes; k < x.size(); ++k)
    sum += x[k];
  for (const float p : partials)
    sum += p;
  return 0.0f + sum;
}

// torch.div(a, b, rounding_mode='floor') in float: Python's floor division, from the exact
// remainder.
inline float pytorch_floor_divide(float a, float b) noexcept {
  if (b == 0.0f) return a / b;
  float remainder = std::fmod(a, b);
  float quotient = (a - remainder) / b;
  if (remainder != 0.0f && (b < 0.0f) != (remainder < 0.0f)) quotient -= 1.0f;
  if (quotient == 0.0f) return std::copysign(0.0f, a / b);
  float floored = std::floor(quotient);
  if (quotient - floored > 0.5f) floored += 1.0f;
  return floored;
}

// HistogramObserver._get_norm: density * (end^3 - begin^3) / 3, each step a float32 tensor op.
inline float pytorch_l2_norm(float begin, float end, float density) noexcept {
  const float end_cubed = rounded(rounded(end * end) * end);
  const float begin_cubed = rounded(rounded(begin * begin) * begin);
  return rounded(density * ((end_cubed - begin_cubed) / 3.0f));
}

}  // namespace detail

// The running histogram and range of PyTorch 1.13's HistogramObserver, and the encoding its
// calculate_qparams gives.
class pytorch_histogram_observer {
 public:
  explicit pytorch_histogram_observer(const pytorch_histogram_options& options = {})
      : options_(options) {
    constexpr const char* function = "pytorch_histogram_observer";
    if (options.bins == 0) QUANTA_THROW(function, ": options.bins is 0; expected at least 1");
    // torch.histc's bin positions and the search's indices are float32 products: exact below
    // 2^24 bins.
    if (options.bins > (std::size_t{1} << 24)) {
      QUANTA_THROW(function, ": options.bins is ", options.bins, "; expected at most 2^24");
    }
    if (options.upsample_rate == 0) {
      QUANTA_THROW(function, ": options.upsample_rate is 0; expected at least 1");
    }
    if (options.upsample_rate > (std::size_t{1} << 24) / options.bins) {
      QUANTA_THROW(function, ": options.bins * options.upsample_rate is ",
                   options.bins * options.upsample_rate,
                   "; expected at most 2^24 (the upsampled grid's size in float32)");
    }
    histogram_.assign(options.bins, 0.0f);
  }

  // HistogramObserver.forward on one batch. An empty batch changes nothing, as in PyTorch. Throws,
  // changing nothing, for NaN or infinite values, or for a batch PyTorch itself cannot observe
  // (its range truncated to an integer beyond int64; a combined grid the old histogram does not
  // fit).
  void observe(span<const float> x) {
    constexpr const char* function = "pytorch_histogram_observer::observe";
    if (x.empty()) return;
    float batch_min = std::numeric_limits<float>::infinity();
    float batch_max = -std::numeric_limits<float>::infinity();
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!std::isfinite(x[i])) {
        QUANTA_THROW(function, ": x[", i, "] is ", x[i], "; expected finite values");
      }
      batch_min = std::min(batch_min, x[i]);
      batch_max = std::max(batch_max, x[i]);
    }
    // The first batch, and every batch after one that left min == max, starts afresh.
    if (empty() || min_ == max_) {
      std::vector<float> fresh = histc(function, x, batch_min, batch_max, batch_min, batch_max);
      histogram_.swap(fresh);
      min_ = batch_min;
      max_ = batch_max;
      return;
    }
    const float combined_min = std::min(batch_min, min_);
    float combined_max = std::max(batch_max, max_);
    // _adjust_min_max: a grid of width (max - min) / (bins * upsample_rate) on which the old
    // histogram lies, a whole number (downsample_rate) of its steps per new bin; only the top is
    // relaxed.
    const auto bins_f = static_cast<float>(options_.bins);
    const float step = (max_ - min_) / static_cast<float>(options_.bins * options_.upsample_rate);
    const float old_width = detail::rounded(bins_f * step);
    const float downsample_f = std::ceil((combined_max - combined_min) / old_width);
    const float relax = detail::rounded(downsample_f * old_width) - (combined_max - combined_min);
    combined_max = combined_max + relax;
    const float start_f = detail::round_float((min_ - combined_min) / step, rounding::half_even);
    // torch allocates the combined grid of bins * downsample_rate floats: far beyond memory here.
    if (!(downsample_f <= 1099511627776.0f)) {
      QUANTA_THROW(function, ": the batch's range [", batch_min, ", ", batch_max,
                   "] needs a combined grid of ", downsample_f, " steps per bin over [", min_, ", ",
                   max_, "]; PyTorch 1.13 cannot allocate it (expected at most 2^40)");
    }
    const auto downsample = static_cast<std::uint64_t>(downsample_f);
    const auto start = static_cast<std::uint64_t>(start_f);

    std::vector<float> combined =
        histc(function, x, combined_min, combined_max, batch_min, batch_max);
    if (combined_min == min_ && combined_max == max_) {
      for (std::size_t i = 0; i < combined.size(); ++i)
        combined[i] = combined[i] + histogram_[i];
    } else {
      const std::uint64_t upsampled = options_.bins * options_.upsample_rate;
      const std::uint64_t grid = options_.bins * downsample;
      if (start + upsampled > grid) {
        QUANTA_THROW(function, ": the old histogram, upsampled to ", upsampled, " steps from step ",
                     start, ", overruns the combined grid of ", grid,
                     " steps; PyTorch 1.13 fails on this batch too (expected a batch whose "
                     "combined range holds the old one on the grid)");
      }
      combine(combined, start, downsample);
    }
    histogram_.swap(combined);
    min_ = combined_min;
    max_ = combined_max;
  }

  bool empty() const noexcept { return !(min_ <= max_); }
  std::size_t bins() const noexcept { return options_.bins; }
  // The observer's min_val and max_val: the observed range, its top relaxed by every combination
  // of batches.
  min_max_result range() const noexcept {
    min_max_result r;
    r.min = min_;
    r.max = max_;
    return r;
  }
  span<const float> histogram() const noexcept { return span<const float>(histogram_); }

  // _non_linear_param_search: the [min, max] the L2 search picks, on a grid of 2^storage_bits
  // levels (PyTorch's dst_nbins: 256 for quint8 and qint8, whatever quant_min and quant_max).
  min_max_result search_range(int storage_bits = 8) const {
    constexpr const char* function = "pytorch_histogram_observer::search_range";
    if (storage_bits < 1 || storage_bits > 32) {
      QUANTA_THROW(function, ": storage_bits is ", storage_bits, "; expected 1..32");
    }
    if (empty()) QUANTA_THROW(function, ": the observer is empty; expected at least one value");
    return search(std::ldexp(1.0, storage_bits));
  }

  // _compute_quantization_error(first_bin, last_bin): the L2 error the search assigns to
  // quantizing bins first_bin..last_bin onto 2^storage_bits levels (a Python float, from a float32
  // sum).
  double search_error(std::size_t first_bin, std::size_t last_bin, int storage_bits = 8) const {
    constexpr const char* function = "pytorch_histogram_observer::search_error";
    if (storage_bits < 1 || storage_bits > 32) {
      QUANTA_THROW(function, ": storage_bits is ", storage_bits, "; expected 1..32");
    }
    if (!(first_bin <= last_bin && last_bin < options_.bins)) {
      QUANTA_THROW(function, ": bins ", first_bin, "..", last_bin,
                   "; expected first_bin <= ", "last_bin < ", options_.bins);
    }
    if (empty()) QUANTA_THROW(function, ": the observer is empty; expected at least one value");
    std::vector<float> norms(options_.bins);
    return quantization_error(first_bin, last_bin, std::ldexp(1.0, storage_bits), norms);
  }

  // HistogramObserver.calculate_qparams. options.rules must be profile::pytorch (without
  // pytorch_dynamic), options.kind asymmetric (per_tensor_affine) or symmetric
  // (per_tensor_symmetric), and options.bitwidth 2..8 in 8-bit storage: 8 is quint8 / qint8,
  // 7 their reduce_range grid, fewer bits a custom quant_min / quant_max.
  quanta::encoding encoding(const encoding_options& options = default_options()) const {
    constexpr const char* function = "pytorch_histogram_observer::encoding";
    detail::check_options(function, options);
    if (options.rules != profile::pytorch || options.pytorch_dynamic) {
      QUANTA_THROW(function, ": options.rules is ", detail::profile_name(options.rules),
                   options.pytorch_dynamic ? " with pytorch_dynamic" : "",
                   "; expected profile::pytorch without pytorch_dynamic (HistogramObserver's "
                   "qparams are the static observers')");
    }
    if (options.kind != scheme::asymmetric && options.kind != scheme::symmetric) {
      QUANTA_THROW(function, ": options.kind is ", detail::scheme_name(options.kind),
                   "; expected scheme::asymmetric or scheme::symmetric (per_tensor_affine, "
                   "per_tensor_symmetric)");
    }
    if (options.bitwidth > 8) {
      QUANTA_THROW(function, ": options.bitwidth is ", options.bitwidth,
                   "; expected 2..8 (PyTorch's HistogramObserver observes quint8 and qint8)");
    }
    if (empty()) QUANTA_THROW(function, ": the observer is empty; expected at least one value");
    const min_max_result r = search(256.0);
    return detail::representable(function, r.min, r.max, options,
                                 detail::encoding_from_checked_range(r.min, r.max, options));
  }

  // PyTorch's default: quint8, per_tensor_affine.
  static encoding_options default_options() noexcept {
    encoding_options o;
    o.rules = profile::pytorch;
    return o;
  }

 private:
  // torch.histc(x, bins, min=int(lo), max=int(hi)) as HistogramObserver calls it: the range is
  // truncated to integers; an empty one falls back to the batch's [min, max], then to
  // [v - 1, v + 1]. Values outside it are dropped. A value's bin is
  // int((x - left) * bins / (right - left)) in float32, the top edge in the last bin.
  std::vector<float> histc(const char* function, span<const float> x, float lo, float hi,
                           float batch_min, float batch_max) const {
    constexpr double int64_limit = 9223372036854775808.0;  // 2^63
    double left = std::trunc(static_cast<double>(lo));
    double right = std::trunc(static_cast<double>(hi));
    if (!(std::fabs(left) < int64_limit && std::fabs(right) < int64_limit)) {
      QUANTA_THROW(function, ": the histogram range [", lo, ", ", hi,
                   "] truncates to integers beyond int64; PyTorch 1.13 cannot pass them to "
                   "torch.histc either (expected magnitudes below 2^63)");
    }
    if (left == right) {
      left = static_cast<double>(batch_min);
      right = static_cast<double>(batch_max);
    }
    if (left == right) {
      left -= 1.0;
      right += 1.0;
    }
    const auto left_f = static_cast<float>(left);
    const auto right_f = static_cast<float>(right);
    const float width = right_f - left_f;
    if (!(width > 0.0f)) {
      QUANTA_THROW(function, ": torch.histc's range [", left, ", ", right,
                   "] has no width in float32; PyTorch 1.13 bins garbage here (expected values "
                   "whose histogram range is wider than one float step)");
    }
    std::vector<float> counts(options_.bins, 0.0f);
    const auto bins_f = static_cast<float>(options_.bins);
    for (const float v : x) {
      if (!(v >= left_f && v <= right_f)) continue;
      auto position = static_cast<std::size_t>((v - left_f) * bins_f / width);
      if (position >= options_.bins) position = options_.bins - 1;
      counts[position] += 1.0f;
    }
    return counts;
  }

  // _combine_histograms: the old histogram, each bin repeated upsample_rate times, placed at
  // `start` on a zero grid of bins * downsample steps; the cumulative sum of that grid in double,
  // read every downsample steps; the difference of consecutive readings (the earlier one stored in
  // float32, as torch's shifted float tensor holds it) over upsample_rate, added to the new counts.
  void combine(std::vector<float>& counts, std::uint64_t start, std::uint64_t downsample) const {
    const std::uint64_t upsample = options_.upsample_rate;
    const std::uint64_t end = start + options_.bins * upsample;
    double cumulative = 0.0;
    std::uint64_t next = start;  // the next grid step to add
    float previous = 0.0f;
    for (std::size_t i = 0; i < options_.bins; ++i) {
      const std::uint64_t reading = downsample - 1 + i * downsample;
      // Steps outside [start, end) hold zeros, which leave the double sum as it is.
      for (; next <= reading && next < end; ++next) {
        cumulative += static_cast<double>(histogram_[(next - start) / upsample]);
      }
      const double difference = cumulative - static_cast<double>(previous);
      const auto interpolated = static_cast<float>(difference / static_cast<double>(upsample));
      counts[i] = counts[i] + interpolated;
      previous = static_cast<float>(cumulative);
    }
  }

  // _compute_quantization_error: the L2 error of quantizing the histogram's bins first..last onto
  // dst_bins levels, each bin read as a uniform density; per bin in float32, summed as torch.sum.
  double quantization_error(std::size_t first, std::size_t last, double dst_bins,
                            std::vector<float>& norms) const {
    const double bin_width = (static_cast<double>(max_) - static_cast<double>(min_)) /
                             static_cast<double>(options_.bins);
    const double dst_width = bin_width * static_cast<double>(last - first + 1) / dst_bins;
    if (dst_width == 0.0) return 0.0;
    const auto width_f = static_cast<float>(bin_width);
    const auto dst_f = static_cast<float>(dst_width);
    const auto half_f = static_cast<float>(dst_width / 2.0);
    const auto top = static_cast<float>(dst_bins - 1.0);
    for (std::size_t i = 0; i < options_.bins; ++i) {
      const auto offset =
          static_cast<float>(static_cast<std::int64_t>(i) - static_cast<std::int64_t>(first));
      const float begin = detail::rounded(offset * width_f);
      const float end = begin + width_f;
      const float begin_level =
          std::min(std::max(detail::pytorch_floor_divide(begin, dst_f), 0.0f), top);
      const float end_level =
          std::min(std::max(detail::pytorch_floor_divide(end, dst_f), 0.0f), top);
      const float begin_center = detail::rounded((begin_level + 0.5f) * dst_f);
      const float end_center = detail::rounded(end_level * dst_f) + half_f;
      const float density = histogram_[i] / width_f;
      float norm = 0.0f + detail::pytorch_l2_norm(begin - begin_center, half_f, density);
      const float whole_levels = end_level - begin_level - 1.0f;
      norm =
          norm + detail::rounded(whole_levels * detail::pytorch_l2_norm(-half_f, half_f, density));
      norm = norm + detail::pytorch_l2_norm(-half_f, end - end_center, density);
      norms[i] = norm;
    }
    return static_cast<double>(detail::pytorch_sum(span<const float>(norms)));
  }

  // _non_linear_param_search: from the whole histogram, move whichever end the next 1e-5 quantile
  // step moves further (cumulative counts in float32 against the targets rounded to float32),
  // until the L2 error grows.
  min_max_result search(double dst_bins) const {
    const std::size_t bins = options_.bins;
    const float bin_width = (max_ - min_) / static_cast<float>(bins);
    const auto total = static_cast<double>(detail::pytorch_sum(span<const float>(histogram_)));
    std::vector<float> cumulative(bins);
    double running = 0.0;  // torch.cumsum accumulates float32 in double on the CPU
    for (std::size_t i = 0; i < bins; ++i) {
      running += static_cast<double>(histogram_[i]);
      cumulative[i] = static_cast<float>(running);
    }
    std::vector<float> norms(bins);
    constexpr double step = 1e-5;
    double alpha = 0.0;
    double beta = 1.0;
    std::size_t first = 0;
    std::size_t last = bins - 1;
    double norm_min = std::numeric_limits<double>::infinity();
    while (alpha < beta) {
      const double next_alpha = alpha + step;
      const double next_beta = beta - step;
      const auto lower_target = static_cast<float>(next_alpha * total);
      const auto upper_target = static_cast<float>(next_beta * total);
      std::size_t l = first;
      std::size_t r = last;
      while (l < last && cumulative[l] < lower_target)
        ++l;
      while (r > first && cumulative[r] > upper_target)
        --r;
      std::size_t next_first = first;
      std::size_t next_last = last;
      if (l - first > last - r) {
        next_first = l;
        alpha = next_alpha;
      } else {
        next_last = r;
        beta = next_beta;
      }
      if (next_first == first && next_last == last) continue;
      const double norm = quantization_error(next_first, next_last, dst_bins, norms);
      if (norm > norm_min) break;
      norm_min = norm;
      first = next_first;
      last = next_last;
    }
    min_max_result r;
    r.min = min_ + detail::rounded(bin_width * static_cast<float>(first));
    r.max = min_ + detail::rounded(bin_width * static_cast<float>(last + 1));
    return r;
  }

  pytorch_histogram_options options_;
  std::vector<float> histogram_;
  float min_ = std::numeric_limits<float>::infinity();
  float max_ = -std::numeric_limits<float>::infinity();
};

}  // namespace quanta
