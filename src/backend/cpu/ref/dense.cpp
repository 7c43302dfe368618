// Reference dense layer: triple loops with double accumulators.
#include "ref.hpp"

namespace dltrain::cpu::ref {

void dense_forward(const float* x, const float* w, const float* b, float* y, int64_t n, int64_t in, int64_t out) {
  for (int64_t r = 0; r < n; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double s = b[o];
      for (int64_t i = 0; i < in; ++i) s += double(x[r * in + i]) * w[i * out + o];
      y[r * out + o] = float(s);
    }
}

void dense_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db, int64_t n,
                    int64_t in, int64_t out) {
  for (int64_t o = 0; o < out; ++o) {
    double s = 0;
    for (int64_t r = 0; r < n; ++r) s += dy[r * out + o];
    db[o] = float(s);
  }
  for (int64_t i = 0; i < in; ++i)
    for (int64_t o = 0; o < out; ++o) {
      double s = 0;
      for (int64_t r = 0; r < n; ++r) s += double(x[r * in + i]) * dy[r * out + o];
      dw[i * out + o] = float(s);
    }
  if (!dx) return;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < in; ++i) {
      double s = 0;
      for (int64_t o = 0; o < out; ++o) s += double(dy[r * out + o]) * w[i * out + o];
      dx[r * in + i] = float(s);
    }
}

}  // namespace dltrain::cpu::ref
