// Batch normalisation on the GPU: per-channel statistics by one thread per channel (rows in
// order, double accumulators, as the reference), then elementwise kernels.
#include "cuda.hpp"

namespace dltrain::cuda {
namespace {

__global__ void stats_kernel(const float* x, float* mean, float* invstd, int64_t rows, int64_t c, float eps) {
  DLT_CUDA_FOR(j, c) {
    double s = 0, ss = 0;
    for (int64_t r = 0; r < rows; ++r) s += x[r * c + j];
    const double mu = s / double(rows);
    for (int64_t r = 0; r < rows; ++r) ss += (x[r * c + j] - mu) * (x[r * c + j] - mu);
    mean[j] = float(mu);
    invstd[j] = float(1.0 / sqrt(ss / double(rows) + eps));
  }
}

__global__ void normalize_kernel(const float* x, const float* gamma, const float* beta, const float* mean,
                                 const float* invstd, float* y, int64_t rows, int64_t c) {
  DLT_CUDA_FOR(i, rows * c) {
    const int64_t j = i % c;
    y[i] = (x[i] - mean[j]) * invstd[j] * gamma[j] + beta[j];
  }
}

__global__ void infer_kernel(const float* x, const float* gamma, const float* beta, const float* running_mean,
                             const float* running_var, float* y, int64_t rows, int64_t c, float eps) {
  DLT_CUDA_FOR(i, rows * c) {
    const int64_t j = i % c;
    y[i] = float((x[i] - running_mean[j]) / sqrt(double(running_var[j]) + eps) * gamma[j] + beta[j]);
  }
}

__global__ void grad_params_kernel(const float* x, const float* mean, const float* invstd, const float* dy,
                                   float* dgamma, float* dbeta, int64_t rows, int64_t c) {
  DLT_CUDA_FOR(j, c) {
    double sdy = 0, sdyx = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const double xhat = (x[r * c + j] - mean[j]) * double(invstd[j]);
      sdy += dy[r * c + j];
      sdyx += dy[r * c + j] * xhat;
    }
    dbeta[j] = float(sdy);
    dgamma[j] = float(sdyx);
  }
}

__global__ void grad_input_kernel(const float* x, const float* gamma, const float* mean, const float* invstd,
                                  const float* dy, const float* dgamma, const float* dbeta, float* dx, int64_t rows,
                                  int64_t c) {
  DLT_CUDA_FOR(i, rows * c) {
    const int64_t j = i % c;
    const double xhat = (x[i] - mean[j]) * double(invstd[j]);
    dx[i] = float(gamma[j] * invstd[j] / double(rows) * (double(rows) * dy[i] - dbeta[j] - xhat * dgamma[j]));
  }
}

__global__ void running_kernel(const float* mean, const float* invstd, float* running_mean, float* running_var,
                               int64_t c, float momentum, float eps, int64_t rows) {
  DLT_CUDA_FOR(j, c) {
    const double var = 1.0 / (double(invstd[j]) * invstd[j]) - eps;
    const double unbiased = rows > 1 ? var * double(rows) / double(rows - 1) : var;
    running_mean[j] = float(momentum * running_mean[j] + (1 - momentum) * double(mean[j]));
    running_var[j] = float(momentum * running_var[j] + (1 - momentum) * unbiased);
  }
}

}  // namespace

void batchnorm_forward_train(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                             float* invstd, int64_t rows, int64_t c, float eps) {
  stats_kernel<<<blocks(c), threads>>>(x, mean, invstd, rows, c, eps);
  check_launch("batchnorm_forward_train (statistics)");
  normalize_kernel<<<blocks(rows * c), threads>>>(x, gamma, beta, mean, invstd, y, rows, c);
  check_launch("batchnorm_forward_train");
}

void batchnorm_forward_infer(const float* x, const float* gamma, const float* beta, const float* running_mean,
                             const float* running_var, float* y, int64_t rows, int64_t c, float eps) {
  infer_kernel<<<blocks(rows * c), threads>>>(x, gamma, beta, running_mean, running_var, y, rows, c, eps);
  check_launch("batchnorm_forward_infer");
}

void batchnorm_backward(const float* x, const float* gamma, const float* mean, const float* invstd,
                        const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t c) {
  grad_params_kernel<<<blocks(c), threads>>>(x, mean, invstd, dy, dgamma, dbeta, rows, c);
  check_launch("batchnorm_backward (dgamma, dbeta)");
  grad_input_kernel<<<blocks(rows * c), threads>>>(x, gamma, mean, invstd, dy, dgamma, dbeta, dx, rows, c);
  check_launch("batchnorm_backward (dx)");
}

void batchnorm_update_running(const float* mean, const float* invstd, float* running_mean, float* running_var,
                              int64_t c, float momentum, float eps, int64_t rows) {
  running_kernel<<<blocks(c), threads>>>(mean, invstd, running_mean, running_var, c, momentum, eps, rows);
  check_launch("batchnorm_update_running");
}

}  // namespace dltrain::cuda
