#include "calibration.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <system_error>

#include <quanta/calibrate/observer.hpp>
#include <quanta/quantize.hpp>

#include "arguments.hpp"

namespace quanta_cli {

tensor load_float_tensor(const std::string& path,
                         const std::optional<std::vector<std::int64_t>>& shape) {
  tensor t = load_tensor(path, shape);
  check_not_empty(t);
  if (!t.is_float) {
    throw input_error(path + ": has dtype " + t.dtype +
                      "; expected float values (float32, float16 or float64) to calibrate");
  }
  return t;
}

namespace {

// Samples may differ in their batch size (axis 0), not in anything else.
bool same_sample_shape(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
  if (a.size() != b.size()) return false;
  return a.empty() || std::equal(a.begin() + 1, a.end(), b.begin() + 1);
}

}  // namespace

void check_streamable(const range_method& method) {
  if (is_streamable(method)) return;
  throw usage_error("--method " + method.spelling +
                    " needs every value of a tensor at once; activations are streamed sample by "
                    "sample: use minmax, tf_enhanced, percentile, mse or entropy");
}

calibration_inputs find_calibration_inputs(const std::vector<std::string>& inputs,
                                           const std::optional<std::vector<std::int64_t>>& shape) {
  calibration_inputs found;
  for (const std::string& input : inputs)
    (is_directory(input) ? found.sample_dirs : found.weights).push_back(input);
  check_shape_applies(inputs, shape);

  std::map<std::string, std::size_t> index;  // name -> position in found.activations
  for (std::size_t s = 0; s < found.sample_dirs.size(); ++s) {
    const std::string& dir = found.sample_dirs[s];
    const std::vector<std::string> files = list_tensor_files(dir);
    if (files.empty()) throw input_error(dir + ": holds no .npy or .bin files");
    std::map<std::string, int> seen;
    for (const std::string& f : files) {
      const std::string name = file_stem(f);
      if (++seen[name] > 1) {
        throw input_error(dir + ": two files are named " + name + " (.npy and .bin); expected one");
      }
      auto it = index.find(name);
      if (it == index.end()) {
        if (s != 0) {
          throw input_error("sample " + dir + " has " + name + ", which sample " +
                            found.sample_dirs[0] + " lacks; expected the same tensors in each");
        }
        index.emplace(name, found.activations.size());
        found.activations.push_back({name, {}});
        it = index.find(name);
      }
      found.activations[it->second].paths.push_back(f);
    }
    for (const activation_files& a : found.activations) {
      if (a.paths.size() != s + 1) {
        throw input_error("sample " + dir + " has no " + a.name + ", which sample " +
                          found.sample_dirs[0] + " has; expected the same tensors in each");
      }
    }
  }
  std::sort(found.activations.begin(), found.activations.end(),
            [](const activation_files& a, const activation_files& b) {
              return natural_less(a.name, b.name);
            });
  return found;
}

observed_samples observe_samples(const activation_files& files,
                                 const quanta::encoding_options& options, bool with_histogram,
                                 const std::optional<std::vector<std::int64_t>>& shape) {
  observed_samples r{{}, 0, 0, false, 0.0f, 0.0f, empty_histogram(options)};
  quanta::observer_options observing;
  observing.skip_non_finite = true;
  quanta::min_max_observer range(observing);
  for (std::size_t s = 0; s < files.paths.size(); ++s) {
    const std::string& path = files.paths[s];
    const tensor t = load_float_tensor(path, shape);
    if (s == 0) {
      r.shape = t.shape;
      r.elements = t.values.size();
    } else if (!same_sample_shape(r.shape, t.shape)) {
      throw input_error(path + ": is " + shape_string(t.shape) + " where " + files.paths.front() +
                        " is " + shape_string(r.shape) +
                        "; expected samples that differ at most in axis 0");
    }
    const std::vector<float> x = finite_values(t.values, r.non_finite);
    if (x.empty()) continue;
    range.observe(x);
    if (with_histogram) r.histogram.observe(x);
  }
  r.any_finite = !range.empty();
  if (r.any_finite) {
    r.min = range.range().min;
    r.max = range.range().max;
  }
  return r;
}

quanta::encoding encode_observed(const observed_samples& observed, const range_method& method,
                                 const quanta::encoding_options& options) {
  if (!observed.any_finite) return quanta::compute_encoding(0.0f, 0.0f, options);
  if (method.name == "minmax") return quanta::compute_encoding(observed.min, observed.max, options);
  return encode_histogram(method, observed.histogram, options);
}

std::vector<quanta::error_stats> sample_errors(
    const std::vector<std::string>& files, const std::vector<quanta::encoding>& encodings,
    const std::vector<quanta::quantize_options>& rounding,
    const std::optional<std::vector<std::int64_t>>& shape) {
  std::vector<quanta::error_accumulator> pooled(encodings.size());
  for (const std::string& path : files) {
    std::size_t ignored = 0;
    const std::vector<float> x = finite_values(load_float_tensor(path, shape).values, ignored);
    if (x.empty()) continue;
    std::vector<float> y(x.size());
    for (std::size_t k = 0; k < encodings.size(); ++k) {
      quanta::quantize_dequantize(x, encodings[k], y, rounding[k]);
      pooled[k].add(x, y);
    }
  }
  std::vector<quanta::error_stats> errors;
  for (const quanta::error_accumulator& p : pooled)
    errors.push_back(p.pooled());
  return errors;
}

calibrated_tensor calibrate_activation(const activation_files& files, const range_method& method,
                                       const quantization& q,
                                       const std::optional<std::vector<std::int64_t>>& shape) {
  check_streamable(method);
  const observed_samples observed =
      observe_samples(files, q.options, method.name != "minmax", shape);
  calibrated_tensor r;
  r.name = files.name;
  r.samples = files.paths.size();
  r.shape = observed.shape;
  r.non_finite = observed.non_finite;
  r.min = observed.min;
  r.max = observed.max;
  r.encodings = {encode_observed(observed, method, q.options)};
  r.error = sample_errors(files.paths, r.encodings, {q.rounding}, shape).front();
  return r;
}

calibrated_tensor calibrate_weight(const tensor& t, const range_method& method,
                                   const quantization& q, std::optional<int> axis) {
  calibrated_tensor r;
  r.name = t.name;
  r.is_weight = true;
  r.samples = 1;
  r.shape = t.shape;
  r.axis = axis;
  std::size_t non_finite = 0;
  const std::vector<float> finite = finite_values(t.values, non_finite);
  r.non_finite = non_finite;
  if (!finite.empty()) {
    const auto extremes = std::minmax_element(finite.begin(), finite.end());
    r.min = *extremes.first;
    r.max = *extremes.second;
  }
  if (axis) {
    const quanta::channel_layout layout = quanta::channel_layout::from_shape(t.shape, *axis);
    try {
      r.encodings = encode_channels(method, t.values, layout, q.options);
    } catch (const input_error& failure) {  // names the channel
      throw input_error(t.path + ": method " + method.spelling + ": " + failure.what());
    }
    // Non-finite values take no part in the error, as for activations.
    std::vector<float> x = t.values;
    for (float& v : x)
      if (!std::isfinite(v)) v = 0.0f;
    fake_quant_error(x, layout, r.encodings, q, r.error);
  } else {
    r.encodings = {encode_with(method, t.values, q.options)};
    if (!finite.empty()) r.error = fake_quant_error(finite, r.encodings.front(), q);
  }
  return r;
}

quanta::io::encodings_version read_format(const arguments& a) {
  const std::string v = a.choice("format", {"0.6.1", "1.0.0", "2.0.0"}, "0.6.1");
  return v == "0.6.1"   ? quanta::io::encodings_version::v0_6_1
         : v == "1.0.0" ? quanta::io::encodings_version::v1_0_0
                        : quanta::io::encodings_version::v2_0_0;
}

void write_encodings_atomically(const std::string& path, const quanta::io::encodings_file& file,
                                quanta::io::encodings_version version) {
  namespace fs = std::filesystem;
  quanta::io::write_options options;
  options.version = version;
  const std::string text = quanta::io::write_encodings(file, options);
  const std::string temporary = path + ".quanta-partial";
  {
    std::FILE* out = std::fopen(temporary.c_str(), "wb");
    if (out == nullptr) throw input_error(path + ": cannot be written (its folder must exist)");
    const bool written = std::fwrite(text.data(), 1, text.size(), out) == text.size();
    if (std::fclose(out) != 0 || !written) {
      std::error_code ignored;
      fs::remove(temporary, ignored);
      throw input_error(path + ": could not be written completely");
    }
  }
  std::error_code failure;
  fs::rename(temporary, path, failure);
  if (failure) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw input_error(path + ": cannot be replaced (" + failure.message() + ")");
  }
}

}  // namespace quanta_cli
