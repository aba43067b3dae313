// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <type_traits>
#include <utility>
#include <vector>

#include "quanta/arch.hpp"
#include "quanta/calibrate/histogram.hpp"
#include "quanta/detail/instruction_set.hpp"
#include "quanta/detail/metrics_kernels.hpp"
#include "quanta/detail/pack_kernels.hpp"
#include "quanta/detail/quantize_kernels.hpp"
#include "quanta/detail/reduce_kernels.hpp"
#include "quanta/encoding.hpp"
#include "quanta/error.hpp"
#include "quanta/error_stats.hpp"
#include "quanta/metrics.hpp"
#include "quanta/min_max_result.hpp"
#include "quanta/pack.hpp"
#include "quanta/quantize.hpp"
#include "quanta/reduce.hpp"
#include "quanta/span.hpp"

// Many cores through the host's thread pool. quanta owns no thread: every function here takes an
// executor as its FIRST argument and otherwise reads like the serial function of the same name
// (same arguments, same checks, same error messages, same results):
//
//   quanta::quantize(pool, x, layout, encodings, q);      // pool: any executor
//   quanta::quantize(x, layout, encodings, q);            // unchanged, one core
//
// An executor is any object with
//   template <class F> void parallel_for(std::size_t task_count, F&& f);
// that calls f(t) once for every t in [0, task_count), on any threads, in any order, and returns
// when every call has returned. Optionally it has
//   std::size_t max_tasks() const;   // the most tasks worth making for one call
// (the adapters return a small multiple of their thread count). quanta::serial_executor runs the
// tasks in order on the calling thread; quanta/parallel/{std_thread,openmp,tbb,pthreadpool}.hpp
// adapt the pools people use. The function quanta passes never throws: an exception in a task
// (std::bad_alloc) is caught, and the first one in task order is rethrown on the calling thread
// once every task has finished.
//
// Work is split into tasks of contiguous ranges (elements, channel rows, blocks) whose boundaries
// are multiples of a grain and whose outputs are where the serial function puts them: a task's
// output offsets follow from its range alone. A call of fewer than 2 * parallel_min_task_elements
// elements is one task, run on the calling thread without calling the executor, so that small
// tensors never pay for threads. Arguments are checked on the calling thread before any task runs.
//
// Determinism (docs/parallel.md): every result is the same bytes for any executor and any task
// count. Element-wise functions and min/max equal the serial ones exactly. Histogram fills equal
// the serial observe exactly (counts of whole numbers, as observe makes them). Metric sums are the
// merge, in order, of fixed chunks of metrics_chunk_elements, whose boundaries do not depend on
// the task count: equal to the serial measure_error up to that size, and otherwise that chunked sum
// whatever the executor (the serial_executor included).
// Whether tasks' exceptions are caught and rethrown (a host built with -fno-exceptions has none).
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define QUANTA_PARALLEL_EXCEPTIONS 1
#else
#define QUANTA_PARALLEL_EXCEPTIONS 0
#endif

namespace quanta {

// Elements below which splitting a call costs more than it saves: waking a thread costs a few
// microseconds, the time to quantize ~16 Ki floats. A task has at least this many elements.
inline constexpr std::size_t parallel_min_task_elements = std::size_t{1} << 14;
// The fixed chunk of the parallel metric sums (see above).
inline constexpr std::size_t metrics_chunk_elements = std::size_t{1} << 16;
// At most this many tasks when the executor has no max_tasks().
inline constexpr std::size_t parallel_default_max_tasks = 256;

// Runs the tasks in order on the calling thread.
struct serial_executor {
  std::size_t max_tasks() const noexcept { return 1; }
  template <class F>
  void parallel_for(std::size_t task_count, F&& f) const {
    for (std::size_t t = 0; t < task_count; ++t)
      f(t);
  }
};

namespace detail {

struct task_probe {
  void operator()(std::size_t) const noexcept {}
};

template <class E, class = void>
struct is_executor : std::false_type {};
template <class E>
struct is_executor<
    E, std::void_t<decltype(std::declval<E&>().parallel_for(std::size_t{}, task_probe{}))>>
    : std::true_type {};

template <class E, class = void>
struct has_max_tasks : std::false_type {};
template <class E>
struct has_max_tasks<
    E, std::void_t<decltype(static_cast<std::size_t>(std::declval<const E&>().max_tasks()))>>
    : std::true_type {};

}  // namespace detail

// Whether E is an executor (has parallel_for(std::size_t, F)).
template <class E>
inline constexpr bool is_executor_v = detail::is_executor<std::remove_reference_t<E>>::value;

// The most tasks quanta makes for one call on `executor`: its max_tasks(), 1..2^24.
template <class Executor>
std::size_t executor_max_tasks(const Executor& executor) {
  if constexpr (detail::has_max_tasks<Executor>::value) {
    return std::clamp<std::size_t>(static_cast<std::size_t>(executor.max_tasks()), 1,
                                   std::size_t{1} << 24);
  } else {
    (void)executor;
    return parallel_default_max_tasks;
  }
}

// One task's range [begin, end).
struct task_range {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t size() const noexcept { return end - begin; }
};

// [0, size) cut into `tasks` contiguous ranges of near-equal size whose boundaries are multiples of
// `grain` (the last ends at size). Range t depends on (size, grain, tasks, t) only; the product
// that locates it is split so that no 64-bit intermediate overflows.
class partition {
 public:
  partition(std::size_t size, std::size_t grain, std::size_t tasks) noexcept
      : size_(size), grain_(std::max<std::size_t>(grain, 1)) {
    units_ = size_ / grain_ + (size_ % grain_ != 0 ? 1 : 0);
    tasks_ = std::min(std::max<std::size_t>(tasks, 1), std::max<std::size_t>(units_, 1));
    if (size_ == 0) tasks_ = 0;
  }

  std::size_t tasks() const noexcept { return tasks_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t grain() const noexcept { return grain_; }

  task_range operator[](std::size_t t) const noexcept { return {boundary(t), boundary(t + 1)}; }

 private:
  std::size_t boundary(std::size_t t) const noexcept {
    if (t >= tasks_) return size_;
    const std::size_t unit = (units_ / tasks_) * t + (units_ % tasks_) * t / tasks_;
    return std::min(unit * grain_, size_);
  }

  std::size_t size_;
  std::size_t grain_;
  std::size_t units_ = 0;
  std::size_t tasks_ = 0;
};

// The partition quanta uses for `size` elements (or units of `unit_elements` elements each) on
// `executor`: as many tasks as the executor takes, each of at least parallel_min_task_elements
// elements, boundaries on multiples of `grain` units.
template <class Executor>
partition plan_tasks(const Executor& executor, std::size_t size, std::size_t grain,
                     std::size_t unit_elements = 1) {
  const std::size_t elements_per_unit = std::max<std::size_t>(unit_elements, 1);
  const std::size_t min_units =
      std::max<std::size_t>(parallel_min_task_elements / elements_per_unit, 1);
  // Tasks of at least min_units units each: under 2 * min_units, one task.
  const std::size_t by_size = std::max<std::size_t>(size / min_units, 1);
  return partition(size, grain, std::min(executor_max_tasks(executor), by_size));
}

namespace detail {

// Runs task(t) for t in [0, tasks): inline for one task, else through the executor; an exception
// in a task is rethrown here after all tasks have finished (the first in task order).
template <class Executor, class Task>
void run_tasks(Executor& executor, std::size_t tasks, Task&& task) {
  if (tasks == 0) return;
  if (tasks == 1) {
    task(std::size_t{0});
    return;
  }
#if QUANTA_PARALLEL_EXCEPTIONS
  std::vector<std::exception_ptr> errors(tasks);
  executor.parallel_for(tasks, [&](std::size_t t) noexcept {
    try {
      task(t);
    } catch (...) {
      errors[t] = std::current_exception();
    }
  });
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
#else
  executor.parallel_for(tasks, [&](std::size_t t) noexcept { task(t); });
#endif
}

// task(range) for each range of p; run_partition_indexed calls task(t, range), for per-task
// partial results.
template <class Executor, class Task>
void run_partition(Executor& executor, const partition& p, Task&& task) {
  run_tasks(executor, p.tasks(), [&](std::size_t t) { task(p[t]); });
}
template <class Executor, class Task>
void run_partition_indexed(Executor& executor, const partition& p, Task&& task) {
  run_tasks(executor, p.tasks(), [&](std::size_t t) { task(t, p[t]); });
}

// The grain of element-wise work, 64 elements: whole cache lines and registers of floats, and
// whole bytes of packed codes.
constexpr std::size_t elementwise_grain = 64;

template <class E>
using if_executor = std::enable_if_t<is_executor_v<E>>;

// Elements [r.begin, r.end) of a layout's element-wise operation: `one` for runs under one
// encoding, `many` for sub-layouts, with the parameters the serial kernels use.
template <class Layout, class One, class Many>
void layout_range(const Layout& layout, const affine_params* params, task_range r, One one,
                  Many many) {
  for_each_piece(layout, params, r.begin, r.size(), one, many);
}

// A layout's work is split by elements along the grain of its encoding runs when they are short
// (whole channel rows or blocks), else by element lines: any split gives the same bytes.
inline std::size_t layout_grain(const channel_layout& l, std::size_t values_per_byte) {
  const std::size_t run = l.inner;
  std::size_t g = run <= parallel_min_task_elements / 4 ? run : elementwise_grain;
  if (g % values_per_byte != 0) g *= values_per_byte;
  return g;
}
inline std::size_t layout_grain(const block_layout& l, std::size_t values_per_byte) {
  // Whole (block x inner) runs when the blocked axis is a whole number of blocks.
  std::size_t run = l.inner * (l.channels % l.block_size == 0 ? l.block_size : l.channels);
  std::size_t g = run <= parallel_min_task_elements / 4 ? run : elementwise_grain;
  if (g % values_per_byte != 0) g *= values_per_byte;
  return g;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// quantize / dequantize / quantize_dequantize (quanta/quantize.hpp), executor first.

template <class Arch = default_arch, class Executor, class Codes,
          class = detail::if_executor<Executor>>
void quantize(Executor&& executor, span<const float> x, const encoding& e, Codes&& q,
              const quantize_options& options = {}) {
  using call = detail::storage_call<Arch, detail::range_element_t<Codes>>;
  using Q = typename call::storage;
  using arch = detail::instruction_set_t<typename call::arch>;
  constexpr const char* function = "quantize";
  const span<Q> out(std::data(q), std::size(q));
  detail::check_sizes(function, "x", x.size(), "q", out.size());
  detail::check_storage<Q>(function, "encoding", 0, false, e);
  const detail::affine_params p = detail::make_affine_params(e, options);
  detail::run_partition(
      executor, plan_tasks(executor, x.size(), detail::elementwise_grain), [&](task_range r) {
        detail::quantize_tensor<arch>(x.data() + r.begin, r.size(), p, out.data() + r.begin);
      });
}

template <class Arch = default_arch, class Executor, class Codes,
          class = detail::if_executor<Executor>>
void dequantize(Executor&& executor, const Codes& q, const encoding& e, span<float> x) {
  using call = detail::storage_call<Arch, detail::range_element_t<const Codes>>;
  using Q = typename call::storage;
  using arch = detail::instruction_set_t<typename call::arch>;
  constexpr const char* function = "dequantize";
  const span<const Q> in(std::data(q), std::size(q));
  detail::check_sizes(function, "q", in.size(), "x", x.size());
  detail::check_storage<Q>(function, "encoding", 0, false, e);
  const detail::affine_params p = detail::make_affine_params(e, quantize_options{});
  detail::run_partition(
      executor, plan_tasks(executor, x.size(), detail::elementwise_grain), [&](task_range r) {
        detail::dequantize_tensor<arch>(in.data() + r.begin, r.size(), p, x.data() + r.begin);
      });
}

template <class Arch = default_arch, class Executor, class = detail::if_executor<Executor>>
void quantize_dequantize(Executor&& executor, span<const float> x, const encoding& e, span<float> y,
                         const quantize_options& options = {}) {
  using arch = detail::instruction_set_t<Arch>;
  constexpr const char* function = "quantize_dequantize";
  detail::check_sizes(function, "x", x.size(), "y", y.size());
  detail::check_alias(function, x.data(), y.data(), x.size());
  detail::check_encoding(function, e);
  const detail::affine_params p = detail::make_affine_params(e, options);
  detail::run_partition(executor, plan_tasks(executor, x.size(), detail::elementwise_grain),
                        [&](task_range r) {
                          detail::quantize_dequantize_tensor<arch>(x.data() + r.begin, r.size(), p,
                                                                   y.data() + r.begin);
                        });
}

namespace detail {

template <class Layout>
using if_layout_type = std::enable_if_t<std::is_same_v<Layout, channel_layout> ||
                                        std::is_same_v<Layout, block_layout>>;

template <class Arch, class Q, class Executor, class Layout>
void parallel_quantize_layout(Executor& executor, span<const float> x, const Layout& layout,
                              span<const encoding> encodings, span<Q> q,
                              const quantize_options& o) {
  constexpr const char* function = "quantize";
  check_layout(function, layout, x.size());
  check_sizes(function, "x", x.size(), "q", q.size());
  const auto params = checked_params<Q>(function, encodings, expected_encodings(layout),
                                        encodings_meaning(layout), o);
  run_partition(executor, plan_tasks(executor, x.size(), layout_grain(layout, 1)),
                [&](task_range r) {
                  layout_range(
                      layout, params.data(), r,
                      [&](std::size_t k, std::size_t len, const affine_params& p) {
                        quantize_tensor<Arch>(x.data() + k, len, p, q.data() + k);
                      },
                      [&](std::size_t k, const auto& sub, const affine_params* p, std::size_t np) {
                        quantize_channels<Arch>(x.data() + k, sub, p, np, q.data() + k);
                      });
                });
}

template <class Arch, class Q, class Executor, class Layout>
void parallel_dequantize_layout(Executor& executor, span<const Q> q, const Layout& layout,
                                span<const encoding> encodings, span<float> x) {
  constexpr const char* function = "dequantize";
  check_layout(function, layout, q.size());
  check_sizes(function, "q", q.size(), "x", x.size());
  const auto params = checked_params<Q>(function, encodings, expected_encodings(layout),
                                        encodings_meaning(layout), quantize_options{});
  run_partition(executor, plan_tasks(executor, x.size(), layout_grain(layout, 1)),
                [&](task_range r) {
                  layout_range(
                      layout, params.data(), r,
                      [&](std::size_t k, std::size_t len, const affine_params& p) {
                        dequantize_tensor<Arch>(q.data() + k, len, p, x.data() + k);
                      },
                      [&](std::size_t k, const auto& sub, const affine_params* p, std::size_t np) {
                        dequantize_channels<Arch>(q.data() + k, sub, p, np, x.data() + k);
                      });
                });
}

template <class Arch, class Executor, class Layout>
void parallel_quantize_dequantize_layout(Executor& executor, span<const float> x,
                                         const Layout& layout, span<const encoding> encodings,
                                         span<float> y, const quantize_options& o) {
  constexpr const char* function = "quantize_dequantize";
  check_fake_quant_layout(function, x, layout, y);
  const auto params = checked_params<void>(function, encodings, expected_encodings(layout),
                                           encodings_meaning(layout), o);
  run_partition(executor, plan_tasks(executor, x.size(), layout_grain(layout, 1)),
                [&](task_range r) {
                  layout_range(
                      layout, params.data(), r,
                      [&](std::size_t k, std::size_t len, const affine_params& p) {
                        quantize_dequantize_tensor<Arch>(x.data() + k, len, p, y.data() + k);
                      },
                      [&](std::size_t k, const auto& sub, const affine_params* p, std::size_t np) {
                        quantize_dequantize_channels<Arch>(x.data() + k, sub, p, np, y.data() + k);
                      });
                });
}

}  // namespace detail

// Per channel and per block (the layout is channel_layout or block_layout).
template <class Arch = default_arch, class Executor, class Layout, class Codes,
          class = detail::if_executor<Executor>, class = detail::if_layout_type<Layout>>
void quantize(Executor&& executor, span<const float> x, const Layout& layout,
              span<const encoding> encodings, Codes&& q, const quantize_options& options = {}) {
  using call = detail::storage_call<Arch, detail::range_element_t<Codes>>;
  using Q = typename call::storage;
  detail::parallel_quantize_layout<detail::instruction_set_t<typename call::arch>, Q>(
      executor, x, layout, encodings, span<Q>(std::data(q), std::size(q)), options);
}

template <class Arch = default_arch, class Executor, class Layout, class Codes,
          class = detail::if_executor<Executor>, class = detail::if_layout_type<Layout>>
void dequantize(Executor&& executor, const Codes& q, const Layout& layout,
                span<const encoding> encodings, span<float> x) {
  using call = detail::storage_call<Arch, detail::range_element_t<const Codes>>;
  using Q = typename call::storage;
  detail::parallel_dequantize_layout<detail::instruction_set_t<typename call::arch>, Q>(
      executor, span<const Q>(std::data(q), std::size(q)), layout, encodings, x);
}

template <class Arch = default_arch, class Executor, class Layout,
          class = detail::if_executor<Executor>, class = detail::if_layout_type<Layout>>
void quantize_dequantize(Executor&& executor, span<const float> x, const Layout& layout,
                         span<const encoding> encodings, span<float> y,
                         const quantize_options& options = {}) {
  detail::parallel_quantize_dequantize_layout<detail::instruction_set_t<Arch>>(
      executor, x, layout, encodings, y, options);
}

// ---------------------------------------------------------------------------------------------
// Fused quantize + pack and unpack + dequantize (quanta/pack.hpp), flat packing. Task boundaries
// fall on whole bytes, so that no two tasks write the same byte.

namespace detail {

template <class Arch, class P, class Executor>
void parallel_quantize_pack(Executor& executor, const char* function, span<const float> x,
                            const encoding& e, span<std::uint8_t> packed,
                            const quantize_options& o) {
  check_packed_size(function, "packed", packed.size(), x.size(), P::bits);
  check_disjoint(function, "x", x.data(), x.size() * sizeof(float), "packed", packed.data(),
                 packed.size());
  check_packed_encoding<P>(function, "encoding", 0, false, e);
  const affine_params p = make_affine_params(e, o);
  constexpr std::size_t per_byte = ref::values_per_byte(P::bits);
  run_partition(executor, plan_tasks(executor, x.size(), elementwise_grain), [&](task_range r) {
    quantize_pack_tensor<Arch, code_storage<P>>(x.data() + r.begin, r.size(), p, P::bits,
                                                packed.data() + r.begin / per_byte);
  });
}

template <class Arch, class P, class Executor>
void parallel_unpack_dequantize(Executor& executor, const char* function,
                                span<const std::uint8_t> packed, const encoding& e, span<float> x) {
  check_packed_size(function, "packed", packed.size(), x.size(), P::bits);
  check_disjoint(function, "packed", packed.data(), packed.size(), "x", x.data(),
                 x.size() * sizeof(float));
  check_packed_encoding<P>(function, "encoding", 0, false, e);
  const affine_params p = make_affine_params(e, quantize_options{});
  constexpr std::size_t per_byte = ref::values_per_byte(P::bits);
  run_partition(executor, plan_tasks(executor, x.size(), elementwise_grain), [&](task_range r) {
    unpack_dequantize_tensor<Arch, code_storage<P>>(packed.data() + r.begin / per_byte, r.size(), p,
                                                    P::bits, x.data() + r.begin);
  });
}

// The runs of one encoding that the serial 4-bit register path quantizes one by one, restricted to
// [r.begin, r.end): run(k, length, params). The serial condition of for_each_encoding_run.
template <class Run>
bool for_each_encoding_run_in(const channel_layout& l, const affine_params* params, int bits,
                              std::size_t min_length, task_range r, Run run) {
  if (l.inner < min_length || l.inner % ref::values_per_byte(bits) != 0) return false;
  for (std::size_t k = r.begin; k < r.end;) {
    const std::size_t row = k / l.inner;
    const std::size_t row_end = std::min((row + 1) * l.inner, r.end);
    run(k, row_end - k, params[row % l.channels]);
    k = row_end;
  }
  return true;
}

template <class Run>
bool for_each_encoding_run_in(const block_layout& l, const affine_params* params, int bits,
                              std::size_t min_length, task_range r, Run run) {
  const std::size_t per_byte = ref::values_per_byte(bits);
  if (l.inner != 1 || l.block_size < min_length || l.block_size % per_byte != 0 ||
      l.channels % per_byte != 0)
    return false;
  const std::size_t blocks = l.blocks();
  for (std::size_t k = r.begin; k < r.end;) {
    const std::size_t o = k / l.channels;
    const std::size_t b = (k % l.channels) / l.block_size;
    const std::size_t block_end =
        std::min({o * l.channels + std::min((b + 1) * l.block_size, l.channels), r.end});
    run(k, block_end - k, params[o * blocks + b]);
    k = block_end;
  }
  return true;
}

template <class Arch, class P, class Executor, class Layout>
void parallel_quantize_pack_layout(Executor& executor, const char* function, span<const float> x,
                                   const Layout& layout, span<const encoding> encodings,
                                   span<std::uint8_t> packed, const quantize_options& o) {
  using Q = code_storage<P>;
  check_layout(function, layout, x.size());
  check_packed_size(function, "packed", packed.size(), x.size(), P::bits);
  check_disjoint(function, "x", x.data(), x.size() * sizeof(float), "packed", packed.data(),
                 packed.size());
  const auto params = packed_params<P>(function, encodings, expected_encodings(layout),
                                       encodings_meaning(layout), o);
  constexpr std::size_t per_byte = ref::values_per_byte(P::bits);
  const affine_params* pp = params.data();
  run_partition(
      executor, plan_tasks(executor, x.size(), layout_grain(layout, per_byte)), [&](task_range r) {
        // As the serial quantize_pack_layout: runs of one encoding in registers, else a stream.
        if (P::bits == 4 && min_register_run<Arch>() > 0 &&
            for_each_encoding_run_in(
                layout, pp, P::bits, min_register_run<Arch>(), r,
                [&](std::size_t k, std::size_t length, const affine_params& p) {
                  quantize_pack_tensor<Arch, Q>(x.data() + k, length, p, P::bits,
                                                packed.data() + k / per_byte);
                }))
          return;
        quantize_pack_stream<Arch, Q>(
            r.size(), P::bits, packed.data() + r.begin / per_byte,
            [&](std::size_t start, std::size_t count, Q* codes) {
              const std::size_t first = r.begin + start;
              for_each_piece(
                  layout, pp, first, count,
                  [&](std::size_t k, std::size_t len, const affine_params& p) {
                    quantize_tensor<Arch>(x.data() + k, len, p, codes + (k - first));
                  },
                  [&](std::size_t k, const auto& sub, const affine_params* p, std::size_t np) {
                    quantize_channels<Arch>(x.data() + k, sub, p, np, codes + (k - first));
                  });
            });
      });
}

template <class Arch, class P, class Executor, class Layout>
void parallel_unpack_dequantize_layout(Executor& executor, const char* function,
                                       span<const std::uint8_t> packed, const Layout& layout,
                                       span<const encoding> encodings, span<float> x) {
  using Q = code_storage<P>;
  check_layout(function, layout, x.size());
  check_packed_size(function, "packed", packed.size(), x.size(), P::bits);
  check_disjoint(function, "packed", packed.data(), packed.size(), "x", x.data(),
                 x.size() * sizeof(float));
  const auto params = packed_params<P>(function, encodings, expected_encodings(layout),
                                       encodings_meaning(layout), quantize_options{});
  constexpr std::size_t per_byte = ref::values_per_byte(P::bits);
  const affine_params* pp = params.data();
  run_partition(
      executor, plan_tasks(executor, x.size(), layout_grain(layout, per_byte)), [&](task_range r) {
        unpack_dequantize_stream<Arch, Q>(
            packed.data() + r.begin / per_byte, r.size(), P::bits,
            [&](std::size_t start, std::size_t count, const Q* codes) {
              const std::size_t first = r.begin + start;
              for_each_piece(
                  layout, pp, first, count,
                  [&](std::size_t k, std::size_t len, const affine_params& p) {
                    dequantize_tensor<Arch>(codes + (k - first), len, p, x.data() + k);
                  },
                  [&](std::size_t k, const auto& sub, const affine_params* p, std::size_t np) {
                    dequantize_channels<Arch>(codes + (k - first), sub, p, np, x.data() + k);
                  });
            });
      });
}

}  // namespace detail

// For NAME in int4, uint4, int2, uint2: quantize_pack_NAME(executor, x, encoding | layout +
// encodings, packed, options) and unpack_dequantize_NAME(executor, packed, encoding | layout +
// encodings, x), the flat forms of quanta/pack.hpp.
#define QUANTA_PARALLEL_PACKED_FORMS(NAME, CODES)                                              \
  template <class Arch = default_arch, class Executor, class = detail::if_executor<Executor>>  \
  void quantize_pack_##NAME(Executor&& executor, span<const float> x, const encoding& e,       \
                            span<std::uint8_t> packed, const quantize_options& options = {}) { \
    detail::parallel_quantize_pack<detail::instruction_set_t<Arch>, detail::CODES>(            \
        executor, "quantize_pack_" #NAME, x, e, packed, options);                              \
  }                                                                                            \
  template <class Arch = default_arch, class Executor, class Layout,                           \
            class = detail::if_executor<Executor>, class = detail::if_layout_type<Layout>>     \
  void quantize_pack_##NAME(Executor&& executor, span<const float> x, const Layout& layout,    \
                            span<const encoding> encodings, span<std::uint8_t> packed,         \
                            const quantize_options& options = {}) {                            \
    detail::parallel_quantize_pack_layout<detail::instruction_set_t<Arch>, detail::CODES>(     \
        executor, "quantize_pack_" #NAME, x, layout, encodings, packed, options);              \
  }                                                                                            \
  template <class Arch = default_arch, class Executor, class = detail::if_executor<Executor>>  \
  void unpack_dequantize_##NAME(Executor&& executor, span<const std::uint8_t> packed,          \
                                const encoding& e, span<float> x) {                            \
    detail::parallel_unpack_dequantize<detail::instruction_set_t<Arch>, detail::CODES>(        \
        executor, "unpack_dequantize_" #NAME, packed, e, x);                                   \
  }                                                                                            \
  template <class Arch = default_arch, class Executor, class Layout,                           \
            class = detail::if_executor<Executor>, class = detail::if_layout_type<Layout>>     \
  void unpack_dequantize_##NAME(Executor&& executor, span<const std::uint8_t> packed,          \
                                const Layout& layout, span<const encoding> encodings,          \
                                span<float> x) {                                               \
    detail::parallel_unpack_dequantize_layout<detail::instruction_set_t<Arch>, detail::CODES>( \
        executor, "unpack_dequantize_" #NAME, packed, layout, encodings, x);                   \
  }

QUANTA_PARALLEL_PACKED_FORMS(int4, int4_codes)
QUANTA_PARALLEL_PACKED_FORMS(uint4, uint4_codes)
QUANTA_PARALLEL_PACKED_FORMS(int2, int2_codes)
QUANTA_PARALLEL_PACKED_FORMS(uint2, uint2_codes)
#undef QUANTA_PARALLEL_PACKED_FORMS

// ---------------------------------------------------------------------------------------------
// Reductions (quanta/reduce.hpp): per-task partial results merged in task order with the serial
// kernels' strict comparisons, so that the result (the sign of a zero included: the first zero in
// data order) is the serial one exactly.

namespace detail {

inline void merge_in_order(min_max_result& into, const min_max_result& part) noexcept {
  if (part.min < into.min) into.min = part.min;
  if (part.max > into.max) into.max = part.max;
  into.has_nan = into.has_nan || part.has_nan;
}

}  // namespace detail

template <class Arch = default_arch, class Executor, class = detail::if_executor<Executor>>
min_max_result min_max(Executor&& executor, span<const float> x) {
  const partition plan = plan_tasks(executor, x.size(), detail::elementwise_grain);
  std::vector<min_max_result> parts(plan.tasks());
  detail::run_partition_indexed(executor, plan, [&](std::size_t t, task_range r) {
    parts[t] = detail::min_max<Arch>(x.data() + r.begin, r.size());
  });
  min_max_result result;
  for (const auto& part : parts)
    detail::merge_in_order(result, part);
  return result;
}

template <class Arch = default_arch, class Executor, class = detail::if_executor<Executor>>
float abs_max(Executor&& executor, span<const float> x) {
  const partition plan = plan_tasks(executor, x.size(), detail::elementwise_grain);
  std::vector<float> parts(plan.tasks(), 0.0f);
  detail::run_partition_indexed(executor, plan, [&](std::size_t t, task_range r) {
    parts[t] = detail::abs_max<Arch>(x.data() + r.begin, r.size());
  });
  float result = 0.0f;
  for (float part : parts)
    if (part > result) result = part;
  return result;
}

// Rows of channels: split by outer rows (each task's per-channel partials merged in row order),
// or, for a single outer row, by channels (each channel reduced by one task).
template <class Arch = default_arch, class Executor, class = detail::if_executor<Executor>>
std::vector<min_max_result> min_max_per_channel(Executor&& executor, span<const float> x,
                                                const channel_layout& layout) {
  detail::check_layout("min_max_per_channel", layout, x.size());
  const std::size_t row = layout.channels * layout.inner;
  if (layout.outer == 1) {
    std::vector<min_max_result> result(layout.channels);
    const partition plan = plan_tasks(executor, layout.channels, 1, layout.inner);
    detail::run_partition(executor, plan, [&](task_range r) {
      const auto part = detail::min_max_per_channel<Arch>(x.data() + r.begin * layout.inner, 1,
                                                          r.size(), layout.inner);
      std::copy(part.begin(), part.end(), result.begin() + static_cast<std::ptrdiff_t>(r.begin));
    });
    return result;
  }
  const partition plan = plan_tasks(executor, layout.outer, 1, row);
  std::vector<std::vector<min_max_result>> parts(plan.tasks());
  detail::run_partition_indexed(executor, plan, [&](std::size_t t, task_range r) {
    parts[t] = detail::min_max_per_channel<Arch>(x.data() + r.begin * row, r.size(),
                                                 layout.channels, layout.inner);
  });
  if (parts.empty()) return std::vector<min_max_result>(layout.channels);
  std::vector<min_max_result> result = std::move(parts[0]);
  for (std::size_t t = 1; t < parts.size(); ++t)
    for (std::size_t c = 0; c < layout.channels; ++c)
      detail::merge_in_order(result[c], parts[t][c]);
  return result;
}

// compute_encoding (quanta/reduce.hpp) with the range scan split: the same encoding, the same
// errors (a tensor with NaN or infinities is rescanned serially to name the first one).
template <class Arch = default_arch, class Executor, class = detail::if_executor<Executor>>
encoding compute_encoding(Executor&& executor, span<const float> data,
                          const encoding_options& options = {}) {
  constexpr const char* function = "compute_encoding";
  detail::check_options(function, options);
  if (data.empty()) QUANTA_THROW(function, ": data is empty; expected at least one value");
  min_max_result r = min_max<Arch>(executor, data);
  if (!r.finite()) {
    r = detail::finite_range(function, data.data(), 0, data.size(), options.skip_non_finite);
  }
  return detail::encoding_from_range(function, r, options);
}

// ---------------------------------------------------------------------------------------------
// Metrics (quanta/metrics.hpp): the statistics of fixed chunks of metrics_chunk_elements, merged
// in chunk order. The chunks do not depend on the executor or the task count, so neither does any
// byte of the result; up to one chunk the result is the serial measure_error's.

template <class Arch = default_arch, class Executor, class = detail::if_executor<Executor>>
error_stats measure_error(Executor&& executor, span<const float> ref, span<const float> test) {
  detail::check_pair("measure_error", ref, test);
  const std::size_t n = ref.size();
  if (n == 0) return error_stats{};
  const std::size_t chunks = n / metrics_chunk_elements + (n % metrics_chunk_elements != 0 ? 1 : 0);
  std::vector<error_stats> parts(chunks);
  const partition plan = plan_tasks(executor, chunks, 1, metrics_chunk_elements);
  detail::run_partition(executor, plan, [&](task_range r) {
    for (std::size_t c = r.begin; c < r.end; ++c) {
      const std::size_t begin = c * metrics_chunk_elements;
      const std::size_t count = std::min(metrics_chunk_elements, n - begin);
      parts[c] = detail::measure_error<Arch>(ref.data() + begin, test.data() + begin, count);
    }
  });
  error_stats result = parts[0];
  for (std::size_t c = 1; c < chunks; ++c)
    result.merge(parts[c]);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Histogram fill (quanta/calibrate/histogram.hpp): first the exact range of the batch (the
// parallel min_max), which grows the histogram as observe would, then per-task integer counts over
// that fixed range, summed in task order. Counts are whole numbers, so the sums are exact and the
// histogram equals the serial h.observe(x) bit for bit whenever its counts were whole before (a
// histogram filled by observe alone; merge of unaligned histograms splits counts). A batch with NaN
// or infinities goes through the serial observe, which names or skips them.

namespace detail {

struct histogram_access {
  template <class Arch, class Executor>
  static void observe(Executor& executor, histogram& h, span<const float> x) {
    constexpr const char* function = "histogram::observe";
    if (x.empty()) QUANTA_THROW(function, ": x is empty; expected at least one value");
    const min_max_result range = quanta::min_max<Arch>(executor, x);
    if (!range.finite()) {
      h.observe<Arch>(x);
      return;
    }
    histogram::prepared p;
    p.range = range;
    p.has_non_finite = false;
    const partition plan = plan_tasks(executor, x.size(), elementwise_grain);
    if (plan.tasks() <= 1) {
      h.commit<Arch>(x.data(), 1, x.size(), x.size(), p);
      return;
    }
    // commit() on no rows sets the range (first batch or growth) and the observed extremes.
    h.commit<Arch>(x.data(), 0, x.size(), x.size(), p);
    const float lo = h.bin_lo();
    const float scale = h.bin_scale();
    const auto bins = static_cast<std::uint32_t>(h.bins());
    const bool magnitude = h.domain() == histogram_domain::magnitude;
    std::vector<std::vector<double>> counts(plan.tasks());
    run_partition_indexed(executor, plan, [&](std::size_t t, task_range r) {
      counts[t].assign(bins, 0.0);
      histogram_fill<Arch>(x.data() + r.begin, r.size(), magnitude, lo, scale, bins,
                           counts[t].data());
    });
    for (const auto& part : counts)
      for (std::size_t b = 0; b < part.size(); ++b)
        h.counts_[b] += part[b];
    h.total_ += static_cast<double>(x.size());
  }
};

}  // namespace detail

// h.observe(x) with the fill split over the executor; the same histogram (see above).
template <class Arch = default_arch, class Executor, class = detail::if_executor<Executor>>
void observe(Executor&& executor, histogram& h, span<const float> x) {
  detail::histogram_access::observe<Arch>(executor, h, x);
}

}  // namespace quanta
