// The fast CPU kernels: BLAS GEMM, im2col, OpenMP over the batch. Same signatures as cpu::ref.
#pragma once

#include "dltrain/ops.hpp"

namespace dltrain::cpu {
#include "../kernels.inc"
}
