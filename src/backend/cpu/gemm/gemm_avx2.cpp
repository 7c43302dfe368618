// The GEMM kernels for avx2: kernel_impl.hpp compiled with this ISA's flags (see CMakeLists.txt),
// 6 rows x 16 columns per micro-tile.
#define W 8
#define MR 6
#include "kernel_impl.hpp"

namespace dltrain::cpu {
const GemmKernels& gemm_kernels_avx2() {
  static const GemmKernels k{CpuIsa::avx2, &isa_gemm, MR, 2 * W};
  return k;
}
}  // namespace dltrain::cpu
