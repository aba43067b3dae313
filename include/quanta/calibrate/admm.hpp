// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <queue>
#include <tuple>
#include <vector>

#include "quanta/encoding.hpp"
#include "quanta/error.hpp"
#include "quanta/span.hpp"

// Weight scales fitted to the weights themselves: q = clamp(round_half_away(w / a), -c, c),
// minimizing sum (w - a q)^2. c = 2^(bitwidth-1) - 1 (127 for 8 bits).
namespace quanta {

struct admm_options {
  int max_iterations = 1000;
};

// A fitted scale and its squared error sum (w - a q)^2.
struct scale_fit {
  double scale = 0.0;
  double error = 0.0;
  int iterations = 0;
  // admm_fit: the error after each scale update (never increases); least_squares_fit: empty.
  std::vector<double> errors;
};

namespace detail {

inline double clamped_code(double w, double a, double c) noexcept {
  return std::clamp(std::round(w / a), -c, c);  // std::round: ties away from zero
}

inline double fit_error(const std::vector<double>& w, double a, double c) noexcept {
  double e = 0.0;
  for (double v : w) {
    const double d = v - (a > 0.0 ? a * clamped_code(v, a, c) : 0.0);
    e += d * d;
  }
  return e;
}

// MNN's alternating fit: start at max|w| / (1.25 c); q from a, then a = <w, q> / <q, q>, until q
// stops changing.
inline scale_fit admm_fit(const std::vector<double>& w, double c, int max_iterations) {
  scale_fit fit;
  double absmax = 0.0;
  for (double v : w)
    absmax = std::max(absmax, std::fabs(v));
  if (absmax == 0.0) return fit;  // all zeros: scale 0, error 0
  double a = absmax / (1.25 * c);
  std::vector<double> q(w.size()), previous;
  for (std::size_t i = 0; i < w.size(); ++i)
    q[i] = clamped_code(w[i], a, c);
  while (fit.iterations < max_iterations) {
    double wq = 0.0, qq = 0.0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      wq += w[i] * q[i];
      qq += q[i] * q[i];
    }
    if (qq == 0.0) break;
    a = wq / qq;
    ++fit.iterations;
    previous.swap(q);
    q.resize(w.size());
    for (std::size_t i = 0; i < w.size(); ++i)
      q[i] = clamped_code(w[i], a, c);
    fit.errors.push_back(fit_error(w, a, c));
    if (q == previous) break;
  }
  fit.scale = a;
  fit.error = fit_error(w, a, c);
  return fit;
}

// The global least-squares scale. As a falls, |q_i| steps from k to k + 1 at the breakpoint
// a = |w_i| / (k + 1/2); between breakpoints q is fixed and the error is a quadratic in a whose
// minimum <w, q> / <q, q> (clamped to the interval) is exact. A max-heap visits the breakpoints
// from the largest down: O(n c log n). Ties keep the larger scale.
inline scale_fit least_squares_fit(const std::vector<double>& w, double c) {
  scale_fit fit;
  double ww = 0.0;
  using breakpoint = std::tuple<double, std::size_t, double>;  // a, element, next |q|
  std::priority_queue<breakpoint> heap;
  for (std::size_t i = 0; i < w.size(); ++i) {
    ww += w[i] * w[i];
    if (w[i] != 0.0) heap.emplace(std::fabs(w[i]) / 0.5, i, 1.0);
  }
  fit.error = ww;
  if (heap.empty()) return fit;
  double wq = 0.0, qq = 0.0;  // <|w|, |q|> and <q, q> of the current interval
  double best = ww;
  double best_a = std::get<0>(heap.top());
  while (!heap.empty()) {
    const double upper = std::get<0>(heap.top());
    while (!heap.empty() && std::get<0>(heap.top()) == upper) {
      const auto [a, i, k] = heap.top();
      heap.pop();
      wq += std::fabs(w[i]);
      qq += 2.0 * k - 1.0;  // k^2 - (k - 1)^2
      if (k < c) heap.emplace(std::fabs(w[i]) / (k + 0.5), i, k + 1.0);
    }
    const double lower = heap.empty() ? 0.0 : std::get<0>(heap.top());
    const double a = std::clamp(wq / qq, lower, upper);
    const double e = ww - 2.0 * a * wq + a * a * qq;
    ++fit.iterations;
    if (e < best && a > 0.0) {
      best = e;
      best_a = a;
    }
  }
  fit.scale = best_a;
  fit.error = fit_error(w, best_a, c);
  return fit;
}

inline double positive_codes(const encoding_options& o) noexcept {
  return std::ldexp(1.0, o.bitwidth - 1) - 1.0;
}

inline std::vector<double> to_double(const char* function, span<const float> w) {
  if (w.empty()) QUANTA_THROW(function, ": w is empty; expected at least one weight");
  std::vector<double> v;
  v.reserve(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (!std::isfinite(w[i])) {
      QUANTA_THROW(function, ": w[", i, "] is ", w[i], "; expected finite weights");
    }
    v.push_back(w[i]);
  }
  return v;
}

// Channel c of a [outer, channels, inner] tensor, as doubles. Validates the whole tensor first.
inline std::vector<std::vector<double>> channel_values(const char* function, span<const float> w,
                                                       const channel_layout& layout) {
  check_layout(function, layout, w.size());
  if (layout.outer * layout.inner == 0 || layout.channels == 0) {
    QUANTA_THROW(function, ": w has no weights per channel; expected at least one");
  }
  for (std::size_t k = 0; k < w.size(); ++k) {
    if (!std::isfinite(w[k])) {
      QUANTA_THROW(function, ": w[", k, "] is ", w[k], "; expected finite weights");
    }
  }
  std::vector<std::vector<double>> channels(layout.channels);
  for (std::size_t o = 0; o < layout.outer; ++o)
    for (std::size_t c = 0; c < layout.channels; ++c)
      for (std::size_t i = 0; i < layout.inner; ++i)
        channels[c].push_back(w[(o * layout.channels + c) * layout.inner + i]);
  return channels;
}

// The encoding of [-a c, a c] by the options' rules (a symmetric grid of scale a for the
// symmetric schemes); a = 0 (all-zero weights) gives the encoding of [0, 0]. a c beyond the
// largest float saturates at FLT_MAX (no weight lies beyond); a range whose scale still overflows
// float (the asymmetric profiles' width 2 FLT_MAX) throws, naming it.
inline encoding fitted_encoding(const char* function, double a, const encoding_options& o) {
  const float t = saturate_to_float(a * positive_codes(o));
  return representable(function, -t, t, o, encoding_from_checked_range(-t, t, o));
}

inline void check_fit_options(const char* function, const encoding_options& o) {
  check_options(function, o);
  if (o.bitwidth < 2 || o.bitwidth > 16) {
    QUANTA_THROW(function, ": options.bitwidth is ", o.bitwidth, "; expected 2..16 for weights");
  }
}

// One encoding per channel from the scale `fit` gives.
template <class Fit>
std::vector<encoding> fitted_encodings(const char* function, span<const float> w,
                                       const channel_layout& layout, const encoding_options& o,
                                       Fit fit) {
  check_fit_options(function, o);
  std::vector<encoding> encodings;
  for (const auto& v : channel_values(function, w, layout))
    encodings.push_back(fitted_encoding(function, fit(v, positive_codes(o)).scale, o));
  return encodings;
}

}  // namespace detail

// The alternating (ADMM-style) scale fit of MNN for a symmetric grid of options.bitwidth bits.
inline scale_fit admm_fit(span<const float> w, int bitwidth, const admm_options& admm = {}) {
  constexpr const char* function = "admm_fit";
  if (bitwidth < 2 || bitwidth > 16) {
    QUANTA_THROW(function, ": bitwidth is ", bitwidth, "; expected 2..16");
  }
  if (admm.max_iterations < 1) {
    QUANTA_THROW(function, ": options.max_iterations is ", admm.max_iterations, "; expected >= 1");
  }
  return detail::admm_fit(detail::to_double(function, w), std::ldexp(1.0, bitwidth - 1) - 1.0,
                          admm.max_iterations);
}

// The scale of least squared error over all scales (breakpoint search).
inline scale_fit least_squares_fit(span<const float> w, int bitwidth) {
  constexpr const char* function = "least_squares_fit";
  if (bitwidth < 2 || bitwidth > 16) {
    QUANTA_THROW(function, ": bitwidth is ", bitwidth, "; expected 2..16");
  }
  return detail::least_squares_fit(detail::to_double(function, w),
                                   std::ldexp(1.0, bitwidth - 1) - 1.0);
}

inline encoding admm_encoding(span<const float> w, const encoding_options& options = {},
                              const admm_options& admm = {}) {
  constexpr const char* function = "admm_encoding";
  detail::check_fit_options(function, options);
  const auto v = detail::to_double(function, w);
  return detail::fitted_encoding(
      function, detail::admm_fit(v, detail::positive_codes(options), admm.max_iterations).scale,
      options);
}

inline std::vector<encoding> admm_encodings(span<const float> w, const channel_layout& layout,
                                            const encoding_options& options = {},
                                            const admm_options& admm = {}) {
  return detail::fitted_encodings("admm_encodings", w, layout, options,
                                  [&](const std::vector<double>& v, double c) {
                                    return detail::admm_fit(v, c, admm.max_iterations);
                                  });
}

inline encoding least_squares_encoding(span<const float> w, const encoding_options& options = {}) {
  constexpr const char* function = "least_squares_encoding";
  detail::check_fit_options(function, options);
  const auto v = detail::to_double(function, w);
  return detail::fitted_encoding(
      function, detail::least_squares_fit(v, detail::positive_codes(options)).scale, options);
}

inline std::vector<encoding> least_squares_encodings(span<const float> w,
                                                     const channel_layout& layout,
                                                     const encoding_options& options = {}) {
  return detail::fitted_encodings(
      "least_squares_encodings", w, layout, options,
      [](const std::vector<double>& v, double c) { return detail::least_squares_fit(v, c); });
}

}  // namespace quanta
