// Fast dense layer on dltrain's GEMM (gemm/), which splits each product over the threads itself.
// Bias and gradients of the bias are plain loops; the input gradient is computed transposed
// (dx^T = w . dy^T) so the large weight matrix is read in place instead of packed every step.
#include "cpu.hpp"
#include "gemm/gemm.hpp"

namespace dltrain::cpu {

void dense_forward(const float* x, const float* w, const float* b, float* y, int64_t n, int64_t in, int64_t out) {
  for (int64_t r = 0; r < n; ++r)
    for (int64_t o = 0; o < out; ++o) y[r * out + o] = b[o];
  gemm_parallel(n, out, in, {x, in, 1}, {w, out, 1}, {y, out, 1}, Accumulate::yes);
}

void dense_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db, int64_t n,
                    int64_t in, int64_t out) {
  for (int64_t o = 0; o < out; ++o) db[o] = 0;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t o = 0; o < out; ++o) db[o] += dy[r * out + o];
  // dw (IN,OUT) = x^T (IN,N) . dy (N,OUT)
  gemm_parallel(in, out, n, {x, 1, in}, {dy, out, 1}, {dw, out, 1}, Accumulate::no);
  // dx^T (IN,N) = w (IN,OUT) . dy^T (OUT,N), stored into dx (N,IN)
  if (dx) gemm_parallel(in, n, out, {w, out, 1}, {dy, 1, out}, {dx, 1, in}, Accumulate::no);
}

}  // namespace dltrain::cpu
