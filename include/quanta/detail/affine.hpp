// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstdint>

#include "quanta/encoding.hpp"

namespace quanta {
namespace detail {

// Everything a kernel needs for one encoding, computed once by the public function:
//   t = (divide ? x / scale : x * inv_scale) + pre_offset          (float)
//   q = clamp(round(t) + post_offset, qmin, qmax)                   (exact integer arithmetic)
// NaN is quantized as if it were 0.0f. pre_offset is 0 unless the zero point is added before
// rounding, where it is the zero point on the unsigned grid and post_offset is the storage minimum.
// Grids wider than 24 bits (int32 storage, which only the scalar code serves) hold codes that a
// float cannot: there t = scaled + wide_pre_offset and its rounding are computed in double, so
// that zero quantizes to the zero point and small values keep their codes.
struct affine_params {
  float scale = 1.0f;
  float inv_scale = 1.0f;
  float pre_offset = 0.0f;
  double wide_pre_offset = 0.0;
  bool wide = false;
  std::int32_t post_offset = 0;
  std::int32_t zero_point = 0;
  std::int32_t qmin = 0;
  std::int32_t qmax = 255;
  rounding round = rounding::half_even;
  bool divide = false;
};

inline affine_params make_affine_params(const encoding& e, const quantize_options& o) noexcept {
  affine_params p;
  p.scale = e.scale;
  p.inv_scale = 1.0f / e.scale;
  p.zero_point = e.zero_point;
  p.qmin = e.qmin();
  p.qmax = e.qmax();
  p.round = o.round;
  p.divide = o.divide_by_scale;
  if (o.zero_point_before_rounding) {
    p.pre_offset = static_cast<float>(std::int64_t{e.zero_point} - e.storage_min());
    p.wide = e.bitwidth > 24;
    p.wide_pre_offset = static_cast<double>(std::int64_t{e.zero_point} - e.storage_min());
    p.post_offset = static_cast<std::int32_t>(e.storage_min());
  } else {
    p.post_offset = e.zero_point;
  }
  return p;
}

}  // namespace detail
}  // namespace quanta
