// Thread count for kernels. Kernels parallelise with OpenMP, one contiguous chunk per thread, so
// one level of threading owns the cores and results depend only on the thread count.
#include <omp.h>

#include "dltrain/core.hpp"

namespace dltrain {

void set_num_threads(int n) {
  DLT_CHECK(n >= 0, "thread count must be >= 0");
  omp_set_num_threads(n == 0 ? omp_get_num_procs() : n);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace dltrain
