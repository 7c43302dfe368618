// Reference softmax and fused softmax-cross-entropy, in double precision.
#include <cmath>

#include "ref.hpp"

namespace dltrain::cpu::ref {

void softmax(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    double m = xr[0], s = 0;
    for (int64_t j = 1; j < cols; ++j) m = std::max(m, double(xr[j]));
    for (int64_t j = 0; j < cols; ++j) s += std::exp(xr[j] - m);
    for (int64_t j = 0; j < cols; ++j) y[r * cols + j] = float(std::exp(xr[j] - m) / s);
  }
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    double dot = 0;
    for (int64_t j = 0; j < cols; ++j) dot += double(dy[r * cols + j]) * y[r * cols + j];
    for (int64_t j = 0; j < cols; ++j) dx[r * cols + j] = float(y[r * cols + j] * (dy[r * cols + j] - dot));
  }
}

LossStats softmax_cross_entropy(const float* logits, const int32_t* labels, float* dlogits, int64_t rows,
                                int64_t cols, int64_t mean_over) {
  LossStats st;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = logits + r * cols;
    int64_t arg = 0;
    for (int64_t j = 1; j < cols; ++j)
      if (xr[j] > xr[arg]) arg = j;
    double m = xr[arg], s = 0;
    for (int64_t j = 0; j < cols; ++j) s += std::exp(xr[j] - m);
    st.loss_sum += std::log(s) - (xr[labels[r]] - m);
    st.correct += arg == labels[r];
    if (dlogits)
      for (int64_t j = 0; j < cols; ++j)
        dlogits[r * cols + j] = float((std::exp(xr[j] - m) / s - (j == labels[r])) / double(mean_over));
  }
  return st;
}

}  // namespace dltrain::cpu::ref
