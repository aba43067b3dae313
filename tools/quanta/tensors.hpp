// The `quanta` tool: reading tensors from .npy files and raw float32 .bin dumps.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace quanta_cli {

struct tensor {
  std::string path;
  std::string name;  // the file name without its extension: what dumps of two runs share
  std::vector<std::int64_t> shape;
  std::string dtype;  // NumPy's name: float32, float16, int8, ...
  bool is_float = true;
  bool flat = false;  // a .bin read without --shape: its shape is only its element count
  std::vector<float> values;
};

// Reads a .npy file, or a raw little-endian float32 .bin dump (Magik writes these) with
// `bin_shape` when given. Throws input_error or quanta::error with the reason.
tensor load_tensor(const std::string& path,
                   const std::optional<std::vector<std::int64_t>>& bin_shape);

// --shape describes raw .bin dumps: given with files none of which is one, it would be ignored,
// so it is a usage error.
void check_shape_applies(const std::vector<std::string>& files,
                         const std::optional<std::vector<std::int64_t>>& bin_shape);

// encode and inspect need at least one value; an empty tensor is the same input error for both.
void check_not_empty(const tensor& t);

// The .npy and .bin files directly inside `dir`, in natural order (layer2 before layer10).
std::vector<std::string> list_tensor_files(const std::string& dir);

bool is_directory(const std::string& path);
std::string file_stem(const std::string& path);
std::string file_name(const std::string& path);
bool natural_less(const std::string& a, const std::string& b);
std::string shape_string(const std::vector<std::int64_t>& shape);  // "1x3x224x224", "scalar"

// The element count of the slices along axis 0: samples of a batch, channels of a weight.
std::size_t slice_size(const tensor& t);

}  // namespace quanta_cli
