// The `quanta` tool: command-line parsing shared by every command.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace quanta_cli {

// Exit statuses: 0 all good, 1 a tensor is under a quality threshold, 2 bad usage or bad input.
constexpr int exit_ok = 0;
constexpr int exit_below_threshold = 1;
constexpr int exit_error = 2;

// Wrong command line: the message is printed with a pointer to --help.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An input the tool cannot use: unreadable file, dtype or shape mismatch, missing counterpart.
class input_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `--name value`, `--name=value`, bare `--flag`, and positional arguments, in any order.
class arguments {
 public:
  arguments(const std::vector<std::string>& args, std::initializer_list<const char*> flags,
            std::initializer_list<const char*> options);

  const std::vector<std::string>& positional() const noexcept { return positional_; }
  bool flag(const std::string& name) const { return flags_.count(name) != 0; }
  std::optional<std::string> value(const std::string& name) const;

  double number(const std::string& name, double fallback) const;
  int integer(const std::string& name, int fallback) const;
  // "1,3,224,224" or "1x3x224x224".
  std::optional<std::vector<std::int64_t>> shape(const std::string& name) const;
  // The value, which must be one of `choices`.
  std::string choice(const std::string& name, std::initializer_list<const char*> choices,
                     const char* fallback) const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, bool> flags_;
  std::map<std::string, std::string> values_;
};

}  // namespace quanta_cli
