// Fast optimizer updates: the same arithmetic as the reference, chunked over threads. The loops
// live in functions with restrict-qualified pointers and by-value scalars so that they vectorise
// wherever they are inlined.
#include <cmath>

#include "cpu.hpp"
#include "parallel.hpp"

namespace dltrain::cpu {
namespace {
constexpr int64_t grain = 1 << 15;

void sgd_range(float* __restrict w, const float* __restrict g, float* __restrict v, int64_t b, int64_t e, float lr,
               float momentum, float weight_decay, bool nesterov) {
  if (momentum == 0) {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) w[i] -= lr * (g[i] + weight_decay * w[i]);
  } else if (nesterov) {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) {
      const float d = g[i] + weight_decay * w[i], vi = momentum * v[i] + d;
      v[i] = vi;
      w[i] -= lr * (d + momentum * vi);
    }
  } else {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) {
      const float vi = momentum * v[i] + g[i] + weight_decay * w[i];
      v[i] = vi;
      w[i] -= lr * vi;
    }
  }
}

void adam_range(float* __restrict w, const float* __restrict g, float* __restrict m, float* __restrict v, int64_t b,
                int64_t e, float beta1, float beta2, float eps, float l2, float shrink, float step_size,
                float inv_sqrt_c2) {
#pragma omp simd
  for (int64_t i = b; i < e; ++i) {
    const float d = g[i] + l2 * w[i];
    m[i] = beta1 * m[i] + (1 - beta1) * d;
    v[i] = beta2 * v[i] + (1 - beta2) * d * d;
    w[i] = w[i] * shrink - step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_c2 + eps);
  }
}
}  // namespace

void sgd_update(float* w, const float* g, float* velocity, int64_t n, float lr, float momentum,
                float weight_decay, bool nesterov) {
  parallel_chunks(n, grain, [&](int64_t b, int64_t e, int64_t) {
    sgd_range(w, g, velocity, b, e, lr, momentum, weight_decay, nesterov);
  });
}

void adam_update(float* w, const float* g, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
                 float eps, float weight_decay, bool decoupled, int64_t step) {
  const double c1 = 1 - std::pow(double(beta1), double(step)), c2 = 1 - std::pow(double(beta2), double(step));
  const float step_size = float(lr / c1), inv_sqrt_c2 = float(1 / std::sqrt(c2));
  const float l2 = decoupled ? 0.0f : weight_decay, shrink = decoupled ? 1 - lr * weight_decay : 1.0f;
  parallel_chunks(n, grain, [&](int64_t b, int64_t e, int64_t) {
    adam_range(w, g, m, v, b, e, beta1, beta2, eps, l2, shrink, step_size, inv_sqrt_c2);
  });
}

}  // namespace dltrain::cpu
