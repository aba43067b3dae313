// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstdint>
#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
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

template <class T>
void append_to_message(std::ostringstream& out, const T& value) {
  if constexpr (std::is_floating_point_v<T>) {
    // Enough digits that the printed value reads back as the same float or double.
    out << std::setprecision(std::numeric_limits<T>::max_digits10) << value;
  } else if constexpr (std::is_same_v<T, std::int8_t> || std::is_same_v<T, std::uint8_t>) {
    out << static_cast<int>(value);
  } else if constexpr (std::is_same_v<T, bool>) {
    out << (value ? "true" : "false");
  } else {
    out << value;
  }
}

template <class... Parts>
std::string message(const Parts&... parts) {
  std::ostringstream out;
  (append_to_message(out, parts), ...);
  return out.str();
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
