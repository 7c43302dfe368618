// The fast CPU kernels: BLAS GEMM, im2col, OpenMP over the batch. Same signatures as cpu::ref.
#pragma once

#include "dltrain/ops.hpp"

namespace dltrain::cpu {
#include "../kernels.inc"

// Geometries conv2d_pool_* handles with its vectorised kernels (others fall back to the reference).
bool conv2d_pool_is_fast(const Window& g, int64_t pool);
}
