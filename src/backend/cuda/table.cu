// The CUDA backend table (built when CMake finds a CUDA toolkit, instead of no_backend.cpp): every
// kernel of kernels.inc, over pointers into the current GPU's memory.
#include "../backend.hpp"
#include "cuda.hpp"

namespace dltrain {

const Backend* cuda_backend() {
  static const Backend b{"cuda", Device::cuda, &cuda::select,
#define DLT_KERNEL(ret, name, params) &cuda::name,
#include "../kernels.inc"
#undef DLT_KERNEL
  };
  return &b;
}

}  // namespace dltrain
