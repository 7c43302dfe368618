// Thread count for kernels. Kernels parallelise with OpenMP; BLAS calls run single-threaded
// inside them so one level of threading owns the cores and results do not depend on BLAS's split.
#include <omp.h>

#include "dltrain/core.hpp"

extern "C" void openblas_set_num_threads(int);

namespace dltrain {

void set_num_threads(int n) {
  DLT_CHECK(n >= 0, "thread count must be >= 0");
  omp_set_num_threads(n == 0 ? omp_get_num_procs() : n);
  openblas_set_num_threads(1);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace dltrain
