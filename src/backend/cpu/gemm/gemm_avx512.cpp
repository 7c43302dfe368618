// The GEMM kernels for avx512: kernel_impl.hpp compiled with this ISA's flags (see CMakeLists.txt),
// 8 rows x 32 columns per micro-tile (12 rows spilled address registers and ran slower).
#define W 16
#define MR 8
#include "kernel_impl.hpp"

namespace dltrain::cpu {
const GemmKernels& gemm_kernels_avx512() {
  static const GemmKernels k{CpuIsa::avx512, &isa_gemm, MR, 2 * W};
  return k;
}
}  // namespace dltrain::cpu
