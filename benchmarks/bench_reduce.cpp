// min/max and absmax throughput, quanta against std::minmax_element and Eigen.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Core>

#include <quanta/reduce.hpp>

#include "common.hpp"

namespace {

template <class F>
void run(benchmark::State& state, F f) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto x = data(n);
  for (auto _ : state)
    benchmark::DoNotOptimize(f(x));
  const auto iterations = static_cast<std::int64_t>(state.iterations());
  state.SetItemsProcessed(iterations * state.range(0));
  state.SetBytesProcessed(iterations * state.range(0) * static_cast<std::int64_t>(sizeof(float)));
}

template <class F>
void add(const std::string& name, F f) {
  auto* b =
      benchmark::RegisterBenchmark(name.c_str(), [f](benchmark::State& state) { run(state, f); });
  for (std::int64_t n : sizes)
    b->Arg(n);
  b->Unit(benchmark::kMicrosecond);
}

using data_t = std::vector<float>;

int register_all() {
  add("min_max/quanta", [](const data_t& x) { return quanta::min_max(x); });
  add("min_max/std", [](const data_t& x) {
    const auto r = std::minmax_element(x.begin(), x.end());
    return *r.first + *r.second;
  });
  add("min_max/eigen", [](const data_t& x) {
    const Eigen::Map<const Eigen::ArrayXf> a(x.data(), static_cast<Eigen::Index>(x.size()));
    return a.minCoeff() + a.maxCoeff();
  });
  add("abs_max/quanta", [](const data_t& x) { return quanta::abs_max(x); });
  add("abs_max/eigen", [](const data_t& x) {
    const Eigen::Map<const Eigen::ArrayXf> a(x.data(), static_cast<Eigen::Index>(x.size()));
    return a.abs().maxCoeff();
  });
  add("min_max_channels_inner/quanta", [](const data_t& x) {
    return quanta::min_max_per_channel(x, quanta::channel_layout{x.size() / 64, 64, 1}).size();
  });
  return 0;
}

const int registered = register_all();

}  // namespace

BENCHMARK_MAIN();
