// The `quanta` tool: tables, numbers, JSON and progress.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

namespace quanta_cli {

// Fixed decimals, or "inf", "-inf", "nan".
std::string fixed(double v, int decimals);
// printf's %.*g, or "inf", "-inf", "nan".
std::string general(double v, int digits);

// A plain-text table whose columns are as wide as their widest cell. Numbers align right.
class text_table {
 public:
  explicit text_table(std::vector<std::string> header);
  void add_row(std::vector<std::string> cells);
  void print(std::FILE* out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// A JSON string literal.
std::string json_string(const std::string& s);
// A JSON number; JSON has no infinities or NaN, so those are the strings "inf", "-inf", "nan".
std::string json_number(double v);

bool stderr_is_terminal();

// "[k/n] name" on stderr, rewritten in place on a terminal, when enabled.
class progress {
 public:
  progress(std::size_t total, bool enabled)
      : total_(total), enabled_(enabled), terminal_(stderr_is_terminal()) {}
  progress(const progress&) = delete;
  progress& operator=(const progress&) = delete;
  ~progress();
  void step(const std::string& name);

 private:
  std::size_t total_;
  std::size_t done_ = 0;
  bool enabled_;
  bool terminal_;  // rewrite one line; otherwise (a log) one line per step
  bool shown_ = false;
};

}  // namespace quanta_cli
