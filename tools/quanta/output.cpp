#include "output.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>

#if defined(_WIN32)
#include <io.h>
#else
#include <unistd.h>
#endif

namespace quanta_cli {

namespace {

const char* non_finite_name(double v) {
  if (std::isnan(v)) return "nan";
  return v > 0.0 ? "inf" : "-inf";
}

bool is_number(const std::string& s) {
  if (s.empty()) return false;
  const char c = s[0];
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || s == "inf" || s == "nan";
}

}  // namespace

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return non_finite_name(v);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  return buffer;
}

std::string general(double v, int digits) {
  if (!std::isfinite(v)) return non_finite_name(v);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*g", digits, v);
  return buffer;
}

text_table::text_table(std::vector<std::string> header) : header_(std::move(header)) {}

void text_table::add_row(std::vector<std::string> cells) {
  cells.resize(header_.size());
  rows_.push_back(std::move(cells));
}

void text_table::print(std::FILE* out) const {
  std::vector<std::size_t> width(header_.size());
  std::vector<bool> numeric(header_.size(), !rows_.empty());
  if (!numeric.empty()) numeric[0] = false;  // names, even when they start with a digit
  for (std::size_t c = 0; c < header_.size(); ++c) {
    width[c] = header_[c].size();
    for (const auto& row : rows_) {
      width[c] = std::max(width[c], row[c].size());
      if (!row[c].empty() && !is_number(row[c])) numeric[c] = false;
    }
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::string pad(width[c] - cells[c].size(), ' ');
      s += c == 0 ? "" : "  ";
      s += numeric[c] ? pad + cells[c] : cells[c] + (c + 1 == cells.size() ? "" : pad);
    }
    std::fprintf(out, "%s\n", s.c_str());
  };
  line(header_);
  for (const auto& row : rows_)
    line(row);
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return std::string("\"") + non_finite_name(v) + "\"";
  // The shortest form that reads back as the same double: 0.99, not 0.98999999999999999.
  char buffer[64];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(buffer, sizeof buffer, "%.*g", digits, v);
    if (std::strtod(buffer, nullptr) == v) break;
  }
  return buffer;
}

progress::~progress() {
  if (shown_ && terminal_) std::fprintf(stderr, "\r\033[K");
}

void progress::step(const std::string& name) {
  ++done_;
  if (!enabled_) return;
  std::fprintf(stderr, terminal_ ? "\r\033[K[%zu/%zu] %s" : "[%zu/%zu] %s\n", done_, total_,
               name.c_str());
  std::fflush(stderr);
  shown_ = true;
}

bool stderr_is_terminal() {
#if defined(_WIN32)
  return _isatty(_fileno(stderr)) != 0;
#else
  return isatty(fileno(stderr)) != 0;
#endif
}

}  // namespace quanta_cli
