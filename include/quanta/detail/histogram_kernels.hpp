// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "quanta/arch.hpp"
#include "quanta/detail/simd_base.hpp"
#include "quanta/ref/histogram.hpp"
#include "quanta/span.hpp"

QUANTA_SIMD_DIAGNOSTICS_PUSH
namespace quanta::detail {

// The fill kernel: bin indices for a block of values in SIMD, stored to a buffer, then the
// increments, spread over four partial count arrays so that repeated bins do not wait on the
// previous store. Reading the indices a block later keeps the wide stores from stalling the
// narrow loads. Equals ref::histogram_fill bit for bit. Precondition: every value is finite.
template <class Arch>
void histogram_fill(const float* x, std::size_t n, bool magnitude, float lo, float inv_width,
                    std::uint32_t bins, double* counts) {
#if QUANTA_SIMD
  using batch = xsimd::batch<float, Arch>;
  constexpr std::size_t lanes = batch::size;
  constexpr std::size_t ways = 4;
  constexpr std::size_t block = 1024;  // a multiple of lanes and of ways
  // uint32 partial counts cannot overflow within a chunk of this many elements.
  constexpr std::size_t chunk = std::size_t{1} << 30;
  std::vector<std::uint32_t> partial(ways * bins);
  const batch vlo(lo);
  const batch vinv(inv_width);
  const batch zero(0.0f);
  const auto last = static_cast<float>(bins - 1);
  const batch vlast(last);
  alignas(64) std::array<std::int32_t, block> index{};
  std::size_t done = 0;
  while (done < n) {
    const std::size_t count = std::min(chunk, n - done);
    const float* p = x + done;
    const std::size_t blocks_end = count - count % block;
    for (std::size_t b = 0; b < blocks_end; b += block) {
      for (std::size_t i = 0; i < block; i += lanes) {
        batch v = batch::load_unaligned(p + b + i);
        if (magnitude) v = xsimd::abs(v);
        batch t = (v - vlo) * vinv;
        // Explicit selects: xsimd 8.1 min/max would not say what happens to NaN.
        t = xsimd::select(t > zero, t, zero);
        t = xsimd::select(t > vlast, vlast, t);
        xsimd::batch_cast<std::int32_t>(t).store_aligned(index.data() + i);
      }
      for (std::size_t i = 0; i < block; i += ways) {
        for (std::size_t w = 0; w < ways; ++w)
          ++partial[w * bins + static_cast<std::uint32_t>(index[i + w])];
      }
    }
    for (std::size_t i = blocks_end; i < count; ++i) {
      const float a = magnitude ? std::fabs(p[i]) : p[i];
      ++partial[ref::histogram_bin(a, lo, inv_width, last)];
    }
    for (std::size_t w = 0; w < ways; ++w) {
      for (std::uint32_t b = 0; b < bins; ++b) {
        counts[b] += static_cast<double>(partial[w * bins + b]);
        partial[w * bins + b] = 0;
      }
    }
    done += count;
  }
#else
  ref::histogram_fill(span<const float>(x, n), magnitude, lo, inv_width, bins, counts);
#endif
}

}  // namespace quanta::detail
QUANTA_SIMD_DIAGNOSTICS_POP
