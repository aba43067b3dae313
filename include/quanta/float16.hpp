// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <Eigen/Core>

#include "quanta/error.hpp"
#include "quanta/span.hpp"

// Mixed-precision simulation: the float nearest to x among the values of IEEE binary16 or bfloat16,
// rounding to nearest even (Eigen::half, Eigen::bfloat16). Overflow gives +-inf in binary16; NaN
// stays NaN.
namespace quanta {

inline float round_to_float16(float x) noexcept {
  return static_cast<float>(Eigen::half(x));
}

inline float round_to_bfloat16(float x) noexcept {
  return static_cast<float>(Eigen::bfloat16(x));
}

namespace detail {
template <class Round>
void round_all(const char* function, span<const float> x, span<float> y, Round round) {
  if (x.size() != y.size()) {
    QUANTA_THROW(function, ": y has ", y.size(), " elements but x has ", x.size(),
                 "; expected equal sizes");
  }
  for (std::size_t i = 0; i < x.size(); ++i)
    y[i] = round(x[i]);
}
}  // namespace detail

// y may be x itself.
inline void round_to_float16(span<const float> x, span<float> y) {
  detail::round_all("round_to_float16", x, y, [](float v) { return round_to_float16(v); });
}

inline void round_to_bfloat16(span<const float> x, span<float> y) {
  detail::round_all("round_to_bfloat16", x, y, [](float v) { return round_to_bfloat16(v); });
}

}  // namespace quanta
