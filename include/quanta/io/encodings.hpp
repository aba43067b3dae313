// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "quanta/encoding.hpp"
#include "quanta/error.hpp"
#include "quanta/lpbq.hpp"

// Whether nlohmann throws (its exceptions are turned into quanta::error) or aborts.
#if (defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)) && \
    !defined(JSON_NOEXCEPTION)
#define QUANTA_IO_JSON_EXCEPTIONS 1
#else
#define QUANTA_IO_JSON_EXCEPTIONS 0
#endif

// AIMET / QNN / SNPE encodings files: the host names its tensors and hands quanta their
// encodings; quanta reads and writes the three file versions AIMET defines. docs/encodings_files.md
// states the rules: field by field, what each version can hold, and what a reader reports.
//   0.6.1  QNN/SNPE --quantization_overrides: {"activation_encodings": {name: [entry, ...]}, ...},
//          one entry per channel, offsets on the unsigned grid, is_symmetric "True"/"False".
//   1.0.0  lists of {name, dtype, enc_type, bw, is_sym, scale[], offset[], block_size}; LPBQ
//          entries add compressed_bw and per_block_int_scale[].
//   2.0.0  lists of {name, output_dtype, y_scale, y_zero_point, axis, block_size} (ONNX QDQ);
//          LPBQ entries hold per_channel_float_scale and per_block_int_scale instead of y_*.
namespace quanta::io {

enum class encodings_version { v0_6_1, v1_0_0, v2_0_0 };

inline const char* to_string(encodings_version v) noexcept {
  switch (v) {
    case encodings_version::v0_6_1:
      return "0.6.1";
    case encodings_version::v1_0_0:
      return "1.0.0";
    case encodings_version::v2_0_0:
      return "2.0.0";
  }
  return "?";
}

enum class tensor_kind {
  quantized,      // integer codes with the encodings below
  float_tensor,   // kept in floating point, 16 or 32 bits (0.6.1 {"dtype": "float"})
  bitwidth_only,  // integer at `bitwidth` bits, range left to the consumer's own calibration
};

// lpbq: low-power blockwise quantization (AIMET's enc_type LPBQ), held in tensor_encoding::lpbq.
enum class granularity { per_tensor, per_channel, per_block, lpbq };

// Everything a file says about one tensor.
struct tensor_encoding {
  tensor_kind kind = tensor_kind::quantized;
  granularity layout = granularity::per_tensor;
  // quantized: one encoding (per_tensor), one per channel, or one per block in the order
  // quanta::block_layout::encoding_index gives. All share bitwidth, signedness and narrow_range.
  std::vector<encoding> encodings;
  bool is_symmetric = false;   // quantized and bitwidth_only
  std::optional<int> axis;     // per_channel: the channel axis; per_block: the blocked axis
  std::size_t block_size = 0;  // per_block only
  // per_block: the shape of the encodings array (2.0.0 nests y_scale by it); empty means flat.
  // lpbq: the shape of the block scales (2.0.0 nests per_block_int_scale by it); empty means flat.
  std::vector<std::size_t> shape;
  int bitwidth = 0;  // float_tensor (16 or 32) and bitwidth_only; quantized reads encodings
  // layout == lpbq: channel and block scales, bitwidths and block size (`encodings` is empty,
  // is_symmetric true, axis the blocked axis). quanta::lpbq_block_encodings expands it.
  lpbq_encoding lpbq;

  static tensor_encoding per_tensor(const encoding& e, bool is_symmetric = false) {
    tensor_encoding t;
    t.encodings = {e};
    t.is_symmetric = is_symmetric;
    return t;
  }
  static tensor_encoding per_channel(std::vector<encoding> encodings, std::optional<int> axis,
                                     bool is_symmetric = false) {
    tensor_encoding t;
    t.layout = granularity::per_channel;
    t.encodings = std::move(encodings);
    t.axis = axis;
    t.is_symmetric = is_symmetric;
    return t;
  }
  static tensor_encoding per_block(std::vector<encoding> encodings, std::optional<int> axis,
                                   std::size_t block_size, std::vector<std::size_t> shape = {},
                                   bool is_symmetric = false) {
    tensor_encoding t;
    t.layout = granularity::per_block;
    t.encodings = std::move(encodings);
    t.axis = axis;
    t.block_size = block_size;
    t.shape = std::move(shape);
    t.is_symmetric = is_symmetric;
    return t;
  }
  static tensor_encoding from_lpbq(lpbq_encoding e, std::optional<int> axis,
                                   std::vector<std::size_t> shape = {}) {
    tensor_encoding t;
    t.layout = granularity::lpbq;
    t.lpbq = std::move(e);
    t.axis = axis;
    t.shape = std::move(shape);
    t.is_symmetric = true;
    return t;
  }
  static tensor_encoding floating(int bitwidth) {
    tensor_encoding t;
    t.kind = tensor_kind::float_tensor;
    t.bitwidth = bitwidth;
    return t;
  }
  static tensor_encoding bitwidth_only(int bitwidth, bool is_symmetric = false) {
    tensor_encoding t;
    t.kind = tensor_kind::bitwidth_only;
    t.bitwidth = bitwidth;
    t.is_symmetric = is_symmetric;
    return t;
  }

  friend bool operator==(const tensor_encoding& a, const tensor_encoding& b) {
    return a.kind == b.kind && a.layout == b.layout && a.encodings == b.encodings &&
           a.is_symmetric == b.is_symmetric && a.axis == b.axis && a.block_size == b.block_size &&
           a.shape == b.shape && a.bitwidth == b.bitwidth && a.lpbq == b.lpbq;
  }
  friend bool operator!=(const tensor_encoding& a, const tensor_encoding& b) { return !(a == b); }
};

// Sorted by name, so that a written file does not depend on insertion order.
using encoding_map = std::map<std::string, tensor_encoding>;

struct encodings_file {
  encoding_map activations;  // "activation_encodings"
  encoding_map params;       // "param_encodings"

  friend bool operator==(const encodings_file& a, const encodings_file& b) {
    return a.activations == b.activations && a.params == b.params;
  }
  friend bool operator!=(const encodings_file& a, const encodings_file& b) { return !(a == b); }
};

// 0.6.1 and 1.0.0 count codes from the bottom of the unsigned grid and do not say which storage
// type the host uses; 2.0.0 says it in output_dtype and ignores this choice. 32-bit encodings are
// always signed.
enum class code_storage {
  unsigned_codes,       // q in [0, 2^b - 1], QNN's own view
  signed_codes,         // q in [-2^(b-1), 2^(b-1) - 1]
  signed_if_symmetric,  // symmetric encodings signed, the others unsigned
};

struct read_options {
  code_storage storage = code_storage::unsigned_codes;
  // 1.0.0 and 2.0.0 cannot tell the strict symmetric grid [-(2^(b-1) - 1), 2^(b-1) - 1] from the
  // full one; this says which symmetric encodings with a centred zero point use. (0.6.1 tells by
  // min, and AIMET's strict offset -(2^(b-1) - 1) tells in every version.)
  bool symmetric_narrow_range = false;
  // The minimum range of the qnn rules that complete an entry holding only min and max.
  double min_range = 0.01;
};

struct read_result {
  encodings_file encodings;
  encodings_version version = encodings_version::v0_6_1;
  // What the reader found and accepted without error: fields that disagree with each other,
  // ignored keys, offsets it had to recompute. Each names the tensor and the field.
  std::vector<std::string> warnings;
};

struct write_options {
  encodings_version version = encodings_version::v0_6_1;
  int indent = 2;  // as nlohmann::json::dump: -1 writes one line
};

// ---------------------------------------------------------------------------------------------

}  // namespace quanta::io

namespace quanta::detail {

using ordered_json = nlohmann::ordered_json;

// Where the reader is, for messages: "param_encodings: Conv2d/weights: entry 1".
struct json_place {
  const char* function;
  std::string where;
};

[[noreturn]] inline void json_fail_text(const json_place& at, const char* field,
                                        const std::string& text, const char* expected) {
  QUANTA_THROW(at.function, ": ", at.where, ": ", field, " is ", text, "; expected ", expected);
}

[[noreturn]] inline void json_fail(const json_place& at, const char* field,
                                   const nlohmann::json& value, const char* expected) {
  json_fail_text(at, field, value.dump(), expected);
}

[[noreturn]] inline void json_missing(const json_place& at, const char* field,
                                      const char* expected) {
  QUANTA_THROW(at.function, ": ", at.where, ": ", field, " is missing; expected ", expected);
}

inline const nlohmann::json* json_field(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

inline double json_number(const json_place& at, const char* field, const nlohmann::json& v) {
  if (!v.is_number()) json_fail(at, field, v, "a number");
  const double d = v.get<double>();
  if (!std::isfinite(d)) json_fail(at, field, v, "a finite number");
  return d;
}

// An integer, also when written as a float with no fraction ("offset": -128.0, as AIMET's Python
// writes it).
inline std::int64_t json_integer(const json_place& at, const char* field, const nlohmann::json& v) {
  if (v.is_number_unsigned()) {
    if (v.get<std::uint64_t>() >
        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      json_fail(at, field, v, "an integer that fits int64");
    }
    return static_cast<std::int64_t>(v.get<std::uint64_t>());
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) <= 9007199254740992.0) {
      return static_cast<std::int64_t>(d);
    }
  }
  json_fail(at, field, v, "an integer");
}

inline std::int64_t json_integer_in(const json_place& at, const char* field,
                                    const nlohmann::json& v, std::int64_t lo, std::int64_t hi,
                                    const char* expected) {
  const std::int64_t i = json_integer(at, field, v);
  if (i < lo || i > hi) json_fail(at, field, v, expected);
  return i;
}

inline const std::string& json_string(const json_place& at, const char* field,
                                      const nlohmann::json& v) {
  if (!v.is_string()) json_fail(at, field, v, "a string");
  return v.get_ref<const std::string&>();
}

// 0.6.1 writes Python's str(bool), 1.0.0 a JSON bool; either is accepted in both.
inline bool json_bool(const json_place& at, const char* field, const nlohmann::json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s == "True") return true;
    if (s == "False") return false;
  }
  json_fail(at, field, v, "\"True\" or \"False\" (or a JSON bool)");
}

inline bool valid_int_bitwidth(std::int64_t b) noexcept {
  return (b >= 2 && b <= 16) || b == 32;
}

inline bool is_signed_storage(io::code_storage s, bool is_symmetric, int bitwidth) noexcept {
  if (bitwidth == 32) return true;
  return s == io::code_storage::signed_codes ||
         (s == io::code_storage::signed_if_symmetric && is_symmetric);
}

// The zero point of a symmetric grid: the centre of the storage range.
inline std::int64_t centred_offset(int bitwidth) noexcept {
  return -(std::int64_t{1} << (bitwidth - 1));
}

inline float json_scale(const json_place& at, const char* field, const nlohmann::json& v) {
  const double d = json_number(at, field, v);
  // Checked before the conversion: a double beyond the float range does not convert.
  const bool in_range = d > 0.0 && d <= static_cast<double>(std::numeric_limits<float>::max());
  if (!(in_range && static_cast<float>(d) > 0.0f)) {
    json_fail(at, field, v, "a finite value > 0 (as a float)");
  }
  return static_cast<float>(d);
}

// The encoding of a QNN (scale, offset) pair. AIMET's strict symmetric grid, offset
// -(2^(b-1) - 1) on [0, 2^b - 2], holds the same reals as quanta's narrow grid with the zero point
// at the centre, which is what quanta keeps (and writes back as -2^(b-1), as SNPE requires).
inline encoding offset_encoding(float scale, std::int64_t offset, int bitwidth, bool is_signed,
                                bool is_symmetric, bool narrow_if_centred) {
  const std::int64_t centre = centred_offset(bitwidth);
  if (is_symmetric && offset == centre + 1) {
    return encoding::from_offset(scale, centre, bitwidth, is_signed, true);
  }
  const bool narrow = is_symmetric && offset == centre && narrow_if_centred;
  return encoding::from_offset(scale, offset, bitwidth, is_signed, narrow);
}

inline void check_offset(const json_place& at, const char* field, const nlohmann::json& v,
                         std::int64_t offset, int bitwidth) {
  const std::int64_t lowest = -((std::int64_t{1} << bitwidth) - 1);
  if (offset < lowest || offset > 0) {
    json_fail(at, field, v,
              message("an integer in ", lowest, "..0 for ", bitwidth,
                      " bits (offset = -zero_point on the unsigned grid)")
                  .c_str());
  }
}

inline void warn_unknown_keys(const json_place& at, const nlohmann::json& object,
                              std::initializer_list<const char*> known,
                              std::vector<std::string>& warnings) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    bool found = false;
    for (const char* k : known)
      found = found || it.key() == k;
    if (!found)
      warnings.push_back(message(at.where, ": ", it.key(), " is not a known field; ignored"));
  }
}

// QNN's min and max of the grid, from the float scale, in double.
inline double grid_min(const encoding& e) {
  return static_cast<double>(e.scale) * static_cast<double>(std::int64_t{e.qmin()} - e.zero_point);
}
inline double grid_max(const encoding& e) {
  return static_cast<double>(e.scale) * static_cast<double>(std::int64_t{e.qmax()} - e.zero_point);
}

// 0.6.1 stores min and max, which QNN and SNPE read as floats: a grid reaching beyond the float
// range cannot be written, so the reader refuses it too.
inline bool grid_in_float_range(const encoding& e) {
  constexpr double float_max = static_cast<double>(std::numeric_limits<float>::max());
  return grid_min(e) >= -float_max && grid_max(e) <= float_max;
}

inline void check_grid_in_float_range(const json_place& at, const encoding& e,
                                      const std::string& origin) {
  if (grid_in_float_range(e)) return;
  QUANTA_THROW(at.function, ": ", at.where, ": ", origin, " give the grid ", grid_min(e), " .. ",
               grid_max(e), "; expected min and max within the float range (+-",
               std::numeric_limits<float>::max(), "), as 0.6.1 files store them");
}

// AIMET's strict symmetric offset -(2^(b-1) - 1): with the symmetric flag, readers take it as the
// strict grid, whatever the encoding meant.
inline bool has_strict_offset(const encoding& e) noexcept {
  return e.offset() == centred_offset(e.bitwidth) + 1;
}

// --- parsing ------------------------------------------------------------------------------------

// nlohmann's parser and destructor are iterative, but json::dump (in error messages) and the
// 2.0.0 scale reader recurse, so deeper text is refused while it is parsed. AIMET files nest at
// most 5 levels; 2.0.0 per-block scales 3 + the rank of the scale array.
constexpr std::size_t max_json_depth = 64;
constexpr std::size_t max_scale_rank = max_json_depth - 3;
// The axes the reader accepts, and so the most the writer may write.
constexpr int lowest_axis = -64;
constexpr int highest_axis = 63;

// Sees every parse event of read_encodings: limits the depth, and rejects a key repeated in one
// object, which nlohmann would merge silently (a tensor twice in a 0.6.1 section, a field twice
// in an entry). Locations are labelled as the reader labels them.
class json_guard {
 public:
  explicit json_guard(const char* function) : function_(function) {}

  bool on_event(nlohmann::json::parse_event_t event, const nlohmann::json& parsed) {
    using event_t = nlohmann::json::parse_event_t;
    switch (event) {
      case event_t::object_start:
      case event_t::array_start:
        open(event == event_t::object_start);
        break;
      case event_t::object_end:
      case event_t::array_end:
        frames_.pop_back();
        break;
      case event_t::key:
        add_key(parsed);
        break;
      case event_t::value:
        if (!frames_.empty() && !frames_.back().is_object) ++frames_.back().elements;
        break;
    }
    return true;
  }

 private:
  struct frame {
    bool is_object = false;
    std::string label;                      // "param_encodings: w", "param_encodings[3]"
    std::set<std::string> keys;             // objects: the keys so far
    const std::string* last_key = nullptr;  // objects: the key of the value being parsed
    std::size_t elements = 0;               // arrays: the elements so far
  };

  static std::string where(const std::string& label) {
    return label.empty() ? std::string("the file") : label;
  }

  std::string child_label() {
    if (frames_.empty()) return {};
    frame& parent = frames_.back();
    const std::size_t index = parent.elements;
    if (!parent.is_object) ++parent.elements;
    // Deep paths stop growing once they are long: "[0][0]..." says nothing more.
    constexpr const char* elided = "[...]";
    if (parent.label.size() > 100) {
      const bool has_elision =
          parent.label.size() >= 5 && parent.label.compare(parent.label.size() - 5, 5, elided) == 0;
      return has_elision ? parent.label : parent.label + elided;
    }
    if (!parent.is_object) return message(where(parent.label), "[", index, "]");
    const std::string& key = parent.last_key ? *parent.last_key : std::string();
    return parent.label.empty() ? key : message(parent.label, ": ", key);
  }

  void open(bool is_object) {
    frame f;
    f.is_object = is_object;
    f.label = child_label();
    if (frames_.size() + 1 > max_json_depth) {
      QUANTA_THROW(function_, ": ", where(f.label), ": the nesting depth reaches ",
                   frames_.size() + 1, "; expected at most ", max_json_depth,
                   " levels of arrays and objects (encodings files nest 3 + the rank of a "
                   "2.0.0 scale array)");
    }
    frames_.push_back(std::move(f));
  }

  void add_key(const nlohmann::json& key) {
    frame& f = frames_.back();
    const auto inserted = f.keys.insert(key.get_ref<const std::string&>());
    if (!inserted.second) {
      QUANTA_THROW(function_, ": ", where(f.label), ": ", key.dump(),
                   " appears twice; expected each tensor name once per section and each field "
                   "once per entry");
    }
    f.last_key = &*inserted.first;
  }

  const char* function_;
  std::vector<frame> frames_;
};

inline nlohmann::json parse_json(const char* function, std::string_view text) {
  json_guard guard(function);
  const nlohmann::json::parser_callback_t callback =
      [&guard](int /*depth*/, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        return guard.on_event(event, parsed);
      };
#if QUANTA_IO_JSON_EXCEPTIONS
  try {
    return nlohmann::json::parse(text.begin(), text.end(), callback);
  } catch (const nlohmann::json::parse_error& e) {
    QUANTA_THROW(function, ": the text is not valid JSON (", e.what(), "); expected a JSON object");
  } catch (const nlohmann::json::out_of_range& e) {
    QUANTA_THROW(function, ": the text holds a number beyond the double range (", e.what(),
                 "); expected finite numbers (scales, min and max within the float range)");
  } catch (const nlohmann::json::exception& e) {
    QUANTA_THROW(function, ": the text could not be parsed (", e.what(),
                 "); expected a JSON object");
  }
#else
  nlohmann::json root = nlohmann::json::parse(text.begin(), text.end(), callback, false);
  if (root.is_discarded()) QUANTA_THROW(function, ": the text is not valid JSON");
  return root;
#endif
}

// The offset of the first byte that does not belong to well-formed UTF-8 (Unicode's table 3-7,
// which is what nlohmann's parser and dump accept), or npos.
inline std::size_t invalid_utf8_offset(std::string_view s) noexcept {
  std::size_t k = 0;
  while (k < s.size()) {
    const auto lead = static_cast<unsigned char>(s[k]);
    if (lead < 0x80) {
      ++k;
      continue;
    }
    std::size_t length = 0;
    unsigned char second_lo = 0x80;
    unsigned char second_hi = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) second_lo = 0xA0;  // overlong
      if (lead == 0xED) second_hi = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) second_lo = 0x90;  // overlong
      if (lead == 0xF4) second_hi = 0x8F;  // beyond U+10FFFF
    } else {
      return k;
    }
    if (s.size() - k < length) return k;
    for (std::size_t j = 1; j < length; ++j) {
      const auto c = static_cast<unsigned char>(s[k + j]);
      const unsigned char lo = j == 1 ? second_lo : static_cast<unsigned char>(0x80);
      const unsigned char hi = j == 1 ? second_hi : static_cast<unsigned char>(0xBF);
      if (c < lo || c > hi) return k;
    }
    k += length;
  }
  return std::string_view::npos;
}

// A name for a message when it cannot be printed as it is: printable ASCII kept, the rest \xHH.
inline std::string escaped_name(std::string_view s) {
  constexpr const char* hex = "0123456789ABCDEF";
  std::string out = "\"";
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7F && c != '"' && c != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += hex[b >> 4];
      out += hex[b & 0xF];
    }
  }
  return out + "\"";
}

// --- 0.6.1 --------------------------------------------------------------------------------------

// One dict of a 0.6.1 list.
struct legacy_entry {
  io::tensor_kind kind = io::tensor_kind::quantized;
  int bitwidth = 0;
  bool is_symmetric = false;
  encoding e;
};

inline legacy_entry read_legacy_entry(const json_place& at, const nlohmann::json& obj,
                                      const io::read_options& o,
                                      std::vector<std::string>& warnings) {
  if (!obj.is_object()) json_fail(at, "the entry", obj, "an object");
  warn_unknown_keys(at, obj, {"bitwidth", "dtype", "is_symmetric", "min", "max", "scale", "offset"},
                    warnings);
  legacy_entry r;
  const nlohmann::json* bw = json_field(obj, "bitwidth");
  if (!bw) json_missing(at, "bitwidth", "2..16 or 32 (int), 16 or 32 (float)");
  bool is_float = false;
  if (const auto* dtype = json_field(obj, "dtype")) {
    const std::string& s = json_string(at, "dtype", *dtype);
    if (s == "float") {
      is_float = true;
    } else if (s != "int") {
      json_fail(at, "dtype", *dtype, "\"int\" or \"float\"");
    }
  }
  const auto* min = json_field(obj, "min");
  const auto* max = json_field(obj, "max");
  const auto* scale = json_field(obj, "scale");
  const auto* offset = json_field(obj, "offset");
  if (is_float) {
    r.kind = io::tensor_kind::float_tensor;
    r.bitwidth = static_cast<int>(json_integer_in(at, "bitwidth", *bw, 16, 32, "16 or 32"));
    if (r.bitwidth != 16 && r.bitwidth != 32) json_fail(at, "bitwidth", *bw, "16 or 32");
    if (min || max || scale || offset || json_field(obj, "is_symmetric")) {
      warnings.push_back(message(at.where, ": a float entry has integer fields; ignored"));
    }
    return r;
  }
  r.bitwidth = static_cast<int>(json_integer_in(at, "bitwidth", *bw, 2, 32, "2..16, or 32"));
  if (!valid_int_bitwidth(r.bitwidth)) json_fail(at, "bitwidth", *bw, "2..16, or 32");
  if (const auto* sym = json_field(obj, "is_symmetric")) {
    r.is_symmetric = json_bool(at, "is_symmetric", *sym);
  }
  if ((scale == nullptr) != (offset == nullptr)) {
    json_missing(at, scale ? "offset" : "scale", "scale and offset together, or neither");
  }
  if ((min == nullptr) != (max == nullptr)) {
    json_missing(at, min ? "max" : "min", "min and max together, or neither");
  }
  if (!scale && !min) {
    r.kind = io::tensor_kind::bitwidth_only;
    return r;
  }
  const bool is_signed = is_signed_storage(o.storage, r.is_symmetric, r.bitwidth);
  double lo = 0.0;
  double hi = 0.0;
  if (min) {
    lo = json_number(at, "min", *min);
    hi = json_number(at, "max", *max);
    constexpr double float_max = static_cast<double>(std::numeric_limits<float>::max());
    if (std::fabs(lo) > float_max) json_fail(at, "min", *min, "a value in the float range");
    if (std::fabs(hi) > float_max) json_fail(at, "max", *max, "a value in the float range");
    if (lo > hi) {
      QUANTA_THROW(at.function, ": ", at.where, ": min ", lo, " is greater than max ", hi,
                   "; expected min <= max");
    }
  }
  // SNPE completes an entry from min and max by its own rules; so does quanta (profile qnn), in
  // double as AIMET computes, from the file's doubles.
  const auto from_min_max = [&] {
    encoding_options eo;
    eo.bitwidth = r.bitwidth;
    eo.kind = r.is_symmetric ? scheme::symmetric : scheme::asymmetric;
    eo.is_signed = is_signed;
    eo.rules = profile::qnn;
    eo.min_range = o.min_range;
    const encoding e = qnn_encoding(lo, hi, eo);
    if (!(std::isfinite(e.scale) && e.scale > 0.0f)) {
      QUANTA_THROW(at.function, ": ", at.where, ": min ", lo, " and max ", hi, " give scale ",
                   e.scale, "; expected a range whose scale is a finite float > 0");
    }
    check_grid_in_float_range(
        at, e,
        message("min ", lo, " and max ", hi, " (scale ", e.scale, ", offset ", e.offset(), ")"));
    return e;
  };
  if (!scale) {
    r.e = from_min_max();
    return r;
  }
  const float s = json_scale(at, "scale", *scale);
  const std::int64_t off = json_integer(at, "offset", *offset);
  const std::int64_t lowest = -((std::int64_t{1} << r.bitwidth) - 1);
  if (off < lowest || off > 0) {
    if (!min) check_offset(at, "offset", *offset, off, r.bitwidth);
    r.e = from_min_max();
    warnings.push_back(message(at.where, ": offset ", off, " is outside ", lowest,
                               "..0 (offset = -zero_point); the encoding was computed from min ",
                               lo, " and max ", hi, " by the qnn rules: scale ", r.e.scale,
                               ", offset ", r.e.offset()));
    return r;
  }
  // A strict symmetric grid written with offset -2^(b-1) shows itself by its min.
  const std::int64_t centre = centred_offset(r.bitwidth);
  const bool narrow_by_min =
      min && r.is_symmetric && off == centre &&
      std::fabs(lo - static_cast<double>(s) * static_cast<double>(centre + 1)) <
          std::fabs(lo - static_cast<double>(s) * static_cast<double>(centre));
  r.e = offset_encoding(s, off, r.bitwidth, is_signed, r.is_symmetric, narrow_by_min);
  check_grid_in_float_range(at, r.e, message("scale ", s, " and offset ", off));
  if (r.is_symmetric && off != centre && off != centre + 1 && off != 0) {
    warnings.push_back(message(at.where, ": is_symmetric is True but offset ", off, " is not ",
                               centre, "; read as the asymmetric grid the offset gives"));
  }
  if (min) {
    // Half a step, widened for min/max that were computed in float32 at 16 or 32 bits.
    const double emin = grid_min(r.e);
    const double emax = grid_max(r.e);
    const double tolerance =
        0.5 * static_cast<double>(s) + 1e-6 * std::max(std::fabs(emin), std::fabs(emax));
    if (std::fabs(lo - emin) > tolerance || std::fabs(hi - emax) > tolerance) {
      warnings.push_back(message(at.where, ": min ", lo, " and max ", hi, " disagree with scale ",
                                 s, " and offset ", off, " (which give min ", emin, " and max ",
                                 emax, "); scale and offset were used"));
    }
  }
  return r;
}

inline io::tensor_encoding read_legacy_tensor(const json_place& at, const nlohmann::json& list,
                                              const io::read_options& o,
                                              std::vector<std::string>& warnings) {
  if (!list.is_array() || list.empty()) {
    json_fail(at, "the value", list, "a non-empty list of encodings");
  }
  std::vector<legacy_entry> entries;
  for (std::size_t k = 0; k < list.size(); ++k) {
    const json_place entry_at{at.function,
                              list.size() == 1 ? at.where : message(at.where, ": entry ", k)};
    entries.push_back(read_legacy_entry(entry_at, list[k], o, warnings));
    const legacy_entry& first = entries.front();
    const legacy_entry& e = entries.back();
    if (e.kind != first.kind || e.bitwidth != first.bitwidth ||
        e.is_symmetric != first.is_symmetric) {
      QUANTA_THROW(at.function, ": ", entry_at.where,
                   ": kind, bitwidth or is_symmetric differ from entry 0; expected the channels "
                   "of one tensor to agree");
    }
    if (e.e.narrow_range != first.e.narrow_range) {
      QUANTA_THROW(at.function, ": ", entry_at.where, ": is ",
                   e.e.narrow_range ? "the strict" : "the full", " symmetric grid but entry 0 is ",
                   first.e.narrow_range ? "the strict" : "the full",
                   " one; expected one grid (narrow_range) for all channels of a tensor, as "
                   "quanta holds and writes them");
    }
    if (e.kind != io::tensor_kind::quantized && list.size() != 1) {
      QUANTA_THROW(at.function, ": ", at.where, ": has ", list.size(),
                   " float or bitwidth-only entries; expected one");
    }
  }
  const legacy_entry& first = entries.front();
  if (first.kind == io::tensor_kind::float_tensor)
    return io::tensor_encoding::floating(first.bitwidth);
  if (first.kind == io::tensor_kind::bitwidth_only) {
    return io::tensor_encoding::bitwidth_only(first.bitwidth, first.is_symmetric);
  }
  std::vector<encoding> encodings;
  for (const auto& e : entries)
    encodings.push_back(e.e);
  if (encodings.size() == 1)
    return io::tensor_encoding::per_tensor(encodings[0], first.is_symmetric);
  return io::tensor_encoding::per_channel(std::move(encodings), std::nullopt, first.is_symmetric);
}

// --- LPBQ (1.0.0 and 2.0.0) ----------------------------------------------------------------------

// The block scales of an LPBQ entry: integers in 1..2^k, a whole number of blocks per channel.
inline std::vector<std::uint16_t> read_lpbq_block_scales(
    const json_place& at, const char* field, const std::vector<const nlohmann::json*>& values,
    std::size_t channels, int scale_bits) {
  const std::int64_t top = std::int64_t{1} << scale_bits;
  std::vector<std::uint16_t> out;
  out.reserve(values.size());
  for (std::size_t k = 0; k < values.size(); ++k) {
    const std::string name = message(field, "[", k, "]");
    out.push_back(static_cast<std::uint16_t>(json_integer_in(
        at, name.c_str(), *values[k], 1, top,
        message("an integer in 1..", top, " (", scale_bits, "-bit block scales)").c_str())));
  }
  if (out.empty() || out.size() % channels != 0) {
    json_fail_text(
        at, field, message(out.size(), " block scales"),
        message("a whole number (>= 1) of blocks for each of the ", channels, " channel scales")
            .c_str());
  }
  return out;
}

inline std::vector<float> read_lpbq_channel_scales(const json_place& at, const char* field,
                                                   const std::vector<const nlohmann::json*>& v) {
  std::vector<float> out;
  out.reserve(v.size());
  for (std::size_t k = 0; k < v.size(); ++k)
    out.push_back(json_scale(at, message(field, "[", k, "]").c_str(), *v[k]));
  return out;
}

inline const nlohmann::json& json_required(const json_place& at, const nlohmann::json& obj,
                                           const char* key, const char* expected) {
  const auto* f = json_field(obj, key);
  if (!f) json_missing(at, key, expected);
  return *f;
}

// AIMET 1.0.0: bw is the decompressed bitwidth, compressed_bw the codes', scale one float per
// channel, offset -2^(bw-1) per channel, per_block_int_scale [channels, blocks] flattened.
inline io::tensor_encoding read_v1_lpbq_entry(const json_place& at, const nlohmann::json& obj,
                                              std::vector<std::string>& warnings) {
  warn_unknown_keys(at, obj,
                    {"name", "dtype", "enc_type", "bw", "compressed_bw", "is_sym", "scale",
                     "offset", "block_size", "per_block_int_scale"},
                    warnings);
  const auto& dtype = json_required(at, obj, "dtype", "\"INT\" for LPBQ");
  if (json_string(at, "dtype", dtype) != "INT") json_fail(at, "dtype", dtype, "\"INT\" for LPBQ");
  lpbq_encoding e;
  e.decompressed_bitwidth = static_cast<int>(
      json_integer_in(at, "bw", json_required(at, obj, "bw", "the decompressed bitwidth"), 3, 16,
                      "the decompressed bitwidth, 3..16, for LPBQ"));
  const std::string compressed_expected =
      message("the bitwidth of the codes, 2..", e.decompressed_bitwidth - 1, " (below bw)");
  e.bitwidth = static_cast<int>(json_integer_in(
      at, "compressed_bw", json_required(at, obj, "compressed_bw", compressed_expected.c_str()), 2,
      e.decompressed_bitwidth - 1, compressed_expected.c_str()));
  e.block_size = static_cast<std::size_t>(json_integer_in(
      at, "block_size", json_required(at, obj, "block_size", "an integer >= 1 for LPBQ"), 1,
      std::numeric_limits<std::int64_t>::max(), "an integer >= 1"));
  if (const auto* sym = json_field(obj, "is_sym")) {
    if (!json_bool(at, "is_sym", *sym)) json_fail(at, "is_sym", *sym, "true (LPBQ is symmetric)");
  } else {
    warnings.push_back(message(at.where,
                               ": is_sym is missing; read as true (LPBQ is symmetric, and QNN's "
                               "converter needs the field: qualcomm/aimet issue 4091)"));
  }
  const auto& scale = json_required(at, obj, "scale", "a list of per-channel scales for LPBQ");
  const auto& offset = json_required(at, obj, "offset", "a list of per-channel offsets for LPBQ");
  if (!scale.is_array() || scale.empty()) json_fail(at, "scale", scale, "a non-empty list");
  if (!offset.is_array() || offset.size() != scale.size()) {
    json_fail(at, "offset", offset,
              message("a list of ", scale.size(), " offsets, as many as scale").c_str());
  }
  std::vector<const nlohmann::json*> scales;
  for (const auto& v : scale)
    scales.push_back(&v);
  e.channel_scales = read_lpbq_channel_scales(at, "scale", scales);
  const std::int64_t centre = centred_offset(e.decompressed_bitwidth);
  for (std::size_t k = 0; k < offset.size(); ++k) {
    const std::string name = message("offset[", k, "]");
    json_integer_in(at, name.c_str(), offset[k], centre, centre,
                    message(centre, " (-2^(bw-1): LPBQ is symmetric)").c_str());
  }
  const auto& blocks = json_required(at, obj, "per_block_int_scale", "a list of block scales");
  if (!blocks.is_array()) json_fail(at, "per_block_int_scale", blocks, "a flat list of integers");
  std::vector<const nlohmann::json*> block_values;
  for (const auto& v : blocks)
    block_values.push_back(&v);
  e.block_scales = read_lpbq_block_scales(at, "per_block_int_scale", block_values,
                                          e.channel_scales.size(), e.block_scale_bitwidth());
  return io::tensor_encoding::from_lpbq(std::move(e), std::nullopt);
}

// --- 1.0.0 --------------------------------------------------------------------------------------

inline io::tensor_encoding read_v1_entry(const json_place& at, const nlohmann::json& obj,
                                         const io::read_options& o,
                                         std::vector<std::string>& warnings) {
  if (const auto* t = json_field(obj, "enc_type"); t && t->is_string() && *t == "LPBQ") {
    return read_v1_lpbq_entry(at, obj, warnings);
  }
  warn_unknown_keys(at, obj,
                    {"name", "dtype", "enc_type", "bw", "is_sym", "scale", "offset", "block_size"},
                    warnings);
  for (const char* lpbq_only : {"per_block_int_scale", "compressed_bw"}) {
    if (const auto* f = json_field(obj, lpbq_only)) {
      json_fail(at, lpbq_only, *f, "no such field unless enc_type is LPBQ");
    }
  }
  if (const auto* f = json_field(obj, "zero_point_shift")) {
    json_fail(at, "zero_point_shift", *f, "no such field (shifted int2 grids are not supported)");
  }
  const auto* dtype = json_field(obj, "dtype");
  if (!dtype) json_missing(at, "dtype", "\"INT\" or \"FLOAT\"");
  const std::string& type = json_string(at, "dtype", *dtype);
  if (type != "INT" && type != "FLOAT") json_fail(at, "dtype", *dtype, "\"INT\" or \"FLOAT\"");
  const auto* enc_type = json_field(obj, "enc_type");
  if (!enc_type) json_missing(at, "enc_type", "PER_TENSOR, PER_CHANNEL, PER_BLOCK or LPBQ");
  const std::string& layout = json_string(at, "enc_type", *enc_type);
  io::granularity g = io::granularity::per_tensor;
  if (layout == "PER_CHANNEL") {
    g = io::granularity::per_channel;
  } else if (layout == "PER_BLOCK") {
    g = io::granularity::per_block;
  } else if (layout != "PER_TENSOR") {
    json_fail(at, "enc_type", *enc_type, "PER_TENSOR, PER_CHANNEL, PER_BLOCK or LPBQ");
  }
  const auto* bw = json_field(obj, "bw");
  if (!bw) json_missing(at, "bw", "the bitwidth");
  if (type == "FLOAT") {
    const auto b = static_cast<int>(json_integer_in(at, "bw", *bw, 16, 32, "16 or 32"));
    if (b != 16 && b != 32) json_fail(at, "bw", *bw, "16 or 32");
    if (g != io::granularity::per_tensor)
      json_fail(at, "enc_type", *enc_type, "PER_TENSOR for FLOAT");
    return io::tensor_encoding::floating(b);
  }
  const auto b = static_cast<int>(json_integer_in(at, "bw", *bw, 2, 32, "2..16, or 32"));
  if (!valid_int_bitwidth(b)) json_fail(at, "bw", *bw, "2..16, or 32");
  bool is_symmetric = false;
  if (const auto* sym = json_field(obj, "is_sym")) is_symmetric = json_bool(at, "is_sym", *sym);
  const auto* scale = json_field(obj, "scale");
  const auto* offset = json_field(obj, "offset");
  if ((scale == nullptr) != (offset == nullptr)) {
    json_missing(at, scale ? "offset" : "scale", "scale and offset together, or neither");
  }
  std::size_t block_size = 0;
  if (const auto* bs = json_field(obj, "block_size")) {
    if (g != io::granularity::per_block)
      json_fail(at, "block_size", *bs, "no block_size unless PER_BLOCK");
    block_size = static_cast<std::size_t>(json_integer_in(
        at, "block_size", *bs, 1, std::numeric_limits<std::int64_t>::max(), "an integer >= 1"));
  } else if (g == io::granularity::per_block) {
    json_missing(at, "block_size", "an integer >= 1 for PER_BLOCK");
  }
  if (!scale) {
    if (g != io::granularity::per_tensor) {
      json_missing(at, "scale", "scale[] and offset[] for PER_CHANNEL and PER_BLOCK");
    }
    return io::tensor_encoding::bitwidth_only(b, is_symmetric);
  }
  if (!scale->is_array() || scale->empty()) json_fail(at, "scale", *scale, "a non-empty list");
  if (!offset->is_array() || offset->size() != scale->size()) {
    json_fail(at, "offset", *offset,
              message("a list of ", scale->size(), " offsets, as many as scale").c_str());
  }
  if (g == io::granularity::per_tensor && scale->size() != 1) {
    json_fail(at, "scale", *scale, "a list of one scale for PER_TENSOR");
  }
  const bool is_signed = is_signed_storage(o.storage, is_symmetric, b);
  std::vector<float> scales;
  std::vector<std::int64_t> offsets;
  for (std::size_t k = 0; k < scale->size(); ++k) {
    const std::string offset_name = message("offset[", k, "]");
    scales.push_back(json_scale(at, message("scale[", k, "]").c_str(), (*scale)[k]));
    offsets.push_back(json_integer(at, offset_name.c_str(), (*offset)[k]));
    check_offset(at, offset_name.c_str(), (*offset)[k], offsets.back(), b);
  }
  // As in 2.0.0, the option makes a tensor strict only when all of it is symmetric: an
  // off-centre channel keeps the centred ones on the full grid, so that the tensor has one grid.
  const std::int64_t centre = centred_offset(b);
  bool all_symmetric_offsets = true;
  for (std::int64_t off : offsets)
    all_symmetric_offsets = all_symmetric_offsets && (off == centre || off == centre + 1);
  const bool narrow_if_centred = o.symmetric_narrow_range && all_symmetric_offsets;
  std::vector<encoding> encodings;
  encodings.reserve(scales.size());
  for (std::size_t k = 0; k < scales.size(); ++k) {
    encodings.push_back(
        offset_encoding(scales[k], offsets[k], b, is_signed, is_symmetric, narrow_if_centred));
    if (encodings.back().narrow_range != encodings.front().narrow_range) {
      json_fail(at, message("offset[", k, "]").c_str(), (*offset)[k],
                message("an offset giving the ", encodings.front().narrow_range ? "strict" : "full",
                        " symmetric grid, as offset[0] does (one grid per tensor, as quanta holds "
                        "and writes them; read_options::symmetric_narrow_range reads ",
                        centre, " as strict too)")
                    .c_str());
    }
  }
  switch (g) {
    case io::granularity::per_tensor:
      return io::tensor_encoding::per_tensor(encodings[0], is_symmetric);
    case io::granularity::per_channel:
      return io::tensor_encoding::per_channel(std::move(encodings), std::nullopt, is_symmetric);
    case io::granularity::per_block:
    case io::granularity::lpbq:  // read by read_v1_lpbq_entry
      break;
  }
  return io::tensor_encoding::per_block(std::move(encodings), std::nullopt, block_size, {},
                                        is_symmetric);
}

// --- 2.0.0 --------------------------------------------------------------------------------------

// "int8" -> (8, signed), "uint4" -> (4, unsigned); quanta accepts every width it supports.
inline void read_output_dtype(const json_place& at, const nlohmann::json& v, int& bitwidth,
                              bool& is_signed) {
  const std::string& s = json_string(at, "output_dtype", v);
  const bool is_unsigned = s.rfind("uint", 0) == 0;
  const std::size_t digits = is_unsigned ? 4 : 3;
  const bool ok_prefix = is_unsigned || s.rfind("int", 0) == 0;
  int b = 0;
  bool ok = ok_prefix && s.size() > digits && s.size() <= digits + 2;
  for (std::size_t k = digits; ok && k < s.size(); ++k) {
    ok = s[k] >= '0' && s[k] <= '9';
    b = b * 10 + (s[k] - '0');
  }
  ok = ok && valid_int_bitwidth(b) && !(b == 32 && is_unsigned) && s[digits] != '0';
  if (!ok) json_fail(at, "output_dtype", v, "int2..int16, uint2..uint16 or int32");
  bitwidth = b;
  is_signed = !is_unsigned;
}

// Flattens a rectangular nested list row-major; `shape` receives its extents.
inline void flatten_nested(const json_place& at, const char* field, const nlohmann::json& v,
                           std::size_t depth, std::vector<std::size_t>& shape,
                           std::vector<const nlohmann::json*>& out) {
  if (!v.is_array()) {
    if (depth != shape.size()) json_fail(at, field, v, "a rectangular nested list");
    out.push_back(&v);
    return;
  }
  if (depth == shape.size()) {
    if (!out.empty() || v.empty()) json_fail(at, field, v, "a rectangular non-empty nested list");
    shape.push_back(v.size());
  } else if (shape[depth] != v.size()) {
    json_fail(at, field, v, "a rectangular nested list");
  }
  for (const auto& item : v)
    flatten_nested(at, field, item, depth + 1, shape, out);
}

// The extent of each axis but `axis`, which is 1: the shape of 2.0.0's per_channel_float_scale
// for block scales of shape `shape` blocked along `axis`.
inline std::vector<std::size_t> lpbq_channel_shape(std::vector<std::size_t> shape,
                                                   std::size_t axis) {
  shape[axis] = 1;
  return shape;
}

// `axis` (negative counts from the end) as an index into a shape of rank `rank`, or rank if out
// of range.
inline std::size_t resolved_axis(int axis, std::size_t rank) noexcept {
  const std::int64_t a = axis < 0 ? static_cast<std::int64_t>(rank) + axis : axis;
  return a < 0 || a >= static_cast<std::int64_t>(rank) ? rank : static_cast<std::size_t>(a);
}

// AIMET 2.0.0: output_dtype the codes' signed type, decompressed to twice its bits (so block scales
// take as many bits as the codes); per_channel_float_scale and per_block_int_scale nested by the
// tensor's shape, the blocked axis reduced to 1 and to the block count.
inline io::tensor_encoding read_v2_lpbq_entry(const json_place& at, const nlohmann::json& obj,
                                              std::vector<std::string>& warnings) {
  warn_unknown_keys(at, obj,
                    {"name", "output_dtype", "per_channel_float_scale", "per_block_int_scale",
                     "axis", "block_size"},
                    warnings);
  for (const char* other : {"y_scale", "y_zero_point"}) {
    if (const auto* f = json_field(obj, other)) {
      json_fail(at, other, *f, "no such field in an LPBQ entry (per_channel_float_scale)");
    }
  }
  const auto& dtype = json_required(at, obj, "output_dtype", "int2..int8 for LPBQ");
  int b = 0;
  bool is_signed = false;
  read_output_dtype(at, dtype, b, is_signed);
  if (!is_signed || b > 8) {
    json_fail(at, "output_dtype", dtype,
              "int2..int8 for LPBQ (signed codes, decompressed to twice their bits, at most 16)");
  }
  const auto& axis_v = json_required(at, obj, "axis", "the blocked axis of an LPBQ encoding");
  const int axis = static_cast<int>(
      json_integer_in(at, "axis", axis_v, lowest_axis, highest_axis, "a tensor axis, -64..63"));
  lpbq_encoding e;
  e.bitwidth = b;
  e.decompressed_bitwidth = 2 * b;
  e.block_size = static_cast<std::size_t>(json_integer_in(
      at, "block_size", json_required(at, obj, "block_size", "an integer >= 1 for LPBQ"), 1,
      std::numeric_limits<std::int64_t>::max(), "an integer >= 1"));
  const auto& channel_v =
      json_required(at, obj, "per_channel_float_scale", "the per-channel scales of LPBQ");
  const auto& block_v = json_required(at, obj, "per_block_int_scale", "the block scales of LPBQ");
  std::vector<std::size_t> shape;
  std::vector<const nlohmann::json*> blocks;
  flatten_nested(at, "per_block_int_scale", block_v, 0, shape, blocks);
  const std::size_t a = resolved_axis(axis, shape.size());
  if (a == shape.size()) {
    json_fail(at, "axis", axis_v,
              message("an axis of per_block_int_scale's ", shape.size(), " dimensions").c_str());
  }
  std::vector<std::size_t> channel_shape;
  std::vector<const nlohmann::json*> channels;
  flatten_nested(at, "per_channel_float_scale", channel_v, 0, channel_shape, channels);
  if (channel_shape != lpbq_channel_shape(shape, a)) {
    json_fail(at, "per_channel_float_scale", channel_v,
              "per_block_int_scale's shape with the blocked axis reduced to 1");
  }
  e.channel_scales = read_lpbq_channel_scales(at, "per_channel_float_scale", channels);
  e.block_scales = read_lpbq_block_scales(at, "per_block_int_scale", blocks,
                                          e.channel_scales.size(), e.block_scale_bitwidth());
  return io::tensor_encoding::from_lpbq(std::move(e), axis, std::move(shape));
}

inline io::tensor_encoding read_v2_entry(const json_place& at, const nlohmann::json& obj,
                                         const io::read_options& o,
                                         std::vector<std::string>& warnings) {
  if (json_field(obj, "per_block_int_scale") || json_field(obj, "per_channel_float_scale")) {
    return read_v2_lpbq_entry(at, obj, warnings);
  }
  warn_unknown_keys(
      at, obj, {"name", "output_dtype", "y_scale", "y_zero_point", "axis", "block_size"}, warnings);
  const auto* dtype = json_field(obj, "output_dtype");
  if (!dtype) json_missing(at, "output_dtype", "int2..int16, uint2..uint16 or int32");
  int b = 0;
  bool is_signed = false;
  read_output_dtype(at, *dtype, b, is_signed);
  const auto* scale = json_field(obj, "y_scale");
  if (!scale) json_missing(at, "y_scale", "a scale or a list of scales");
  if (scale->is_object())
    json_fail(at, "y_scale", *scale, "a number or a list (meta encodings are not supported)");
  std::optional<int> axis;
  if (const auto* a = json_field(obj, "axis")) {
    axis = static_cast<int>(
        json_integer_in(at, "axis", *a, lowest_axis, highest_axis, "a tensor axis, -64..63"));
  }
  std::size_t block_size = 0;
  if (const auto* bs = json_field(obj, "block_size")) {
    block_size = static_cast<std::size_t>(json_integer_in(
        at, "block_size", *bs, 1, std::numeric_limits<std::int64_t>::max(), "an integer >= 1"));
  }
  std::vector<std::size_t> shape;
  std::vector<const nlohmann::json*> scales;
  flatten_nested(at, "y_scale", *scale, 0, shape, scales);
  std::vector<const nlohmann::json*> zero_points;
  const auto* zp = json_field(obj, "y_zero_point");
  if (zp) {
    std::vector<std::size_t> zp_shape;
    flatten_nested(at, "y_zero_point", *zp, 0, zp_shape, zero_points);
    if (zp_shape != shape) {
      json_fail(at, "y_zero_point", *zp, "the same shape as y_scale");
    }
  }
  io::granularity g = io::granularity::per_tensor;
  if (block_size != 0) {
    g = io::granularity::per_block;
    if (shape.empty()) json_fail(at, "y_scale", *scale, "a nested list for a per-block encoding");
    if (!axis) json_missing(at, "axis", "the blocked axis of a per-block encoding");
  } else if (!shape.empty()) {
    g = io::granularity::per_channel;
    if (shape.size() != 1)
      json_fail(at, "y_scale", *scale, "a flat list for a per-channel encoding");
    if (!axis) json_missing(at, "axis", "the channel axis of a per-channel encoding");
  } else if (axis) {
    json_fail(at, "axis", *json_field(obj, "axis"), "no axis for a per-tensor encoding");
  }
  const encoding shape_only{1.0f, 0, b, is_signed, false};
  std::vector<encoding> encodings;
  encodings.reserve(scales.size());
  bool centred = true;
  for (std::size_t k = 0; k < scales.size(); ++k) {
    const std::string scale_name = shape.empty() ? "y_scale" : message("y_scale[", k, "]");
    const std::string zp_name = shape.empty() ? "y_zero_point" : message("y_zero_point[", k, "]");
    encoding e = shape_only;
    e.scale = json_scale(at, scale_name.c_str(), *scales[k]);
    if (zp) {
      e.zero_point = static_cast<std::int32_t>(
          json_integer_in(at, zp_name.c_str(), *zero_points[k], e.qmin(), e.qmax(),
                          message(e.qmin(), "..", e.qmax(), " for ", dtype->dump()).c_str()));
    }
    centred = centred && e.zero_point == symmetric_zero_point(e);
    encodings.push_back(e);
  }
  // 2.0.0 has no symmetric flag: a zero point at the centre of every grid is read as symmetric.
  if (centred && o.symmetric_narrow_range) {
    for (auto& e : encodings)
      e.narrow_range = true;
  }
  switch (g) {
    case io::granularity::per_tensor:
      return io::tensor_encoding::per_tensor(encodings[0], centred);
    case io::granularity::per_channel:
      return io::tensor_encoding::per_channel(std::move(encodings), axis, centred);
    case io::granularity::per_block:
    case io::granularity::lpbq:  // read by read_v2_lpbq_entry
      break;
  }
  return io::tensor_encoding::per_block(std::move(encodings), axis, block_size, std::move(shape),
                                        centred);
}

// --- files --------------------------------------------------------------------------------------

inline const char* section_key(bool params) noexcept {
  return params ? "param_encodings" : "activation_encodings";
}

inline io::encodings_version detect_version(const char* function, const nlohmann::json& root) {
  if (const auto* v = json_field(root, "version")) {
    const json_place at{function, "the file"};
    const std::string& s = json_string(at, "version", *v);
    if (s == "0.6.1") return io::encodings_version::v0_6_1;
    if (s == "1.0.0") return io::encodings_version::v1_0_0;
    if (s == "2.0.0") return io::encodings_version::v2_0_0;
    json_fail(at, "version", *v, "\"0.6.1\", \"1.0.0\" or \"2.0.0\"");
  }
  // Files without a version (SNPE's own examples): 0.6.1 maps, or lists of the newer versions.
  for (bool params : {false, true}) {
    const auto* section = json_field(root, section_key(params));
    if (!section || !section->is_array() || section->empty() || !(*section)[0].is_object())
      continue;
    return json_field((*section)[0], "output_dtype") ? io::encodings_version::v2_0_0
                                                     : io::encodings_version::v1_0_0;
  }
  return io::encodings_version::v0_6_1;
}

inline void read_section(const char* function, const nlohmann::json& section, bool params,
                         io::encodings_version version, const io::read_options& o,
                         io::read_result& result) {
  io::encoding_map& out = params ? result.encodings.params : result.encodings.activations;
  const char* key = section_key(params);
  if (version == io::encodings_version::v0_6_1) {
    if (!section.is_object()) {
      json_fail({function, "the file"}, key, section, "an object mapping tensor names to lists");
    }
    for (auto it = section.begin(); it != section.end(); ++it) {
      const json_place at{function, message(key, ": ", it.key())};
      if (it.key().empty()) json_fail_text(at, "the name", "\"\"", "a non-empty tensor name");
      out[it.key()] = read_legacy_tensor(at, it.value(), o, result.warnings);
    }
    return;
  }
  if (!section.is_array()) json_fail({function, "the file"}, key, section, "a list of encodings");
  for (std::size_t k = 0; k < section.size(); ++k) {
    const json_place entry_at{function, message(key, "[", k, "]")};
    const nlohmann::json& obj = section[k];
    if (!obj.is_object()) json_fail(entry_at, "the entry", obj, "an object");
    const auto* name = json_field(obj, "name");
    if (!name) json_missing(entry_at, "name", "the tensor's name");
    const std::string& n = json_string(entry_at, "name", *name);
    if (n.empty()) json_fail(entry_at, "name", *name, "a non-empty tensor name");
    if (out.count(n) != 0) json_fail(entry_at, "name", *name, "each name once per section");
    const json_place at{function, message(key, ": ", n)};
    out[n] = version == io::encodings_version::v1_0_0 ? read_v1_entry(at, obj, o, result.warnings)
                                                      : read_v2_entry(at, obj, o, result.warnings);
  }
}

// --- writing ------------------------------------------------------------------------------------

// The shape 2.0.0 nests an LPBQ tensor's block scales by: its own, or for a 2-D weight blocked
// along axis 1 (-1) [channels, blocks per channel], along axis 0 (-2) [blocks per channel,
// channels]. Empty when neither applies.
inline std::vector<std::size_t> lpbq_write_shape(const io::tensor_encoding& t) {
  if (!t.shape.empty()) return t.shape;
  const std::size_t channels = t.lpbq.channel_scales.size();
  const std::size_t per_channel = channels == 0 ? 0 : t.lpbq.block_scales.size() / channels;
  if (!t.axis) return {};
  if (*t.axis == 1 || *t.axis == -1) return {channels, per_channel};
  if (*t.axis == 0 || *t.axis == -2) return {per_channel, channels};
  return {};
}

inline void check_lpbq_for_write(const char* function, const std::string& label,
                                 const io::tensor_encoding& t, io::encodings_version version) {
  if (version == io::encodings_version::v0_6_1) {
    QUANTA_THROW(function, ": ", label,
                 ": is LPBQ, which 0.6.1 files cannot hold; expected version 1.0.0 or 2.0.0");
  }
  const std::string where = message(function, ": ", label);
  check_lpbq_encoding(where.c_str(), t.lpbq);
  if (!t.encodings.empty()) {
    QUANTA_THROW(function, ": ", label, ": an LPBQ tensor has ", t.encodings.size(),
                 " encodings; expected none (its scales are in lpbq)");
  }
  if (!t.is_symmetric) {
    QUANTA_THROW(function, ": ", label,
                 ": an LPBQ tensor has is_symmetric false; expected true (LPBQ is symmetric)");
  }
  if (version != io::encodings_version::v2_0_0) return;
  if (t.lpbq.decompressed_bitwidth != 2 * t.lpbq.bitwidth || t.lpbq.bitwidth > 8) {
    QUANTA_THROW(function, ": ", label, ": LPBQ with bitwidth ", t.lpbq.bitwidth,
                 " and decompressed_bitwidth ", t.lpbq.decompressed_bitwidth,
                 ", which 2.0.0 cannot say; expected decompressed_bitwidth = 2 x bitwidth (2.0.0 "
                 "names only the codes' type, int2..int8), or version 1.0.0");
  }
  if (!t.axis) {
    QUANTA_THROW(function, ": ", label,
                 ": axis is unset; expected the blocked axis (2.0.0 "
                 "files need it)");
  }
  const std::vector<std::size_t> shape = lpbq_write_shape(t);
  if (shape.empty()) {
    QUANTA_THROW(function, ": ", label, ": shape is empty with axis ", *t.axis,
                 "; expected the shape of the block scales (2.0.0 nests per_block_int_scale by "
                 "it; only axis 0 or 1 of a 2-D weight has a default)");
  }
  if (shape.size() > max_scale_rank) {
    QUANTA_THROW(function, ": ", label, ": shape has rank ", shape.size(), "; expected at most ",
                 max_scale_rank, " (2.0.0 nests the block scales by shape)");
  }
  const std::size_t a = resolved_axis(*t.axis, shape.size());
  if (a == shape.size()) {
    QUANTA_THROW(function, ": ", label, ": axis is ", *t.axis, "; expected an axis of shape's ",
                 shape.size(), " dimensions");
  }
  std::size_t product = 1;
  for (std::size_t d : shape)
    product = checked_product(function, product, d);
  if (product != t.lpbq.block_scales.size() || product / shape[a] != t.lpbq.channel_scales.size()) {
    QUANTA_THROW(function, ": ", label, ": shape holds ", product, " block scales and ",
                 shape[a] == 0 ? 0 : product / shape[a], " channel scales (axis ", *t.axis,
                 " reduced), but the tensor has ", t.lpbq.block_scales.size(), " and ",
                 t.lpbq.channel_scales.size(), "; expected equal counts");
  }
}

inline void check_tensor_for_write(const char* function, const char* section, std::size_t index,
                                   const std::string& name, const io::tensor_encoding& t,
                                   io::encodings_version version) {
  if (name.empty())
    QUANTA_THROW(function, ": ", section, ": a tensor name is empty; expected a name");
  const std::size_t bad_byte = invalid_utf8_offset(name);
  if (bad_byte != std::string_view::npos) {
    QUANTA_THROW(function, ": ", section, ": tensor ", index, " (in name order), named ",
                 escaped_name(name), ": the name is not valid UTF-8 (byte ", bad_byte,
                 "); expected valid UTF-8, the only text JSON holds");
  }
  const std::string label = message(section, ": ", name);
  switch (t.kind) {
    case io::tensor_kind::float_tensor:
      if (t.bitwidth != 16 && t.bitwidth != 32) {
        QUANTA_THROW(function, ": ", label, ": bitwidth is ", t.bitwidth,
                     "; expected 16 or 32 for a float tensor");
      }
      if (version == io::encodings_version::v2_0_0) {
        QUANTA_THROW(function, ": ", label,
                     ": is a float tensor, which 2.0.0 files cannot hold (AIMET leaves them out); "
                     "expected version 0.6.1 or 1.0.0, or the tensor left out of the map");
      }
      return;
    case io::tensor_kind::bitwidth_only:
      if (!valid_int_bitwidth(t.bitwidth)) {
        QUANTA_THROW(function, ": ", label, ": bitwidth is ", t.bitwidth,
                     "; expected 2..16, or 32");
      }
      if (version == io::encodings_version::v2_0_0) {
        QUANTA_THROW(function, ": ", label,
                     ": has only a bitwidth, but 2.0.0 needs y_scale; expected version 0.6.1 or "
                     "1.0.0");
      }
      return;
    case io::tensor_kind::quantized:
      break;
  }
  if (t.layout == io::granularity::lpbq) {
    check_lpbq_for_write(function, label, t, version);
    return;
  }
  if (t.encodings.empty()) {
    QUANTA_THROW(function, ": ", label, ": encodings is empty; expected at least one encoding");
  }
  const encoding& first = t.encodings[0];
  for (std::size_t k = 0; k < t.encodings.size(); ++k) {
    const encoding& e = t.encodings[k];
    check_encoding(function, message(label, ": encodings").c_str(), k, true, e);
    if (e.bitwidth != first.bitwidth || e.is_signed != first.is_signed ||
        e.narrow_range != first.narrow_range) {
      QUANTA_THROW(function, ": ", label, ": encodings[", k,
                   "] differs from encodings[0] in bitwidth, signedness or narrow_range; "
                   "expected one grid for the whole tensor");
    }
    if (e.narrow_range && e.zero_point != symmetric_zero_point(e)) {
      QUANTA_THROW(function, ": ", label, ": encodings[", k, "] is narrow_range with zero_point ",
                   e.zero_point, "; expected the centred zero point ", symmetric_zero_point(e),
                   " (files hold strict grids only as symmetric ones)");
    }
    if (version != io::encodings_version::v2_0_0 && t.is_symmetric && !e.narrow_range &&
        has_strict_offset(e)) {
      const std::int32_t centred = symmetric_zero_point(e);
      QUANTA_THROW(function, ": ", label, ": encodings[", k, "] has zero_point ", e.zero_point,
                   " (QNN offset ", e.offset(), ") in a symmetric tensor, which readers take as ",
                   "AIMET's strict grid (zero_point ", centred, ", narrow_range); expected the ",
                   "strict grid as narrow_range = true with zero_point ", centred,
                   ", or is_symmetric = false");
    }
    if (version == io::encodings_version::v0_6_1 && !grid_in_float_range(e)) {
      QUANTA_THROW(function, ": ", label, ": encodings[", k, "] spans ", grid_min(e), " .. ",
                   grid_max(e), " (scale ", e.scale, ", zero_point ", e.zero_point,
                   "); expected min and max within the float range (+-",
                   std::numeric_limits<float>::max(),
                   "), as 0.6.1 files store them (1.0.0 and 2.0.0 store no min and max)");
    }
  }
  const std::size_t n = t.encodings.size();
  if (t.layout == io::granularity::per_tensor && n != 1) {
    QUANTA_THROW(function, ": ", label, ": a per-tensor encoding has ", n,
                 " encodings; expected 1");
  }
  if (t.layout == io::granularity::per_block) {
    if (t.block_size == 0 ||
        t.block_size > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      QUANTA_THROW(function, ": ", label, ": block_size is ", t.block_size,
                   "; expected a block size in 1..", std::numeric_limits<std::int64_t>::max());
    }
    if (version == io::encodings_version::v2_0_0 && t.shape.size() > max_scale_rank) {
      QUANTA_THROW(function, ": ", label, ": shape has rank ", t.shape.size(),
                   "; expected at most ", max_scale_rank,
                   " (2.0.0 nests y_scale by shape, and readers accept ", max_json_depth,
                   " levels of nesting)");
    }
    if (version == io::encodings_version::v0_6_1) {
      QUANTA_THROW(
          function, ": ", label,
          ": is per-block, which 0.6.1 files cannot hold; expected version 1.0.0 or 2.0.0");
    }
    std::size_t product = 1;
    for (std::size_t d : t.shape)
      product = checked_product(function, product, d);
    if (!t.shape.empty() && product != n) {
      QUANTA_THROW(function, ": ", label, ": shape holds ", product, " elements but there are ", n,
                   " encodings; expected equal counts");
    }
  }
  if (version == io::encodings_version::v2_0_0 && t.layout != io::granularity::per_tensor) {
    if (!t.axis) {
      QUANTA_THROW(function, ": ", label, ": axis is unset; expected the ",
                   t.layout == io::granularity::per_block ? "blocked" : "channel",
                   " axis (2.0.0 files need it)");
    }
    if (*t.axis < lowest_axis || *t.axis > highest_axis) {
      QUANTA_THROW(function, ": ", label, ": axis is ", *t.axis,
                   "; expected a tensor axis, -64..63, as readers accept");
    }
  }
}

// Strict symmetric grids are written with the centred offset -2^(b-1): the SNPE converter
// rejects AIMET's -(2^(b-1) - 1). offset() already gives that, since quanta keeps the zero point
// at the centre.
inline ordered_json write_legacy_tensor(const io::tensor_encoding& t) {
  ordered_json list = ordered_json::array();
  if (t.kind == io::tensor_kind::float_tensor) {
    list.push_back({{"bitwidth", t.bitwidth}, {"dtype", "float"}});
    return list;
  }
  if (t.kind == io::tensor_kind::bitwidth_only) {
    ordered_json entry = {{"bitwidth", t.bitwidth}, {"dtype", "int"}};
    if (t.is_symmetric) entry["is_symmetric"] = "True";
    list.push_back(entry);
    return list;
  }
  for (const encoding& e : t.encodings) {
    list.push_back({{"bitwidth", e.bitwidth},
                    {"dtype", "int"},
                    {"is_symmetric", t.is_symmetric ? "True" : "False"},
                    {"max", grid_max(e)},
                    {"min", grid_min(e)},
                    {"offset", e.offset()},
                    {"scale", static_cast<double>(e.scale)}});
  }
  return list;
}

inline const char* enc_type_name(io::granularity g) noexcept {
  switch (g) {
    case io::granularity::per_tensor:
      return "PER_TENSOR";
    case io::granularity::per_channel:
      return "PER_CHANNEL";
    case io::granularity::per_block:
      return "PER_BLOCK";
    case io::granularity::lpbq:
      return "LPBQ";
  }
  return "?";
}

inline ordered_json write_v1_entry(const std::string& name, const io::tensor_encoding& t) {
  ordered_json entry = {{"name", name}};
  if (t.kind == io::tensor_kind::float_tensor) {
    entry["dtype"] = "FLOAT";
    entry["enc_type"] = "PER_TENSOR";
    entry["bw"] = t.bitwidth;
    return entry;
  }
  entry["dtype"] = "INT";
  entry["enc_type"] =
      enc_type_name(t.kind == io::tensor_kind::quantized ? t.layout : io::granularity::per_tensor);
  if (t.kind == io::tensor_kind::bitwidth_only) {
    entry["bw"] = t.bitwidth;
  } else {
    entry["bw"] =
        t.layout == io::granularity::lpbq ? t.lpbq.decompressed_bitwidth : t.encodings[0].bitwidth;
  }
  entry["is_sym"] = t.is_symmetric;
  if (t.kind == io::tensor_kind::bitwidth_only) return entry;
  if (t.layout == io::granularity::lpbq) {
    // AIMET's LPBQ entry: bw the decompressed width, offsets at the symmetric centre.
    const lpbq_encoding& e = t.lpbq;
    ordered_json scales = ordered_json::array();
    ordered_json offsets = ordered_json::array();
    for (float s : e.channel_scales) {
      scales.push_back(static_cast<double>(s));
      offsets.push_back(centred_offset(e.decompressed_bitwidth));
    }
    entry["compressed_bw"] = e.bitwidth;
    entry["scale"] = std::move(scales);
    entry["offset"] = std::move(offsets);
    entry["block_size"] = e.block_size;
    entry["per_block_int_scale"] = e.block_scales;
    return entry;
  }
  ordered_json scales = ordered_json::array();
  ordered_json offsets = ordered_json::array();
  for (const encoding& e : t.encodings) {
    scales.push_back(static_cast<double>(e.scale));
    offsets.push_back(e.offset());
  }
  entry["scale"] = std::move(scales);
  entry["offset"] = std::move(offsets);
  if (t.layout == io::granularity::per_block) entry["block_size"] = t.block_size;
  return entry;
}

// values[first, first + count) nested by shape[depth..].
inline ordered_json nest(const std::vector<ordered_json>& values,
                         const std::vector<std::size_t>& shape, std::size_t depth,
                         std::size_t first) {
  if (depth == shape.size()) return values[first];
  std::size_t stride = 1;
  for (std::size_t d = depth + 1; d < shape.size(); ++d)
    stride *= shape[d];
  ordered_json list = ordered_json::array();
  for (std::size_t k = 0; k < shape[depth]; ++k)
    list.push_back(nest(values, shape, depth + 1, first + k * stride));
  return list;
}

inline ordered_json write_v2_lpbq_entry(const std::string& name, const io::tensor_encoding& t) {
  const lpbq_encoding& e = t.lpbq;
  const std::vector<std::size_t> shape = lpbq_write_shape(t);
  std::vector<ordered_json> channels;
  for (float c : e.channel_scales)
    channels.emplace_back(static_cast<double>(c));
  std::vector<ordered_json> blocks(e.block_scales.begin(), e.block_scales.end());
  ordered_json entry = {{"name", name}};
  entry["output_dtype"] = message("int", e.bitwidth);
  entry["per_channel_float_scale"] =
      nest(channels, lpbq_channel_shape(shape, resolved_axis(*t.axis, shape.size())), 0, 0);
  entry["per_block_int_scale"] = nest(blocks, shape, 0, 0);
  entry["axis"] = *t.axis;
  entry["block_size"] = e.block_size;
  return entry;
}

inline ordered_json write_v2_entry(const std::string& name, const io::tensor_encoding& t) {
  if (t.layout == io::granularity::lpbq) return write_v2_lpbq_entry(name, t);
  const encoding& first = t.encodings[0];
  ordered_json entry = {{"name", name}};
  entry["output_dtype"] = message(first.is_signed ? "int" : "uint", first.bitwidth);
  std::vector<ordered_json> scales;
  std::vector<ordered_json> zero_points;
  bool all_zero = true;
  for (const encoding& e : t.encodings) {
    scales.emplace_back(static_cast<double>(e.scale));
    zero_points.emplace_back(e.zero_point);
    all_zero = all_zero && e.zero_point == 0;
  }
  std::vector<std::size_t> shape;
  if (t.layout == io::granularity::per_channel) shape = {t.encodings.size()};
  if (t.layout == io::granularity::per_block) {
    shape = t.shape.empty() ? std::vector<std::size_t>{t.encodings.size()} : t.shape;
  }
  entry["y_scale"] = nest(scales, shape, 0, 0);
  // AIMET leaves out y_zero_point when every zero point is 0, as ONNX defaults it.
  if (!all_zero) entry["y_zero_point"] = nest(zero_points, shape, 0, 0);
  if (t.layout != io::granularity::per_tensor) entry["axis"] = *t.axis;
  if (t.layout == io::granularity::per_block) entry["block_size"] = t.block_size;
  return entry;
}

// The text of a file whose tensors check_tensor_for_write accepted.
inline std::string write_text(const io::encodings_file& file, const io::write_options& options) {
  ordered_json root = {{"version", io::to_string(options.version)}};
  for (bool params : {false, true}) {
    const io::encoding_map& map = params ? file.params : file.activations;
    ordered_json section = options.version == io::encodings_version::v0_6_1 ? ordered_json::object()
                                                                            : ordered_json::array();
    for (const auto& [name, t] : map) {
      switch (options.version) {
        case io::encodings_version::v0_6_1:
          section[name] = write_legacy_tensor(t);
          break;
        case io::encodings_version::v1_0_0:
          section.push_back(write_v1_entry(name, t));
          break;
        case io::encodings_version::v2_0_0:
          section.push_back(write_v2_entry(name, t));
          break;
      }
    }
    root[section_key(params)] = std::move(section);
  }
  return root.dump(options.indent) + "\n";
}

inline io::read_result read_root(const char* function, const nlohmann::json& root,
                                 const io::read_options& options) {
  if (!root.is_object()) {
    QUANTA_THROW(function, ": the file is ", root.type_name(),
                 "; expected an object with activation_encodings and param_encodings");
  }
  io::read_result result;
  const auto* activations = json_field(root, "activation_encodings");
  const auto* params = json_field(root, "param_encodings");
  if (!activations && !params && !json_field(root, "version")) {
    bool all_lists = !root.empty();
    for (const auto& v : root)
      all_lists = all_lists && v.is_array();
    if (!all_lists) {
      QUANTA_THROW(function,
                   ": the file has neither activation_encodings nor param_encodings; expected "
                   "an encodings file, or a bare map of tensor names to lists of encodings");
    }
    result.version = io::encodings_version::v0_6_1;
    read_section(function, root, true, result.version, options, result);
    return result;
  }
  result.version = detect_version(function, root);
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string& k = it.key();
    if (k != "version" && k != "activation_encodings" && k != "param_encodings" &&
        k != "quantizer_args" && k != "excluded_layers") {
      result.warnings.push_back(message("the file: ", k, " is not a known top-level key; ignored"));
    }
  }
  if (activations) read_section(function, *activations, false, result.version, options, result);
  if (params) read_section(function, *params, true, result.version, options, result);
  return result;
}

// `function` names the caller and, for files, the path.
inline io::read_result read_encodings_text(const char* function, std::string_view json_text,
                                           const io::read_options& options) {
  if (!(std::isfinite(options.min_range) && options.min_range > 0.0)) {
    QUANTA_THROW(function, ": options.min_range is ", options.min_range,
                 "; expected a finite value > 0");
  }
  const nlohmann::json root = parse_json(function, json_text);
#if QUANTA_IO_JSON_EXCEPTIONS
  // The reader checks every type before it converts; this turns a check it missed into a
  // quanta::error as well.
  try {
    return read_root(function, root, options);
  } catch (const nlohmann::json::exception& e) {
    QUANTA_THROW(function, ": the JSON could not be read as encodings (", e.what(),
                 "); expected an encodings file as docs/encodings_files.md describes");
  }
#else
  return read_root(function, root, options);
#endif
}

}  // namespace quanta::detail

namespace quanta::io {

// Reads an encodings file of any of the three versions: the "version" key decides, and files
// without one (SNPE's examples) are recognised by their shape. A top-level object with neither
// section, whose values are all lists, is read as a bare 0.6.1 map of parameter encodings (the
// form in which the SNPE documentation shows single weights). Throws quanta::error naming the
// section, the tensor and the field of the first error.
inline read_result read_encodings(std::string_view json_text, const read_options& options = {}) {
  return detail::read_encodings_text("read_encodings", json_text, options);
}

// Errors name the path: read_encodings_file: "overrides.json": param_encodings: w: ...
inline read_result read_encodings_file(const std::string& path, const read_options& options = {}) {
  std::ifstream in(path, std::ios::binary);
  if (!in) QUANTA_THROW("read_encodings_file: path is \"", path, "\"; expected a readable file");
  std::ostringstream text;
  text << in.rdbuf();
  const std::string function = detail::message("read_encodings_file: \"", path, "\"");
  return detail::read_encodings_text(function.c_str(), text.str(), options);
}

// The text of an encodings file. Validates every tensor first; names of an empty map are fine.
// Floats are written as the double of the float, in the shortest form that reads back exactly.
inline std::string write_encodings(const encodings_file& file, const write_options& options = {}) {
  constexpr const char* function = "write_encodings";
  if (options.indent < -1) {
    QUANTA_THROW(function, ": options.indent is ", options.indent, "; expected -1 or more");
  }
  for (bool params : {false, true}) {
    std::size_t index = 0;
    for (const auto& [name, t] : params ? file.params : file.activations)
      detail::check_tensor_for_write(function, detail::section_key(params), index++, name, t,
                                     options.version);
  }
#if QUANTA_IO_JSON_EXCEPTIONS
  // The checks above cover what nlohmann refuses; this keeps a gap a quanta::error.
  try {
    return detail::write_text(file, options);
  } catch (const nlohmann::json::exception& e) {
    QUANTA_THROW(function, ": the JSON could not be written (", e.what(),
                 "); expected names in valid UTF-8 and finite values");
  }
#else
  return detail::write_text(file, options);
#endif
}

inline void write_encodings_file(const std::string& path, const encodings_file& file,
                                 const write_options& options = {}) {
  const std::string text = write_encodings(file, options);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) QUANTA_THROW("write_encodings_file: path is \"", path, "\"; expected a writable file");
  out << text;
  if (!out.flush()) QUANTA_THROW("write_encodings_file: writing \"", path, "\" failed");
}

}  // namespace quanta::io
