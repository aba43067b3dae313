// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstdint>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "quanta/config.hpp"

namespace quanta {

// Every argument error quanta reports. The message starts with the function's name, then says
// which argument was wrong, its value, and what was expected.
class error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

namespace detail {

// Text as it is, numbers in decimal. Formatted without iostreams, whose headers would take a large
// share of the compile time of a translation unit that includes only the vocabulary headers.
template <class T>
void append_to_message(std::string& out, const T& value) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    out += std::string_view(value);
  } else if constexpr (std::is_same_v<T, bool>) {
    out += value ? "true" : "false";
  } else if constexpr (std::is_same_v<T, char>) {
    out += value;
  } else if constexpr (std::is_floating_point_v<T>) {
    // Enough digits that the printed value reads back as the same float or double; "%g" is also
    // what an ostream with that precision writes.
    char digits[40];
    std::snprintf(digits, sizeof digits, "%.*Lg", std::numeric_limits<T>::max_digits10,
                  static_cast<long double>(value));
    out += digits;
  } else {
    static_assert(std::is_integral_v<T>, "QUANTA_THROW: expected text, numbers or bool");
    out += std::to_string(value);  // int8_t and uint8_t as numbers, not characters
  }
}

template <class... Parts>
std::string message(const Parts&... parts) {
  std::string out;
  (append_to_message(out, parts), ...);
  return out;
}

// The one exit for argument errors: throws quanta::error, or with QUANTA_NO_EXCEPTIONS prints the
// message and aborts, so both builds report the same text.
[[noreturn]] inline void fail(const std::string& what) {
#if defined(QUANTA_NO_EXCEPTIONS)
  std::fprintf(stderr, "quanta error: %s\n", what.c_str());
  std::abort();
#else
  throw quanta::error(what);
#endif
}

}  // namespace detail

// QUANTA_THROW("quantize: ", "scale is ", s, "; expected a finite value > 0")
#define QUANTA_THROW(...) ::quanta::detail::fail(::quanta::detail::message(__VA_ARGS__))

}  // namespace quanta
