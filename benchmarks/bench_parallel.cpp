// Many cores (quanta/parallel.hpp): f32 -> int4 per block (blocks of 32, 64, 128 along the rows)
// and f32 -> int8 per channel on a 256 MiB float tensor, with 1 and 2 threads of each executor
// adapter this build has, against a memcpy of the same footprint (input + output bytes) split over
// the same threads, the ceiling of a streaming kernel. Bytes are the float input; UseRealTime, so
// that the wall clock of the whole call is measured, not the calling thread's CPU time.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include <quanta/encoding.hpp>
#include <quanta/pack.hpp>
#include <quanta/parallel.hpp>
#include <quanta/quantize.hpp>

#if defined(QUANTA_BENCH_STD_THREAD)
#include <quanta/parallel/std_thread.hpp>
#endif
#if defined(QUANTA_BENCH_OPENMP)
#include <quanta/parallel/openmp.hpp>
#endif
#if defined(QUANTA_BENCH_TBB)
#include <tbb/global_control.h>

#include <quanta/parallel/tbb.hpp>
#endif
#if defined(QUANTA_BENCH_PTHREADPOOL)
#include <quanta/parallel/pthreadpool.hpp>
#endif

namespace {

constexpr std::size_t tensor_bytes = std::size_t{256} << 20;
constexpr std::size_t elements = tensor_bytes / sizeof(float);
constexpr std::size_t row_length = 4096;  // [rows, 4096] weights
constexpr std::size_t rows = elements / row_length;

const std::vector<float>& weights() {
  static const std::vector<float> x = [] {
    std::mt19937 gen(3);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> v(elements);
    for (auto& e : v)
      e = dist(gen);
    return v;
  }();
  return x;
}

std::vector<quanta::encoding> random_encodings(std::size_t count, int bits) {
  std::mt19937 gen(5);
  std::uniform_real_distribution<float> scale(0.05f, 0.5f);
  quanta::encoding e;
  e.bitwidth = bits;
  e.is_signed = true;
  std::vector<quanta::encoding> all(count, e);
  for (auto& one : all)
    one.scale = scale(gen);
  return all;
}

void report(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(tensor_bytes));
}

// Each adapter with `threads` threads, made once per benchmark run.
template <class Body>
void with_executor(int adapter, std::size_t threads, Body body) {
  switch (adapter) {
    case 0: {
      quanta::serial_executor serial;
      body(serial);
      return;
    }
#if defined(QUANTA_BENCH_STD_THREAD)
    case 1: {
      quanta::std_thread_executor pool(threads);
      body(pool);
      return;
    }
#endif
#if defined(QUANTA_BENCH_OPENMP)
    case 2: {
      quanta::openmp_executor omp{static_cast<int>(threads)};
      body(omp);
      return;
    }
#endif
#if defined(QUANTA_BENCH_TBB)
    case 3: {
      tbb::task_arena arena(static_cast<int>(threads));
      quanta::tbb_executor tbb(arena);
      body(tbb);
      return;
    }
#endif
#if defined(QUANTA_BENCH_PTHREADPOOL)
    case 4: {
      pthreadpool_t pool = pthreadpool_create(threads);
      quanta::pthreadpool_executor pp(pool);
      body(pp);
      pthreadpool_destroy(pool);
      return;
    }
#endif
    default:
      return;
  }
}

void BM_int4_per_block(benchmark::State& state) {
  const auto adapter = static_cast<int>(state.range(0));
  const auto threads = static_cast<std::size_t>(state.range(1));
  const auto block = static_cast<std::size_t>(state.range(2));
  const auto& x = weights();
  const quanta::block_layout layout{rows, row_length, 1, block};
  const auto e = random_encodings(layout.encoding_count(), 4);
  std::vector<std::uint8_t> packed(quanta::packed_size(x.size(), 4));
  with_executor(adapter, threads, [&](auto& executor) {
    for (auto _ : state) {
      quanta::quantize_pack_int4(executor, x, layout, e, packed);
      benchmark::DoNotOptimize(packed.data());
    }
  });
  report(state);
}

void BM_int8_per_channel(benchmark::State& state) {
  const auto adapter = static_cast<int>(state.range(0));
  const auto threads = static_cast<std::size_t>(state.range(1));
  const auto& x = weights();
  const quanta::channel_layout layout{1, rows, row_length};  // channel axis 0
  const auto e = random_encodings(rows, 8);
  std::vector<std::int8_t> q(x.size());
  with_executor(adapter, threads, [&](auto& executor) {
    for (auto _ : state) {
      quanta::quantize(executor, x, layout, e, q);
      benchmark::DoNotOptimize(q.data());
    }
  });
  report(state);
}

// The ceiling: copy the input's bytes (read 256 MiB, write 256 MiB) with `threads` std::threads.
void BM_memcpy(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(1));
  const auto& x = weights();
  std::vector<float> y(x.size());
#if defined(QUANTA_BENCH_STD_THREAD)
  quanta::std_thread_executor pool(threads);
  const quanta::partition plan(x.size(), 1024, threads);
  for (auto _ : state) {
    pool.parallel_for(plan.tasks(), [&](std::size_t t) {
      const quanta::task_range r = plan[t];
      std::memcpy(y.data() + r.begin, x.data() + r.begin, r.size() * sizeof(float));
    });
    benchmark::DoNotOptimize(y.data());
  }
#else
  (void)threads;
  for (auto _ : state) {
    std::memcpy(y.data(), x.data(), x.size() * sizeof(float));
    benchmark::DoNotOptimize(y.data());
  }
#endif
  report(state);
}

// Adapters: 0 serial, 1 std::thread, 2 OpenMP, 3 oneTBB, 4 pthreadpool.
void adapters(benchmark::internal::Benchmark* b, bool blocks) {
  std::vector<int> available = {0};
#if defined(QUANTA_BENCH_STD_THREAD)
  available.push_back(1);
#endif
#if defined(QUANTA_BENCH_OPENMP)
  available.push_back(2);
#endif
#if defined(QUANTA_BENCH_TBB)
  available.push_back(3);
#endif
#if defined(QUANTA_BENCH_PTHREADPOOL)
  available.push_back(4);
#endif
  for (int adapter : available) {
    for (int threads : {1, 2}) {
      if (adapter == 0 && threads == 2) continue;
      if (blocks) {
        for (int block : {32, 64, 128})
          b->Args({adapter, threads, block});
      } else {
        b->Args({adapter, threads});
      }
    }
  }
}

}  // namespace

BENCHMARK(BM_int4_per_block)
    ->Apply([](benchmark::internal::Benchmark* b) { adapters(b, true); })
    ->ArgNames({"adapter", "threads", "block"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_int8_per_channel)
    ->Apply([](benchmark::internal::Benchmark* b) { adapters(b, false); })
    ->ArgNames({"adapter", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_memcpy)
    ->Args({1, 1})
    ->Args({1, 2})
    ->ArgNames({"adapter", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
