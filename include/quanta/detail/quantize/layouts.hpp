// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "quanta/detail/quantize/bytes.hpp"
#include "quanta/detail/quantize/words.hpp"

// A run with one encoding on the fastest path its parameters allow, and the per-channel and
// per-block layouts built from such runs or from per-element tables.
#if QUANTA_SIMD_KERNELS
QUANTA_SIMD_DIAGNOSTICS_PUSH
namespace quanta::detail::kernels {

// What a layout kernel does to one run of elements that share a parameter source.
enum class operation { quantize, dequantize, quantize_dequantize };

template <operation Op, class Mode, class K, class Source, class In, class Out>
void run(const In* in, std::size_t n, Source src, Out* out) noexcept {
  if constexpr (Op == operation::quantize) {
    quantize_run<Mode, K>(in, n, src, out);
  } else if constexpr (Op == operation::dequantize) {
    dequantize_run<K>(in, n, src, out);
  } else {
    quantize_dequantize_run<Mode, K>(in, n, src, out);
  }
}

template <operation Op, class Mode, class K, class In, class Out>
void encoding_run(const In* in, std::size_t n, const affine_params& p, Out* out) noexcept {
  if constexpr (Op == operation::quantize && sizeof(Out) == 1) {
    if (byte_offset_fits(p)) return quantize_encoding_bytes<Mode, K>(in, n, p, out);
  }
  if constexpr (Op == operation::quantize && sizeof(Out) == 2) {
    word_plan plan;
    if (plan_words(p, plan)) return quantize_words<Mode, K>(in, n, p, plan, out);
  }
  const broadcast_source<K> src{broadcast<K>(p)};
  if constexpr (Op == operation::dequantize) {
    // Streamed outputs are long enough for the head to align them.
    const std::size_t head = misaligned_head<K>(out, n);
    dequantize_run<K>(in, head, src, out);
    const auto body = [&](auto stream) {
      constexpr bool Stream = decltype(stream)::value;
      // The bias 2^23 + zero_point (+ 128) must be exact in float.
      if constexpr (simd::byte_permute<K>::available && sizeof(In) == 1) {
        if (p.zero_point > -(1 << 22) && p.zero_point < (1 << 22))
          return dequantize_run_bytes<Stream>(in + head, n - head, src.l, p.zero_point, out + head);
      }
      dequantize_run<K, Stream>(in + head, n - head, src, out + head);
    };
    if (!streams_output<Out>(n)) return body(std::false_type{});
    body(std::true_type{});
    return simd::store_fence(K{});
  }
  run<Op, Mode, K>(in, n, src, out);
}

// Per-element parameters for runs that start at table position 0, and for 8-bit quantize, when
// every encoding's offset fits, the narrow-first path's offsets and bounds.
template <operation Op, class Mode, class K, class In, class Out>
class table_runner {
  static constexpr bool byte_codes = Op == operation::quantize && sizeof(Out) == 1;
  using byte_type = std::conditional_t<byte_codes, Out, std::uint8_t>;

 public:
  // Tables for runs of up to capacity elements with params[0..count).
  table_runner(std::size_t capacity, const affine_params* params, std::size_t count)
      : capacity_(capacity),
        memory_(param_table<K>::bytes(capacity + fbatch<K>::size) +
                (byte_codes ? byte_table<byte_type, K>::bytes(capacity) : 0)),
        table_(memory_, capacity + fbatch<K>::size),
        bytes_(memory_, byte_codes ? capacity : 0) {
    if constexpr (byte_codes) {
      use_bytes_ = std::all_of(params, params + count, byte_offset_fits);
      clamp_ = std::any_of(params, params + count, clamps<Out>);
    }
    // Runs read whole registers: the padding gets real parameters, never uninitialized memory.
    for (std::size_t j = capacity; j < capacity + fbatch<K>::size; ++j)
      table_.set(j, params[0]);
  }

  // Fills positions [0, size) with param_at(j), size <= capacity, where param_at repeats with the
  // given period.
  template <class ParamAt>
  void fill(std::size_t size, std::size_t period, ParamAt param_at) noexcept {
    for (std::size_t j = 0; j < std::min(period, size); ++j)
      table_.set(j, param_at(j));
    table_.repeat(period, size);
    if constexpr (byte_codes) {
      if (use_bytes_) bytes_.fill(table_, size, period);
    }
  }

  // Elements [0, n) of a run whose parameters are the table's positions [0, n).
  void operator()(const In* in, std::size_t n, Out* out) const noexcept {
    const table_source<K> src{table_, 0};
    if constexpr (byte_codes) {
      if (use_bytes_) {
        const table_bytes<Out, K> bytes{bytes_, 0};
        if (clamp_) return quantize_run_bytes<Mode, true, K>(in, n, 0, src, bytes, out);
        return quantize_run_bytes<Mode, false, K>(in, n, 0, src, bytes, out);
      }
    }
    run<Op, Mode, K>(in, n, src, out);
  }

  // Elements [0, n) whose parameters are the table's positions [0, span) over and over. span is a
  // multiple of four registers (sixteen, for the larger 8-bit blocks), so that no block straddles
  // the wrap and one call covers any n.
  void cycle(const In* in, std::size_t n, std::size_t span, Out* out) const noexcept {
    constexpr std::size_t N = fbatch<K>::size;
    if constexpr (byte_codes) {
      if (use_bytes_) {
        if (span % (16 * N) == 0) {
          if (clamp_) return cycle_bytes<16, true>(in, n, span, out);
          return cycle_bytes<16, false>(in, n, span, out);
        }
        if (clamp_) return cycle_bytes<4, true>(in, n, span, out);
        return cycle_bytes<4, false>(in, n, span, out);
      }
    }
    const param_table<K> table = table_;
    std::size_t i = 0, j = 0;
    for (; i + 4 * N <= n; i += 4 * N) {
      run<Op, Mode, K>(in + i, 4 * N, table_source<K>{table, j}, out + i);
      j = j + 4 * N == span ? 0 : j + 4 * N;
    }
    run<Op, Mode, K>(in + i, n - i, table_source<K>{table, j}, out + i);
  }

  std::size_t capacity() const noexcept { return capacity_; }

 private:
  // The tables are copied into locals: stores through Out* may alias the members.
  template <std::size_t Registers, bool Clamp>
  void cycle_bytes(const In* in, std::size_t n, std::size_t span, Out* out) const noexcept {
    constexpr std::size_t block = Registers * fbatch<K>::size;
    const param_table<K> table = table_;
    const byte_table<Out, K> bytes = bytes_;
    std::size_t i = 0, j = 0;
    for (; i + block <= n; i += block) {
      const table_source<K> src{table, j};
      if (!quantize_block_bytes<Registers, Mode, Clamp, false, K>(
              in + i, src, table_bytes<Out, K>{bytes, j}, out + i))
        quantize_run<Mode, K>(in + i, block, src, out + i);
      j = j + block == span ? 0 : j + block;
    }
    quantize_run<Mode, K>(in + i, n - i, table_source<K>{table, j}, out + i);
  }

  std::size_t capacity_;
  scratch memory_;
  param_table<K> table_;
  byte_table<byte_type, K> bytes_;
  bool use_bytes_ = false;
  bool clamp_ = false;
};

// The most elements a layout kernel's tables describe at once (about 128 KiB of tables).
constexpr std::size_t max_table_elements = 4096;

// How many elements of a layout of `periods` periods one table describes: the fewest whole
// periods that are a whole number of sixteen-register blocks, or else of four-register blocks
// (the table then repeats without a break), or else at least sixteen blocks (runs of whole
// periods, each ending in a partial block), never more than the layout has.
template <class K>
std::size_t periodic_span(std::size_t period, std::size_t periods) noexcept {
  constexpr std::size_t N = fbatch<K>::size;
  const auto fewest_periods_divisible_by = [&](std::size_t unit) {
    std::size_t span = period;
    for (std::size_t k = 1; k < periods && span % unit != 0 && span <= max_table_elements; ++k)
      span += period;
    return span;
  };
  for (std::size_t unit : {16 * N, 4 * N}) {
    const std::size_t span = fewest_periods_divisible_by(unit);
    if (span % unit == 0 && span <= max_table_elements) return span;
  }
  std::size_t span = period;
  for (std::size_t k = 1; k < periods && span < 64 * N; ++k)
    span += period;
  return span;
}

// Per-channel layouts. Rows of at least one block (four registers) run with their channel's
// encoding. Shorter rows (channels-last: inner == 1) repeat a pattern of period channels * inner;
// runs read it from tables of whole periods, enough of them that a run rarely ends in a partial
// block, or, for long periods, from tables of one window of the period, shared by every outer
// slice.
template <operation Op, class Mode, class K, class In, class Out>
void run_layout(const In* in, const channel_layout& layout, const affine_params* params, Out* out) {
  constexpr std::size_t block = 4 * fbatch<K>::size;
  const std::size_t inner = layout.inner;
  const std::size_t period = layout.channels * inner;
  if (period == 0 || layout.outer == 0) return;
  if (inner >= block) {
    std::size_t k = 0;
    for (std::size_t o = 0; o < layout.outer; ++o)
      for (std::size_t c = 0; c < layout.channels; ++c, k += inner)
        encoding_run<Op, Mode, K>(in + k, inner, params[c], out + k);
    return;
  }
  // The encoding of a position within the period (a division per table entry is slow enough to
  // show at 64 Ki elements, hence the channels-last case apart).
  const auto channel_at = [&](std::size_t position) -> const affine_params& {
    return params[inner == 1 ? position : position / inner];
  };
  const std::size_t n = layout.size();
  const std::size_t span = periodic_span<K>(period, layout.outer);
  if (span <= max_table_elements) {
    table_runner<Op, Mode, K, In, Out> runner(span, params, layout.channels);
    runner.fill(span, period, channel_at);
    if (span % block == 0) return runner.cycle(in, n, span, out);
    for (std::size_t k = 0; k < n; k += span)
      runner(in + k, std::min(span, n - k), out + k);
    return;
  }
  table_runner<Op, Mode, K, In, Out> runner(max_table_elements, params, layout.channels);
  for (std::size_t start = 0; start < period; start += max_table_elements) {
    const std::size_t length = std::min(max_table_elements, period - start);
    runner.fill(length, length,
                [&](std::size_t j) -> const affine_params& { return channel_at(start + j); });
    for (std::size_t o = 0; o < layout.outer; ++o)
      runner(in + o * period + start, length, out + o * period + start);
  }
}

// Per-block layouts. inner == 1: each block is a contiguous run with one encoding. Otherwise the
// rows of one (outer, block) pair share that pair's inner encodings, which a table holds (in
// windows when inner is long) while its rows run.
template <operation Op, class Mode, class K, class In, class Out>
void run_layout(const In* in, const block_layout& layout, const affine_params* params, Out* out) {
  const std::size_t blocks = layout.blocks();
  const std::size_t inner = layout.inner;
  if (inner == 1) {
    std::size_t k = 0;
    for (std::size_t o = 0; o < layout.outer; ++o) {
      for (std::size_t b = 0; b < blocks; ++b) {
        const std::size_t length =
            std::min(layout.block_size, layout.channels - b * layout.block_size);
        encoding_run<Op, Mode, K>(in + k, length, params[o * blocks + b], out + k);
        k += length;
      }
    }
    return;
  }
  if (layout.size() == 0) return;
  table_runner<Op, Mode, K, In, Out> runner(std::min(inner, max_table_elements), params,
                                            layout.encoding_count());
  for (std::size_t o = 0; o < layout.outer; ++o) {
    for (std::size_t b = 0; b < blocks; ++b) {
      const std::size_t first = b * layout.block_size;
      const std::size_t last = std::min(layout.channels, first + layout.block_size);
      const affine_params* group = params + layout.encoding_index(o, first, 0);
      for (std::size_t start = 0; start < inner; start += runner.capacity()) {
        const std::size_t length = std::min(runner.capacity(), inner - start);
        runner.fill(length, length,
                    [&](std::size_t j) -> const affine_params& { return group[start + j]; });
        for (std::size_t c = first; c < last; ++c) {
          const std::size_t k = (o * layout.channels + c) * inner + start;
          runner(in + k, length, out + k);
        }
      }
    }
  }
}

}  // namespace quanta::detail::kernels
QUANTA_SIMD_DIAGNOSTICS_POP
#endif
