// quanta validate FILE: what a QNN converter would reject or silently change in an encodings file.
//
// The file is walked as JSON, not through io::read_encodings: the reader refuses at the first
// entry it cannot hold (a VECTOR entry, a duplicate name, an LPBQ block scale outside 1..2^k),
// where a validator has to go on and report every tensor.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "arguments.hpp"
#include "commands.hpp"
#include "output.hpp"

namespace quanta_cli {

const char* const validate_usage =
    "usage: quanta validate FILE.json [options]\n"
    "\n"
    "Reads an AIMET/QNN encodings file (0.6.1, the --quantization_overrides format, 1.0.0 or\n"
    "2.0.0) and reports, per tensor, what a QNN converter would reject or silently change:\n"
    "dtypes and bitwidths QNN has no type for, scales that are not finite and positive, offsets\n"
    "off the grid, symmetric per-channel weights whose offset is not -2^(b-1), min/max that\n"
    "disagree with scale/offset (and by how many steps), channel counts that differ within a\n"
    "tensor, LPBQ entries with missing fields or block scales outside 1..2^k, block sizes that do\n"
    "not divide the axis (with --shape), and duplicate names.\n"
    "\n"
    "options:\n"
    "  --shape NAME=DIMS   the shape of tensor NAME, as conv1.weight=64,3,3,3 (repeat the option\n"
    "                      for more tensors): checks channel and block counts against it\n"
    "  --json              machine-readable output on stdout\n"
    "\n"
    "Exit status: 0 no findings, 1 findings, 2 the file cannot be read as an encodings file.\n";

namespace {

using json = nlohmann::json;

struct finding {
  std::string section;  // activation_encodings, param_encodings, or "file"
  std::string tensor;
  std::string check;  // a short name: bitwidth, offset, min_max, lpbq, duplicate, ...
  std::string message;
};

// A name for a message, printable whatever bytes the file holds.
std::string printable(const std::string& s) {
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f) {
      out += ch;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      out += hex;
    }
  }
  return out;
}

std::string number_text(double v) {
  return general(v, 9);
}

// Keys repeated in one JSON object, which JSON parsers merge silently (the last one wins in
// nlohmann and in Python's json, which QNN's converters use). Paths are the keys down to it.
struct parse_record {
  std::vector<std::pair<std::vector<std::string>, std::string>> repeated_keys;
};

constexpr std::size_t deepest_nesting = 64;  // AIMET files nest 5 levels, 2.0.0 scales a few more

json parse_file(const std::string& path, parse_record& record) {
  namespace fs = std::filesystem;
  std::error_code failure;
  const fs::file_status status = fs::status(path, failure);
  if (failure || !fs::exists(status)) throw input_error("path \"" + path + "\" cannot be opened");
  if (!fs::is_regular_file(status)) {
    throw input_error("path \"" + path + "\" is " +
                      (fs::is_directory(status) ? "a directory" : "not a regular file") +
                      "; expected an encodings file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error("path \"" + path + "\" cannot be opened");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  // One set of keys and one key path entry per open object or array.
  std::vector<std::set<std::string>> keys;
  std::vector<std::string> path_keys;
  std::string last_key;
  const auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (static_cast<std::size_t>(depth) > deepest_nesting) {
      throw input_error(path + ": nested more than " + std::to_string(deepest_nesting) +
                        " levels deep; expected an encodings file");
    }
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        keys.emplace_back();
        path_keys.push_back(last_key);
        last_key.clear();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        keys.pop_back();
        path_keys.pop_back();
        break;
      case json::parse_event_t::key: {
        last_key = parsed.get<std::string>();
        if (!keys.back().insert(last_key).second) {
          record.repeated_keys.emplace_back(
              std::vector<std::string>(path_keys.begin() + 1, path_keys.end()), last_key);
        }
        break;
      }
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    return json::parse(text, callback);
  } catch (const json::exception& e) {
    throw input_error(path + ": not JSON (" + e.what() + ")");
  }
}

// QNN's fixed-point types (Qnn_DataType_t: QNN_DATATYPE_[SU]FIXED_POINT_{4,8,16,32}) and float
// types (QNN_DATATYPE_FLOAT_{16,32}).
bool qnn_int_bitwidth(std::int64_t b) {
  return b == 4 || b == 8 || b == 16 || b == 32;
}
bool qnn_float_bitwidth(std::int64_t b) {
  return b == 16 || b == 32;
}

std::optional<std::int64_t> integer_of(const json& v) {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18) {
      return static_cast<std::int64_t>(d);
    }
  }
  return std::nullopt;
}

std::optional<bool> bool_of(const json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s == "True" || s == "true") return true;
    if (s == "False" || s == "false") return false;
  }
  return std::nullopt;
}

// The leaves of a number or a nested list of numbers, in order; nullopt if anything else.
std::optional<std::vector<double>> numbers_of(const json& v) {
  std::vector<double> out;
  const auto visit = [&](const json& node, const auto& self) -> bool {
    if (node.is_number()) {
      out.push_back(node.get<double>());
      return true;
    }
    if (!node.is_array()) return false;
    for (const json& child : node)
      if (!self(child, self)) return false;
    return true;
  };
  if (!visit(v, visit)) return std::nullopt;
  return out;
}

class validator {
 public:
  explicit validator(std::map<std::string, std::vector<std::int64_t>> shapes)
      : shapes_(std::move(shapes)) {}

  void file(const json& root, const parse_record& record) {
    if (!root.is_object()) throw input_error("the file is not a JSON object");
    std::string version = "0.6.1";  // QNN's overrides files often have no version key
    if (const json* v = field(root, "version")) {
      if (!v->is_string()) throw input_error("\"version\" is not a string");
      version = v->get<std::string>();
    }
    if (version != "0.6.1" && version != "1.0.0" && version != "2.0.0") {
      throw input_error("version \"" + printable(version) +
                        "\" is not one quanta reads; expected 0.6.1, 1.0.0 or 2.0.0");
    }
    version_ = version;
    const json* activations = field(root, "activation_encodings");
    const json* params = field(root, "param_encodings");
    if (!activations && !params) {
      throw input_error("neither activation_encodings nor param_encodings is present");
    }
    for (const auto& [keys, key] : record.repeated_keys)
      repeated_key(keys, key);
    for (const char* section : {"activation_encodings", "param_encodings"}) {
      const json* s = field(root, section);
      if (!s) continue;
      if (version_ == "0.6.1") {
        if (!s->is_object()) {
          throw input_error(std::string(section) + " is not an object of tensor names (0.6.1)");
        }
        for (const auto& [name, entries] : s->items())
          legacy_tensor(section, name, entries);
      } else {
        if (!s->is_array()) {
          throw input_error(std::string(section) + " is not a list of entries (" + version_ + ")");
        }
        std::set<std::string> names;
        for (std::size_t k = 0; k < s->size(); ++k) {
          const json& entry = (*s)[k];
          const json* name = entry.is_object() ? field(entry, "name") : nullptr;
          const std::string label =
              name && name->is_string() ? name->get<std::string>() : "entry " + std::to_string(k);
          if (!name || !name->is_string()) {
            add(section, label, "field", "has no \"name\" string");
          } else if (!names.insert(label).second) {
            add(section, label, "duplicate",
                "appears more than once in " + std::string(section) + "; a converter keeps one");
          }
          if (!entry.is_object()) {
            add(section, label, "field", "is not an object");
          } else if (version_ == "1.0.0") {
            v1_entry(section, label, entry);
          } else {
            v2_entry(section, label, entry);
          }
        }
      }
    }
    for (const std::string& name : seen_["activation_encodings"]) {
      if (seen_["param_encodings"].count(name) != 0) {
        add("file", name, "duplicate",
            "is in both activation_encodings and param_encodings; a converter applies one");
      }
    }
  }

  const std::vector<finding>& findings() const noexcept { return findings_; }
  const std::string& version() const noexcept { return version_; }
  std::size_t tensor_count() const {
    std::set<std::string> all;
    for (const auto& [section, names] : seen_)
      all.insert(names.begin(), names.end());
    return all.size();
  }

 private:
  static const json* field(const json& object, const char* key) {
    const auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
  }

  void add(const std::string& section, const std::string& tensor, const char* check,
           std::string message) {
    findings_.push_back({section, printable(tensor), check, std::move(message)});
  }

  void repeated_key(const std::vector<std::string>& keys, const std::string& key) {
    // keys[0] is the section, keys[1] the 0.6.1 tensor name or the index of a list entry.
    if (keys.empty()) {
      add("file", key, "duplicate", "top-level key \"" + printable(key) + "\" appears twice");
    } else if (keys.size() == 1 && version_ == "0.6.1") {
      add(keys[0], key, "duplicate", "appears more than once; a converter keeps the last one");
    } else {
      std::string where;
      for (std::size_t k = 1; k < keys.size(); ++k)
        where += (k > 1 ? "/" : "") + printable(keys[k]);
      add(keys[0], where, "duplicate",
          "field \"" + printable(key) + "\" appears twice in one entry; the last one is used");
    }
  }

  // The scale, which QNN needs finite and > 0.
  bool check_scale(const std::string& section, const std::string& name, const std::string& at,
                   double scale) {
    if (std::isfinite(scale) && scale > 0.0 && scale <= 3.4028234663852886e38) return true;
    add(section, name, "scale", at + "scale " + number_text(scale) + " is not a finite float > 0");
    return false;
  }

  // A QNN offset (-zero_point on the unsigned grid of b bits): zero is on the grid for
  // -(2^b - 1) <= offset <= 0.
  void check_offset_range(const std::string& section, const std::string& name,
                          const std::string& at, std::int64_t offset, std::int64_t bitwidth) {
    const std::int64_t lowest = -((std::int64_t{1} << bitwidth) - 1);
    if (offset > 0) {
      add(section, name, "offset",
          at + "offset " + std::to_string(offset) +
              " is positive; QNN's offset is -zero_point, in " + std::to_string(lowest) +
              "..0 (SNPE's older examples write the zero point itself)");
    } else if (offset < lowest) {
      add(section, name, "offset",
          at + "offset " + std::to_string(offset) + " is below " + std::to_string(lowest) +
              ": zero is not on the " + std::to_string(bitwidth) + "-bit grid");
    }
  }

  // min and max against scale and offset, in steps of the grid: min = -zero_point * scale and
  // max = (2^b - 1 - zero_point) * scale, up to the rounding of the written decimals. A positive
  // offset is read as the zero point itself, as SNPE's older examples write it; AIMET's strict
  // symmetric grid (offset -(2^(b-1) - 1)) ends at 2^b - 2.
  void check_min_max(const std::string& section, const std::string& name, const std::string& at,
                     double min, double max, double scale, std::int64_t offset,
                     std::int64_t bitwidth, bool symmetric) {
    const bool strict = symmetric && offset == -((std::int64_t{1} << (bitwidth - 1)) - 1);
    const double top = std::ldexp(1.0, static_cast<int>(bitwidth)) - (strict ? 2.0 : 1.0);
    const double zero = static_cast<double>(offset > 0 ? offset : -offset);
    const double zero_from_min = -min / scale;
    const double zero_from_max = top - max / scale;
    // AIMET writes min, max and scale as doubles; 16- and 32-bit grids computed in float32 are
    // off by float32's relative precision of their extremes.
    const double tolerance = 1e-3 + 2e-7 * top;
    const double off_min = zero_from_min - zero;
    const double off_max = zero_from_max - zero;
    if (std::fabs(off_min) > tolerance || std::fabs(off_max) > tolerance) {
      add(section, name, "min_max",
          at + "min " + number_text(min) + " and max " + number_text(max) +
              " disagree with scale " + number_text(scale) + " and offset " +
              std::to_string(offset) + ": -min/scale = " + number_text(zero_from_min) + " and " +
              number_text(top) + " - max/scale = " + number_text(zero_from_max) +
              " against the offset's zero point " + number_text(zero) + " (" +
              number_text(off_min) + " and " + number_text(off_max) +
              " steps); which of them a converter uses decides the grid");
    }
  }

  void check_symmetric_offset(const std::string& section, const std::string& name,
                              const std::string& at, std::int64_t offset, std::int64_t bitwidth) {
    const std::int64_t centre = -(std::int64_t{1} << (bitwidth - 1));
    if (offset != centre) {
      add(section, name, "symmetric_offset",
          at + "a symmetric per-channel weight has offset " + std::to_string(offset) +
              "; QNN expects " + std::to_string(centre) + " (-2^(b-1)) for every channel" +
              (offset == centre + 1 ? " (this is AIMET's strict symmetric grid)" : ""));
    }
  }

  void check_shape_of_channels(const std::string& section, const std::string& name,
                               std::size_t channels) {
    const auto it = shapes_.find(name);
    if (it == shapes_.end() || channels <= 1) return;
    for (std::int64_t d : it->second)
      if (d == static_cast<std::int64_t>(channels)) return;
    add(section, name, "channels",
        std::to_string(channels) + " channel encodings, but no axis of the given shape " +
            shape_text(it->second) + " has that many indexes");
  }

  // `count` block scales of blocks of `block_size` along `axis` of the given shape (where the
  // file does not name the axis, along any): every index of the other axes has dim / block_size.
  void check_blocks_against_shape(const std::string& section, const std::string& name,
                                  std::int64_t block_size, std::size_t count,
                                  std::optional<std::int64_t> axis) {
    const auto it = shapes_.find(name);
    if (it == shapes_.end()) return;
    const std::vector<std::int64_t>& shape = it->second;
    std::int64_t elements = 1;
    for (std::int64_t d : shape)
      elements *= d;
    const auto blocks_along = [&](std::int64_t d) {
      return static_cast<std::size_t>(elements / d * (d / block_size));
    };
    if (!axis) {
      for (std::int64_t d : shape)
        if (d % block_size == 0 && blocks_along(d) == count) return;
      add(section, name, "block",
          std::to_string(count) + " block scales of block_size " + std::to_string(block_size) +
              " tile no axis of the given shape " + shape_text(shape));
      return;
    }
    const std::int64_t rank = static_cast<std::int64_t>(shape.size());
    const std::int64_t a = *axis < 0 ? *axis + rank : *axis;
    if (a < 0 || a >= rank) {
      add(section, name, "block",
          "axis " + std::to_string(*axis) + " is not an axis of the given shape " +
              shape_text(shape));
      return;
    }
    const std::int64_t d = shape[static_cast<std::size_t>(a)];
    if (d % block_size != 0) {
      add(section, name, "block",
          "block_size " + std::to_string(block_size) + " does not divide axis " +
              std::to_string(*axis) + " of the given shape " + shape_text(shape) + " (" +
              std::to_string(d) + " indexes)");
    } else if (blocks_along(d) != count) {
      add(section, name, "block",
          std::to_string(count) + " block scales, but blocks of " + std::to_string(block_size) +
              " along axis " + std::to_string(*axis) + " of " + shape_text(shape) + " make " +
              std::to_string(blocks_along(d)));
    }
  }

  static std::string shape_text(const std::vector<std::int64_t>& shape) {
    std::string s;
    for (std::size_t k = 0; k < shape.size(); ++k)
      s += (k ? "x" : "") + std::to_string(shape[k]);
    return s.empty() ? "scalar" : s;
  }

  // Reads an integer field; a finding when it is missing or not an integer.
  std::optional<std::int64_t> integer_field(const std::string& section, const std::string& name,
                                            const std::string& at, const json& entry,
                                            const char* key) {
    const json* v = field(entry, key);
    if (!v) {
      add(section, name, "field", at + "has no \"" + std::string(key) + "\"");
      return std::nullopt;
    }
    const auto i = integer_of(*v);
    if (!i) add(section, name, "field", at + "\"" + std::string(key) + "\" is not an integer");
    return i;
  }

  std::optional<std::vector<double>> numbers_field(const std::string& section,
                                                   const std::string& name, const json& entry,
                                                   const char* key) {
    const json* v = field(entry, key);
    if (!v) {
      add(section, name, "field", "has no \"" + std::string(key) + "\"");
      return std::nullopt;
    }
    auto numbers = numbers_of(*v);
    if (!numbers) {
      add(section, name, "field",
          "\"" + std::string(key) + "\" is not a number or list of numbers");
    }
    return numbers;
  }

  // --- 0.6.1: {name: [entry per channel]} ----------------------------------------------------

  void legacy_tensor(const std::string& section, const std::string& name, const json& entries) {
    seen_[section].insert(name);
    if (!entries.is_array() || entries.empty()) {
      add(section, name, "field", "is not a non-empty list of encodings");
      return;
    }
    std::optional<std::int64_t> first_bitwidth;
    std::optional<bool> first_symmetric;
    std::string first_dtype;
    for (std::size_t k = 0; k < entries.size(); ++k) {
      const std::string at = entries.size() == 1 ? "" : "channel " + std::to_string(k) + ": ";
      const json& e = entries[k];
      if (!e.is_object()) {
        add(section, name, "field", at + "is not an object");
        continue;
      }
      std::string dtype = "int";
      if (const json* d = field(e, "dtype")) {
        dtype = d->is_string() ? d->get<std::string>() : "?";
        if (dtype != "int" && dtype != "float") {
          add(section, name, "dtype",
              at + "dtype \"" + printable(dtype) + "\" is not int or float");
          continue;
        }
      }
      const auto bitwidth = integer_field(section, name, at, e, "bitwidth");
      if (!bitwidth) continue;
      const bool is_float = dtype == "float";
      if (is_float ? !qnn_float_bitwidth(*bitwidth) : !qnn_int_bitwidth(*bitwidth)) {
        add(section, name, "bitwidth",
            at + "bitwidth " + std::to_string(*bitwidth) + " " + dtype +
                ": QNN has no such type; expected " + (is_float ? "16 or 32" : "4, 8, 16 or 32"));
        continue;
      }
      bool symmetric = false;
      if (const json* s = field(e, "is_symmetric")) {
        const auto b = bool_of(*s);
        if (!b) add(section, name, "field", at + "is_symmetric is not \"True\" or \"False\"");
        symmetric = b.value_or(false);
      }
      if (k == 0) {
        first_bitwidth = bitwidth;
        first_symmetric = symmetric;
        first_dtype = dtype;
      } else if (*bitwidth != first_bitwidth || symmetric != first_symmetric ||
                 dtype != first_dtype) {
        add(section, name, "channels",
            at + "dtype, bitwidth or is_symmetric differ from channel 0's; one tensor has one "
                 "type in QNN");
      }
      if (is_float) continue;
      const json* scale = field(e, "scale");
      const json* offset = field(e, "offset");
      const json* min = field(e, "min");
      const json* max = field(e, "max");
      if (!scale && !offset && !min && !max) continue;  // bitwidth only: the converter computes
      std::optional<double> s, lo, hi;
      std::optional<std::int64_t> off;
      if (scale) {
        if (scale->is_number()) {
          s = scale->get<double>();
        } else {
          add(section, name, "field", at + "scale is not a number");
        }
      }
      if (offset) {
        off = integer_of(*offset);
        if (!off) add(section, name, "field", at + "offset is not an integer");
      }
      if (min && min->is_number()) lo = min->get<double>();
      if (max && max->is_number()) hi = max->get<double>();
      if ((min && !lo) || (max && !hi))
        add(section, name, "field", at + "min or max is not a number");
      if (!scale != !offset) {
        add(section, name, "field",
            at + "has " + (scale ? "scale but no offset" : "offset but no scale"));
      }
      if (!min != !max) add(section, name, "field", at + "has only one of min and max");
      if (lo && hi && *lo > *hi) {
        add(section, name, "min_max",
            at + "min " + number_text(*lo) + " is greater than max " + number_text(*hi));
      }
      if (lo && hi && !s && *lo <= 0.0 && *hi >= 0.0 && *lo == *hi) {
        add(section, name, "scale", at + "min and max are both 0 and no scale is given");
      }
      if (!s || !off) continue;
      if (!check_scale(section, name, at, *s)) continue;
      check_offset_range(section, name, at, *off, *bitwidth);
      if (symmetric && section == "param_encodings" && entries.size() > 1) {
        check_symmetric_offset(section, name, at, *off, *bitwidth);
      }
      if (lo && hi) check_min_max(section, name, at, *lo, *hi, *s, *off, *bitwidth, symmetric);
    }
    check_shape_of_channels(section, name, entries.size());
  }

  // --- 1.0.0: [{name, dtype, enc_type, bw, is_sym, scale[], offset[], ...}] --------------------

  void v1_entry(const std::string& section, const std::string& name, const json& e) {
    seen_[section].insert(name);
    std::string dtype = "INT";
    if (const json* d = field(e, "dtype")) dtype = d->is_string() ? d->get<std::string>() : "?";
    if (dtype != "INT" && dtype != "FLOAT") {
      add(section, name, "dtype", "dtype \"" + printable(dtype) + "\" is not INT or FLOAT");
      return;
    }
    const auto bw = integer_field(section, name, "", e, "bw");
    if (!bw) return;
    const bool is_float = dtype == "FLOAT";
    if (is_float) {
      if (!qnn_float_bitwidth(*bw)) {
        add(section, name, "bitwidth",
            "bw " + std::to_string(*bw) + " FLOAT: QNN has no such type; expected 16 or 32");
      }
      return;
    }
    std::string type = "PER_TENSOR";
    if (const json* t = field(e, "enc_type")) type = t->is_string() ? t->get<std::string>() : "?";
    if (type == "VECTOR") {
      add(section, name, "unchecked", "enc_type VECTOR: quanta does not check vector encodings");
      return;
    }
    if (type != "PER_TENSOR" && type != "PER_CHANNEL" && type != "PER_BLOCK" && type != "LPBQ") {
      add(section, name, "field",
          "enc_type \"" + printable(type) + "\" is not PER_TENSOR, PER_CHANNEL, PER_BLOCK or LPBQ");
      return;
    }
    if (!qnn_int_bitwidth(*bw)) {
      add(section, name, "bitwidth",
          "bw " + std::to_string(*bw) + " INT: QNN has no such type; expected 4, 8, 16 or 32");
      return;
    }
    bool symmetric = false;
    if (const json* s = field(e, "is_sym")) {
      const auto b = bool_of(*s);
      if (!b) add(section, name, "field", "is_sym is not a bool");
      symmetric = b.value_or(false);
    } else if (type == "LPBQ") {
      add(section, name, "lpbq", "LPBQ entry has no \"is_sym\"");
    }
    const auto scales = numbers_field(section, name, e, "scale");
    const auto offsets = numbers_field(section, name, e, "offset");
    if (!scales || !offsets) return;
    if (scales->size() != offsets->size()) {
      add(section, name, "channels",
          std::to_string(scales->size()) + " scales but " + std::to_string(offsets->size()) +
              " offsets; expected one offset per scale");
    }
    if (scales->empty()) {
      add(section, name, "channels", "has no scales");
      return;
    }
    if (type == "PER_TENSOR" && scales->size() != 1) {
      add(section, name, "channels",
          "PER_TENSOR with " + std::to_string(scales->size()) + " scales; expected 1");
    }
    const std::size_t n = std::min(scales->size(), offsets->size());
    const bool channelwise = type == "PER_CHANNEL" || type == "PER_BLOCK" || type == "LPBQ";
    for (std::size_t k = 0; k < n; ++k) {
      const std::string at = n == 1 ? "" : "channel " + std::to_string(k) + ": ";
      if (!check_scale(section, name, at, (*scales)[k])) continue;
      const double o = (*offsets)[k];
      if (o != std::floor(o) || std::fabs(o) > 9.2e18) {
        add(section, name, "offset", at + "offset " + number_text(o) + " is not an integer");
        continue;
      }
      const auto off = static_cast<std::int64_t>(o);
      check_offset_range(section, name, at, off, *bw);
      if (symmetric && channelwise && section == "param_encodings") {
        check_symmetric_offset(section, name, at, off, *bw);
      }
    }
    if (type == "PER_CHANNEL") check_shape_of_channels(section, name, scales->size());
    if (type == "PER_BLOCK") {
      const auto block_size = integer_field(section, name, "", e, "block_size");
      if (block_size && *block_size <= 0) {
        add(section, name, "block", "block_size " + std::to_string(*block_size) + " is not > 0");
      } else if (block_size) {
        check_blocks_against_shape(section, name, *block_size, scales->size(), std::nullopt);
      }
    }
    if (type == "LPBQ") v1_lpbq(section, name, e, *bw, scales->size());
  }

  void v1_lpbq(const std::string& section, const std::string& name, const json& e, std::int64_t bw,
               std::size_t channels) {
    // AIMET 1.0.0: bw is the decompressed width, compressed_bw the stored one, scale one float
    // per channel, per_block_int_scale channels x blocks integers in 1..2^(bw - compressed_bw).
    bool complete = true;
    for (const char* key : {"compressed_bw", "block_size", "per_block_int_scale"}) {
      if (!field(e, key)) {
        add(section, name, "lpbq",
            "LPBQ entry has no \"" + std::string(key) +
                "\" (QNN's converter fails on a missing field: qualcomm/aimet issue 4091)");
        complete = false;
      }
    }
    if (!complete) return;
    const auto compressed = integer_field(section, name, "", e, "compressed_bw");
    const auto block_size = integer_field(section, name, "", e, "block_size");
    const auto block_scales = numbers_field(section, name, e, "per_block_int_scale");
    if (!compressed || !block_size || !block_scales) return;
    if (*compressed < 1 || *compressed >= bw) {
      add(section, name, "lpbq",
          "compressed_bw " + std::to_string(*compressed) + " is not in 1.." +
              std::to_string(bw - 1) + " (below bw " + std::to_string(bw) + ")");
      return;
    }
    if (*block_size <= 0) {
      add(section, name, "block", "block_size " + std::to_string(*block_size) + " is not > 0");
      return;
    }
    lpbq_block_scales(section, name, *block_scales, bw - *compressed, channels, *block_size,
                      std::nullopt);
  }

  void lpbq_block_scales(const std::string& section, const std::string& name,
                         const std::vector<double>& block_scales, std::int64_t scale_bits,
                         std::size_t channels, std::int64_t block_size,
                         std::optional<std::int64_t> axis) {
    const double top = std::ldexp(1.0, static_cast<int>(scale_bits));
    std::size_t outside = 0;
    std::optional<std::size_t> first;
    for (std::size_t k = 0; k < block_scales.size(); ++k) {
      const double v = block_scales[k];
      if (!(v >= 1.0 && v <= top && v == std::floor(v))) {
        ++outside;
        if (!first) first = k;
      }
    }
    if (outside != 0) {
      add(section, name, "lpbq",
          std::to_string(outside) + " of " + std::to_string(block_scales.size()) +
              " block scales are not integers in 1.." + number_text(top) + " (first: index " +
              std::to_string(*first) + ", " + number_text(block_scales[*first]) + ")");
    }
    if (channels == 0 || block_scales.size() % channels != 0) {
      add(section, name, "channels",
          std::to_string(block_scales.size()) + " block scales for " + std::to_string(channels) +
              " channel scales; expected a whole number of blocks per channel");
      return;
    }
    check_blocks_against_shape(section, name, block_size, block_scales.size(), axis);
  }

  // --- 2.0.0: [{name, output_dtype, y_scale, y_zero_point, axis, block_size, ...}] -------------

  void v2_entry(const std::string& section, const std::string& name, const json& e) {
    seen_[section].insert(name);
    const json* dtype_field = field(e, "output_dtype");
    if (!dtype_field || !dtype_field->is_string()) {
      add(section, name, "field", "has no \"output_dtype\" string");
      return;
    }
    const std::string dtype = dtype_field->get<std::string>();
    if (dtype == "float16" || dtype == "float32") return;
    bool is_signed = false;
    std::int64_t bits = 0;
    if (dtype.rfind("int", 0) == 0) {
      is_signed = true;
      bits = std::atoll(dtype.c_str() + 3);
    } else if (dtype.rfind("uint", 0) == 0) {
      bits = std::atoll(dtype.c_str() + 4);
    }
    if (!qnn_int_bitwidth(bits) || dtype != (is_signed ? "int" : "uint") + std::to_string(bits)) {
      add(section, name, "dtype",
          "output_dtype \"" + printable(dtype) +
              "\": QNN has no such type; expected [u]int4, [u]int8, [u]int16, [u]int32, float16 "
              "or float32");
      return;
    }
    std::optional<std::int64_t> axis;
    if (const json* a = field(e, "axis")) {
      axis = integer_of(*a);
      if (!axis) add(section, name, "field", "axis is not an integer");
    }
    std::optional<std::int64_t> block_size;
    if (field(e, "block_size")) {
      block_size = integer_field(section, name, "", e, "block_size");
      if (block_size && *block_size <= 0) {
        add(section, name, "block", "block_size " + std::to_string(*block_size) + " is not > 0");
        return;
      }
    }
    if (field(e, "per_block_int_scale") || field(e, "per_channel_float_scale")) {
      v2_lpbq(section, name, e, bits, axis, block_size);
      return;
    }
    const auto scales = numbers_field(section, name, e, "y_scale");
    if (!scales) return;
    std::vector<double> zero_points(scales->size(), 0.0);
    if (const json* z = field(e, "y_zero_point")) {
      const auto zs = numbers_of(*z);
      if (!zs) {
        add(section, name, "field", "\"y_zero_point\" is not a number or list of numbers");
        return;
      }
      if (zs->size() != scales->size()) {
        add(section, name, "channels",
            std::to_string(scales->size()) + " scales but " + std::to_string(zs->size()) +
                " zero points; expected one zero point per scale");
      }
      zero_points = *zs;
      zero_points.resize(scales->size(), 0.0);
    }
    const double lowest = is_signed ? -std::ldexp(1.0, static_cast<int>(bits) - 1) : 0.0;
    const double highest = lowest + std::ldexp(1.0, static_cast<int>(bits)) - 1.0;
    const bool per_channel = scales->size() > 1 && !block_size;
    if (scales->size() > 1 && !axis) add(section, name, "field", "has several scales but no axis");
    if (block_size && !axis) add(section, name, "field", "has block_size but no axis");
    std::size_t off_centre = 0;
    for (std::size_t k = 0; k < scales->size(); ++k) {
      const std::string at = scales->size() == 1 ? "" : "scale " + std::to_string(k) + ": ";
      check_scale(section, name, at, (*scales)[k]);
      const double z = zero_points[k];
      if (!(z >= lowest && z <= highest && z == std::floor(z))) {
        add(section, name, "offset",
            at + "zero point " + number_text(z) + " is not an integer in " + number_text(lowest) +
                ".." + number_text(highest) + " (" + dtype + ")");
        continue;
      }
      // QNN's offset is -(zero point on the unsigned grid); -2^(b-1) is the symmetric centre.
      const double centre = is_signed ? 0.0 : std::ldexp(1.0, static_cast<int>(bits) - 1);
      if (per_channel && section == "param_encodings" && z != centre) ++off_centre;
    }
    if (off_centre != 0) {
      add(section, name, "symmetric_offset",
          std::to_string(off_centre) + " of " + std::to_string(scales->size()) +
              " channels of a per-channel weight have a zero point other than " +
              (is_signed ? "0" : std::to_string(std::int64_t{1} << (bits - 1))) +
              "; QNN expects per-channel weights symmetric (offset -2^(b-1))");
    }
    if (per_channel) check_shape_of_channels(section, name, scales->size());
    if (block_size && axis) {
      check_blocks_against_shape(section, name, *block_size, scales->size(), axis);
    }
  }

  void v2_lpbq(const std::string& section, const std::string& name, const json& e,
               std::int64_t bits, std::optional<std::int64_t> axis,
               std::optional<std::int64_t> block_size) {
    // AIMET 2.0.0: output_dtype the compressed type, decompressed to twice its bits, so block
    // scales take `bits` bits: 1..2^bits.
    bool complete = true;
    for (const char* key :
         {"per_channel_float_scale", "per_block_int_scale", "axis", "block_size"}) {
      if (!field(e, key)) {
        add(section, name, "lpbq",
            "LPBQ entry has no \"" + std::string(key) +
                "\" (QNN's converter fails on a missing field: qualcomm/aimet issue 4091)");
        complete = false;
      }
    }
    if (!complete || !axis || !block_size) return;
    const auto channel_scales = numbers_field(section, name, e, "per_channel_float_scale");
    const auto block_scales = numbers_field(section, name, e, "per_block_int_scale");
    if (!channel_scales || !block_scales) return;
    for (std::size_t k = 0; k < channel_scales->size(); ++k) {
      check_scale(section, name, "channel " + std::to_string(k) + ": ", (*channel_scales)[k]);
    }
    lpbq_block_scales(section, name, *block_scales, bits, channel_scales->size(), *block_size,
                      axis);
  }

  std::map<std::string, std::vector<std::int64_t>> shapes_;
  std::string version_;
  std::map<std::string, std::set<std::string>> seen_;  // section -> tensor names
  std::vector<finding> findings_;
};

std::map<std::string, std::vector<std::int64_t>> parse_shapes(const std::vector<std::string>& args,
                                                              std::vector<std::string>& rest) {
  std::map<std::string, std::vector<std::int64_t>> shapes;
  for (std::size_t k = 0; k < args.size(); ++k) {
    std::string value;
    if (args[k] == "--shape") {
      if (k + 1 == args.size()) throw usage_error("--shape needs NAME=DIMS");
      value = args[++k];
    } else if (args[k].rfind("--shape=", 0) == 0) {
      value = args[k].substr(8);
    } else {
      rest.push_back(args[k]);
      continue;
    }
    const std::size_t eq = value.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == value.size()) {
      throw usage_error("--shape \"" + value + "\"; expected NAME=DIMS, as conv1.weight=64,3,3,3");
    }
    const std::vector<std::string> dims_arg = {"--shape", value.substr(eq + 1)};
    const arguments dims(dims_arg, {}, {"shape"});
    std::vector<std::int64_t> shape = *dims.shape("shape");
    for (std::int64_t d : shape) {
      if (d <= 0) throw usage_error("--shape \"" + value + "\"; expected dimensions > 0");
    }
    shapes[value.substr(0, eq)] = std::move(shape);
  }
  return shapes;
}

}  // namespace

int run_validate(const std::vector<std::string>& all_args) {
  std::vector<std::string> args_without_shapes;
  auto shapes = parse_shapes(all_args, args_without_shapes);
  const arguments args(args_without_shapes, {"json"}, {});
  if (args.positional().size() != 1) {
    throw usage_error("expected one encodings file, got " +
                      std::to_string(args.positional().size()) + " paths");
  }
  const std::string& path = args.positional()[0];
  parse_record record;
  const json root = parse_file(path, record);
  validator v(std::move(shapes));
  try {
    v.file(root, record);
  } catch (const input_error& failure) {
    throw input_error(path + ": " + failure.what());
  }

  const std::vector<finding>& found = v.findings();
  if (args.flag("json")) {
    std::printf("{\n  \"file\": %s,\n  \"version\": %s,\n  \"tensors\": %zu,\n  \"findings\": [",
                json_string(path).c_str(), json_string(v.version()).c_str(), v.tensor_count());
    for (std::size_t k = 0; k < found.size(); ++k) {
      const finding& f = found[k];
      std::printf("%s\n    {\"section\": %s, \"tensor\": %s, \"check\": %s, \"message\": %s}",
                  k ? "," : "", json_string(f.section).c_str(), json_string(f.tensor).c_str(),
                  json_string(f.check).c_str(), json_string(f.message).c_str());
    }
    std::printf("%s]\n}\n", found.empty() ? "" : "\n  ");
  } else {
    for (const finding& f : found) {
      std::printf("%s: %s: %s: %s\n", f.section.c_str(), f.tensor.c_str(), f.check.c_str(),
                  f.message.c_str());
    }
    std::printf("%s: version %s, %zu tensors, %zu findings\n", path.c_str(), v.version().c_str(),
                v.tensor_count(), found.size());
  }
  return found.empty() ? exit_ok : exit_below_threshold;
}

}  // namespace quanta_cli
