// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <ios>
#include <iterator>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "quanta/encoding.hpp"
#include "quanta/error.hpp"
#include "quanta/float16.hpp"
#include "quanta/span.hpp"

// NumPy .npy files (format versions 1.0, 2.0 and 3.0) of the dtypes layer dumps and quantized
// tensors use: float32, float16, int8, uint8, int16, int32, and float64 (np.save writes it for a
// default NumPy array; to_float() rounds it), in C order. Either byte order is read; files are
// written in the host's. float16 elements are quanta::float16 values.
namespace quanta::io {

// The order of npy_array::storage.
enum class npy_dtype { float32, float16, int8, uint8, int16, int32, float64 };

}  // namespace quanta::io

namespace quanta::detail {

struct npy_type_info {
  const char* name;  // NumPy's
  char kind;         // 'f', 'i', 'u'
  std::size_t bytes;
};

// Indexed by io::npy_dtype.
inline constexpr npy_type_info npy_types[] = {
    {"float32", 'f', 4}, {"float16", 'f', 2}, {"int8", 'i', 1},   {"uint8", 'u', 1},
    {"int16", 'i', 2},   {"int32", 'i', 4},   {"float64", 'f', 8}};

inline const npy_type_info& npy_info(io::npy_dtype t) noexcept {
  return npy_types[static_cast<std::size_t>(t)];
}

}  // namespace quanta::detail

namespace quanta::io {

// NumPy's name of the dtype ("float32", ...).
inline const char* npy_dtype_name(npy_dtype t) noexcept {
  return detail::npy_info(t).name;
}

}  // namespace quanta::io

namespace quanta::detail {

template <class T>
float npy_element_to_float(T v) noexcept {
  return static_cast<float>(v);
}

// C++ leaves a double beyond float's range undefined; IEEE rounds it to the largest float when
// it lies within half a unit of it and to infinity past that.
inline float npy_element_to_float(double v) noexcept {
  constexpr double largest = static_cast<double>(std::numeric_limits<float>::max());
  // FLT_MAX + half its unit in the last place: 2^128 - 2^103.
  constexpr double overflow = 340282356779733661637539395458142568448.0;
  if (v >= overflow) return std::numeric_limits<float>::infinity();
  if (v <= -overflow) return -std::numeric_limits<float>::infinity();
  if (v > largest) return std::numeric_limits<float>::max();
  if (v < -largest) return -std::numeric_limits<float>::max();
  return static_cast<float>(v);
}

}  // namespace quanta::detail

namespace quanta::io {

// A tensor read from or written to a .npy file. values holds one of the seven element types; its
// index is the npy_dtype.
struct npy_array {
  using storage = std::variant<std::vector<float>, std::vector<float16>, std::vector<std::int8_t>,
                               std::vector<std::uint8_t>, std::vector<std::int16_t>,
                               std::vector<std::int32_t>, std::vector<double>>;

  std::vector<std::int64_t> shape;  // () for a scalar
  storage values;

  npy_dtype dtype() const noexcept { return static_cast<npy_dtype>(values.index()); }
  std::size_t size() const noexcept {
    return std::visit([](const auto& v) { return v.size(); }, values);
  }

  // The elements as T; throws unless T is the array's element type.
  template <class T>
  const std::vector<T>& get() const {
    if (const auto* v = std::get_if<std::vector<T>>(&values)) return *v;
    QUANTA_THROW("npy_array::get: the array's dtype is ", npy_dtype_name(dtype()),
                 "; expected the element type asked for");
  }

  // Every element converted to float: float16 exactly, integers by value (int32 beyond 2^24 rounds
  // to the nearest float), float64 to the nearest float, where a magnitude past float's range
  // (above FLT_MAX by half a unit or more) becomes an infinity of its sign, as IEEE conversion
  // does, and NaN stays NaN.
  std::vector<float> to_float() const {
    return std::visit(
        [](const auto& v) {
          std::vector<float> out(v.size());
          for (std::size_t i = 0; i < v.size(); ++i)
            out[i] = detail::npy_element_to_float(v[i]);
          return out;
        },
        values);
  }
};

}  // namespace quanta::io

namespace quanta::detail {

inline bool host_is_little_endian() noexcept {
  const std::uint16_t probe = 1;
  unsigned char first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

// The descr NumPy writes for the dtype on this host: "<f4", "|i1", ...
inline std::string npy_descr(io::npy_dtype t) {
  const npy_type_info& info = npy_info(t);
  const char order = info.bytes == 1 ? '|' : (host_is_little_endian() ? '<' : '>');
  return std::string(1, order) + info.kind + std::to_string(info.bytes);
}

inline std::string shape_string(span<const std::int64_t> shape) {
  std::string s = "(";
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (d != 0) s += ", ";
    s += std::to_string(shape[d]);
  }
  return s + (shape.size() == 1 ? ",)" : ")");
}

// A reader of the header's Python dict literal, enough for what numpy.save writes.
class npy_header_parser {
 public:
  npy_header_parser(const char* function, const std::string& source, std::string text)
      : function_(function), source_(source), text_(std::move(text)) {}

  // The position just after `'key':`.
  std::size_t find_value(const char* key) const {
    for (const char quote : {'\'', '"'}) {
      const std::string quoted = std::string(1, quote) + key + quote;
      std::size_t at = text_.find(quoted);
      if (at == std::string::npos) continue;
      at = skip_space(at + quoted.size());
      if (at < text_.size() && text_[at] == ':') return skip_space(at + 1);
    }
    fail(std::string("has no '") + key + "' entry in its header");
  }

  std::string read_string(const char* key) const {
    std::size_t at = find_value(key);
    if (at >= text_.size() || (text_[at] != '\'' && text_[at] != '"')) {
      fail(std::string("has a '") + key + "' entry that is not a string (a structured dtype?)");
    }
    const char quote = text_[at];
    const std::size_t end = text_.find(quote, at + 1);
    if (end == std::string::npos) fail("has an unterminated string in its header");
    return text_.substr(at + 1, end - at - 1);
  }

  bool read_bool(const char* key) const {
    const std::size_t at = find_value(key);
    if (text_.compare(at, 4, "True") == 0) return true;
    if (text_.compare(at, 5, "False") == 0) return false;
    fail(std::string("has a '") + key + "' entry that is neither True nor False");
  }

  std::vector<std::int64_t> read_shape() const {
    std::size_t at = find_value("shape");
    if (at >= text_.size() || text_[at] != '(') fail("has a 'shape' entry that is not a tuple");
    std::vector<std::int64_t> shape;
    at = skip_space(at + 1);
    while (at < text_.size() && text_[at] != ')') {
      if (!std::isdigit(static_cast<unsigned char>(text_[at]))) {
        fail("has a 'shape' entry that is not a tuple of non-negative integers");
      }
      std::int64_t extent = 0;
      while (at < text_.size() && std::isdigit(static_cast<unsigned char>(text_[at]))) {
        if (extent > (std::int64_t{1} << 48)) fail("has a 'shape' entry too large to address");
        extent = extent * 10 + (text_[at] - '0');
        ++at;
      }
      if (at < text_.size() && text_[at] == 'L') ++at;  // Python 2 long literals
      shape.push_back(extent);
      at = skip_space(at);
      if (at < text_.size() && text_[at] == ',') at = skip_space(at + 1);
    }
    if (at >= text_.size()) fail("has an unterminated 'shape' tuple");
    return shape;
  }

  [[noreturn]] void fail(const std::string& what) const {
    QUANTA_THROW(function_, ": \"", source_, "\" ", what,
                 "; expected a header as numpy.save writes");
  }

 private:
  std::size_t skip_space(std::size_t at) const noexcept {
    while (at < text_.size() && (text_[at] == ' ' || text_[at] == '\t'))
      ++at;
    return at;
  }

  const char* function_;
  const std::string& source_;
  std::string text_;
};

inline io::npy_dtype npy_dtype_from_descr(const char* function, const std::string& source,
                                          const std::string& descr, bool& swap_bytes) {
  const bool valid_form = descr.size() == 3 && (descr[0] == '<' || descr[0] == '>' ||
                                                descr[0] == '|' || descr[0] == '=');
  if (valid_form) {
    const char kind = descr[1];
    const std::size_t bytes = static_cast<std::size_t>(descr[2] - '0');
    for (std::size_t k = 0; k < std::size(npy_types); ++k) {
      const npy_type_info& info = npy_types[k];
      if (info.kind != kind || info.bytes != bytes) continue;
      const bool little = descr[0] == '<' || (descr[0] != '>' && host_is_little_endian());
      swap_bytes = bytes > 1 && little != host_is_little_endian();
      return static_cast<io::npy_dtype>(k);
    }
  }
  QUANTA_THROW(function, ": \"", source, "\" has dtype '", descr,
               "'; expected float32, float16, float64, int8, uint8, int16 or int32 "
               "('<f4', '<f2', '<f8', '|i1', '|u1', '<i2', '<i4'; convert with x.astype(...))");
}

template <class T>
std::vector<T> npy_values(const unsigned char* data, std::size_t count, bool swap_bytes) {
  std::vector<T> v(count);
  if (count == 0) return v;
  std::memcpy(static_cast<void*>(v.data()), data, count * sizeof(T));
  if (swap_bytes) {
    auto* bytes = reinterpret_cast<unsigned char*>(v.data());
    for (std::size_t i = 0; i < count; ++i) {
      unsigned char* element = bytes + i * sizeof(T);
      for (std::size_t k = 0; k < sizeof(T) / 2; ++k)
        std::swap(element[k], element[sizeof(T) - 1 - k]);
    }
  }
  return v;
}

// Sets `values` to alternative `index` (an npy_dtype) holding `count` elements read from `data`.
template <std::size_t I = 0>
void assign_npy_values(io::npy_array::storage& values, std::size_t index, const unsigned char* data,
                       std::size_t count, bool swap_bytes) {
  if constexpr (I < std::variant_size_v<io::npy_array::storage>) {
    if (index != I) {
      assign_npy_values<I + 1>(values, index, data, count, swap_bytes);
      return;
    }
    using T = typename std::variant_alternative_t<I, io::npy_array::storage>::value_type;
    values = npy_values<T>(data, count, swap_bytes);
  }
}

// Where a .npy file's data starts and how many bytes it has, from its header.
struct npy_layout {
  io::npy_dtype dtype = io::npy_dtype::float32;
  bool swap_bytes = false;
  std::vector<std::int64_t> shape;
  std::size_t count = 0;
  std::size_t data_offset = 0;
  std::size_t data_bytes = 0;
};

// The preamble before a .npy header's text: the magic string, the version (major, minor), and the
// header's length, in 2 bytes for version 1 and 4 later, little-endian.
inline bool has_npy_magic(span<const unsigned char> bytes) noexcept {
  static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  return bytes.size() >= 6 && std::memcmp(bytes.data(), magic, 6) == 0;
}

inline std::size_t npy_length_bytes(unsigned major) noexcept {
  return major == 1 ? 2 : 4;
}

// The header length stored at bytes[8..8 + length_bytes); bytes holds at least that much.
inline std::size_t npy_header_length(span<const unsigned char> bytes,
                                     std::size_t length_bytes) noexcept {
  std::size_t header_length = 0;
  for (std::size_t k = length_bytes; k-- > 0;)
    header_length = header_length * 256 + bytes[8 + k];
  return header_length;
}

inline npy_layout parse_npy_layout(const char* function, span<const unsigned char> bytes,
                                   const std::string& source) {
  if (bytes.size() < 10 || !has_npy_magic(bytes)) {
    QUANTA_THROW(function, ": \"", source,
                 "\" does not start with the .npy magic string \\x93NUMPY; expected a NumPy .npy "
                 "file");
  }
  const unsigned major = bytes[6];
  if (major < 1 || major > 3) {
    QUANTA_THROW(function, ": \"", source, "\" has .npy format version ", major, ".", int{bytes[7]},
                 "; expected 1.0, 2.0 or 3.0");
  }
  const std::size_t length_bytes = npy_length_bytes(major);
  if (bytes.size() < 8 + length_bytes) {
    QUANTA_THROW(function, ": \"", source, "\" is ", bytes.size(),
                 " bytes long; expected a complete .npy header (the file is truncated)");
  }
  const std::size_t header_length = npy_header_length(bytes, length_bytes);
  const std::size_t data_offset = 8 + length_bytes + header_length;
  if (bytes.size() < data_offset) {
    QUANTA_THROW(function, ": \"", source, "\" is ", bytes.size(),
                 " bytes long; expected at least ", data_offset,
                 " for its header (the file is truncated)");
  }
  const npy_header_parser header(
      function, source,
      std::string(reinterpret_cast<const char*>(bytes.data()) + 8 + length_bytes, header_length));

  npy_layout layout;
  layout.dtype =
      npy_dtype_from_descr(function, source, header.read_string("descr"), layout.swap_bytes);
  if (header.read_bool("fortran_order")) {
    QUANTA_THROW(function, ": \"", source,
                 "\" has fortran_order True; expected C order (save np.ascontiguousarray(x))");
  }
  layout.shape = header.read_shape();
  layout.count = 1;
  for (const std::int64_t extent : layout.shape)
    layout.count = checked_product(function, layout.count, static_cast<std::size_t>(extent));
  layout.data_offset = data_offset;
  layout.data_bytes = checked_product(function, layout.count, npy_info(layout.dtype).bytes);
  return layout;
}

// The whole file must be header and data: bytes after the data are an error, as a file cut short
// is, because neither can be told apart from a writer that went wrong.
inline io::npy_array parse_npy(const char* function, span<const unsigned char> bytes,
                               const std::string& source) {
  const npy_layout layout = parse_npy_layout(function, bytes, source);
  const std::size_t available = bytes.size() - layout.data_offset;
  if (available != layout.data_bytes) {
    QUANTA_THROW(
        function, ": \"", source, "\" holds ", available, " bytes of data; expected ",
        layout.data_bytes, " for shape ", shape_string(layout.shape), " of ",
        io::npy_dtype_name(layout.dtype),
        available < layout.data_bytes ? " (the file is truncated)" : " (bytes follow the data)");
  }
  io::npy_array array;
  array.shape = layout.shape;
  assign_npy_values(array.values, static_cast<std::size_t>(layout.dtype),
                    bytes.data() + layout.data_offset, layout.count, layout.swap_bytes);
  return array;
}

// The bytes a .npy file should have in all, once enough of it is read to tell; 0 while unknown.
// A file that cannot be a .npy file (wrong magic string, bad version) reports what it has read, so
// that reading stops there and parse_npy says why.
inline std::size_t npy_expected_size(const char* function, span<const unsigned char> bytes,
                                     const std::string& source) {
  if (bytes.size() < 12) return 0;
  if (!has_npy_magic(bytes) || bytes[6] < 1 || bytes[6] > 3) return bytes.size();
  const std::size_t length_bytes = npy_length_bytes(bytes[6]);
  if (bytes.size() < 8 + length_bytes + npy_header_length(bytes, length_bytes)) return 0;
  const npy_layout layout = parse_npy_layout(function, bytes, source);
  if (layout.data_bytes > std::numeric_limits<std::size_t>::max() - layout.data_offset) {
    QUANTA_THROW(function, ": \"", source, "\" declares ", layout.data_bytes,
                 " bytes of data; expected a size that fits in memory");
  }
  return layout.data_offset + layout.data_bytes;
}

// Reads a .npy file, and no more of it than its header says it holds (plus one byte, to see that
// nothing follows): a device such as /dev/zero or an endless pipe ends the read at once.
inline std::vector<unsigned char> read_npy_file_bytes(const char* function,
                                                      const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    QUANTA_THROW(function, ": path \"", path, "\" cannot be opened (", std::strerror(errno),
                 "); expected a readable file");
  }
  std::vector<unsigned char> bytes;
  constexpr std::size_t chunk = std::size_t{1} << 16;
  std::size_t expected = 0;
  const auto read_chunks = [&] {
    while (in && (expected == 0 || bytes.size() <= expected)) {
      const std::size_t want = expected == 0 ? chunk : std::min(chunk, expected + 1 - bytes.size());
      const std::size_t old_size = bytes.size();
      bytes.resize(old_size + want);
      in.read(reinterpret_cast<char*>(bytes.data() + old_size), static_cast<std::streamsize>(want));
      bytes.resize(old_size + static_cast<std::size_t>(in.gcount()));
      if (expected == 0) expected = npy_expected_size(function, bytes, path);
    }
  };
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
  try {
    read_chunks();
  } catch (const std::ios_base::failure& failure) {
    // libstdc++ throws from the stream buffer (reading a directory, for one) whatever the
    // stream's exception mask says.
    QUANTA_THROW(function, ": path \"", path, "\" cannot be read (", failure.what(),
                 "); expected a regular .npy file");
  }
#else
  read_chunks();  // without exceptions the standard library aborts where it would throw
#endif
  if (in.bad()) {
    QUANTA_THROW(function, ": path \"", path, "\" cannot be read (", std::strerror(errno),
                 "); expected a readable file");
  }
  return bytes;
}

inline void check_npy_array(const char* function, const io::npy_array& array) {
  std::size_t count = 1;
  for (std::size_t d = 0; d < array.shape.size(); ++d) {
    if (array.shape[d] < 0) {
      QUANTA_THROW(function, ": shape[", d, "] is ", array.shape[d], "; expected a size >= 0");
    }
    count = checked_product(function, count, static_cast<std::size_t>(array.shape[d]));
  }
  if (count != array.size()) {
    QUANTA_THROW(function, ": shape ", shape_string(array.shape), " describes ", count,
                 " elements but the array holds ", array.size(), "; expected equal counts");
  }
}

}  // namespace quanta::detail

namespace quanta::io {

// The .npy image of `array`: format 1.0 (2.0 for headers over 64 KiB), header padded so that the
// data starts at a multiple of 64 bytes, as numpy.save writes it.
inline std::vector<unsigned char> to_npy_bytes(const npy_array& array) {
  detail::check_npy_array("to_npy_bytes", array);
  std::string header = "{'descr': '" + detail::npy_descr(array.dtype()) +
                       "', 'fortran_order': False, 'shape': " + detail::shape_string(array.shape) +
                       ", }";
  const std::size_t length_bytes = header.size() + 1 + 10 > 65535 ? 4 : 2;
  const std::size_t prefix = 8 + length_bytes;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::vector<unsigned char> out = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  out.push_back(length_bytes == 2 ? 1 : 2);
  out.push_back(0);
  for (std::size_t k = 0; k < length_bytes; ++k)
    out.push_back(static_cast<unsigned char>((header.size() >> (8 * k)) & 0xff));
  out.insert(out.end(), header.begin(), header.end());
  std::visit(
      [&out](const auto& v) {
        const auto* first = reinterpret_cast<const unsigned char*>(v.data());
        out.insert(out.end(), first, first + v.size() * sizeof(v[0]));
      },
      array.values);
  return out;
}

// Parses the bytes of a .npy file; `source` names it in error messages.
inline npy_array parse_npy(span<const unsigned char> bytes, const std::string& source = "buffer") {
  return detail::parse_npy("parse_npy", bytes, source);
}

inline npy_array read_npy(const std::string& path) {
  const std::vector<unsigned char> bytes = detail::read_npy_file_bytes("read_npy", path);
  return detail::parse_npy("read_npy", bytes, path);
}

// Writes `array` to `path`, replacing the file. The array is checked before the file is opened.
inline void write_npy(const std::string& path, const npy_array& array) {
  constexpr const char* function = "write_npy";
  detail::check_npy_array(function, array);
  const std::vector<unsigned char> bytes = to_npy_bytes(array);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    QUANTA_THROW(function, ": path \"", path, "\" cannot be opened for writing (",
                 std::strerror(errno), "); expected a writable location");
  }
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    QUANTA_THROW(function, ": path \"", path, "\" could not be written completely (",
                 std::strerror(errno), "); expected a writable location with free space");
  }
}

// Writes `values` with `shape` (C order).
template <class T>
void write_npy(const std::string& path, span<const T> values, span<const std::int64_t> shape) {
  static_assert(
      std::is_constructible_v<npy_array::storage, std::vector<T>>,
      "write_npy: expected float, quanta::float16, double, int8, uint8, int16 or int32 values");
  npy_array array;
  array.shape.assign(shape.begin(), shape.end());
  array.values = std::vector<T>(values.begin(), values.end());
  write_npy(path, array);
}

}  // namespace quanta::io
