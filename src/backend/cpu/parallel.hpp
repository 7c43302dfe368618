// parallel_chunks: splits [0, n) into one contiguous chunk per thread (at least `grain` items
// each) and runs f(begin, end, chunk) on OpenMP threads. The split depends only on n, grain and
// the thread count, so results are reproducible for a given thread count.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace dltrain::cpu {

// Threads an op may use: all of dltrain's, or one inside a parallel region of the caller's (a
// model replica per thread, see ParallelInference), where OpenMP would not start a nested team.
inline int64_t op_threads() { return omp_in_parallel() ? 1 : omp_get_max_threads(); }

inline int64_t chunk_count(int64_t n, int64_t grain) {
  return std::clamp<int64_t>(n / std::max<int64_t>(grain, 1), 1, op_threads());
}

template <class F>
void parallel_chunks(int64_t n, int64_t grain, F&& f) {
  const int64_t chunks = chunk_count(n, grain);
  if (chunks == 1) {
    f(int64_t{0}, n, int64_t{0});
    return;
  }
#pragma omp parallel num_threads(static_cast<int>(chunks))
  {
    const int64_t t = omp_get_thread_num();
    f(n * t / chunks, n * (t + 1) / chunks, t);
  }
}

}  // namespace dltrain::cpu
