// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "quanta/error.hpp"
#include "quanta/span.hpp"

namespace quanta {

// How the real range maps onto the integer grid.
enum class scheme {
  asymmetric,          // [min, max] widened to include 0; zero is exactly representable
  symmetric,           // zero point at the centre of the storage range; the full range is used
  symmetric_strict,    // as symmetric, but the lowest code is dropped: [-(2^(b-1)-1), 2^(b-1)-1]
  unsigned_symmetric,  // symmetric, or zero point at the bottom when the data has no negatives
};

// How ties (k + 0.5) round.
enum class rounding {
  half_even,  // to the even neighbour (IEEE default; PyTorch, FBGEMM, XNNPACK, ONNX Runtime)
  half_away,  // away from zero (std::round; TFLite, gemmlowp, AIMET, QNN)
  half_up,    // toward +infinity (floor(x + 0.5) computed exactly)
};

// Whose rules, bit for bit.
enum class profile {
  qnn,      // Qualcomm QNN / SNPE / AIMET v1 C++
  pytorch,  // torch.ao observers and quantize_per_tensor / quantize_per_channel
  onnx,     // ONNX Runtime (DynamicQuantizeLinear, QuantizeLinear, the quantization tool)
  tflite,   // TensorFlow Lite / gemmlowp
};

// ONNX Runtime's quantization tool, symmetric scheme on 8- or 16-bit unsigned storage.
enum class onnx_unsigned_symmetric {
  reduced_range,  // since ORT PR #22020 (2024): the grid [0, 2^b - 2], zero point 2^(b-1) - 1
  full_range,     // before it: [0, 2^b - 1], zero point 2^(b-1)
};

// real = scale * (q - zero_point), q in [qmin(), qmax()].
struct encoding {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
  int bitwidth = 8;
  bool is_signed = false;
  // Strict symmetric grids drop the lowest code so that the grid is symmetric about the zero
  // point: qmin() is one higher than the storage type allows.
  bool narrow_range = false;

  // The lowest code of the full storage range, before narrow_range.
  constexpr std::int64_t storage_min() const noexcept {
    return is_signed ? -(std::int64_t{1} << (bitwidth - 1)) : 0;
  }
  constexpr std::int64_t storage_max() const noexcept {
    return is_signed ? (std::int64_t{1} << (bitwidth - 1)) - 1 : (std::int64_t{1} << bitwidth) - 1;
  }
  constexpr std::int32_t qmin() const noexcept {
    return static_cast<std::int32_t>(storage_min() + (narrow_range ? 1 : 0));
  }
  constexpr std::int32_t qmax() const noexcept { return static_cast<std::int32_t>(storage_max()); }

  // The representable real range: scale * (qmin - zero_point) .. scale * (qmax - zero_point),
  // each computed in double and rounded once.
  float min() const noexcept {
    return static_cast<float>(static_cast<double>(scale) *
                              static_cast<double>(std::int64_t{qmin()} - zero_point));
  }
  float max() const noexcept {
    return static_cast<float>(static_cast<double>(scale) *
                              static_cast<double>(std::int64_t{qmax()} - zero_point));
  }

  // QNN / SNPE / AIMET write real = scale * (q_unsigned + offset) with q_unsigned counted from the
  // bottom of the storage range, so offset = -(zero_point - storage_min()): -zero_point for
  // unsigned storage, -(zero_point + 2^(b-1)) for signed storage.
  constexpr std::int64_t offset() const noexcept { return storage_min() - zero_point; }

  // The inverse of offset(): the encoding whose QNN offset is `qnn_offset`.
  static constexpr encoding from_offset(float scale, std::int64_t qnn_offset, int bitwidth,
                                        bool is_signed, bool narrow_range = false) noexcept {
    encoding e{scale, 0, bitwidth, is_signed, narrow_range};
    e.zero_point = static_cast<std::int32_t>(e.storage_min() - qnn_offset);
    return e;
  }

  friend constexpr bool operator==(const encoding& a, const encoding& b) noexcept {
    return a.scale == b.scale && a.zero_point == b.zero_point && a.bitwidth == b.bitwidth &&
           a.is_signed == b.is_signed && a.narrow_range == b.narrow_range;
  }
  friend constexpr bool operator!=(const encoding& a, const encoding& b) noexcept {
    return !(a == b);
  }
};

struct encoding_options {
  int bitwidth = 8;  // 2..16, or 32 (signed only: biases)
  scheme kind = scheme::asymmetric;
  bool is_signed = false;  // storage type of the quantized values
  profile rules = profile::qnn;
  // QNN/AIMET widen a range narrower than this by raising max. A double because AIMET gates in
  // double with the literal 0.01; SNPE's older documentation uses 0.0001.
  double min_range = 0.01;
  // Ranges from data: skip NaN and +-Inf instead of reporting them as an error.
  bool skip_non_finite = false;
  // With profile::pytorch and scheme::asymmetric: FBGEMM's ChooseQuantizationParams (PyTorch's
  // dynamic quantization) instead of the torch.ao observers of static quantization.
  bool pytorch_dynamic = false;
  // With profile::onnx: which version of the tool's symmetric unsigned grid.
  onnx_unsigned_symmetric onnx_symmetric_unsigned = onnx_unsigned_symmetric::reduced_range;
  // With profile::qnn and scheme::asymmetric: SNPE's --use_adjusted_weights_quantizer (QNN's
  // "TF Adjusted"), read as the narrowest grid with zero exact that holds the whole range, where
  // the TF rule may shift an extreme out of it (docs/conventions.md; not verified against QNN).
  bool qnn_adjusted = false;
};

// The arithmetic of quantize, as each peer does it. Defaults are PyTorch/FBGEMM/XNNPACK's.
struct quantize_options {
  rounding round = rounding::half_even;
  // x / scale (ONNX Runtime, TFLite, QNN) instead of x * (1.0f / scale) (PyTorch, XNNPACK).
  bool divide_by_scale = false;
  // QNN/AIMET round (x / scale - offset) on the unsigned grid, so the zero point is added in float
  // before rounding; everyone else rounds x / scale and adds the zero point as an integer.
  bool zero_point_before_rounding = false;

  static constexpr quantize_options for_profile(profile p) noexcept {
    switch (p) {
      case profile::qnn:
        return {rounding::half_away, true, true};
      case profile::pytorch:
        return {rounding::half_even, false, false};
      case profile::onnx:
        return {rounding::half_even, true, false};
      case profile::tflite:
        return {rounding::half_away, true, false};
    }
    return {};
  }
};

// A row-major tensor seen as [outer, channels, inner]: element (o, c, i) is at
// (o * channels + c) * inner + i. Per-channel encodings are indexed by c.
struct channel_layout {
  std::size_t outer = 1;
  std::size_t channels = 1;
  std::size_t inner = 1;

  constexpr std::size_t size() const noexcept { return outer * channels * inner; }

  // The layout of a tensor of `shape` whose channel axis is `axis` (negative counts from the end,
  // as in NumPy).
  static channel_layout from_shape(span<const std::int64_t> shape, int axis);
};

// Per-block encodings (ONNX QuantizeLinear-21 "blocked", AIMET PER_BLOCK): the channel axis is cut
// into blocks of block_size consecutive elements (the last one may be shorter), and each
// (outer, block, inner) triple has its own encoding, stored row-major as [outer, blocks(), inner].
struct block_layout {
  std::size_t outer = 1;
  std::size_t channels = 1;  // extent of the blocked axis
  std::size_t inner = 1;
  std::size_t block_size = 1;

  constexpr std::size_t size() const noexcept { return outer * channels * inner; }
  constexpr std::size_t blocks() const noexcept {
    return block_size == 0 ? 0 : (channels + block_size - 1) / block_size;
  }
  constexpr std::size_t encoding_count() const noexcept { return outer * blocks() * inner; }
  // Index into the encodings of element (o, c, i).
  constexpr std::size_t encoding_index(std::size_t o, std::size_t c, std::size_t i) const noexcept {
    return (o * blocks() + c / block_size) * inner + i;
  }

  static block_layout from_shape(span<const std::int64_t> shape, int axis, std::size_t block_size);
};

// ---------------------------------------------------------------------------------------------
// Validation shared by every public function, so that all report errors in the same words.

namespace detail {

inline void check_bitwidth(const char* function, int bitwidth, bool is_signed) {
  if (!((bitwidth >= 2 && bitwidth <= 16) || bitwidth == 32)) {
    QUANTA_THROW(function, ": bitwidth is ", bitwidth, "; expected 2..16, or 32 for biases");
  }
  if (bitwidth == 32 && !is_signed) {
    QUANTA_THROW(function,
                 ": bitwidth 32 with unsigned storage; expected is_signed = true "
                 "(32-bit encodings are for int32 biases)");
  }
}

// `what` names the argument ("encoding", "encodings[3]", ...).
inline void check_encoding(const char* function, const char* what, std::size_t index, bool indexed,
                           const encoding& e) {
  auto name = [&] { return indexed ? message(what, "[", index, "]") : std::string(what); };
  if (!((e.bitwidth >= 2 && e.bitwidth <= 16) || e.bitwidth == 32)) {
    QUANTA_THROW(function, ": ", name(), ".bitwidth is ", e.bitwidth,
                 "; expected 2..16, or 32 for biases");
  }
  if (e.bitwidth == 32 && !e.is_signed) {
    QUANTA_THROW(function, ": ", name(),
                 " is a 32-bit unsigned encoding; expected is_signed = true");
  }
  if (!(std::isfinite(e.scale) && e.scale > 0.0f)) {
    QUANTA_THROW(function, ": ", name(), ".scale is ", e.scale, "; expected a finite value > 0");
  }
  if (e.zero_point < e.qmin() || e.zero_point > e.qmax()) {
    QUANTA_THROW(function, ": ", name(), ".zero_point is ", e.zero_point, "; expected ", e.qmin(),
                 "..", e.qmax(), " for a ", e.bitwidth, "-bit ",
                 e.is_signed ? "signed" : "unsigned", " encoding");
  }
}

inline void check_encoding(const char* function, const encoding& e) {
  check_encoding(function, "encoding", 0, false, e);
}

inline std::size_t checked_product(const char* function, std::size_t a, std::size_t b) {
  if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a) {
    QUANTA_THROW(function, ": the tensor's element count overflows size_t");
  }
  return a * b;
}

// Resolves `axis` (negative counts from the end) against `shape` and splits it.
inline void split_shape(const char* function, span<const std::int64_t> shape, int axis,
                        std::size_t& outer, std::size_t& channels, std::size_t& inner) {
  const auto rank = static_cast<std::int64_t>(shape.size());
  if (rank == 0) QUANTA_THROW(function, ": shape is empty; expected a tensor of rank >= 1");
  const std::int64_t resolved = axis < 0 ? axis + rank : axis;
  if (resolved < 0 || resolved >= rank) {
    QUANTA_THROW(function, ": axis is ", axis, "; expected ", -rank, "..", rank - 1,
                 " for a tensor of rank ", rank);
  }
  outer = 1;
  inner = 1;
  channels = 1;
  for (std::int64_t d = 0; d < rank; ++d) {
    const std::int64_t extent = shape[static_cast<std::size_t>(d)];
    if (extent < 0) {
      QUANTA_THROW(function, ": shape[", d, "] is ", extent, "; expected a size >= 0");
    }
    const auto n = static_cast<std::size_t>(extent);
    if (d < resolved) {
      outer = checked_product(function, outer, n);
    } else if (d == resolved) {
      channels = n;
    } else {
      inner = checked_product(function, inner, n);
    }
  }
  checked_product(function, checked_product(function, outer, channels), inner);
}

// v rounded to an integer, ties as `mode` says. Works on |v| so that the fraction is exact
// (v - floor(v) is not, for v in (-0.5, 0)); infinities and values beyond 2^52 (2^23 for float)
// are already integral and pass through.
template <class Real>
Real round_half(Real v, rounding mode) noexcept {
  const Real magnitude = std::fabs(v);
  if (!(magnitude < Real(1) / std::numeric_limits<Real>::epsilon())) return v;
  const Real down = std::floor(magnitude);
  const Real fraction = magnitude - down;
  Real rounded = down;
  if (fraction > Real(0.5)) {
    rounded = down + Real(1);
  } else if (fraction == Real(0.5)) {
    switch (mode) {
      case rounding::half_even:
        rounded = std::fmod(down, Real(2)) == Real(0) ? down : down + Real(1);
        break;
      case rounding::half_away:
        rounded = down + Real(1);
        break;
      case rounding::half_up:
        rounded = v < Real(0) ? down : down + Real(1);
        break;
    }
  }
  return std::copysign(rounded, v);
}

inline double round_double(double v, rounding mode) noexcept {
  return round_half(v, mode);
}

// The same in float arithmetic (the observers of PyTorch and ONNX Runtime compute in float).
inline float round_float(float v, rounding mode) noexcept {
  return round_half(v, mode);
}

template <class T>
T clamp_to(T v, T lo, T hi) noexcept {
  return v < lo ? lo : (hi < v ? hi : v);
}

// The grid a scheme uses before any profile rule: storage range, narrow or not.
struct grid {
  encoding shape;  // scale 1 and zero point 0; bitwidth, signedness and narrow_range set
  double qmin, qmax;
};

inline grid make_grid(const encoding_options& o, bool narrow) {
  encoding e{1.0f, 0, o.bitwidth, o.is_signed, narrow};
  return {e, static_cast<double>(e.qmin()), static_cast<double>(e.qmax())};
}

// Symmetric grids put the zero point at the centre of the storage range: 0 for signed storage,
// 2^(b-1) for unsigned storage.
inline std::int32_t symmetric_zero_point(const encoding& e) noexcept {
  return e.is_signed ? 0 : static_cast<std::int32_t>(std::int64_t{1} << (e.bitwidth - 1));
}

// --- QNN / SNPE / AIMET v1 ---------------------------------------------------------------------
// Whether the grid scale * (u - zero) for u in [0, steps] reaches down to lo and up to hi. Decided
// on the exact products: each fma rounds once, which keeps the sign of the exact difference, and a
// float scale times a code of up to 32 bits does not fit a double's 53.
inline bool qnn_grid_holds(float scale, double zero, double steps, double lo, double hi) noexcept {
  const auto s = static_cast<double>(scale);
  return std::fma(s, -zero, -lo) <= 0.0 && std::fma(s, steps - zero, -hi) >= 0.0;
}

// The smallest float scale whose grid with this zero point holds [lo, hi]; infinity when none is
// finite. The zero point must be feasible: 0 only when lo is 0, steps only when hi is 0.
inline float qnn_smallest_holding_scale(double lo, double hi, double zero, double steps) noexcept {
  const double from_lo = zero > 0.0 ? -lo / zero : 0.0;
  const double from_hi = zero < steps ? hi / (steps - zero) : 0.0;
  const double needed = std::max(from_lo, from_hi);
  constexpr float infinity = std::numeric_limits<float>::infinity();
  if (needed > static_cast<double>(std::numeric_limits<float>::max())) return infinity;
  // The quotients and the conversion to float each round, in either direction; holding is
  // monotone in the scale, so walking from there ends on the smallest float that holds.
  auto scale = static_cast<float>(needed);
  while (scale > 0.0f && qnn_grid_holds(std::nextafter(scale, 0.0f), zero, steps, lo, hi)) {
    scale = std::nextafter(scale, 0.0f);
  }
  while (scale < infinity && !qnn_grid_holds(scale, zero, steps, lo, hi)) {
    scale = std::nextafter(scale, infinity);
  }
  return scale;
}

// The TF-adjusted rule on the gated range [lo, hi]: of all zero points z on the unsigned grid, the
// one whose smallest holding scale is smallest. The exact scale a grid needs, max(-lo / z,
// hi / (steps - z)), falls and then rises in z, with its minimum at z* = steps * -lo / (hi - lo),
// so the best integer is floor(z*) or ceil(z*); one more on each side covers the rounding of the
// computed z*. Ties go to the TF rule's own zero point, then to the lower one, so that a range the
// TF grid already holds keeps the TF encoding.
inline encoding qnn_adjusted_encoding(double lo, double hi, double steps, double tf_zero,
                                      const encoding_options& o) {
  const auto feasible = [&](double z) {
    return z >= 0.0 && z <= steps && (z > 0.0 || lo == 0.0) && (z < steps || hi == 0.0);
  };
  double best_zero = tf_zero;
  float best_scale = std::numeric_limits<float>::infinity();
  if (feasible(tf_zero)) best_scale = qnn_smallest_holding_scale(lo, hi, tf_zero, steps);
  const double optimum = steps * -lo / (hi - lo);
  for (double z = std::floor(optimum) - 1.0; z <= std::ceil(optimum) + 1.0; z += 1.0) {
    if (!feasible(z)) continue;
    const float scale = qnn_smallest_holding_scale(lo, hi, z, steps);
    if (scale < best_scale) {
      best_scale = scale;
      best_zero = z;
    }
  }
  encoding e{best_scale, 0, o.bitwidth, o.is_signed, false};
  e.zero_point = static_cast<std::int32_t>(e.storage_min() + static_cast<std::int64_t>(best_zero));
  return e;
}

// AIMET gates the range in double (include 0, then max >= min + min_range) and computes delta and
// offset in double on the unsigned grid [0, 2^b - 1]; signed storage shifts codes by -2^(b-1).
inline encoding qnn_encoding(double lo, double hi, const encoding_options& o) {
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  hi = std::max(hi, lo + o.min_range);
  const double levels = std::ldexp(1.0, o.bitwidth);
  const bool use_symmetric = o.kind == scheme::symmetric || o.kind == scheme::symmetric_strict ||
                             (o.kind == scheme::unsigned_symmetric && lo < 0.0);
  if (use_symmetric) {
    const bool strict = o.kind == scheme::symmetric_strict;
    const double steps = levels - 1.0 - (strict ? 1.0 : 0.0);
    const double positive_steps = std::floor(steps / 2.0);
    const double absmax = std::max(std::fabs(lo), std::fabs(hi));
    encoding e{static_cast<float>(absmax / positive_steps), 0, o.bitwidth, o.is_signed, strict};
    // AIMET's strict grid is offset -(2^(b-1) - 1) on [0, 2^b - 2]; quanta keeps the zero point at
    // the centre (offset -2^(b-1), as the SNPE converter requires) and drops the lowest code
    // instead. Both grids hold the same reals.
    e.zero_point = symmetric_zero_point(e);
    return e;
  }
  const double steps = levels - 1.0;
  const double delta = (hi - lo) / steps;
  if (!(delta > 0.0)) {
    // A min_range so small (below about 1e-321) that the step underflows double: there is no
    // grid, and lo / delta would be 0 / 0. Scale 0 makes compute_encoding report the range.
    encoding e{0.0f, 0, o.bitwidth, o.is_signed, false};
    e.zero_point = static_cast<std::int32_t>(e.storage_min());
    return e;
  }
  double offset;
  if (lo < 0.0 && hi > 0.0) {
    offset = -clamp_to(round_double(-lo / delta, rounding::half_away), 0.0, steps);
  } else {
    offset = round_double(lo / delta, rounding::half_away);
  }
  if (o.qnn_adjusted) return qnn_adjusted_encoding(lo, hi, steps, -offset, o);
  encoding e{static_cast<float>(delta), 0, o.bitwidth, o.is_signed, false};
  e.zero_point = static_cast<std::int32_t>(e.storage_min() - static_cast<std::int64_t>(offset));
  return e;
}

// --- PyTorch: torch.ao MinMaxObserver / PerChannelMinMaxObserver (float32 arithmetic) ----------
inline encoding pytorch_observer_encoding(float lo, float hi, const encoding_options& o) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  const float eps = std::numeric_limits<float>::epsilon();
  const bool use_symmetric = o.kind == scheme::symmetric || o.kind == scheme::symmetric_strict ||
                             (o.kind == scheme::unsigned_symmetric && lo < 0.0f);
  const bool narrow = o.kind == scheme::symmetric_strict;
  const grid g = make_grid(o, narrow);
  encoding e = g.shape;
  if (use_symmetric) {
    const float absmax = std::max(-lo, hi);
    e.scale = std::max(absmax / (static_cast<float>(g.qmax - g.qmin) / 2.0f), eps);
    e.zero_point = symmetric_zero_point(e);
    // Fewer than 8 bits is PyTorch's customized quant range, where symmetric quint8 takes the
    // floored midpoint (quant_min + quant_max) // 2 (63 on [0, 127]); 8 bits keeps 128.
    if (!o.is_signed && o.bitwidth < 8)
      e.zero_point = static_cast<std::int32_t>(std::floor((g.qmin + g.qmax) / 2.0));
    return e;
  }
  e.scale = std::max((hi - lo) / static_cast<float>(g.qmax - g.qmin), eps);
  const float zp = static_cast<float>(g.qmin) - round_float(lo / e.scale, rounding::half_even);
  e.zero_point = static_cast<std::int32_t>(clamp_to(static_cast<double>(zp), g.qmin, g.qmax));
  return e;
}

// gemmlowp's rule, shared by FBGEMM and TFLite: take the zero point from whichever end of the range
// loses less precision, clamp it to the grid, round it with the peer's tie rule.
inline std::int32_t nudged_zero_point(const grid& g, double lo, double hi, double scale,
                                      rounding ties) noexcept {
  const double from_min = g.qmin - lo / scale;
  const double from_max = g.qmax - hi / scale;
  const double from_min_error = std::fabs(g.qmin) + std::fabs(lo / scale);
  const double from_max_error = std::fabs(g.qmax) + std::fabs(hi / scale);
  const double initial = from_min_error < from_max_error ? from_min : from_max;
  if (initial < g.qmin) return static_cast<std::int32_t>(g.qmin);
  if (initial > g.qmax) return static_cast<std::int32_t>(g.qmax);
  return static_cast<std::int32_t>(round_double(initial, ties));
}

// --- PyTorch dynamic quantization: FBGEMM ChooseQuantizationParams ------------------------------
// Scale in double stored as float, 0.1 for an empty range, a floor of 6.1e-5 on the scale (the
// range is stretched to match), and the zero point taken from whichever end of the range loses
// less precision, nudged half to even.
inline encoding fbgemm_encoding(float lo, float hi, const encoding_options& o) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  const grid g = make_grid(o, false);
  double scale = (static_cast<double>(hi) - static_cast<double>(lo)) / (g.qmax - g.qmin);
  if (static_cast<float>(scale) == 0.0f || std::isinf(1.0f / static_cast<float>(scale))) {
    scale = 0.1;
  }
  constexpr float small_scale_threshold = 6.1e-5f;
  if (static_cast<float>(scale) < small_scale_threshold) {
    const float original = static_cast<float>(scale);
    scale = small_scale_threshold;
    const auto span_levels = static_cast<float>(g.qmax - g.qmin);
    if (lo == 0.0f) {
      hi = small_scale_threshold * span_levels;
    } else if (hi == 0.0f) {
      lo = -small_scale_threshold * span_levels;
    } else {
      const float amplifier = small_scale_threshold / original;
      lo *= amplifier;
      hi *= amplifier;
    }
  }
  encoding e = g.shape;
  e.scale = static_cast<float>(scale);
  e.zero_point = nudged_zero_point(g, lo, hi, scale, rounding::half_even);
  return e;
}

// --- ONNX Runtime --------------------------------------------------------------------------------
// Asymmetric uint8: DynamicQuantizeLinear / MLAS GetQuantizationParameter, in float32, scale 1 for
// an empty range. Every other asymmetric grid (DynamicQuantizeLinear has no other type): the
// quantization tool's compute_scale_zp, in double: scale = double(max - min) / (qmax - qmin)
// stored as float, zero point round_half_even(qmin - min / scale) with the double scale, and
// scale 1, zero point 0 when the scale is below the smallest normal float.
// Symmetric: compute_scale_zp on the tool's symmetric grid (get_qmin_qmax_for_qType): 8 and 16
// bits signed narrow ([-127, 127]), unsigned as options.onnx_symmetric_unsigned says; other widths
// (int4, uint4, and quanta's reading for widths ORT has no type for) the full storage range.
// Scale = 2 absmax / (qmax - qmin) in double stored as float, zero point
// round_half_even((qmin + qmax) / 2).
inline encoding onnx_encoding(float lo, float hi, const encoding_options& o) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  const bool use_symmetric = o.kind == scheme::symmetric || o.kind == scheme::symmetric_strict ||
                             (o.kind == scheme::unsigned_symmetric && lo < 0.0f);
  const double tiny = static_cast<double>(std::numeric_limits<float>::min());
  if (use_symmetric) {
    const bool tool_table = o.bitwidth == 8 || o.bitwidth == 16;
    const bool narrow = o.kind == scheme::symmetric_strict || (o.is_signed && tool_table);
    const grid g = make_grid(o, narrow);
    encoding e = g.shape;
    const bool reduced = !o.is_signed && !narrow && tool_table &&
                         o.onnx_symmetric_unsigned == onnx_unsigned_symmetric::reduced_range;
    const double qmax = reduced ? g.qmax - 1.0 : g.qmax;
    const double absmax = std::max(-static_cast<double>(lo), static_cast<double>(hi));
    const double scale = 2.0 * absmax / (qmax - g.qmin);
    if (scale < tiny) {
      e.scale = 1.0f;
      e.zero_point = static_cast<std::int32_t>(clamp_to(0.0, g.qmin, g.qmax));
      return e;
    }
    e.scale = static_cast<float>(scale);
    e.zero_point =
        static_cast<std::int32_t>(round_double((g.qmin + qmax) / 2.0, rounding::half_even));
    return e;
  }
  const grid g = make_grid(o, false);
  encoding e = g.shape;
  if (o.bitwidth == 8 && !o.is_signed) {
    e.scale = (hi - lo) / static_cast<float>(g.qmax - g.qmin);
    // A range narrower than the smallest normal float's 255 steps (a scale of 0 would make the
    // zero point 0 / 0): scale 1 and zero point 0, as for an empty range and as the tool does.
    if (!(static_cast<double>(e.scale) >= tiny)) {
      e.scale = 1.0f;
      e.zero_point = 0;
      return e;
    }
    const float initial = static_cast<float>(g.qmin) - lo / e.scale;
    const float clamped = clamp_to(initial, static_cast<float>(g.qmin), static_cast<float>(g.qmax));
    e.zero_point = static_cast<std::int32_t>(round_float(clamped, rounding::half_even));
    return e;
  }
  const double scale = static_cast<double>(hi - lo) / (g.qmax - g.qmin);
  if (scale < tiny) {
    e.scale = 1.0f;
    e.zero_point = static_cast<std::int32_t>(clamp_to(0.0, g.qmin, g.qmax));
    return e;
  }
  e.scale = static_cast<float>(scale);
  // In exact arithmetic qmin - lo / scale lies in [qmin, qmax]; the clamp only keeps a rounding
  // of the quotient from stepping outside.
  const double initial = g.qmin - static_cast<double>(lo) / scale;
  e.zero_point = static_cast<std::int32_t>(
      clamp_to(round_double(initial, rounding::half_even), g.qmin, g.qmax));
  return e;
}

// --- TensorFlow Lite / gemmlowp: ChooseQuantizationParams (double) ------------------------------
// Symmetric ranges follow the TFLite weight quantizer: narrow signed grids, scale absmax / 127.
inline encoding tflite_encoding(double lo, double hi, const encoding_options& o) {
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  const bool use_symmetric = o.kind == scheme::symmetric || o.kind == scheme::symmetric_strict ||
                             (o.kind == scheme::unsigned_symmetric && lo < 0.0);
  if (use_symmetric) {
    const bool narrow = o.kind == scheme::symmetric_strict || o.is_signed;
    const grid g = make_grid(o, narrow);
    encoding e = g.shape;
    const auto absmax = static_cast<float>(std::max(-lo, hi));
    const auto half_levels = static_cast<float>((std::int64_t{1} << (o.bitwidth - 1)) - 1);
    e.scale = absmax / half_levels;
    // absmax 0, or so small that the scale underflows: scale 1.
    if (!(e.scale >= std::numeric_limits<float>::min())) e.scale = 1.0f;
    e.zero_point = symmetric_zero_point(e);
    return e;
  }
  const grid g = make_grid(o, false);
  encoding e = g.shape;
  const double scale = (hi - lo) / (g.qmax - g.qmin);
  // lo == hi: TFLite reports scale 0; quanta needs a usable grid: scale 1. The same when the scale
  // underflows float's normal range.
  if (!(scale >= static_cast<double>(std::numeric_limits<float>::min()))) {
    e.scale = 1.0f;
    e.zero_point = static_cast<std::int32_t>(clamp_to(0.0, g.qmin, g.qmax));
    return e;
  }
  e.scale = static_cast<float>(scale);
  e.zero_point = nudged_zero_point(g, lo, hi, scale, rounding::half_away);
  return e;
}

inline const char* profile_name(profile p) noexcept {
  switch (p) {
    case profile::qnn:
      return "profile::qnn";
    case profile::pytorch:
      return "profile::pytorch";
    case profile::onnx:
      return "profile::onnx";
    case profile::tflite:
      return "profile::tflite";
  }
  return "an unknown profile";
}

inline const char* scheme_name(scheme k) noexcept {
  switch (k) {
    case scheme::asymmetric:
      return "scheme::asymmetric";
    case scheme::symmetric:
      return "scheme::symmetric";
    case scheme::symmetric_strict:
      return "scheme::symmetric_strict";
    case scheme::unsigned_symmetric:
      return "scheme::unsigned_symmetric";
  }
  return "an unknown scheme";
}

inline void check_options(const char* function, const encoding_options& o) {
  check_bitwidth(function, o.bitwidth, o.is_signed);
  if (o.qnn_adjusted && o.rules != profile::qnn) {
    QUANTA_THROW(function, ": options.qnn_adjusted is true with ", profile_name(o.rules),
                 "; expected profile::qnn (the TF-adjusted quantizer is SNPE/QNN's)");
  }
  // A symmetric grid's zero point is fixed at the centre: there is nothing to adjust, and
  // unsigned_symmetric would adjust some ranges and not others.
  if (o.qnn_adjusted && o.kind != scheme::asymmetric) {
    QUANTA_THROW(function, ": options.qnn_adjusted is true with ", scheme_name(o.kind),
                 "; expected scheme::asymmetric");
  }
  if (!(std::isfinite(o.min_range) && o.min_range >= 0.0)) {
    QUANTA_THROW(function, ": options.min_range is ", o.min_range,
                 "; expected a finite value >= 0");
  }
  if (o.kind == scheme::asymmetric && o.rules == profile::qnn && o.min_range == 0.0) {
    // AIMET always gates with a positive minimum range; without one an all-zero tensor would
    // divide by zero.
    QUANTA_THROW(function, ": options.min_range is 0 with profile::qnn; expected a value > 0");
  }
}

// Whether an encoding's scale can be used: finite and > 0, as check_encoding requires.
inline bool usable_scale(const encoding& e) noexcept {
  return std::isfinite(e.scale) && e.scale > 0.0f;
}

// A calibrated range end as float, saturated at +-FLT_MAX: a histogram's bins may extend past the
// largest float, but no float value lies beyond it, so the saturated end covers the same data.
// NaN stays NaN.
inline float saturate_to_float(double v) noexcept {
  constexpr double largest = static_cast<double>(std::numeric_limits<float>::max());
  if (v > largest) return std::numeric_limits<float>::max();
  if (v < -largest) return -std::numeric_limits<float>::max();
  return static_cast<float>(v);
}

// A range whose scale overflows float (wider than about FLT_MAX, or QNN's min_range beyond it)
// has no encoding, and neither has a QNN range whose min_range is so small that the scale rounds
// to 0: an error that says so, rather than an encoding that fails check_encoding.
inline encoding representable(const char* function, float min, float max, const encoding_options& o,
                              const encoding& e) {
  if (!usable_scale(e)) {
    QUANTA_THROW(function, ": the range [", min, ", ", max, "] gives scale ", e.scale,
                 " with these options; expected a range whose scale is a finite float > 0 (",
                 o.rules == profile::qnn ? "with profile::qnn, min_range included)"
                                         : "its width over the grid's steps below FLT_MAX)");
  }
  return e;
}

inline encoding encoding_from_checked_range(float min, float max, const encoding_options& o) {
  switch (o.rules) {
    case profile::qnn:
      return qnn_encoding(min, max, o);
    case profile::pytorch:
      if (o.pytorch_dynamic && o.kind == scheme::asymmetric) return fbgemm_encoding(min, max, o);
      return pytorch_observer_encoding(min, max, o);
    case profile::onnx:
      return onnx_encoding(min, max, o);
    case profile::tflite:
      return tflite_encoding(min, max, o);
  }
  return qnn_encoding(min, max, o);
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------

// The encoding of the real range [min, max] under the options' scheme, bitwidth and profile.
// min == max (including 0, 0) is not an error: each profile's degenerate rule applies (see
// docs/conventions.md).
// The forms that scan a tensor for its range (compute_encoding(data), compute_encodings,
// compute_block_encodings) are in quanta/reduce.hpp, with the kernels they need.
inline encoding compute_encoding(float min, float max, const encoding_options& options = {}) {
  constexpr const char* function = "compute_encoding";
  detail::check_options(function, options);
  if (!std::isfinite(min)) QUANTA_THROW(function, ": min is ", min, "; expected a finite value");
  if (!std::isfinite(max)) QUANTA_THROW(function, ": max is ", max, "; expected a finite value");
  if (min > max) {
    QUANTA_THROW(function, ": min ", min, " is greater than max ", max, "; expected min <= max");
  }
  return detail::representable(function, min, max, options,
                               detail::encoding_from_checked_range(min, max, options));
}

inline channel_layout channel_layout::from_shape(span<const std::int64_t> shape, int axis) {
  channel_layout layout;
  detail::split_shape("channel_layout::from_shape", shape, axis, layout.outer, layout.channels,
                      layout.inner);
  return layout;
}

inline block_layout block_layout::from_shape(span<const std::int64_t> shape, int axis,
                                             std::size_t block_size) {
  if (block_size == 0) {
    QUANTA_THROW("block_layout::from_shape: block_size is 0; expected a block size >= 1");
  }
  block_layout layout;
  detail::split_shape("block_layout::from_shape", shape, axis, layout.outer, layout.channels,
                      layout.inner);
  layout.block_size = block_size;
  return layout;
}

namespace detail {

inline void check_layout(const char* function, const channel_layout& layout, std::size_t size) {
  const std::size_t expected = checked_product(
      function, checked_product(function, layout.outer, layout.channels), layout.inner);
  if (expected != size) {
    QUANTA_THROW(function, ": data has ", size, " elements but the layout [outer ", layout.outer,
                 ", channels ", layout.channels, ", inner ", layout.inner, "] describes ", expected,
                 "; expected equal sizes");
  }
}

inline void check_layout(const char* function, const block_layout& layout, std::size_t size) {
  if (layout.block_size == 0) {
    QUANTA_THROW(function, ": layout.block_size is 0; expected a block size >= 1");
  }
  check_layout(function, channel_layout{layout.outer, layout.channels, layout.inner}, size);
}

}  // namespace detail
}  // namespace quanta
