// Error statistics (all metrics in one pass) against the scalar reference, in cache and in DRAM.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include <quanta/metrics.hpp>
#include <quanta/ref/metrics.hpp>

namespace {

struct pair_of_tensors {
  std::vector<float> ref, test;
};

pair_of_tensors make_pair_of_tensors(std::size_t n) {
  std::mt19937 gen(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  pair_of_tensors p{std::vector<float>(n), std::vector<float>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    p.ref[i] = dist(gen);
    p.test[i] = p.ref[i] + 0.01f * dist(gen);
  }
  return p;
}

void report(benchmark::State& state, std::size_t n) {
  const auto iterations = static_cast<std::int64_t>(state.iterations());
  const auto elements = static_cast<std::int64_t>(n);
  state.SetItemsProcessed(iterations * elements);
  state.SetBytesProcessed(iterations * elements * 2 * static_cast<std::int64_t>(sizeof(float)));
}

void measure_error_simd(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const pair_of_tensors p = make_pair_of_tensors(n);
  for (auto _ : state) {
    quanta::error_stats s = quanta::measure_error(p.ref, p.test);
    benchmark::DoNotOptimize(s);
  }
  report(state, n);
}

void measure_error_scalar_reference(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const pair_of_tensors p = make_pair_of_tensors(n);
  for (auto _ : state) {
    quanta::error_stats s = quanta::ref::measure_error(p.ref, p.test);
    benchmark::DoNotOptimize(s);
  }
  report(state, n);
}

// Channels last (inner 1): the per-channel path that stays scalar.
void measure_error_per_channel_last(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const pair_of_tensors p = make_pair_of_tensors(n);
  const quanta::channel_layout layout{n / 64, 64, 1};
  for (auto _ : state) {
    auto s = quanta::measure_error_per_channel(p.ref, p.test, layout);
    benchmark::DoNotOptimize(s.data());
  }
  report(state, n);
}

}  // namespace

BENCHMARK(measure_error_simd)->RangeMultiplier(16)->Range(4096, 16 << 20);
BENCHMARK(measure_error_scalar_reference)->RangeMultiplier(16)->Range(4096, 16 << 20);
BENCHMARK(measure_error_per_channel_last)->Arg(4096)->Arg(1 << 20);
BENCHMARK_MAIN();
