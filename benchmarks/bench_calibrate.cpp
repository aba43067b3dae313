// Calibration: histogram filling against a plain min/max pass and a plain scalar histogram, and
// each range-setting method on a 2048-bin histogram against a straightforward O(bins^2) KL search.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <quanta/calibrate.hpp>
#include <quanta/reduce.hpp>

namespace {

std::vector<float> long_tailed(std::size_t n) {
  std::mt19937 gen(42);
  std::student_t_distribution<float> dist(3.0f);
  std::vector<float> x(n);
  for (auto& v : x)
    v = dist(gen);
  return x;
}

void set_throughput(benchmark::State& state, std::size_t n) {
  const auto items = static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n);
  state.SetItemsProcessed(items);
  state.SetBytesProcessed(items * static_cast<std::int64_t>(sizeof(float)));
}

void BM_min_max(benchmark::State& state) {
  const auto x = long_tailed(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state)
    benchmark::DoNotOptimize(quanta::min_max(x));
  set_throughput(state, x.size());
}

void BM_histogram_observe(benchmark::State& state) {
  const auto x = long_tailed(static_cast<std::size_t>(state.range(0)));
  quanta::histogram h(2048);
  h.observe(x);  // the range is set; later batches only count
  for (auto _ : state) {
    h.observe(x);
    benchmark::DoNotOptimize(h.counts().data());
  }
  set_throughput(state, x.size());
}

// What a straightforward implementation does: one scalar bin index and one increment per value.
void BM_histogram_plain_loop(benchmark::State& state) {
  const auto x = long_tailed(static_cast<std::size_t>(state.range(0)));
  std::vector<std::uint64_t> counts(2048);
  const auto r = quanta::min_max(x);
  const float lo = r.min;
  const float scale = 2048.0f / (r.max - r.min);
  for (auto _ : state) {
    for (float v : x) {
      float t = (v - lo) * scale;
      t = t < 0.0f ? 0.0f : (t > 2047.0f ? 2047.0f : t);
      ++counts[static_cast<std::size_t>(t)];
    }
    benchmark::DoNotOptimize(counts.data());
  }
  set_throughput(state, x.size());
}

quanta::histogram calibrated(quanta::histogram_domain domain) {
  quanta::histogram h(2048, domain);
  h.observe(long_tailed(1 << 20));
  return h;
}

quanta::encoding_options int8_symmetric() {
  quanta::encoding_options o;
  o.kind = quanta::scheme::symmetric;
  o.is_signed = true;
  return o;
}

template <class Method>
void time_method(benchmark::State& state, const quanta::histogram& h, Method method) {
  for (auto _ : state)
    benchmark::DoNotOptimize(method(h));
  set_throughput(state, h.bins());  // items: histogram bins
}

void BM_percentile(benchmark::State& state) {
  const auto h = calibrated(quanta::histogram_domain::magnitude);
  time_method(state, h, [](const quanta::histogram& g) {
    return quanta::percentile_encoding(g, int8_symmetric());
  });
}

void BM_mse_exact(benchmark::State& state) {
  const auto h = calibrated(quanta::histogram_domain::magnitude);
  time_method(state, h,
              [](const quanta::histogram& g) { return quanta::mse_encoding(g, int8_symmetric()); });
}

void BM_mse_exact_asymmetric(benchmark::State& state) {
  const auto h = calibrated(quanta::histogram_domain::value);
  time_method(state, h, [](const quanta::histogram& g) { return quanta::mse_encoding(g); });
}

void BM_tf_enhanced_exact(benchmark::State& state) {
  const auto h = calibrated(quanta::histogram_domain::value);
  time_method(state, h, [](const quanta::histogram& g) { return quanta::tf_enhanced_encoding(g); });
}

void BM_tf_enhanced_aimet(benchmark::State& state) {
  quanta::aimet_tf_enhanced a;
  a.observe(long_tailed(1 << 20));
  for (auto _ : state)
    benchmark::DoNotOptimize(a.compute({}));
  set_throughput(state, quanta::aimet_tf_enhanced::pdf_size);
}

void BM_entropy_prefix(benchmark::State& state) {
  const auto h = calibrated(quanta::histogram_domain::magnitude);
  time_method(state, h, [](const quanta::histogram& g) {
    return quanta::entropy_encoding(g, int8_symmetric());
  });
}

// MXNet's search on MXNet's histogram (8001 bins over [-t, t]): O(bins) per centred window in
// float32 as MXNet computes it, O(bins^2) in all.
void BM_entropy_mxnet(benchmark::State& state) {
  const auto h = quanta::symmetric_entropy_histogram(long_tailed(1 << 20), 8001);
  const auto eo = quanta::entropy_options::for_variant(quanta::entropy_variant::mxnet);
  time_method(state, h, [&](const quanta::histogram& g) {
    return quanta::entropy_encoding(g, int8_symmetric(), eo);
  });
}

// The straightforward TensorRT search: for each candidate, build P and Q bin by bin and sum the
// divergence, O(bins) per candidate and O(bins^2) in all.
double plain_kl_threshold(const quanta::histogram& h) {
  const auto c = h.counts();
  const std::size_t levels = 128;
  double best = std::numeric_limits<double>::infinity();
  std::size_t best_i = 0;
  for (std::size_t i = levels; i < c.size(); ++i) {
    std::vector<double> p(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(i));
    for (std::size_t j = i; j < c.size(); ++j)
      p[i - 1] += c[j];
    std::vector<double> q(i, 0.0);
    for (std::size_t g = 0; g < levels; ++g) {
      const std::size_t b = g * i / levels, e = (g + 1) * i / levels;
      double sum = 0.0, nonzero = 0.0;
      for (std::size_t j = b; j < e; ++j) {
        sum += c[j];
        nonzero += c[j] > 0.0 ? 1.0 : 0.0;
      }
      for (std::size_t j = b; j < e; ++j)
        q[j] = c[j] > 0.0 ? sum / nonzero : 0.0;
    }
    double sp = 0.0, sq = 0.0;
    for (std::size_t j = 0; j < i; ++j) {
      sp += p[j];
      sq += q[j];
    }
    double kl = 0.0;
    for (std::size_t j = 0; j < i; ++j) {
      if (p[j] == 0.0) continue;
      kl += q[j] == 0.0 ? std::numeric_limits<double>::infinity()
                        : p[j] / sp * std::log((p[j] / sp) / (q[j] / sq));
    }
    if (kl < best) {
      best = kl;
      best_i = i;
    }
  }
  return h.edge(best_i);
}

void BM_entropy_plain_quadratic(benchmark::State& state) {
  const auto h = calibrated(quanta::histogram_domain::magnitude);
  time_method(state, h, [](const quanta::histogram& g) { return plain_kl_threshold(g); });
}

void BM_admm(benchmark::State& state) {
  const auto w = long_tailed(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state)
    benchmark::DoNotOptimize(quanta::admm_fit(w, 8));
  set_throughput(state, w.size());
}

void BM_least_squares(benchmark::State& state) {
  const auto w = long_tailed(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state)
    benchmark::DoNotOptimize(quanta::least_squares_fit(w, 8));
  set_throughput(state, w.size());
}

}  // namespace

BENCHMARK(BM_min_max)->Arg(4096)->Arg(1 << 20)->Arg(1 << 24);
BENCHMARK(BM_histogram_observe)->Arg(4096)->Arg(1 << 20)->Arg(1 << 24);
BENCHMARK(BM_histogram_plain_loop)->Arg(4096)->Arg(1 << 20)->Arg(1 << 24);
BENCHMARK(BM_percentile);
BENCHMARK(BM_mse_exact);
BENCHMARK(BM_mse_exact_asymmetric);
BENCHMARK(BM_tf_enhanced_exact);
BENCHMARK(BM_tf_enhanced_aimet);
BENCHMARK(BM_entropy_prefix);
BENCHMARK(BM_entropy_mxnet);
BENCHMARK(BM_entropy_plain_quadratic);
BENCHMARK(BM_admm)->Arg(4096);
BENCHMARK(BM_least_squares)->Arg(4096);

BENCHMARK_MAIN();
