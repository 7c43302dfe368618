// Reference optimizer updates, written as PyTorch documents torch.optim.SGD and Adam/AdamW.
#include <cmath>

#include "ref.hpp"

namespace dltrain::cpu::ref {

void sgd_update(float* w, const float* g, float* velocity, int64_t n, float lr, float momentum,
                float weight_decay, bool nesterov) {
  for (int64_t i = 0; i < n; ++i) {
    float d = g[i] + weight_decay * w[i];
    if (momentum != 0) {
      velocity[i] = momentum * velocity[i] + d;
      d = nesterov ? d + momentum * velocity[i] : velocity[i];
    }
    w[i] -= lr * d;
  }
}

void adam_update(float* w, const float* g, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
                 float eps, float weight_decay, bool decoupled, int64_t step) {
  double c1 = 1 - std::pow(double(beta1), double(step)), c2 = 1 - std::pow(double(beta2), double(step));
  for (int64_t i = 0; i < n; ++i) {
    float d = g[i];
    if (decoupled) w[i] *= 1 - lr * weight_decay;
    else d += weight_decay * w[i];
    m[i] = beta1 * m[i] + (1 - beta1) * d;
    v[i] = beta2 * v[i] + (1 - beta2) * d * d;
    w[i] -= float(lr * (m[i] / c1) / (std::sqrt(v[i] / c2) + eps));
  }
}

}  // namespace dltrain::cpu::ref
