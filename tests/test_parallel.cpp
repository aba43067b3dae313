#include <quanta/calibrate/histogram.hpp>
#include <quanta/metrics.hpp>
#include <quanta/pack.hpp>
#include <quanta/parallel.hpp>
#include <quanta/quantize.hpp>
#include <quanta/reduce.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#if defined(QUANTA_TEST_HAVE_STD_THREAD)
#include <quanta/parallel/std_thread.hpp>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif
#if defined(QUANTA_TEST_HAVE_OPENMP)
#include <quanta/parallel/openmp.hpp>
#endif
#if defined(QUANTA_TEST_HAVE_TBB)
#include <quanta/parallel/tbb.hpp>
#endif
#if defined(QUANTA_TEST_HAVE_PTHREADPOOL)
#include <quanta/parallel/pthreadpool.hpp>
#endif

using quanta::block_layout;
using quanta::channel_layout;
using quanta::encoding;

namespace {

// Takes up to `tasks` tasks and runs them last to first, so that a result that depended on the
// order of completion would show; records the task count of the last call.
struct reversed_executor {
  std::size_t tasks = 1;
  std::size_t last_task_count = 0;

  std::size_t max_tasks() const noexcept { return tasks; }
  template <class F>
  void parallel_for(std::size_t task_count, F&& f) {
    last_task_count = task_count;
    for (std::size_t t = task_count; t-- > 0;)
      f(t);
  }
};

// An executor with no max_tasks(): quanta picks the task count from the size alone.
struct unhinted_executor {
  template <class F>
  void parallel_for(std::size_t task_count, F&& f) const {
    for (std::size_t t = 0; t < task_count; ++t)
      f(t);
  }
};

// Every executor the tests use, behind one type, so that each quanta function is compiled once
// for the tests (the adapters' parallel_for still runs the tasks).
struct erased_executor {
  std::function<std::size_t()> max;
  std::function<void(std::size_t, const std::function<void(std::size_t)>&)> run;

  std::size_t max_tasks() const { return max(); }
  template <class F>
  void parallel_for(std::size_t task_count, F&& f) const {
    run(task_count, std::function<void(std::size_t)>(std::ref(f)));
  }
};

template <class E>
erased_executor erase(E& executor) {
  return {[&executor] { return quanta::executor_max_tasks(executor); },
          [&executor](std::size_t n, const std::function<void(std::size_t)>& f) {
            executor.parallel_for(n, f);
          }};
}

constexpr std::size_t grain = quanta::parallel_min_task_elements;

std::vector<float> data(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, 2.0f);
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i)
    x[i] = i % 97 == 5 ? (i % 2 == 0 ? 0.0f : -0.0f) : dist(gen);  // signed zeros too
  return x;
}

std::vector<encoding> encodings(std::size_t count, int bitwidth, bool is_signed, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> scale(0.005f, 0.5f);
  encoding base;
  base.bitwidth = bitwidth;
  base.is_signed = is_signed;
  std::uniform_int_distribution<std::int32_t> zero(base.qmin(), base.qmax());
  std::vector<encoding> e(count, base);
  for (auto& one : e) {
    one.scale = scale(gen);
    one.zero_point = zero(gen);
  }
  return e;
}

template <class T>
bool same_bytes(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

bool same(const quanta::min_max_result& a, const quanta::min_max_result& b) {
  return std::memcmp(&a.min, &b.min, sizeof(float)) == 0 &&
         std::memcmp(&a.max, &b.max, sizeof(float)) == 0 && a.has_nan == b.has_nan;
}

bool same(const quanta::error_stats& a, const quanta::error_stats& b) {
  const double x[] = {a.ref_energy,    a.test_energy,   a.dot,        a.error_energy,
                      a.error_abs_sum, a.error_abs_max, a.ref_abs_max};
  const double y[] = {b.ref_energy,    b.test_energy,   b.dot,        b.error_energy,
                      b.error_abs_sum, b.error_abs_max, b.ref_abs_max};
  return a.count == b.count && a.non_finite == b.non_finite && std::memcmp(x, y, sizeof x) == 0;
}

// Calls check(executor, name) with the serial executor, reversed executors of 1, 2, 3 and 7 tasks
// (checking, for element-wise splits, that a tensor of `size` elements was cut into
// min(tasks, size / grain) of them) and every adapter this build has.
template <class Check>
void for_each_executor(std::size_t size, Check check, bool elementwise = true) {
  quanta::serial_executor serial;
  erased_executor ex = erase(serial);
  check(ex, std::string("serial"));
  unhinted_executor unhinted;
  ex = erase(unhinted);
  check(ex, std::string("no max_tasks"));
  for (std::size_t tasks : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}}) {
    reversed_executor reversed{tasks, 0};
    ex = erase(reversed);
    check(ex, "reversed, " + std::to_string(tasks) + " tasks");
    const std::size_t expected = std::min(tasks, std::max<std::size_t>(size / grain, 1));
    if (elementwise && expected > 1) {
      INFO("size " << size << ", " << tasks << " tasks");
      CHECK(reversed.last_task_count == expected);
    }
  }
#if defined(QUANTA_TEST_HAVE_STD_THREAD)
  {
    quanta::std_thread_executor pool(3);
    ex = erase(pool);
    check(ex, std::string("std::thread"));
  }
#endif
#if defined(QUANTA_TEST_HAVE_OPENMP)
  quanta::openmp_executor omp{3};
  ex = erase(omp);
  check(ex, std::string("OpenMP"));
#endif
#if defined(QUANTA_TEST_HAVE_TBB)
  quanta::tbb_executor tbb;
  ex = erase(tbb);
  check(ex, std::string("oneTBB"));
#endif
#if defined(QUANTA_TEST_HAVE_PTHREADPOOL)
  pthreadpool_t pool = pthreadpool_create(3);
  quanta::pthreadpool_executor pp(pool);
  ex = erase(pp);
  check(ex, std::string("pthreadpool"));
  pthreadpool_destroy(pool);
#endif
}

// Element counts: empty, tiny and odd, around the single-task threshold (2 * grain) and large
// enough for 7 tasks.
const std::size_t sizes[] = {
    0, 1, 63, 4096, 2 * grain - 1, 2 * grain + 1, 7 * grain + 13, 9 * grain + 77};

}  // namespace

TEST_CASE("parallel: partition ranges cover 0..n on the grain", "[parallel]") {
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{100}, std::size_t{4097},
                        std::size_t{1} << 40}) {
    for (std::size_t tasks :
         {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{1000}}) {
      const quanta::partition p(n, 64, tasks);
      INFO("n " << n << " tasks " << tasks);
      CHECK(p.tasks() == (n == 0 ? 0 : std::min(tasks, (n + 63) / 64)));
      std::size_t at = 0;
      for (std::size_t t = 0; t < p.tasks(); ++t) {
        CHECK(p[t].begin == at);
        CHECK(p[t].end > p[t].begin);
        if (p[t].end != n) CHECK(p[t].end % 64 == 0);
        at = p[t].end;
      }
      CHECK(at == n);
    }
  }
  // A 4 Ki tensor is one task, whatever the executor offers.
  reversed_executor seven{7, 0};
  CHECK(quanta::plan_tasks(seven, 4096, 64).tasks() == 1);
  CHECK(quanta::plan_tasks(seven, 2 * grain - 1, 64).tasks() == 1);
  CHECK(quanta::plan_tasks(seven, 2 * grain, 64).tasks() == 2);
}

TEST_CASE("parallel: quantize, dequantize, fake quant per tensor", "[parallel]") {
  const encoding e = encodings(1, 8, true, 3)[0];
  for (std::size_t n : sizes) {
    const auto x = data(n, 11);
    std::vector<std::int8_t> q_serial(n);
    quanta::quantize(x, e, q_serial);
    std::vector<float> dq_serial(n);
    quanta::dequantize(q_serial, e, dq_serial);
    std::vector<float> fq_serial(n);
    quanta::quantize_dequantize(x, e, fq_serial);
    for_each_executor(n, [&](erased_executor& ex, const std::string& name) {
      INFO(name << ", n " << n);
      std::vector<std::int8_t> q(n, 99);
      quanta::quantize(ex, x, e, q);
      CHECK(same_bytes(q, q_serial));
      std::vector<float> dq(n, 7.0f);
      quanta::dequantize(ex, q, e, dq);
      CHECK(same_bytes(dq, dq_serial));
      std::vector<float> fq(n, 7.0f);
      quanta::quantize_dequantize(ex, x, e, fq);
      CHECK(same_bytes(fq, fq_serial));
      std::vector<float> in_place = x;
      quanta::quantize_dequantize(ex, in_place, e, in_place);
      CHECK(same_bytes(in_place, fq_serial));
    });
  }
}

namespace {

// Layouts: tiny, channels first with odd rows, channels last, inner axes, blocks with a short last
// block and odd block sizes.
const channel_layout channel_layouts[] = {{0, 3, 5},     {1, 1, 1},    {1, 37, 3001},
                                          {17000, 7, 1}, {5, 3, 7777}, {3, 4, 5}};
const block_layout block_layouts[] = {{1, 0, 1, 32},      {1, 1, 1, 32},     {1, 120000, 1, 32},
                                      {3000, 40, 1, 32},  {7, 1000, 17, 64}, {1, 120001, 1, 33},
                                      {2, 65536, 1, 128}, {4, 9, 3001, 4}};

template <class Layout, class Q>
void check_layout_forms(const Layout& layout, int bitwidth, bool is_signed) {
  const std::size_t n = layout.size();
  const auto x = data(n, 5);
  const auto e = encodings(quanta::detail::expected_encodings(layout), bitwidth, is_signed, 9);
  std::vector<Q> q_serial(n);
  quanta::quantize(x, layout, e, q_serial);
  std::vector<float> dq_serial(n);
  quanta::dequantize(q_serial, layout, e, dq_serial);
  std::vector<float> fq_serial(n);
  quanta::quantize_dequantize(x, layout, e, fq_serial);
  for_each_executor(n, [&](erased_executor& ex, const std::string& name) {
    INFO(name << ", layout size " << n);
    std::vector<Q> q(n, 9);
    quanta::quantize(ex, x, layout, e, q);
    CHECK(same_bytes(q, q_serial));
    std::vector<float> dq(n, 7.0f);
    quanta::dequantize(ex, q, layout, e, dq);
    CHECK(same_bytes(dq, dq_serial));
    std::vector<float> fq(n, 7.0f);
    quanta::quantize_dequantize(ex, x, layout, e, fq);
    CHECK(same_bytes(fq, fq_serial));
  });
}

template <class Layout>
void check_packed_layout(const Layout& layout) {
  const std::size_t n = layout.size();
  const auto x = data(n, 6);
  const auto e = encodings(quanta::detail::expected_encodings(layout), 4, true, 10);
  std::vector<std::uint8_t> packed_serial(quanta::packed_size(n, 4));
  quanta::quantize_pack_int4(x, layout, e, packed_serial);
  std::vector<float> x_serial(n);
  quanta::unpack_dequantize_int4(packed_serial, layout, e, x_serial);
  const auto u = encodings(quanta::detail::expected_encodings(layout), 4, false, 12);
  std::vector<std::uint8_t> upacked_serial(quanta::packed_size(n, 4));
  quanta::quantize_pack_uint4(x, layout, u, upacked_serial);
  std::vector<std::uint8_t> packed2_serial(quanta::packed_size(n, 2));
  const auto e2 = encodings(quanta::detail::expected_encodings(layout), 2, true, 13);
  quanta::quantize_pack_int2(x, layout, e2, packed2_serial);
  for_each_executor(n, [&](erased_executor& ex, const std::string& name) {
    INFO(name << ", layout size " << n);
    std::vector<std::uint8_t> packed(packed_serial.size(), 0xAA);
    quanta::quantize_pack_int4(ex, x, layout, e, packed);
    CHECK(same_bytes(packed, packed_serial));
    std::vector<float> back(n, 7.0f);
    quanta::unpack_dequantize_int4(ex, packed, layout, e, back);
    CHECK(same_bytes(back, x_serial));
    std::vector<std::uint8_t> upacked(upacked_serial.size(), 0xAA);
    quanta::quantize_pack_uint4(ex, x, layout, u, upacked);
    CHECK(same_bytes(upacked, upacked_serial));
    std::vector<std::uint8_t> packed2(packed2_serial.size(), 0xAA);
    quanta::quantize_pack_int2(ex, x, layout, e2, packed2);
    CHECK(same_bytes(packed2, packed2_serial));
  });
}

}  // namespace

TEST_CASE("parallel: quantize, dequantize, fake quant per channel", "[parallel]") {
  for (const auto& layout : channel_layouts) {
    check_layout_forms<channel_layout, std::int8_t>(layout, 8, true);
    check_layout_forms<channel_layout, std::uint16_t>(layout, 12, false);
  }
}

TEST_CASE("parallel: quantize, dequantize, fake quant per block", "[parallel]") {
  for (const auto& layout : block_layouts)
    check_layout_forms<block_layout, std::int8_t>(layout, 4, true);
}

TEST_CASE("parallel: fused int4 quantize + pack and unpack + dequantize", "[parallel]") {
  const encoding e = encodings(1, 4, true, 21)[0];
  for (std::size_t n : sizes) {
    const auto x = data(n, 13);
    std::vector<std::uint8_t> packed_serial(quanta::packed_size(n, 4));
    quanta::quantize_pack_int4(x, e, packed_serial);
    std::vector<float> x_serial(n);
    quanta::unpack_dequantize_int4(packed_serial, e, x_serial);
    for_each_executor(n, [&](erased_executor& ex, const std::string& name) {
      INFO(name << ", n " << n);
      std::vector<std::uint8_t> packed(packed_serial.size(), 0xAA);
      quanta::quantize_pack_int4(ex, x, e, packed);
      CHECK(same_bytes(packed, packed_serial));
      std::vector<float> back(n, 7.0f);
      quanta::unpack_dequantize_int4(ex, packed, e, back);
      CHECK(same_bytes(back, x_serial));
    });
  }
  for (const auto& layout : channel_layouts)
    check_packed_layout(layout);
  for (const auto& layout : block_layouts)
    check_packed_layout(layout);
}

TEST_CASE("parallel: min/max, abs max, per-channel ranges, compute_encoding", "[parallel]") {
  for (std::size_t n : sizes) {
    auto x = data(n, 17);
    for (int variant = 0; variant < 3; ++variant) {
      if (variant == 1 && n > 3) x[n - 2] = std::numeric_limits<float>::quiet_NaN();
      if (variant == 2 && n > 0) std::fill(x.begin(), x.end(), 0.0f), x[n / 2] = -0.0f;
      const auto serial = quanta::min_max(x);
      const float abs_serial = quanta::abs_max(x);
      for_each_executor(n, [&](erased_executor& ex, const std::string& name) {
        INFO(name << ", n " << n << ", variant " << variant);
        CHECK(same(quanta::min_max(ex, x), serial));
        const float a = quanta::abs_max(ex, x);
        CHECK(std::memcmp(&a, &abs_serial, sizeof a) == 0);
      });
    }
  }
  for (const auto& layout : channel_layouts) {
    const auto x = data(layout.size(), 19);
    const auto serial = quanta::min_max_per_channel(x, layout);
    for_each_executor(
        layout.size(),
        [&](erased_executor& ex, const std::string& name) {
          INFO(name << ", layout size " << layout.size());
          const auto r = quanta::min_max_per_channel(ex, x, layout);
          REQUIRE(r.size() == serial.size());
          for (std::size_t c = 0; c < r.size(); ++c)
            CHECK(same(r[c], serial[c]));
        },
        false);
  }
  const auto x = data(9 * grain + 77, 23);
  const encoding serial = quanta::compute_encoding(x);
  for_each_executor(x.size(), [&](erased_executor& ex, const std::string& name) {
    INFO(name);
    const encoding e = quanta::compute_encoding(ex, x);
    CHECK(e.scale == serial.scale);
    CHECK(e.zero_point == serial.zero_point);
  });
  quanta::serial_executor serial_executor;
  erased_executor serial_ex = erase(serial_executor);
  CHECK_THROWS_WITH(quanta::compute_encoding(serial_ex, std::vector<float>{}),
                    "compute_encoding: data is empty; expected at least one value");
}

TEST_CASE("parallel: histogram fill equals observe", "[parallel]") {
  for (auto domain : {quanta::histogram_domain::value, quanta::histogram_domain::magnitude}) {
    for (std::size_t n : {std::size_t{1}, std::size_t{4096}, 2 * grain + 1, 9 * grain + 77}) {
      const auto first = data(n, 29);
      auto second = data(n, 31);
      for (auto& v : second)
        v *= 3.0f;  // grows the range
      quanta::histogram serial(2048, domain);
      serial.observe(first);
      serial.observe(second);
      for_each_executor(n, [&](erased_executor& ex, const std::string& name) {
        INFO(name << ", n " << n);
        quanta::histogram h(2048, domain);
        quanta::observe(ex, h, first);
        quanta::observe(ex, h, second);
        CHECK(h.lo() == serial.lo());
        CHECK(h.hi() == serial.hi());
        CHECK(h.total() == serial.total());
        CHECK(h.observed_min() == serial.observed_min());
        CHECK(h.observed_max() == serial.observed_max());
        const std::vector<double> a(h.counts().begin(), h.counts().end());
        const std::vector<double> b(serial.counts().begin(), serial.counts().end());
        CHECK(same_bytes(a, b));
      });
    }
  }
  // NaN: the serial path names it; skipped, it is left out as observe does.
  auto x = data(3 * grain, 37);
  x[grain + 5] = std::numeric_limits<float>::quiet_NaN();
  reversed_executor reversed_three{3, 0};
  erased_executor three = erase(reversed_three);
  quanta::histogram strict(64);
  CHECK_THROWS_WITH(quanta::observe(three, strict, x),
                    Catch::Contains("histogram::observe: data[16389] is "));
  CHECK(strict.empty());
  quanta::histogram skipping(64, quanta::histogram_domain::value, true);
  quanta::histogram skipping_serial(64, quanta::histogram_domain::value, true);
  quanta::observe(three, skipping, x);
  skipping_serial.observe(x);
  CHECK(skipping.total() == skipping_serial.total());
  quanta::histogram empty(64);
  CHECK_THROWS_WITH(quanta::observe(three, empty, std::vector<float>{}),
                    "histogram::observe: x is empty; expected at least one value");
}

TEST_CASE("parallel: error statistics merge fixed chunks in order", "[parallel]") {
  const std::size_t chunk = quanta::metrics_chunk_elements;
  for (std::size_t n :
       {std::size_t{0}, std::size_t{1}, std::size_t{4097}, chunk, chunk + 1, 3 * chunk + 1001}) {
    const auto ref = data(n, 41);
    auto test = ref;
    std::mt19937 gen(43);
    std::normal_distribution<float> noise(0.0f, 0.01f);
    for (auto& v : test)
      v += noise(gen);
    // The definition: the chunk-order merge of measure_error over fixed chunks.
    quanta::error_stats expected;
    for (std::size_t begin = 0; begin < n; begin += chunk) {
      const std::size_t count = std::min(chunk, n - begin);
      const auto part =
          quanta::measure_error(quanta::span<const float>(ref.data() + begin, count),
                                quanta::span<const float>(test.data() + begin, count));
      if (begin == 0) {
        expected = part;
      } else {
        expected.merge(part);
      }
    }
    if (n <= chunk) CHECK(same(expected, quanta::measure_error(ref, test)));
    for_each_executor(
        n,
        [&](erased_executor& ex, const std::string& name) {
          INFO(name << ", n " << n);
          CHECK(same(quanta::measure_error(ex, ref, test), expected));
        },
        false);
  }
  quanta::serial_executor serial_executor;
  erased_executor serial = erase(serial_executor);
  CHECK_THROWS_WITH(quanta::measure_error(serial, std::vector<float>(3), std::vector<float>(2)),
                    "measure_error: test has 2 elements but ref has 3; expected equal sizes");
}

TEST_CASE("parallel: arguments are checked as the serial functions check them", "[parallel]") {
  reversed_executor reversed_two{2, 0};
  erased_executor two = erase(reversed_two);
  const std::vector<float> x(3 * grain, 1.0f);
  std::vector<std::int8_t> short_q(10);
  CHECK_THROWS_WITH(quanta::quantize(two, x, encoding{}, short_q),
                    "quantize: q has 10 elements but x has 49152; expected equal sizes");
  encoding bad;
  bad.scale = 0.0f;
  std::vector<std::uint8_t> q(x.size());
  CHECK_THROWS_WITH(quanta::quantize(two, x, bad, q),
                    "quantize: encoding.scale is 0; expected a finite value > 0");
  std::vector<encoding> e(3);
  CHECK_THROWS_WITH(quanta::quantize(two, x, channel_layout{1, 4, 3 * grain / 4}, e, q),
                    "quantize: encodings has 3 entries; expected 4 (one per channel)");
  std::vector<std::uint8_t> packed(10);
  CHECK_THROWS_AS(quanta::quantize_pack_int4(two, x, encodings(1, 4, true, 1)[0], packed),
                  quanta::error);
  CHECK(reversed_two.last_task_count == 0);  // nothing ran
}

#if defined(QUANTA_TEST_HAVE_STD_THREAD)
TEST_CASE("parallel: std_thread_executor runs every task once and rethrows", "[parallel]") {
  quanta::std_thread_executor pool(3);
  CHECK(pool.threads() == 3);
  for (int round = 0; round < 50; ++round) {
    std::vector<int> hits(1000, 0);
    pool.parallel_for(hits.size(), [&](std::size_t t) { ++hits[t]; });
    CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
  }
  // A nested call runs inline.
  std::vector<int> nested(16, 0);
  pool.parallel_for(
      4, [&](std::size_t t) { pool.parallel_for(4, [&](std::size_t u) { ++nested[t * 4 + u]; }); });
  CHECK(std::all_of(nested.begin(), nested.end(), [](int h) { return h == 1; }));
  CHECK_THROWS_WITH(pool.parallel_for(8,
                                      [](std::size_t t) {
                                        if (t == 5) throw std::runtime_error("task 5");
                                      }),
                    "task 5");
  // The pool is usable after a failed call.
  std::vector<int> after(64, 0);
  pool.parallel_for(after.size(), [&](std::size_t t) { after[t] = 1; });
  CHECK(std::all_of(after.begin(), after.end(), [](int h) { return h == 1; }));
}
#endif

#if defined(__linux__) && SIZE_MAX > UINT32_MAX
// More than 2^31 elements, int4 per block, through the executor: every index is 64-bit. The 8.6 GB
// input is one 64 MiB buffer of random values mapped again and again into one contiguous range, so
// that it costs 64 MiB; the packed output (1 GiB) and the encodings (~0.8 GiB with their
// parameters) are real. The asan-ubsan test preset excludes it by name (CMakePresets.json).
TEST_CASE("parallel: a tensor of more than 2^31 elements (int4 per block)", "[parallel][big]") {
  constexpr std::size_t cols = 4096;
  constexpr std::size_t rows = (std::size_t{1} << 19) + 257;
  constexpr std::size_t block = 128;
  const block_layout layout{rows, cols, 1, block};
  const std::size_t n = layout.size();
  REQUIRE(n > (std::size_t{1} << 31));
  constexpr std::size_t period = std::size_t{64} << 20;  // bytes; a whole number of pages
  const std::size_t bytes = n * sizeof(float);
  const std::size_t mapped = (bytes + period - 1) / period * period;
  const int fd = memfd_create("quanta_test_big", 0);
  REQUIRE(fd >= 0);
  REQUIRE(ftruncate(fd, static_cast<off_t>(period)) == 0);
  void* reserved =
      mmap(nullptr, mapped, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  REQUIRE(reserved != MAP_FAILED);
  auto* base = static_cast<unsigned char*>(reserved);
  for (std::size_t at = 0; at < mapped; at += period) {
    REQUIRE(mmap(base + at, period, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) !=
            MAP_FAILED);
  }
  auto* x = reinterpret_cast<float*>(base);
  {
    std::mt19937 gen(47);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (std::size_t i = 0; i < period / sizeof(float); ++i)
      x[i] = dist(gen);
  }
  // Sampled blocks: the first, those on each side of element 2^31, the last, and a spread.
  std::vector<std::size_t> sampled = {0, ((std::size_t{1} << 31) / block) - 1,
                                      (std::size_t{1} << 31) / block, layout.encoding_count() - 1};
  for (std::size_t k = 1; k < 64; ++k)
    sampled.push_back(k * (layout.encoding_count() / 64) + k);
  // Encodings that differ from block to block, so that a wrong index shows in the codes.
  std::vector<encoding> e(layout.encoding_count());
  for (std::size_t k = 0; k < e.size(); ++k) {
    e[k].bitwidth = 4;
    e[k].is_signed = true;
    e[k].scale = 0.05f + 0.001f * static_cast<float>(k % 251);
    e[k].zero_point = static_cast<std::int32_t>(k % 7) - 3;
  }
  std::vector<std::uint8_t> packed(quanta::packed_size(n, 4));
#if defined(QUANTA_TEST_HAVE_STD_THREAD)
  quanta::std_thread_executor executor(2);
#else
  quanta::serial_executor executor;
#endif
  quanta::quantize_pack_int4(executor, quanta::span<const float>(x, n), layout, e, packed);
  for (std::size_t b : sampled) {
    INFO("block " << b);
    std::vector<std::uint8_t> expected(block / 2);
    quanta::quantize_pack_int4(quanta::span<const float>(x + b * block, block),
                               block_layout{1, block, 1, block},
                               quanta::span<const encoding>(&e[b], 1), expected);
    CHECK(std::memcmp(packed.data() + b * block / 2, expected.data(), block / 2) == 0);
  }
  munmap(reserved, mapped);
  close(fd);
}
#endif
