// The GEMM kernels for sse2: kernel_impl.hpp compiled with this ISA's flags (see CMakeLists.txt),
// 6 rows x 8 columns per micro-tile.
#define W 4
#define MR 6
#include "kernel_impl.hpp"

namespace dltrain::cpu {
const GemmKernels& gemm_kernels_sse2() {
  static const GemmKernels k{CpuIsa::sse2, &isa_gemm, MR, 2 * W};
  return k;
}
}  // namespace dltrain::cpu
