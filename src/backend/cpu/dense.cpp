// Fast dense layer: OpenBLAS sgemm, one call per thread on a slice of the output, so the BLAS
// itself runs single-threaded and the split is ours (and deterministic).
#include <cblas.h>

#include "cpu.hpp"
#include "parallel.hpp"

namespace dltrain::cpu {
namespace {
constexpr int64_t col_grain = 16;  // output columns per thread, at least
}

void dense_forward(const float* x, const float* w, const float* b, float* y, int64_t n, int64_t in, int64_t out) {
  parallel_chunks(out, col_grain, [&](int64_t o0, int64_t o1, int64_t) {
    for (int64_t r = 0; r < n; ++r)
      for (int64_t o = o0; o < o1; ++o) y[r * out + o] = b[o];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(n), int(o1 - o0), int(in), 1.0f, x, int(in),
                w + o0, int(out), 1.0f, y + o0, int(out));
  });
}

void dense_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db, int64_t n,
                    int64_t in, int64_t out) {
  for (int64_t o = 0; o < out; ++o) db[o] = 0;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t o = 0; o < out; ++o) db[o] += dy[r * out + o];
  // dw (IN,OUT) = x^T dy and dx (N,IN) = dy w^T, both split over IN.
  parallel_chunks(in, col_grain, [&](int64_t i0, int64_t i1, int64_t) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(i1 - i0), int(out), int(n), 1.0f, x + i0, int(in), dy,
                int(out), 0.0f, dw + i0 * out, int(out));
    if (dx)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(i1 - i0), int(out), 1.0f, dy, int(out),
                  w + i0 * out, int(out), 0.0f, dx + i0, int(in));
  });
}

}  // namespace dltrain::cpu
