// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>

#include <pthreadpool.h>

#include "quanta/parallel.hpp"

// An executor over a pthreadpool (CMake target quanta::pthreadpool), the pool XNNPACK and
// PyTorch's mobile builds use: pthreadpool_parallelize_1d over the task indices. The pool is the
// host's; a null pool runs the tasks on the calling thread.
namespace quanta {

class pthreadpool_executor {
 public:
  explicit pthreadpool_executor(pthreadpool_t pool) noexcept : pool_(pool) {}

  pthreadpool_t pool() const noexcept { return pool_; }
  std::size_t max_tasks() const noexcept {
    const std::size_t n = pthreadpool_get_threads_count(pool_);
    return n <= 1 ? 1 : 4 * n;
  }

  // f must not throw (pthreadpool is C): quanta's own tasks never do.
  template <class F>
  void parallel_for(std::size_t task_count, F&& f) const {
    using Fn = std::remove_reference_t<F>;
    pthreadpool_parallelize_1d(
        pool_, [](void* fn, std::size_t t) { (*static_cast<Fn*>(fn))(t); },
        const_cast<void*>(static_cast<const void*>(std::addressof(f))), task_count, 0);
  }

 private:
  pthreadpool_t pool_;
};

}  // namespace quanta
