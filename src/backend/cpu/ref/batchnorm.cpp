// Reference batch normalisation over (R,C): statistics per channel, biased variance (as PyTorch
// and Keras use for normalising), gradients by the textbook formula.
#include <cmath>
#include <vector>

#include "ref.hpp"

namespace dltrain::cpu::ref {

void batchnorm_forward_train(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                             float* invstd, int64_t rows, int64_t c, float eps) {
  for (int64_t j = 0; j < c; ++j) {
    double s = 0, ss = 0;
    for (int64_t r = 0; r < rows; ++r) s += x[r * c + j];
    double mu = s / double(rows);
    for (int64_t r = 0; r < rows; ++r) ss += (x[r * c + j] - mu) * (x[r * c + j] - mu);
    double is = 1.0 / std::sqrt(ss / double(rows) + eps);
    mean[j] = float(mu);
    invstd[j] = float(is);
    for (int64_t r = 0; r < rows; ++r) y[r * c + j] = float((x[r * c + j] - mu) * is * gamma[j] + beta[j]);
  }
}

void batchnorm_forward_infer(const float* x, const float* gamma, const float* beta, const float* running_mean,
                             const float* running_var, float* y, int64_t rows, int64_t c, float eps) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < c; ++j)
      y[r * c + j] = float((x[r * c + j] - running_mean[j]) / std::sqrt(double(running_var[j]) + eps) * gamma[j] +
                           beta[j]);
}

void batchnorm_backward(const float* x, const float* gamma, const float* mean, const float* invstd,
                        const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t c) {
  for (int64_t j = 0; j < c; ++j) {
    double sdy = 0, sdyx = 0;
    for (int64_t r = 0; r < rows; ++r) {
      double xhat = (x[r * c + j] - mean[j]) * double(invstd[j]);
      sdy += dy[r * c + j];
      sdyx += dy[r * c + j] * xhat;
    }
    dbeta[j] = float(sdy);
    dgamma[j] = float(sdyx);
    for (int64_t r = 0; r < rows; ++r) {
      double xhat = (x[r * c + j] - mean[j]) * double(invstd[j]);
      dx[r * c + j] = float(gamma[j] * invstd[j] / double(rows) * (double(rows) * dy[r * c + j] - sdy - xhat * sdyx));
    }
  }
}

void batchnorm_update_running(const float* mean, const float* invstd, float* running_mean, float* running_var,
                              int64_t c, float momentum, float eps, int64_t rows) {
  for (int64_t j = 0; j < c; ++j) {
    const double var = 1.0 / (double(invstd[j]) * invstd[j]) - eps;
    const double unbiased = rows > 1 ? var * double(rows) / double(rows - 1) : var;
    running_mean[j] = float(momentum * running_mean[j] + (1 - momentum) * double(mean[j]));
    running_var[j] = float(momentum * running_var[j] + (1 - momentum) * unbiased);
  }
}

}  // namespace dltrain::cpu::ref
