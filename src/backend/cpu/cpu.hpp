// The fast CPU kernels: BLAS GEMM, im2col, OpenMP over the batch. Same signatures as cpu::ref.
#pragma once

#include "dltrain/ops.hpp"

namespace dltrain::cpu {
#define DLT_KERNEL(ret, name, params) ret name params;
#include "../kernels.inc"
#undef DLT_KERNEL
}
