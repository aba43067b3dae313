// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cmath>
#include <limits>

// The result of quanta/reduce.hpp's min_max, in a header of its own so that the reference
// (quanta/ref/reduce.hpp) and the kernels that reduce.hpp includes can name it too.
namespace quanta {

// The range of a tensor. NaN values take no part in min and max but are reported; infinities
// count like any other value. With no non-NaN value, min is +inf and max is -inf.
struct min_max_result {
  float min = std::numeric_limits<float>::infinity();
  float max = -std::numeric_limits<float>::infinity();
  bool has_nan = false;

  bool empty() const noexcept { return !(min <= max); }
  bool finite() const noexcept { return !has_nan && std::isfinite(min) && std::isfinite(max); }
};

}  // namespace quanta
