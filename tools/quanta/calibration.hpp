// The `quanta` tool: what calibrate and advise share. Their inputs are directories, samples of a
// model's activations (one file per tensor, matched by name across directories, as compare matches
// them), and files, which are weights; their output is an encodings file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <quanta/encoding.hpp>
#include <quanta/io/encodings.hpp>
#include <quanta/metrics.hpp>
#include <quanta/quantize.hpp>

#include "methods.hpp"
#include "quantization.hpp"
#include "tensors.hpp"

namespace quanta_cli {

// One activation and its file in each sample directory, in the order the directories were given.
struct activation_files {
  std::string name;
  std::vector<std::string> paths;
};

struct calibration_inputs {
  std::vector<std::string> sample_dirs;
  std::vector<activation_files> activations;  // natural name order
  std::vector<std::string> weights;           // files given as arguments, in that order
};

// Sorts arguments into samples and weights and matches the samples' files by name. Throws
// input_error naming the directory when a tensor is missing from one, or twice in one.
calibration_inputs find_calibration_inputs(const std::vector<std::string>& inputs,
                                           const std::optional<std::vector<std::int64_t>>& shape);

// Throws usage_error unless `method` can see a tensor one sample at a time.
void check_streamable(const range_method& method);

// What calibrating one tensor gave.
struct calibrated_tensor {
  std::string name;
  bool is_weight = false;
  std::size_t samples = 0;                  // files read: sample directories, or 1 for a weight
  std::vector<std::int64_t> shape;          // of the first sample
  float min = 0.0f, max = 0.0f;             // of the finite values
  std::size_t non_finite = 0;               // values left out of the range and of the error
  std::vector<quanta::encoding> encodings;  // one, or one per channel
  std::optional<int> axis;                  // per-channel weights
  quanta::error_stats error;                // fake-quantization error over the finite values
};

// What one pass over a tensor's samples gathers for every method and width: the range and, for
// the histogram methods, the histogram (its domain follows the scheme, not the width).
struct observed_samples {
  std::vector<std::int64_t> shape;  // of the first sample
  std::size_t elements = 0;         // of the first sample
  std::size_t non_finite = 0;
  bool any_finite = false;
  float min = 0.0f, max = 0.0f;
  quanta::histogram histogram;
};

// Streams each sample through a min/max observer and, when `with_histogram`, a histogram.
observed_samples observe_samples(const activation_files& files,
                                 const quanta::encoding_options& options, bool with_histogram,
                                 const std::optional<std::vector<std::int64_t>>& shape);

// The encoding `method` gives the observed samples (a tensor without a finite value gets the
// encoding of [0, 0], as encode gives it).
quanta::encoding encode_observed(const observed_samples& observed, const range_method& method,
                                 const quanta::encoding_options& options);

// The error of fake-quantizing each sample of `files` with each of `encodings` (finite values
// only), pooled over the samples: one pass that reads each sample once.
std::vector<quanta::error_stats> sample_errors(
    const std::vector<std::string>& files, const std::vector<quanta::encoding>& encodings,
    const std::vector<quanta::quantize_options>& rounding,
    const std::optional<std::vector<std::int64_t>>& shape);

// Streams each sample of `files` through the method's observer or histogram (one sample in memory
// at a time), then measures the encoding's error in a second pass over the samples.
calibrated_tensor calibrate_activation(const activation_files& files, const range_method& method,
                                       const quantization& q,
                                       const std::optional<std::vector<std::int64_t>>& shape);

// A tensor to calibrate: load_tensor, and an input_error unless it holds float values (codes
// have no range to calibrate).
tensor load_float_tensor(const std::string& path,
                         const std::optional<std::vector<std::int64_t>>& shape);

// A weight (load_float_tensor): one encoding, or one per index of `axis`.
calibrated_tensor calibrate_weight(const tensor& t, const range_method& method,
                                   const quantization& q, std::optional<int> axis);

// --format: 0.6.1 (the default, which every QNN/SNPE version reads), 1.0.0 or 2.0.0.
quanta::io::encodings_version read_format(const arguments& a);

// Writes next to `path` and renames over it, so that a failed run leaves `path` as it was.
void write_encodings_atomically(const std::string& path, const quanta::io::encodings_file& file,
                                quanta::io::encodings_version version);

}  // namespace quanta_cli
