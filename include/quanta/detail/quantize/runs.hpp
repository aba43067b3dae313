// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>

#include "quanta/detail/quantize/lanes.hpp"

// Runs of elements that share a parameter source: the source (one encoding's lanes, or per-element
// tables in scratch memory), the general quantize, dequantize and fake-quantize runs that every
// storage type and every special value can take, and the alignment of a run's head.
#if QUANTA_SIMD_KERNELS
QUANTA_SIMD_DIAGNOSTICS_PUSH
namespace quanta::detail::kernels {

// Parameters for every element of a run: the same for all, or read from per-element tables.
// Runs take their source by value, so that broadcast lanes live in registers.
template <class K>
struct broadcast_source {
  lanes<K> l;
  const lanes<K>& at(std::size_t) const noexcept { return l; }
  broadcast_source from(std::size_t) const noexcept { return *this; }
};

// Working memory of the layout kernels' parameter tables: on the stack when it is small, as it is
// for the common per-channel shapes, where a heap allocation would cost as much as quantizing a few
// thousand elements.
class scratch {
 public:
  explicit scratch(std::size_t bytes) {
    if (bytes > sizeof(local_)) {
      heap_.reset(new std::byte[bytes]);
      data_ = heap_.get();
    }
  }
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;

  // The next count elements of T, at a 64-byte offset from the start.
  template <class T>
  T* take(std::size_t count) noexcept {
    T* p = reinterpret_cast<T*>(data_ + used_);
    used_ += bytes_for<T>(count);
    return p;
  }

  template <class T>
  static constexpr std::size_t bytes_for(std::size_t count) noexcept {
    return (count * sizeof(T) + 63) / 64 * 64;
  }

 private:
  alignas(64) std::byte local_[16384];
  std::unique_ptr<std::byte[]> heap_;
  std::byte* data_ = local_;
  std::size_t used_ = 0;
};

// Per-element parameters as structure-of-arrays. Runs read whole registers, so a run that ends at
// the table's end needs padding of one register.
template <class K>
struct param_table {
  float *factor, *pre, *lo, *hi, *scale;
  std::int32_t *post, *zero_point;
  float tie_sign = 0.0f;  // one for all positions

  static constexpr std::size_t bytes(std::size_t size) noexcept {
    return 5 * scratch::bytes_for<float>(size) + 2 * scratch::bytes_for<std::int32_t>(size);
  }

  param_table(scratch& memory, std::size_t size) noexcept
      : factor(memory.take<float>(size)),
        pre(memory.take<float>(size)),
        lo(memory.take<float>(size)),
        hi(memory.take<float>(size)),
        scale(memory.take<float>(size)),
        post(memory.take<std::int32_t>(size)),
        zero_point(memory.take<std::int32_t>(size)) {}

  // Copies positions [0, period) over [period, size).
  void repeat(std::size_t period, std::size_t size) noexcept {
    for (std::size_t j = period; j < size; j += period) {
      const std::size_t count = std::min(period, size - j);
      for (float* a : {factor, pre, lo, hi, scale})
        std::memcpy(a + j, a, count * sizeof(float));
      for (std::int32_t* a : {post, zero_point})
        std::memcpy(a + j, a, count * sizeof(std::int32_t));
    }
  }

  QUANTA_SIMD_INLINE void set(std::size_t j, const affine_params& p) noexcept {
    factor[j] = p.divide ? p.scale : p.inv_scale;
    pre[j] = p.pre_offset;
    lo[j] = static_cast<float>(std::int64_t{p.qmin} - p.post_offset);
    hi[j] = static_cast<float>(std::int64_t{p.qmax} - p.post_offset);
    scale[j] = p.scale;
    post[j] = p.post_offset;
    zero_point[j] = p.zero_point;
    tie_sign = kernels::tie_sign(p);
  }
};

// The tables' pointers are copied, not referenced: stores through Q* may alias anything, so a
// referenced table would be reloaded after every store.
template <class K>
struct table_source {
  param_table<K> table;
  std::size_t base;
  lanes<K> at(std::size_t i) const noexcept {
    const std::size_t j = base + i;
    lanes<K> l;
    l.factor = fbatch<K>::load_unaligned(table.factor + j);
    l.pre = fbatch<K>::load_unaligned(table.pre + j);
    l.lo = fbatch<K>::load_unaligned(table.lo + j);
    l.hi = fbatch<K>::load_unaligned(table.hi + j);
    l.scale = fbatch<K>::load_unaligned(table.scale + j);
    l.post = ibatch<K>::load_unaligned(table.post + j);
    l.zero_point = ibatch<K>::load_unaligned(table.zero_point + j);
    l.tie_sign = fbatch<K>(table.tie_sign);
    return l;
  }
  // The source of the elements from i on.
  table_source from(std::size_t i) const noexcept { return {table, base + i}; }
};

template <class Mode, class K, class Source, class Q>
void quantize_run(const float* x, std::size_t n, Source src, Q* q) noexcept {
  constexpr std::size_t N = fbatch<K>::size;
  std::size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    ibatch<K> r[4];
    for (std::size_t k = 0; k < 4; ++k)
      r[k] = quantize_lanes<Mode>(fbatch<K>::load_unaligned(x + i + k * N), src.at(i + k * N));
    simd::store_narrow4(q + i, r, K{});
  }
  for (; i + N <= n; i += N)
    simd::store_narrow(q + i, quantize_lanes<Mode>(fbatch<K>::load_unaligned(x + i), src.at(i)),
                       K{});
  if (i < n) {
    const fbatch<K> v = simd::load_partial<K>(x + i, n - i, K{});
    simd::store_narrow_partial(q + i, quantize_lanes<Mode>(v, src.at(i)), n - i, K{});
  }
}

// How many elements precede the first p + i that starts a register-sized piece of memory.
template <class K, class T>
std::size_t elements_to_register_boundary(const T* p) noexcept {
  return ((0 - reinterpret_cast<std::uintptr_t>(p)) % sizeof(fbatch<K>)) / sizeof(T);
}

template <class Out>
bool streams_output(std::size_t n) noexcept {
  return n * sizeof(Out) >= stream_output_bytes;
}

// How many elements precede the first x + i that starts a register-sized piece of memory, so that
// the whole-register loads or stores after them touch one cache line each (0 for short runs, where
// the split accesses cost less than the extra pass).
template <class K>
std::size_t misaligned_head(const float* x, std::size_t n) noexcept {
  if (n < 32 * fbatch<K>::size) return 0;
  return elements_to_register_boundary<K>(x);
}

// Stream: non-temporal stores to an x aligned to the register's size (simd::store_stream); the
// caller fences.
template <class K, bool Stream = false, class Source, class Q>
void dequantize_run(const Q* q, std::size_t n, Source src, float* x) noexcept {
  constexpr std::size_t N = fbatch<K>::size;
  std::size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    const fbatch<K> a = dequantize_lanes(simd::load_widen<K>(q + i, K{}), src.at(i));
    const fbatch<K> b = dequantize_lanes(simd::load_widen<K>(q + i + N, K{}), src.at(i + N));
    simd::store_register<Stream>(x + i, a);
    simd::store_register<Stream>(x + i + N, b);
  }
  for (; i + N <= n; i += N)
    simd::store_register<Stream>(x + i,
                                 dequantize_lanes(simd::load_widen<K>(q + i, K{}), src.at(i)));
  if (i < n) {
    const ibatch<K> v = simd::load_widen_partial<K>(q + i, n - i, K{});
    simd::store_partial(x + i, dequantize_lanes(v, src.at(i)), n - i, K{});
  }
}

// dequantize_run for 8-bit storage and one encoding where K permutes bytes: see
// simd::byte_permute::biased_floats.
template <bool Stream, class K, class Q>
void dequantize_run_bytes(const Q* q, std::size_t n, lanes<K> l, std::int32_t zero_point,
                          float* x) noexcept {
  constexpr std::size_t N = fbatch<K>::size;
  const fbatch<K> bias(
      static_cast<float>((1 << 23) + zero_point + (std::is_signed_v<Q> ? 128 : 0)));
  std::size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    fbatch<K> f[4];
    simd::byte_permute<K>::biased_floats(q + i, f);
    simd::unroll<4>(
        [&](auto k) { simd::store_register<Stream>(x + i + k * N, (f[k] - bias) * l.scale); });
  }
  dequantize_run<K, Stream>(q + i, n - i, broadcast_source<K>{l}, x + i);
}

// y may be x: each register is read before the same elements are written.
template <class Mode, class K, class Source>
void quantize_dequantize_run(const float* x, std::size_t n, Source src, float* y) noexcept {
  constexpr std::size_t N = fbatch<K>::size;
  std::size_t i = 0;
  for (; i + N <= n; i += N) {
    decltype(auto) l = src.at(i);
    const fbatch<K> v = fbatch<K>::load_unaligned(x + i);
    dequantize_lanes(quantize_lanes<Mode>(v, l), l).store_unaligned(y + i);
  }
  if (i < n) {
    decltype(auto) l = src.at(i);
    const fbatch<K> v = simd::load_partial<K>(x + i, n - i, K{});
    simd::store_partial(y + i, dequantize_lanes(quantize_lanes<Mode>(v, l), l), n - i, K{});
  }
}

}  // namespace quanta::detail::kernels
QUANTA_SIMD_DIAGNOSTICS_POP
#endif
