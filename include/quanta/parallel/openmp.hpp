// quanta: post-training quantization math. Licensed under the Apache License 2.0.
#pragma once

#include <cstddef>
#include <cstdint>

#if !defined(_OPENMP)
#error "quanta/parallel/openmp.hpp needs OpenMP: link quanta::openmp (or compile with -fopenmp)"
#endif
#include <omp.h>

#include "quanta/parallel.hpp"

// An executor over OpenMP's thread team (CMake target quanta::openmp): each call is one
// `#pragma omp parallel for` with dynamic scheduling of single tasks.
namespace quanta {

struct openmp_executor {
  int threads = 0;  // the team size; 0: omp_get_max_threads()

  int team() const noexcept { return threads > 0 ? threads : omp_get_max_threads(); }
  std::size_t max_tasks() const noexcept {
    const auto n = static_cast<std::size_t>(team());
    return n <= 1 ? 1 : 4 * n;
  }

  template <class F>
  void parallel_for(std::size_t task_count, F&& f) const {
    const auto count = static_cast<std::int64_t>(task_count);
#pragma omp parallel for schedule(dynamic, 1) num_threads(team())
    for (std::int64_t t = 0; t < count; ++t)
      f(static_cast<std::size_t>(t));
  }
};

}  // namespace quanta
