#include "arguments.hpp"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <limits>

namespace quanta_cli {

namespace {

bool contains(std::initializer_list<const char*> names, const std::string& name) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return name == n; });
}

}  // namespace

arguments::arguments(const std::vector<std::string>& args, std::initializer_list<const char*> flags,
                     std::initializer_list<const char*> options) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 3 || a.compare(0, 2, "--") != 0) {
      positional_.push_back(a);
      continue;
    }
    const std::size_t eq = a.find('=');
    const std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (contains(flags, name)) {
      if (eq != std::string::npos) throw usage_error("option --" + name + " takes no value");
      flags_[name] = true;
    } else if (contains(options, name)) {
      if (eq != std::string::npos) {
        values_[name] = a.substr(eq + 1);
      } else if (i + 1 < args.size()) {
        values_[name] = args[++i];
      } else {
        throw usage_error("option --" + name + " needs a value");
      }
    } else {
      throw usage_error("unknown option --" + name);
    }
  }
}

std::optional<std::string> arguments::value(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

double arguments::number(const std::string& name, double fallback) const {
  const auto v = value(name);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(v->c_str(), &end);
  if (v->empty() || *end != '\0' || errno != 0) {
    throw usage_error("--" + name + " is \"" + *v + "\"; expected a number");
  }
  return d;
}

int arguments::integer(const std::string& name, int fallback) const {
  const auto v = value(name);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || errno != 0 || n < -1000000 || n > 1000000) {
    throw usage_error("--" + name + " is \"" + *v + "\"; expected an integer");
  }
  return static_cast<int>(n);
}

std::optional<std::vector<std::int64_t>> arguments::shape(const std::string& name) const {
  const auto v = value(name);
  if (!v) return std::nullopt;
  std::vector<std::int64_t> dims;
  const char* p = v->c_str();
  while (*p != '\0') {
    char* end = nullptr;
    errno = 0;
    const long long d = std::strtoll(p, &end, 10);
    if (end == p || d < 0 || errno != 0) {
      throw usage_error("--" + name + " is \"" + *v +
                        "\"; expected sizes >= 0 separated by commas, as 1,3,224,224");
    }
    dims.push_back(d);
    p = end;
    if (*p == ',' || *p == 'x') ++p;
  }
  if (dims.empty()) throw usage_error("--" + name + " is empty; expected sizes, as 1,3,224,224");
  // The element count must fit the memory a float32 tensor can have; checked before any product
  // can overflow.
  const auto most = static_cast<long long>(std::min<unsigned long long>(
      std::numeric_limits<std::size_t>::max() / sizeof(float),
      static_cast<unsigned long long>(std::numeric_limits<long long>::max())));
  long long count = 1;
  for (const long long d : dims) {
    if (d != 0 && count > most / d) {
      throw usage_error("--" + name + " is \"" + *v + "\"; its sizes multiply to more than " +
                        std::to_string(most) + " values");
    }
    count *= d;
  }
  return dims;
}

std::string arguments::choice(const std::string& name, std::initializer_list<const char*> choices,
                              const char* fallback) const {
  const std::string v = value(name).value_or(fallback);
  if (contains(choices, v)) return v;
  std::string list;
  for (const char* c : choices)
    list += std::string(list.empty() ? "" : ", ") + c;
  throw usage_error("--" + name + " is \"" + v + "\"; expected one of " + list);
}

}  // namespace quanta_cli
