// quantize / dequantize / fake quantization throughput, quanta and its peers in one run.
// Names are <case>/<implementation>/<elements>; benchmarks/compare prints quanta/peer ratios.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <quanta/encoding.hpp>
#include <quanta/quantize.hpp>
#include <quanta/reduce.hpp>

#include "common.hpp"
#include "peers/peers.hpp"

#if QUANTA_BENCH_DISPATCH
// Built without -march: the kernels come from quanta::dispatch.
#include <quanta/dispatch.hpp>
using bench_arch = quanta::runtime_arch;
#else
using bench_arch = quanta::default_arch;
#endif

namespace {

constexpr std::size_t channels = 64;

quanta::encoding encoding_for(bool is_signed, int bits = 8) {
  quanta::encoding_options o;
  o.is_signed = is_signed;
  o.bitwidth = bits;
  o.rules = quanta::profile::pytorch;
  return quanta::compute_encoding(-3.0f, 3.0f, o);
}

void report(benchmark::State& state, std::size_t n, std::size_t bytes_per_element) {
  const auto iterations = static_cast<std::int64_t>(state.iterations());
  state.SetItemsProcessed(iterations * static_cast<std::int64_t>(n));
  state.SetBytesProcessed(iterations * static_cast<std::int64_t>(n * bytes_per_element));
}

std::size_t size_of(const benchmark::State& state) {
  return static_cast<std::size_t>(state.range(0));
}

// Runs f once per iteration; each of the state's elements moves bytes_per_element bytes.
template <class F>
void measure(benchmark::State& state, std::size_t bytes_per_element, F f) {
  for (auto _ : state) {
    f();
    benchmark::ClobberMemory();
  }
  report(state, size_of(state), bytes_per_element);
}

// --- quanta
// ---------------------------------------------------------------------------------------

template <class Q>
void quanta_quantize(benchmark::State& state) {
  const std::size_t n = size_of(state);
  const auto x = data(n);
  std::vector<Q> q(n);
  const auto e = encoding_for(std::is_signed_v<Q>, 8 * static_cast<int>(sizeof(Q)));
  measure(state, sizeof(float) + sizeof(Q), [&] {
    quanta::quantize<bench_arch>(x, e, q);
    benchmark::DoNotOptimize(q.data());
  });
}

// The same with another peer's quantize rules (rounding, division, zero point before rounding).
template <class Q>
void quanta_quantize_profile(benchmark::State& state, quanta::profile rules) {
  const std::size_t n = size_of(state);
  const auto x = data(n);
  std::vector<Q> q(n);
  const auto e = encoding_for(std::is_signed_v<Q>, 8 * static_cast<int>(sizeof(Q)));
  const auto options = quanta::quantize_options::for_profile(rules);
  measure(state, sizeof(float) + sizeof(Q), [&] {
    quanta::quantize<bench_arch>(x, e, q, options);
    benchmark::DoNotOptimize(q.data());
  });
}

template <class Q>
void quanta_dequantize(benchmark::State& state) {
  const std::size_t n = size_of(state);
  const auto x = data(n);
  std::vector<Q> q(n);
  const auto e = encoding_for(std::is_signed_v<Q>);
  quanta::quantize<bench_arch>(x, e, q);
  std::vector<float> y(n);
  measure(state, sizeof(Q) + sizeof(float), [&] {
    quanta::dequantize<bench_arch>(q, e, y);
    benchmark::DoNotOptimize(y.data());
  });
}

void quanta_fake_quantize(benchmark::State& state) {
  const std::size_t n = size_of(state);
  const auto x = data(n);
  std::vector<float> y(n);
  const auto e = encoding_for(false);
  measure(state, 2 * sizeof(float), [&] {
    quanta::quantize_dequantize<bench_arch>(x, e, y);
    benchmark::DoNotOptimize(y.data());
  });
}

// Channel axis outermost ([channels, n / channels]) or innermost ([n / channels, channels]).
quanta::channel_layout layout_for(std::size_t n, bool outermost) {
  return outermost ? quanta::channel_layout{1, channels, n / channels}
                   : quanta::channel_layout{n / channels, channels, 1};
}

std::vector<quanta::encoding> channel_encodings() {
  std::vector<quanta::encoding> r;
  for (std::size_t c = 0; c < channels; ++c)
    r.push_back(quanta::compute_encoding(-3.0f - 0.01f * static_cast<float>(c), 3.0f));
  return r;
}

void quanta_quantize_channels(benchmark::State& state, bool outermost) {
  const std::size_t n = size_of(state);
  const auto x = data(n);
  std::vector<std::uint8_t> q(n);
  const auto layout = layout_for(n, outermost);
  const auto encodings = channel_encodings();
  measure(state, sizeof(float) + 1, [&] {
    quanta::quantize<bench_arch>(x, layout, encodings, q);
    benchmark::DoNotOptimize(q.data());
  });
}

// Dynamic quantization: the range of this tensor, its encoding, then quantize.
void quanta_dynamic(benchmark::State& state) {
  const std::size_t n = size_of(state);
  const auto x = data(n);
  std::vector<std::uint8_t> q(n);
  quanta::encoding_options o;
  o.rules = quanta::profile::onnx;
  measure(state, sizeof(float) + 1, [&] {
    const quanta::min_max_result r = quanta::min_max<bench_arch>(x);
    const quanta::encoding e = quanta::compute_encoding(r.min, r.max, o);
    quanta::quantize<bench_arch>(x, e, q);
    benchmark::DoNotOptimize(q.data());
  });
}

// The bandwidth ceiling: read and write n floats.
void copy(benchmark::State& state) {
  const std::size_t n = size_of(state);
  const auto x = data(n);
  std::vector<float> y(n);
  measure(state, 2 * sizeof(float), [&] {
    std::memcpy(y.data(), x.data(), n * sizeof(float));
    benchmark::DoNotOptimize(y.data());
  });
}

// --- peers
// ----------------------------------------------------------------------------------------

template <class Q>
void eigen_quantize(benchmark::State& state) {
  const std::size_t n = size_of(state);
  const auto x = data(n);
  std::vector<Q> q(n);
  const auto e = encoding_for(std::is_signed_v<Q>);
  measure(state, sizeof(float) + sizeof(Q), [&] {
    peers::eigen_quantize(x.data(), n, e.scale, e.zero_point, q.data());
    benchmark::DoNotOptimize(q.data());
  });
}

#if QUANTA_BENCH_XNNPACK
template <class Q>
void xnnpack_quantize(benchmark::State& state) {
  const std::size_t n = size_of(state);
  const auto x = data(n);
  std::vector<Q> q(n);
  const auto e = encoding_for(std::is_signed_v<Q>);
  peers::xnn_convert<Q> op(n, e.scale, e.zero_point, true);
  measure(state, sizeof(float) + sizeof(Q), [&] {
    op.quantize(x.data(), q.data());
    benchmark::DoNotOptimize(q.data());
  });
}

template <class Q>
void xnnpack_dequantize(benchmark::State& state) {
  const std::size_t n = size_of(state);
  const auto x = data(n);
  std::vector<Q> q(n);
  const auto e = encoding_for(std::is_signed_v<Q>);
  quanta::quantize(x, e, q);
  std::vector<float> y(n);
  peers::xnn_convert<Q> op(n, e.scale, e.zero_point, false);
  measure(state, sizeof(Q) + sizeof(float), [&] {
    op.dequantize(q.data(), y.data());
    benchmark::DoNotOptimize(y.data());
  });
}
#endif

#if QUANTA_BENCH_ONEDNN
void onednn_quantize(benchmark::State& state, bool per_channel, bool outermost) {
  const std::size_t n = size_of(state);
  auto x = data(n);
  std::vector<std::uint8_t> q(n);
  std::vector<float> inv_scales;
  if (per_channel) {
    for (const auto& e : channel_encodings())
      inv_scales.push_back(1.0f / e.scale);
  } else {
    inv_scales.push_back(1.0f / encoding_for(false).scale);
  }
  // oneDNN's reorder has no zero point here: it does a part of the work (scale, round, saturate).
  const auto layout = per_channel ? layout_for(n, outermost) : quanta::channel_layout{1, 1, n};
  peers::dnnl_quantize op(layout.outer, layout.channels, layout.inner, inv_scales, x.data(),
                          q.data());
  measure(state, sizeof(float) + 1, [&] {
    op();
    benchmark::DoNotOptimize(q.data());
  });
}
#endif

#if QUANTA_BENCH_TORCH
void torch_quantize(benchmark::State& state, bool per_channel, bool outermost) {
  const std::size_t n = size_of(state);
  auto x = data(n);
  const auto layout = per_channel ? layout_for(n, outermost) : quanta::channel_layout{1, 1, n};
  const auto t = torch::from_blob(x.data(), {static_cast<std::int64_t>(layout.outer),
                                             static_cast<std::int64_t>(layout.channels),
                                             static_cast<std::int64_t>(layout.inner)});
  const auto e = encoding_for(false);
  std::vector<double> scales;
  std::vector<std::int64_t> zero_points;
  for (const auto& c : channel_encodings()) {
    scales.push_back(c.scale);
    zero_points.push_back(c.zero_point);
  }
  const auto scale_tensor = torch::tensor(scales, torch::kDouble);
  const auto zero_point_tensor = torch::tensor(zero_points, torch::kLong);
  for (auto _ : state) {
    // libtorch allocates the output on every call; that is its API.
    auto q = per_channel ? torch::quantize_per_channel(t, scale_tensor, zero_point_tensor, 1,
                                                       torch::kQUInt8)
                         : torch::quantize_per_tensor(t, e.scale, e.zero_point, torch::kQUInt8);
    benchmark::DoNotOptimize(q.data_ptr());
  }
  report(state, n, sizeof(float) + 1);
}
#endif

template <class F>
void add(const std::string& name, F f) {
  auto* b = benchmark::RegisterBenchmark(name.c_str(), f);
  for (std::int64_t n : sizes)
    b->Arg(n);
  b->Unit(benchmark::kMicrosecond);
}

int register_all() {
  add("quantize_u8/quanta", quanta_quantize<std::uint8_t>);
  add("quantize_s8/quanta", quanta_quantize<std::int8_t>);
  add("quantize_s16/quanta", quanta_quantize<std::int16_t>);
  // Ties away from zero after a division, the zero point added before rounding (QNN), or after it
  // (TFLite); ties to even after a division (ONNX Runtime).
  add("quantize_u8_qnn/quanta",
      [](benchmark::State& s) { quanta_quantize_profile<std::uint8_t>(s, quanta::profile::qnn); });
  add("quantize_s8_tflite/quanta", [](benchmark::State& s) {
    quanta_quantize_profile<std::int8_t>(s, quanta::profile::tflite);
  });
  add("quantize_u8_onnx/quanta",
      [](benchmark::State& s) { quanta_quantize_profile<std::uint8_t>(s, quanta::profile::onnx); });
  add("dequantize_u8/quanta", quanta_dequantize<std::uint8_t>);
  add("dequantize_s8/quanta", quanta_dequantize<std::int8_t>);
  add("fake_quantize/quanta", quanta_fake_quantize);
  add("quantize_channels_outer_u8/quanta",
      [](benchmark::State& s) { quanta_quantize_channels(s, true); });
  add("quantize_channels_inner_u8/quanta",
      [](benchmark::State& s) { quanta_quantize_channels(s, false); });
  add("dynamic_u8/quanta", quanta_dynamic);
  add("copy/memcpy", copy);
#if !QUANTA_BENCH_DISPATCH
  add("quantize_u8/eigen", eigen_quantize<std::uint8_t>);
  add("quantize_s8/eigen", eigen_quantize<std::int8_t>);
#if QUANTA_BENCH_XNNPACK
  add("quantize_u8/xnnpack", xnnpack_quantize<std::uint8_t>);
  add("quantize_s8/xnnpack", xnnpack_quantize<std::int8_t>);
  add("dequantize_u8/xnnpack", xnnpack_dequantize<std::uint8_t>);
  add("dequantize_s8/xnnpack", xnnpack_dequantize<std::int8_t>);
#endif
#if QUANTA_BENCH_ONEDNN
  add("quantize_u8/onednn", [](benchmark::State& s) { onednn_quantize(s, false, false); });
  add("quantize_channels_outer_u8/onednn",
      [](benchmark::State& s) { onednn_quantize(s, true, true); });
  add("quantize_channels_inner_u8/onednn",
      [](benchmark::State& s) { onednn_quantize(s, true, false); });
#endif
#if QUANTA_BENCH_TORCH
  add("quantize_u8/torch", [](benchmark::State& s) { torch_quantize(s, false, false); });
  add("quantize_channels_outer_u8/torch",
      [](benchmark::State& s) { torch_quantize(s, true, true); });
  add("quantize_channels_inner_u8/torch",
      [](benchmark::State& s) { torch_quantize(s, true, false); });
#endif
#endif
  return 0;
}

const int registered = register_all();

}  // namespace

BENCHMARK_MAIN();
