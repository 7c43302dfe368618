// SGD and Adam/AdamW on the GPU, elementwise, as the reference (PyTorch's definitions). Adam's
// bias corrections are computed once on the host in double.
#include <cmath>

#include "cuda.hpp"

namespace dltrain::cuda {
namespace {

__global__ void sgd_kernel(float* w, const float* g, float* velocity, int64_t n, float lr, float momentum,
                           float weight_decay, bool nesterov) {
  DLT_CUDA_FOR(i, n) {
    float d = g[i] + weight_decay * w[i];
    if (momentum != 0) {
      velocity[i] = momentum * velocity[i] + d;
      d = nesterov ? d + momentum * velocity[i] : velocity[i];
    }
    w[i] -= lr * d;
  }
}

__global__ void adam_kernel(float* w, const float* g, float* m, float* v, int64_t n, float lr, float beta1,
                            float beta2, float eps, float weight_decay, bool decoupled, double c1, double c2) {
  DLT_CUDA_FOR(i, n) {
    float d = g[i];
    if (decoupled) w[i] *= 1 - lr * weight_decay;
    else d += weight_decay * w[i];
    m[i] = beta1 * m[i] + (1 - beta1) * d;
    v[i] = beta2 * v[i] + (1 - beta2) * d * d;
    w[i] -= float(lr * (m[i] / c1) / (sqrt(v[i] / c2) + eps));
  }
}

}  // namespace

void sgd_update(float* w, const float* g, float* velocity, int64_t n, float lr, float momentum, float weight_decay,
                bool nesterov) {
  sgd_kernel<<<blocks(n), threads>>>(w, g, velocity, n, lr, momentum, weight_decay, nesterov);
  check_launch("sgd_update");
}

void adam_update(float* w, const float* g, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
                 float eps, float weight_decay, bool decoupled, int64_t step) {
  const double c1 = 1 - std::pow(double(beta1), double(step)), c2 = 1 - std::pow(double(beta2), double(step));
  adam_kernel<<<blocks(n), threads>>>(w, g, m, v, n, lr, beta1, beta2, eps, weight_decay, decoupled, c1, c2);
  check_launch("adam_update");
}

}  // namespace dltrain::cuda
