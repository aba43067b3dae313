// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstddef>

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "quanta/parallel.hpp"

// An executor over oneTBB (CMake target quanta::tbb): tbb::parallel_for over the task indices, in
// the calling thread's arena or in one the host gives.
namespace quanta {

class tbb_executor {
 public:
  tbb_executor() = default;
  explicit tbb_executor(tbb::task_arena& arena) noexcept : arena_(&arena) {}

  std::size_t max_tasks() const {
    const int n =
        arena_ != nullptr ? arena_->max_concurrency() : tbb::this_task_arena::max_concurrency();
    return n <= 1 ? 1 : 4 * static_cast<std::size_t>(n);
  }

  template <class F>
  void parallel_for(std::size_t task_count, F&& f) const {
    const auto body = [&] {
      tbb::parallel_for(std::size_t{0}, task_count, [&](std::size_t t) { f(t); });
    };
    if (arena_ != nullptr) {
      arena_->execute(body);
    } else {
      body();
    }
  }

 private:
  tbb::task_arena* arena_ = nullptr;
};

}  // namespace quanta
