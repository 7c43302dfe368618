// Softmax and the fused softmax-cross-entropy on the GPU: one thread per row. The loss keeps
// kernels.inc's signature (LossStats on the host): each row's loss and hit go to a device buffer,
// which is copied back and summed on the host in row order (reproducible). The plan (issue 10):
// device-side accumulators the Trainer reads once every N steps, so a step never waits for the host.
#include <vector>

#include "cuda.hpp"

namespace dltrain::cuda {
namespace {

__global__ void softmax_kernel(const float* x, float* y, int64_t rows, int64_t cols) {
  DLT_CUDA_FOR(r, rows) {
    const float* xr = x + r * cols;
    double m = xr[0], s = 0;
    for (int64_t j = 1; j < cols; ++j) m = fmax(m, double(xr[j]));
    for (int64_t j = 0; j < cols; ++j) s += exp(xr[j] - m);
    for (int64_t j = 0; j < cols; ++j) y[r * cols + j] = float(exp(xr[j] - m) / s);
  }
}

__global__ void softmax_backward_kernel(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols) {
  DLT_CUDA_FOR(r, rows) {
    double dot = 0;
    for (int64_t j = 0; j < cols; ++j) dot += double(dy[r * cols + j]) * y[r * cols + j];
    for (int64_t j = 0; j < cols; ++j) dx[r * cols + j] = float(y[r * cols + j] * (dy[r * cols + j] - dot));
  }
}

// loss[r] and hit[r] per row; a label outside [0, cols) gives a NaN loss.
__global__ void cross_entropy_kernel(const float* logits, const int32_t* labels, float* dlogits, double* loss,
                                     int32_t* hit, int64_t rows, int64_t cols, int64_t mean_over) {
  DLT_CUDA_FOR(r, rows) {
    const float* xr = logits + r * cols;
    const int32_t label = labels[r];
    int64_t arg = 0;
    for (int64_t j = 1; j < cols; ++j)
      if (xr[j] > xr[arg]) arg = j;
    double m = xr[arg], s = 0;
    for (int64_t j = 0; j < cols; ++j) s += exp(xr[j] - m);
    const bool valid = label >= 0 && label < cols;
    loss[r] = valid ? log(s) - (xr[label] - m) : nan("");
    hit[r] = valid && arg == label;
    if (dlogits)
      for (int64_t j = 0; j < cols; ++j)
        dlogits[r * cols + j] = float((exp(xr[j] - m) / s - (j == label)) / double(mean_over));
  }
}

}  // namespace

void softmax(const float* x, float* y, int64_t rows, int64_t cols) {
  softmax_kernel<<<blocks(rows), threads>>>(x, y, rows, cols);
  check_launch("softmax");
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols) {
  softmax_backward_kernel<<<blocks(rows), threads>>>(y, dy, dx, rows, cols);
  check_launch("softmax_backward");
}

LossStats softmax_cross_entropy(const float* logits, const int32_t* labels, float* dlogits, int64_t rows,
                                int64_t cols, int64_t mean_over) {
  Scratch loss(size_t(rows) * sizeof(double)), hit(size_t(rows) * sizeof(int32_t));
  cross_entropy_kernel<<<blocks(rows), threads>>>(logits, labels, dlogits, loss.as<double>(), hit.as<int32_t>(), rows,
                                                  cols, mean_over);
  check_launch("softmax_cross_entropy");
  std::vector<double> l(static_cast<size_t>(rows));
  std::vector<int32_t> h(static_cast<size_t>(rows));
  check(cudaMemcpy(l.data(), loss.as<double>(), l.size() * sizeof(double), cudaMemcpyDeviceToHost),
        "softmax_cross_entropy (loss)");
  check(cudaMemcpy(h.data(), hit.as<int32_t>(), h.size() * sizeof(int32_t), cudaMemcpyDeviceToHost),
        "softmax_cross_entropy (hits)");
  LossStats st;
  for (size_t r = 0; r < l.size(); ++r) st.loss_sum += l[r], st.correct += h[r];
  return st;
}

}  // namespace dltrain::cuda
