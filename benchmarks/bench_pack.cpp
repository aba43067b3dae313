// Sub-byte packing: fused f32 -> packed int4 against f32 -> int8 quantize and against the two-step
// baseline (quantize to a whole int8 tensor, then pack it); unpack + dequantize against int8
// dequantize; pack and unpack alone; FBGEMM's row-wise fused 4-bit format. Items are elements;
// bytes are the float side (4 bytes an element), so every row compares at equal work.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include <quanta/encoding.hpp>
#include <quanta/lpbq.hpp>
#include <quanta/pack.hpp>
#include <quanta/quantize.hpp>
#include <quanta/reduce.hpp>

namespace {

std::vector<float> normal_floats(std::size_t n) {
  std::mt19937 gen(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(n);
  for (auto& v : x)
    v = dist(gen);
  return x;
}

quanta::encoding signed_encoding(int bits) {
  quanta::encoding_options o;
  o.bitwidth = bits;
  o.is_signed = true;
  o.kind = quanta::scheme::symmetric;
  return quanta::compute_encoding(-3.0f, 3.0f, o);
}

void report(benchmark::State& state, std::size_t n) {
  const auto items = static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n);
  state.SetItemsProcessed(items);
  state.SetBytesProcessed(items * static_cast<std::int64_t>(sizeof(float)));
}

std::size_t size_of(const benchmark::State& state) {
  return static_cast<std::size_t>(state.range(0));
}

void BM_quantize_int8(benchmark::State& state) {
  const auto x = normal_floats(size_of(state));
  const auto e = signed_encoding(8);
  std::vector<std::int8_t> q(x.size());
  for (auto _ : state) {
    quanta::quantize(x, e, q);
    benchmark::DoNotOptimize(q.data());
  }
  report(state, x.size());
}

void BM_quantize_pack_int4(benchmark::State& state) {
  const auto x = normal_floats(size_of(state));
  const auto e = signed_encoding(4);
  std::vector<std::uint8_t> packed(quanta::packed_size(x.size(), 4));
  for (auto _ : state) {
    quanta::quantize_pack_int4(x, e, packed);
    benchmark::DoNotOptimize(packed.data());
  }
  report(state, x.size());
}

// What a caller without a fused path does: a whole int8 tensor, then the packing.
void BM_quantize_then_pack_int4(benchmark::State& state) {
  const auto x = normal_floats(size_of(state));
  const auto e = signed_encoding(4);
  std::vector<std::int8_t> q(x.size());
  std::vector<std::uint8_t> packed(quanta::packed_size(x.size(), 4));
  for (auto _ : state) {
    quanta::quantize(x, e, q);
    quanta::pack_int4(q, packed);
    benchmark::DoNotOptimize(packed.data());
  }
  report(state, x.size());
}

void BM_dequantize_int8(benchmark::State& state) {
  const auto e = signed_encoding(8);
  std::vector<std::int8_t> q(size_of(state));
  quanta::quantize(normal_floats(q.size()), e, q);
  std::vector<float> y(q.size());
  for (auto _ : state) {
    quanta::dequantize(q, e, y);
    benchmark::DoNotOptimize(y.data());
  }
  report(state, y.size());
}

void BM_unpack_dequantize_int4(benchmark::State& state) {
  const auto e = signed_encoding(4);
  std::vector<float> y(size_of(state));
  std::vector<std::uint8_t> packed(quanta::packed_size(y.size(), 4));
  quanta::quantize_pack_int4(normal_floats(y.size()), e, packed);
  for (auto _ : state) {
    quanta::unpack_dequantize_int4(packed, e, y);
    benchmark::DoNotOptimize(y.data());
  }
  report(state, y.size());
}

void BM_unpack_then_dequantize_int4(benchmark::State& state) {
  const auto e = signed_encoding(4);
  std::vector<float> y(size_of(state));
  std::vector<std::int8_t> q(y.size());
  std::vector<std::uint8_t> packed(quanta::packed_size(y.size(), 4));
  quanta::quantize_pack_int4(normal_floats(y.size()), e, packed);
  for (auto _ : state) {
    quanta::unpack_int4(packed, q);
    quanta::dequantize(q, e, y);
    benchmark::DoNotOptimize(y.data());
  }
  report(state, y.size());
}

void BM_pack_int4(benchmark::State& state) {
  std::vector<std::int8_t> q(size_of(state));
  quanta::quantize(normal_floats(q.size()), signed_encoding(4), q);
  std::vector<std::uint8_t> packed(quanta::packed_size(q.size(), 4));
  for (auto _ : state) {
    quanta::pack_int4(q, packed);
    benchmark::DoNotOptimize(packed.data());
  }
  report(state, q.size());
}

void BM_unpack_int4(benchmark::State& state) {
  std::vector<std::int8_t> q(size_of(state));
  std::vector<std::uint8_t> packed(quanta::packed_size(q.size(), 4));
  quanta::quantize_pack_int4(normal_floats(q.size()), signed_encoding(4), packed);
  for (auto _ : state) {
    quanta::unpack_int4(packed, q);
    benchmark::DoNotOptimize(q.data());
  }
  report(state, q.size());
}

// An embedding table of 128-wide rows.
void BM_quantize_fused_rowwise_4bit(benchmark::State& state) {
  const auto x = normal_floats(size_of(state));
  const std::size_t cols = 128;
  const std::size_t rows = x.size() / cols;
  std::vector<std::uint8_t> fused(rows * quanta::fused_row_size(cols));
  for (auto _ : state) {
    quanta::quantize_fused_rowwise(x, rows, cols, fused);
    benchmark::DoNotOptimize(fused.data());
  }
  report(state, x.size());
}

void BM_dequantize_fused_rowwise_4bit(benchmark::State& state) {
  const std::size_t cols = 128;
  std::vector<float> y(size_of(state));
  const std::size_t rows = y.size() / cols;
  std::vector<std::uint8_t> fused(rows * quanta::fused_row_size(cols));
  quanta::quantize_fused_rowwise(normal_floats(y.size()), rows, cols, fused);
  for (auto _ : state) {
    quanta::dequantize_fused_rowwise(fused, rows, cols, y);
    benchmark::DoNotOptimize(y.data());
  }
  report(state, y.size());
}

// A weight [n / 1024, 1024] blocked along its 1024 inputs (state.range(1) to a block): per-block
// int4 (a float scale per block) against LPBQ (per-channel float times per-block integer, which
// quantize_pack_int4 expands to per-block scales on every call) on the same tensor and kernels.
quanta::block_layout weight_blocks(const benchmark::State& state) {
  const std::size_t cols = 1024;
  return quanta::block_layout{size_of(state) / cols, cols, 1,
                              static_cast<std::size_t>(state.range(1))};
}

quanta::encoding_options int4_symmetric() {
  quanta::encoding_options o;
  o.bitwidth = 4;
  o.is_signed = true;
  o.kind = quanta::scheme::symmetric;
  return o;
}

void BM_quantize_pack_int4_blocks(benchmark::State& state) {
  const auto x = normal_floats(size_of(state));
  const quanta::block_layout layout = weight_blocks(state);
  const auto encodings = quanta::compute_block_encodings(x, layout, int4_symmetric());
  std::vector<std::uint8_t> packed(quanta::packed_size(x.size(), 4));
  for (auto _ : state) {
    quanta::quantize_pack_int4(x, layout, encodings, packed);
    benchmark::DoNotOptimize(packed.data());
  }
  report(state, x.size());
}

void BM_quantize_pack_int4_lpbq(benchmark::State& state) {
  const auto x = normal_floats(size_of(state));
  const quanta::block_layout layout = weight_blocks(state);
  const quanta::lpbq_encoding e = quanta::compute_lpbq_encodings(x, layout);
  std::vector<std::uint8_t> packed(quanta::packed_size(x.size(), 4));
  for (auto _ : state) {
    quanta::quantize_pack_int4(x, layout, e, packed);
    benchmark::DoNotOptimize(packed.data());
  }
  report(state, x.size());
}

void BM_unpack_dequantize_int4_blocks(benchmark::State& state) {
  const auto x = normal_floats(size_of(state));
  const quanta::block_layout layout = weight_blocks(state);
  const auto encodings = quanta::compute_block_encodings(x, layout, int4_symmetric());
  std::vector<std::uint8_t> packed(quanta::packed_size(x.size(), 4));
  quanta::quantize_pack_int4(x, layout, encodings, packed);
  std::vector<float> y(x.size());
  for (auto _ : state) {
    quanta::unpack_dequantize_int4(packed, layout, encodings, y);
    benchmark::DoNotOptimize(y.data());
  }
  report(state, y.size());
}

void BM_unpack_dequantize_int4_lpbq(benchmark::State& state) {
  const auto x = normal_floats(size_of(state));
  const quanta::block_layout layout = weight_blocks(state);
  const quanta::lpbq_encoding e = quanta::compute_lpbq_encodings(x, layout);
  std::vector<std::uint8_t> packed(quanta::packed_size(x.size(), 4));
  quanta::quantize_pack_int4(x, layout, e, packed);
  std::vector<float> y(x.size());
  for (auto _ : state) {
    quanta::unpack_dequantize_int4(packed, layout, e, y);
    benchmark::DoNotOptimize(y.data());
  }
  report(state, y.size());
}

// 4 Ki elements (L1), 256 Ki (L2), 16 Mi (DRAM).
#define QUANTA_PACK_SIZES ->Arg(1 << 12)->Arg(1 << 18)->Arg(1 << 24)

BENCHMARK(BM_quantize_int8) QUANTA_PACK_SIZES;
BENCHMARK(BM_quantize_pack_int4) QUANTA_PACK_SIZES;
BENCHMARK(BM_quantize_then_pack_int4) QUANTA_PACK_SIZES;
BENCHMARK(BM_dequantize_int8) QUANTA_PACK_SIZES;
BENCHMARK(BM_unpack_dequantize_int4) QUANTA_PACK_SIZES;
BENCHMARK(BM_unpack_then_dequantize_int4) QUANTA_PACK_SIZES;
BENCHMARK(BM_pack_int4) QUANTA_PACK_SIZES;
BENCHMARK(BM_unpack_int4) QUANTA_PACK_SIZES;
BENCHMARK(BM_quantize_fused_rowwise_4bit) QUANTA_PACK_SIZES;
BENCHMARK(BM_dequantize_fused_rowwise_4bit) QUANTA_PACK_SIZES;
// Blocks of 32 and 128 inputs: LLM weights use both.
#define QUANTA_BLOCK_SIZES   \
  ->Args({1 << 12, 32})      \
      ->Args({1 << 12, 128}) \
      ->Args({1 << 18, 32})  \
      ->Args({1 << 18, 128}) \
      ->Args({1 << 24, 32})  \
      ->Args({1 << 24, 128})
BENCHMARK(BM_quantize_pack_int4_blocks) QUANTA_BLOCK_SIZES;
BENCHMARK(BM_quantize_pack_int4_lpbq) QUANTA_BLOCK_SIZES;
BENCHMARK(BM_unpack_dequantize_int4_blocks) QUANTA_BLOCK_SIZES;
BENCHMARK(BM_unpack_dequantize_int4_lpbq) QUANTA_BLOCK_SIZES;

}  // namespace

BENCHMARK_MAIN();
