// Dense layer on the GPU: three GEMMs (y = x.w + b, dw = x^T.dy, dx = dy.w^T) and db = column sums.
#include "cuda.hpp"

namespace dltrain::cuda {

void dense_forward(const float* x, const float* w, const float* b, float* y, int64_t n, int64_t in, int64_t out) {
  gemm(x, in, 1, w, out, 1, b, y, n, out, in);
}

void dense_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db, int64_t n,
                    int64_t in, int64_t out) {
  column_sums(dy, db, n, out);
  gemm(x, 1, in, dy, out, 1, nullptr, dw, in, out, n);
  if (dx) gemm(dy, out, 1, w, 1, out, nullptr, dx, n, in, out);
}

}  // namespace dltrain::cuda
