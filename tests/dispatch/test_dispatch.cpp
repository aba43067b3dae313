// Built without -march: every kernel below runs through quanta::dispatch.
#include <quanta/dispatch.hpp>
#include <quanta/ref/metrics.hpp>
#include <quanta/ref/pack.hpp>
#include <quanta/ref/quantize.hpp>
#include <quanta/ref/reduce.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

using quanta::encoding;
using quanta::quantize_options;
using quanta::runtime_arch;

namespace {

bool machine_runs_avx512bw() {
  return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512vl");
}

bool machine_runs_avx512vbmi() {
  return machine_runs_avx512bw() && __builtin_cpu_supports("avx512vbmi");
}

// The instruction set the machine's CPU and operating system run best, asked independently of
// xsimd and of the library's own CPUID read (GCC and Clang check XGETBV too).
std::string expected_best() {
  if (machine_runs_avx512vbmi()) return "avx512vbmi";
  if (machine_runs_avx512bw()) return "avx512bw";
  if (__builtin_cpu_supports("avx2")) return "avx2";
  if (__builtin_cpu_supports("sse4.1")) return "sse4.1";
  return "sse2";
}

std::vector<float> inputs(std::size_t n) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-300.0f, 300.0f);
  std::vector<float> x(n);
  for (auto& v : x)
    v = std::round(u(rng) * 2.0f) / 2.0f;  // many ties
  const float inf = std::numeric_limits<float>::infinity();
  const float specials[] = {0.0f,   -0.0f, inf,   -inf, std::numeric_limits<float>::quiet_NaN(),
                            1e-45f, 1e30f, -1e30f};
  for (std::size_t i = 0; i < std::size(specials) && i < n; ++i)
    x[i * 7 % n] = specials[i];
  return x;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

template <class Q>
void check_quantize(const encoding& e, const quantize_options& o) {
  for (std::size_t n : {0u, 1u, 15u, 16u, 17u, 63u, 64u, 65u, 1000u, 4099u}) {
    const std::vector<float> x = inputs(n);
    std::vector<Q> q(n), q_ref(n);
    quanta::quantize<runtime_arch>(x, e, q, o);
    quanta::ref::quantize(quanta::span<const float>(x), e, quanta::span<Q>(q_ref), o);
    REQUIRE(same_bits(q, q_ref));
    std::vector<float> y(n), y_ref(n);
    quanta::dequantize<runtime_arch>(q, e, y);
    quanta::ref::dequantize(quanta::span<const Q>(q), e, quanta::span<float>(y_ref));
    REQUIRE(same_bits(y, y_ref));
    quanta::quantize_dequantize<runtime_arch>(x, e, y, o);
    quanta::ref::quantize_dequantize(quanta::span<const float>(x), e, quanta::span<float>(y_ref),
                                     o);
    REQUIRE(same_bits(y, y_ref));
  }
}

void check_everything() {
  for (quanta::profile pr : {quanta::profile::qnn, quanta::profile::pytorch, quanta::profile::onnx,
                             quanta::profile::tflite}) {
    const quantize_options o = quantize_options::for_profile(pr);
    check_quantize<std::uint8_t>(encoding{0.5f, 131, 8, false}, o);
    check_quantize<std::int8_t>(encoding{0.25f, -3, 8, true}, o);
    check_quantize<std::int16_t>(encoding{0.01f, 7, 16, true}, o);
    check_quantize<std::uint16_t>(encoding{0.5f, 65535, 16, false}, o);
    check_quantize<std::int32_t>(encoding{1e-3f, 0, 32, true}, o);
  }

  // Per channel, both axis positions, and per block.
  const quanta::channel_layout layouts[] = {{1, 7, 100}, {50, 7, 1}, {3, 5, 3}};
  for (const auto& layout : layouts) {
    const std::vector<float> x = inputs(layout.size());
    std::vector<encoding> encodings;
    for (std::size_t c = 0; c < layout.channels; ++c)
      encodings.push_back(encoding{0.5f + 0.25f * static_cast<float>(c),
                                   static_cast<std::int32_t>(c) - 3, 8, true});
    std::vector<std::int8_t> q(x.size()), q_ref(x.size());
    quanta::quantize<runtime_arch>(x, layout, encodings, q);
    quanta::ref::quantize(quanta::span<const float>(x), layout,
                          quanta::span<const encoding>(encodings),
                          quanta::span<std::int8_t>(q_ref));
    REQUIRE(same_bits(q, q_ref));
    const quanta::block_layout blocks{layout.outer, layout.channels, layout.inner, 2};
    std::vector<encoding> block_encodings(blocks.encoding_count(), encodings[0]);
    std::vector<float> y(x.size()), y_ref(x.size());
    quanta::quantize_dequantize<runtime_arch>(x, blocks, block_encodings, y);
    quanta::quantize_dequantize(x, blocks, block_encodings, y_ref);
    REQUIRE(same_bits(y, y_ref));

    const auto ranges = quanta::min_max_per_channel<runtime_arch>(x, layout);
    const auto ranges_ref =
        quanta::ref::min_max_per_channel(x, layout.outer, layout.channels, layout.inner);
    for (std::size_t c = 0; c < ranges.size(); ++c) {
      REQUIRE(std::memcmp(&ranges[c].min, &ranges_ref[c].min, sizeof(float)) == 0);
      REQUIRE(std::memcmp(&ranges[c].max, &ranges_ref[c].max, sizeof(float)) == 0);
      REQUIRE(ranges[c].has_nan == ranges_ref[c].has_nan);
    }
  }

  const std::vector<float> x = inputs(1001);
  const auto r = quanta::min_max<runtime_arch>(x);
  const auto r_ref = quanta::ref::min_max(x);
  CHECK(r.min == r_ref.min);
  CHECK(r.max == r_ref.max);
  CHECK(r.has_nan == r_ref.has_nan);
  CHECK(quanta::abs_max<runtime_arch>(x) == quanta::ref::abs_max(x));
}

// The kernels that runtime_arch reaches through the rest of the public API: packing (plain, fused,
// per channel and per row), metrics, histograms and encodings from data. Packing and counts equal
// the reference exactly; sums of metrics only closely, as between any two instruction sets.
void check_other_kernels() {
  const std::vector<float> x = inputs(1003);
  const encoding e4{0.5f, -2, 4, true};
  const auto p4 = quanta::detail::make_affine_params(e4, quantize_options{});
  std::vector<std::uint8_t> packed(quanta::packed_size(x.size(), 4)), packed_ref(packed.size());
  quanta::quantize_pack_int4<runtime_arch>(x, e4, packed);
  std::vector<std::int8_t> codes(x.size());
  quanta::ref::quantize(quanta::span<const float>(x), p4, quanta::span<std::int8_t>(codes));
  quanta::ref::pack(quanta::span<const std::int8_t>(codes), 4,
                    quanta::span<std::uint8_t>(packed_ref));
  REQUIRE(packed == packed_ref);
  std::vector<std::int8_t> unpacked(x.size());
  quanta::unpack_int4<runtime_arch>(packed, unpacked);
  REQUIRE(unpacked == codes);
  std::vector<std::uint8_t> repacked(packed.size());
  quanta::pack_int4<runtime_arch>(unpacked, repacked);
  REQUIRE(repacked == packed_ref);
  std::vector<float> y(x.size()), y_ref(x.size());
  quanta::unpack_dequantize_int4<runtime_arch>(packed, e4, y);
  quanta::ref::dequantize(quanta::span<const std::int8_t>(codes), p4, quanta::span<float>(y_ref));
  REQUIRE(same_bits(y, y_ref));

  const quanta::channel_layout rows{1, 17, 59};
  const std::vector<float> w = inputs(rows.size());
  std::vector<encoding> per_row(rows.channels, encoding{0.25f, 1, 2, false});
  std::vector<std::uint8_t> w_packed(quanta::packed_rows_size(rows.channels, rows.inner, 2));
  std::vector<std::uint8_t> w_packed_native(w_packed.size());
  quanta::quantize_pack_uint2_rows<runtime_arch>(w, rows.channels, rows.inner, per_row, w_packed);
  quanta::quantize_pack_uint2_rows(w, rows.channels, rows.inner, per_row, w_packed_native);
  REQUIRE(w_packed == w_packed_native);
  std::vector<std::uint8_t> c_packed(quanta::packed_size(w.size(), 4)),
      c_packed_native(c_packed.size());
  std::vector<encoding> per_channel(rows.channels, encoding{0.125f, 3, 4, false});
  quanta::quantize_pack_uint4<runtime_arch>(w, rows, per_channel, c_packed);
  quanta::quantize_pack_uint4(w, rows, per_channel, c_packed_native);
  REQUIRE(c_packed == c_packed_native);

  std::vector<float> finite = inputs(2000);
  for (float& v : finite)
    if (!std::isfinite(v) || std::fabs(v) > 1e6f) v = 1.5f;
  std::vector<std::uint8_t> fused(quanta::fused_row_size(100) * 20), fused_native(fused.size());
  quanta::quantize_fused_rowwise<runtime_arch>(finite, 20, 100, fused);
  quanta::quantize_fused_rowwise(finite, 20, 100, fused_native);
  REQUIRE(fused == fused_native);

  std::vector<float> test = finite;
  for (std::size_t i = 0; i < test.size(); ++i)
    test[i] += 0.01f * static_cast<float>(i % 7);
  const quanta::error_stats s = quanta::measure_error<runtime_arch>(finite, test);
  quanta::error_stats s_ref;
  quanta::ref::accumulate_error(finite.data(), test.data(), finite.size(), s_ref);
  CHECK(s.count == s_ref.count);
  CHECK(s.non_finite == s_ref.non_finite);
  CHECK(s.error_abs_max == s_ref.error_abs_max);
  CHECK(s.ref_abs_max == s_ref.ref_abs_max);
  CHECK(s.error_energy == Approx(s_ref.error_energy).epsilon(1e-12));
  CHECK(s.dot == Approx(s_ref.dot).epsilon(1e-12));
  CHECK(quanta::sqnr_db<runtime_arch>(finite, test) == Approx(quanta::sqnr_db(finite, test)));
  const auto per_channel_stats = quanta::measure_error_per_channel<runtime_arch>(
      finite, test, quanta::channel_layout{4, 5, 100});
  REQUIRE(per_channel_stats.size() == 5);
  CHECK(per_channel_stats[2].count == 400);

  quanta::histogram h(512), h_ref(512);
  h.observe<runtime_arch>(finite);
  h_ref.observe(finite);
  REQUIRE(h.lo() == h_ref.lo());
  REQUIRE(h.hi() == h_ref.hi());
  for (std::size_t b = 0; b < h.bins(); ++b)
    REQUIRE(h.counts()[b] == h_ref.counts()[b]);

  const encoding from_data = quanta::compute_encoding<runtime_arch>(finite);
  const encoding from_data_native = quanta::compute_encoding(finite);
  CHECK(from_data.scale == from_data_native.scale);
  CHECK(from_data.zero_point == from_data_native.zero_point);
}

// Every 8-bit code, at every zero-point class, with scales that give exact, rounded, denormal and
// infinite results; every length up to several 64-element blocks, and both buffers shifted by 0, 1,
// 3 and 15 elements so that the head before the output's 64-byte boundary varies.
template <class Q>
void check_dequantize_bytes() {
  constexpr std::int32_t lo = std::numeric_limits<Q>::min(), hi = std::numeric_limits<Q>::max();
  std::vector<Q> codes(4096 + 64);
  for (std::size_t i = 0; i < codes.size(); ++i)
    codes[i] = static_cast<Q>(lo + static_cast<std::int32_t>((i * 37) % 256));
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 200; ++n)
    lengths.push_back(n);
  for (std::size_t n : {255u, 256u, 257u, 1000u, 4095u, 4096u})
    lengths.push_back(n);
  std::vector<float> x(codes.size() + 16), x_ref(x.size());
  for (std::int32_t zp : {lo, hi, (lo + hi) / 2, (lo + hi) / 2 + 1, 0, lo + 1}) {
    for (float scale : {1.0f, 0.1f, 1e-40f, 3e38f}) {
      const encoding e{scale, zp, 8, std::is_signed_v<Q>};
      for (std::size_t n : lengths) {
        for (std::size_t offset : {0u, 1u, 3u, 15u}) {
          INFO("zero point " << zp << " scale " << scale << " length " << n << " offset "
                             << offset);
          const quanta::span<const Q> q(codes.data() + offset, n);
          quanta::dequantize<runtime_arch>(q, e, quanta::span<float>(x.data() + offset, n));
          quanta::ref::dequantize(q, e, quanta::span<float>(x_ref.data() + offset, n));
          REQUIRE(std::memcmp(x.data() + offset, x_ref.data() + offset, n * sizeof(float)) == 0);
        }
      }
    }
  }
}

}  // namespace

// Must be the process's first use of the kernels, which is when QUANTA_ARCH is read: hidden, and
// run by ctest in a process of its own with QUANTA_ARCH set (tests/dispatch/CMakeLists.txt).
TEST_CASE("dispatch: QUANTA_ARCH names the first choice", "[.][dispatch_env]") {
  const char* requested = std::getenv("QUANTA_ARCH");
  const std::string chosen = quanta::dispatch::arch_name();
  const auto names = quanta::dispatch::available_archs();
  const bool runs =
      requested != nullptr && std::find_if(names.begin(), names.end(), [&](const char* name) {
                                return std::string(name) == requested;
                              }) != names.end();
  INFO("QUANTA_ARCH=" << (requested != nullptr ? requested : "(unset)"));
  // A name the library or the machine lacks is ignored.
  CHECK(chosen == (runs ? std::string(requested) : expected_best()));
}

TEST_CASE("dispatch picks the best instruction set the machine runs", "[dispatch]") {
  REQUIRE(quanta::dispatch::select_arch("best"));
  CHECK(std::string(quanta::dispatch::arch_name()) == expected_best());
  const auto names = quanta::dispatch::available_archs();
  REQUIRE(!names.empty());
  CHECK(std::string(names.front()) == expected_best());
  CHECK(std::string(names.back()) == "sse2");
}

TEST_CASE("dispatch: VBMI is chosen exactly when the machine has it", "[dispatch]") {
  CHECK(quanta::dispatch::select_arch("avx512vbmi") == machine_runs_avx512vbmi());
  CHECK(quanta::dispatch::select_arch("avx512bw") == machine_runs_avx512bw());
  if (machine_runs_avx512bw()) CHECK(std::string(quanta::dispatch::arch_name()) == "avx512bw");
  quanta::dispatch::select_arch("best");
}

TEST_CASE("dispatch: every instruction set equals the reference", "[dispatch]") {
  std::string tested;
  for (const char* name : quanta::dispatch::available_archs()) {
    INFO("instruction set " << name);
    REQUIRE(quanta::dispatch::select_arch(name));
    REQUIRE(std::string(quanta::dispatch::arch_name()) == name);
    check_everything();
    check_other_kernels();
    check_dequantize_bytes<std::uint8_t>();
    check_dequantize_bytes<std::int8_t>();
    tested += tested.empty() ? name : std::string(" ") + name;
  }
  quanta::dispatch::select_arch("best");
  WARN("kernel tables tested: " << tested);
  std::string expected;
  if (machine_runs_avx512vbmi()) expected += "avx512vbmi ";
  if (machine_runs_avx512bw()) expected += "avx512bw ";
  if (__builtin_cpu_supports("avx2")) expected += "avx2 ";
  if (__builtin_cpu_supports("sse4.1")) expected += "sse4.1 ";
  CHECK(tested == expected + "sse2");
}

TEST_CASE("dispatch: unknown names change nothing; errors are still checked", "[dispatch]") {
  REQUIRE(quanta::dispatch::select_arch("best"));
  const std::string before = quanta::dispatch::arch_name();
  CHECK_FALSE(quanta::dispatch::select_arch("avx1024"));
  CHECK(before == quanta::dispatch::arch_name());

  const std::vector<float> x(4, 1.0f);
  std::vector<std::uint8_t> q(3, 7);
  CHECK_THROWS_WITH(quanta::quantize<runtime_arch>(x, encoding{}, q),
                    Catch::StartsWith("quantize: q has 3 elements"));
  CHECK(q == std::vector<std::uint8_t>(3, 7));
}
