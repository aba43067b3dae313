// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include "quanta/arch.hpp"
#include "quanta/detail/affine.hpp"
#include "quanta/detail/instruction_set.hpp"
#include "quanta/detail/quantize_kernels.hpp"
#include "quanta/encoding.hpp"
#include "quanta/error.hpp"
#include "quanta/span.hpp"

// quantize:            q = clamp(round(x * (1/scale)) + zero_point, qmin, qmax)   (by default)
// dequantize:          x = float(q - zero_point) * scale
// quantize_dequantize: both, without storing q ("fake quantization")
// docs/conventions.md states the rules exactly, including NaN and infinities.
namespace quanta {

namespace detail {

template <class Q>
constexpr const char* storage_name() noexcept {
  if constexpr (std::is_same_v<Q, std::int8_t>) return "int8";
  if constexpr (std::is_same_v<Q, std::uint8_t>) return "uint8";
  if constexpr (std::is_same_v<Q, std::int16_t>) return "int16";
  if constexpr (std::is_same_v<Q, std::uint16_t>) return "uint16";
  if constexpr (std::is_same_v<Q, std::int32_t>) return "int32";
  return "?";
}

template <class Q>
void check_storage(const char* function, const char* what, std::size_t index, bool indexed,
                   const encoding& e) {
  check_encoding(function, what, index, indexed, e);
  if (e.qmin() < std::numeric_limits<Q>::min() || e.qmax() > std::numeric_limits<Q>::max()) {
    QUANTA_THROW(function, ": ", indexed ? message(what, "[", index, "]") : std::string(what),
                 " is a ", e.bitwidth, "-bit ", e.is_signed ? "signed" : "unsigned",
                 " encoding with codes ", e.qmin(), "..", e.qmax(), " that ", storage_name<Q>(),
                 " cannot hold; expected an encoding whose codes fit the storage type");
  }
}

inline void check_sizes(const char* function, const char* in_name, std::size_t in_size,
                        const char* out_name, std::size_t out_size) {
  if (in_size != out_size) {
    QUANTA_THROW(function, ": ", out_name, " has ", out_size, " elements but ", in_name, " has ",
                 in_size, "; expected equal sizes");
  }
}

// y may be x itself, but not a partly overlapping buffer.
inline void check_alias(const char* function, const float* x, const float* y, std::size_t n) {
  if (x == y || n == 0) return;
  const auto xb = reinterpret_cast<std::uintptr_t>(x);
  const auto yb = reinterpret_cast<std::uintptr_t>(y);
  const std::uintptr_t bytes = n * sizeof(float);
  if (xb < yb + bytes && yb < xb + bytes) {
    QUANTA_THROW(function, ": y partly overlaps x; expected y == x or disjoint buffers");
  }
}

// Whether e passes check_storage<Q> (check_encoding for Q = void), without building a message:
// checking each of many encodings the slow way costs as much as quantizing thousands of elements.
template <class Q>
bool valid_encoding(const encoding& e) noexcept {
  const bool bits = (e.bitwidth >= 2 && e.bitwidth <= 16) || (e.bitwidth == 32 && e.is_signed);
  if (!bits || !(std::isfinite(e.scale) && e.scale > 0.0f)) return false;
  if (e.zero_point < e.qmin() || e.zero_point > e.qmax()) return false;
  if constexpr (std::is_void_v<Q>) {
    return true;
  } else {
    return e.qmin() >= std::numeric_limits<Q>::min() && e.qmax() <= std::numeric_limits<Q>::max();
  }
}

// The affine parameters of a layout's encodings: inline for up to inline_capacity of them (the
// common per-channel case, where a heap allocation costs as much as the kernel), else on the heap.
class param_list {
 public:
  static constexpr std::size_t inline_capacity = 128;

  explicit param_list(std::size_t size) : size_(size) {
    if (size > inline_capacity) {
      heap_ = std::make_unique<affine_params[]>(size);
      data_ = heap_.get();
    }
  }
  param_list(param_list&& other) noexcept : size_(other.size_), heap_(std::move(other.heap_)) {
    if (heap_) {
      data_ = heap_.get();
    } else {
      std::memcpy(local_, other.local_, size_ * sizeof(affine_params));
    }
  }
  param_list(const param_list&) = delete;
  param_list& operator=(const param_list&) = delete;
  param_list& operator=(param_list&&) = delete;

  void set(std::size_t k, const affine_params& p) noexcept { new (data_ + k) affine_params(p); }
  const affine_params* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

 private:
  static_assert(std::is_trivially_copyable_v<affine_params> &&
                std::is_trivially_destructible_v<affine_params>);
  std::size_t size_;
  std::unique_ptr<affine_params[]> heap_;
  // Raw storage: constructing inline_capacity defaults would cost more than most layouts' checks.
  alignas(affine_params) unsigned char local_[inline_capacity * sizeof(affine_params)];
  affine_params* data_ = reinterpret_cast<affine_params*>(local_);
};

// The parameters of `expected` encodings, each checked against storage Q (any storage: void).
template <class Q>
param_list checked_params(const char* function, span<const encoding> encodings,
                          std::size_t expected, const char* expected_what,
                          const quantize_options& o) {
  if (encodings.size() != expected) {
    QUANTA_THROW(function, ": encodings has ", encodings.size(), " entries; expected ", expected,
                 " (", expected_what, ")");
  }
  param_list params(encodings.size());
  for (std::size_t k = 0; k < encodings.size(); ++k) {
    const encoding& e = encodings[k];
    if (!valid_encoding<Q>(e)) {
      if constexpr (std::is_void_v<Q>) {
        check_encoding(function, "encodings", k, true, e);
      } else {
        check_storage<Q>(function, "encodings", k, true, e);
      }
    }
    params.set(k, make_affine_params(e, o));
  }
  return params;
}

inline std::size_t expected_encodings(const channel_layout& l) noexcept {
  return l.channels;
}
inline std::size_t expected_encodings(const block_layout& l) noexcept {
  return l.encoding_count();
}
inline const char* encodings_meaning(const channel_layout&) noexcept {
  return "one per channel";
}
inline const char* encodings_meaning(const block_layout&) noexcept {
  return "outer x blocks x inner";
}

template <class Arch, class Q>
void quantize_checked(span<const float> x, const encoding& e, span<Q> q,
                      const quantize_options& o) {
  constexpr const char* function = "quantize";
  check_sizes(function, "x", x.size(), "q", q.size());
  check_storage<Q>(function, "encoding", 0, false, e);
  quantize_tensor<Arch>(x.data(), x.size(), make_affine_params(e, o), q.data());
}

template <class Arch, class Q>
void dequantize_checked(span<const Q> q, const encoding& e, span<float> x) {
  constexpr const char* function = "dequantize";
  check_sizes(function, "q", q.size(), "x", x.size());
  check_storage<Q>(function, "encoding", 0, false, e);
  dequantize_tensor<Arch>(q.data(), q.size(), make_affine_params(e, quantize_options{}), x.data());
}

template <class Arch, class Q, class Layout>
void quantize_layout_checked(span<const float> x, const Layout& layout,
                             span<const encoding> encodings, span<Q> q, const quantize_options& o) {
  constexpr const char* function = "quantize";
  check_layout(function, layout, x.size());
  check_sizes(function, "x", x.size(), "q", q.size());
  const auto params = checked_params<Q>(function, encodings, expected_encodings(layout),
                                        encodings_meaning(layout), o);
  quantize_channels<Arch>(x.data(), layout, params.data(), params.size(), q.data());
}

template <class Arch, class Q, class Layout>
void dequantize_layout_checked(span<const Q> q, const Layout& layout,
                               span<const encoding> encodings, span<float> x) {
  constexpr const char* function = "dequantize";
  check_layout(function, layout, q.size());
  check_sizes(function, "q", q.size(), "x", x.size());
  const auto params = checked_params<Q>(function, encodings, expected_encodings(layout),
                                        encodings_meaning(layout), quantize_options{});
  dequantize_channels<Arch>(q.data(), layout, params.data(), params.size(), x.data());
}

template <class Layout>
void check_fake_quant_layout(const char* function, span<const float> x, const Layout& layout,
                             span<float> y) {
  check_layout(function, layout, x.size());
  check_sizes(function, "x", x.size(), "y", y.size());
  check_alias(function, x.data(), y.data(), x.size());
}

template <class Arch, class Layout>
void quantize_dequantize_layout(span<const float> x, const Layout& layout,
                                span<const encoding> encodings, span<float> y,
                                const quantize_options& options) {
  constexpr const char* function = "quantize_dequantize";
  check_fake_quant_layout(function, x, layout, y);
  const auto params = checked_params<void>(function, encodings, expected_encodings(layout),
                                           encodings_meaning(layout), options);
  quantize_dequantize_channels<Arch>(x.data(), layout, params.data(), params.size(), y.data());
}

}  // namespace detail

// The instruction set is the translation unit's unless Arch names another (an xsimd architecture,
// or quanta::runtime_arch with quanta::dispatch). The storage type Q of the codes is deduced from q
// (std::vector, std::array, quanta::span, ...) and may be named instead of Arch:
// quantize<std::uint8_t>(x, e, q) is quantize(x, e, q).

// q = quantize(x): one encoding for the whole tensor.
template <class Arch = default_arch, class Codes>
void quantize(span<const float> x, const encoding& e, Codes&& q,
              const quantize_options& options = {}) {
  using call = detail::storage_call<Arch, detail::range_element_t<Codes>>;
  using Q = typename call::storage;
  detail::quantize_checked<typename call::arch, Q>(x, e, span<Q>(std::data(q), std::size(q)),
                                                   options);
}

// x = dequantize(q).
template <class Arch = default_arch, class Codes>
void dequantize(const Codes& q, const encoding& e, span<float> x) {
  using call = detail::storage_call<Arch, detail::range_element_t<const Codes>>;
  using Q = typename call::storage;
  detail::dequantize_checked<typename call::arch, Q>(span<const Q>(std::data(q), std::size(q)), e,
                                                     x);
}

// Per channel: the encodings of layout's channels, in channel order.
template <class Arch = default_arch, class Codes>
void quantize(span<const float> x, const channel_layout& layout, span<const encoding> encodings,
              Codes&& q, const quantize_options& options = {}) {
  using call = detail::storage_call<Arch, detail::range_element_t<Codes>>;
  using Q = typename call::storage;
  detail::quantize_layout_checked<typename call::arch, Q>(
      x, layout, encodings, span<Q>(std::data(q), std::size(q)), options);
}

template <class Arch = default_arch, class Codes>
void dequantize(const Codes& q, const channel_layout& layout, span<const encoding> encodings,
                span<float> x) {
  using call = detail::storage_call<Arch, detail::range_element_t<const Codes>>;
  using Q = typename call::storage;
  detail::dequantize_layout_checked<typename call::arch, Q>(
      span<const Q>(std::data(q), std::size(q)), layout, encodings, x);
}

// Per block: the encodings in block_layout::encoding_index order.
template <class Arch = default_arch, class Codes>
void quantize(span<const float> x, const block_layout& layout, span<const encoding> encodings,
              Codes&& q, const quantize_options& options = {}) {
  using call = detail::storage_call<Arch, detail::range_element_t<Codes>>;
  using Q = typename call::storage;
  detail::quantize_layout_checked<typename call::arch, Q>(
      x, layout, encodings, span<Q>(std::data(q), std::size(q)), options);
}

template <class Arch = default_arch, class Codes>
void dequantize(const Codes& q, const block_layout& layout, span<const encoding> encodings,
                span<float> x) {
  using call = detail::storage_call<Arch, detail::range_element_t<const Codes>>;
  using Q = typename call::storage;
  detail::dequantize_layout_checked<typename call::arch, Q>(
      span<const Q>(std::data(q), std::size(q)), layout, encodings, x);
}

// Fake quantization: y = dequantize(quantize(x)). y may be x itself.
template <class Arch = default_arch>
void quantize_dequantize(span<const float> x, const encoding& e, span<float> y,
                         const quantize_options& options = {}) {
  using arch = detail::instruction_set_t<Arch>;
  constexpr const char* function = "quantize_dequantize";
  detail::check_sizes(function, "x", x.size(), "y", y.size());
  detail::check_alias(function, x.data(), y.data(), x.size());
  detail::check_encoding(function, e);
  detail::quantize_dequantize_tensor<arch>(x.data(), x.size(),
                                           detail::make_affine_params(e, options), y.data());
}

template <class Arch = default_arch>
void quantize_dequantize(span<const float> x, const channel_layout& layout,
                         span<const encoding> encodings, span<float> y,
                         const quantize_options& options = {}) {
  detail::quantize_dequantize_layout<detail::instruction_set_t<Arch>>(x, layout, encodings, y,
                                                                      options);
}

template <class Arch = default_arch>
void quantize_dequantize(span<const float> x, const block_layout& layout,
                         span<const encoding> encodings, span<float> y,
                         const quantize_options& options = {}) {
  detail::quantize_dequantize_layout<detail::instruction_set_t<Arch>>(x, layout, encodings, y,
                                                                      options);
}

}  // namespace quanta
