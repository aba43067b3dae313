// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "quanta/error.hpp"
#include "quanta/parallel.hpp"

// An executor for hosts with no thread pool of their own (CMake target quanta::std_thread): a
// fixed set of std::threads started once and reused by every call. The calling thread takes part;
// tasks are handed out in index order from one shared counter (no queues, no stealing). One call
// runs at a time; a call made from inside a task runs its tasks inline on that thread.
namespace quanta {

class std_thread_executor {
 public:
  // `threads` threads in all, the caller's included (threads - 1 are started); 0 means
  // std::thread::hardware_concurrency().
  explicit std_thread_executor(std::size_t threads = 0) {
    if (threads == 0) threads = std::max<std::size_t>(std::thread::hardware_concurrency(), 1);
    threads_ = threads;
    workers_.reserve(threads - 1);
    for (std::size_t k = 1; k < threads; ++k)
      workers_.emplace_back([this] { work(); });
  }
  std_thread_executor(const std_thread_executor&) = delete;
  std_thread_executor& operator=(const std_thread_executor&) = delete;
  ~std_thread_executor() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_)
      w.join();
  }

  std::size_t threads() const noexcept { return threads_; }
  // A few tasks per thread, so that a thread slowed by another process does not hold the rest up.
  std::size_t max_tasks() const noexcept { return threads_ == 1 ? 1 : 4 * threads_; }

  // Calls f(t) for t in [0, task_count) and returns when all have returned; the first exception
  // thrown by f (in completion order) is rethrown here.
  template <class F>
  void parallel_for(std::size_t task_count, F&& f) {
    using Fn = std::remove_reference_t<F>;
    if (task_count == 0) return;
    if (workers_.empty() || task_count == 1 || running_here() == this) {
      for (std::size_t t = 0; t < task_count; ++t)
        f(t);
      return;
    }
    std::lock_guard<std::mutex> one_call(call_mutex_);
    invoke_ = [](const void* fn, std::size_t t) { (*static_cast<Fn*>(const_cast<void*>(fn)))(t); };
    function_ = static_cast<const void*>(std::addressof(f));
    count_ = task_count;
    next_.store(0, std::memory_order_relaxed);
    error_ = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      busy_ = workers_.size();
      ++generation_;
    }
    wake_.notify_all();
    drain();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return busy_ == 0; });
    if (error_) std::rethrow_exception(error_);
  }

 private:
  static const std_thread_executor*& running_here() noexcept {
    thread_local const std_thread_executor* pool = nullptr;
    return pool;
  }

  // Runs tasks until the counter passes the last one.
  void drain() noexcept {
    const std_thread_executor* outer = running_here();
    running_here() = this;
    for (std::size_t t = next_.fetch_add(1, std::memory_order_relaxed); t < count_;
         t = next_.fetch_add(1, std::memory_order_relaxed)) {
#if QUANTA_PARALLEL_EXCEPTIONS
      try {
        invoke_(function_, t);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
#else
      invoke_(function_, t);
#endif
    }
    running_here() = outer;
  }

  void work() {
    std::size_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      drain();
      std::lock_guard<std::mutex> lock(mutex_);
      if (--busy_ == 0) done_.notify_one();
    }
  }

  std::size_t threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // one parallel_for at a time
  std::mutex mutex_;       // guards stop_, generation_, busy_, error_
  std::condition_variable wake_;
  std::condition_variable done_;
  bool stop_ = false;
  std::size_t generation_ = 0;
  std::size_t busy_ = 0;
  // The current call, published under mutex_ by the generation change.
  void (*invoke_)(const void*, std::size_t) = nullptr;
  const void* function_ = nullptr;
  std::size_t count_ = 0;
  std::atomic<std::size_t> next_{0};
  std::exception_ptr error_;
};

}  // namespace quanta
