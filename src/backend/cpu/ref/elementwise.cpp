// Reference elementwise kernels: activations, dropout, add, accumulate, uint8 conversion.
#include <algorithm>

#include "ref.hpp"

namespace dltrain::cpu::ref {

void activation_forward(Act act, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i];
    if (act != Act::none) v = std::max(v, 0.0f);
    if (act == Act::relu6) v = std::min(v, 6.0f);
    y[i] = v;
  }
}

void activation_backward(Act act, const float* y, const float* dy, float* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    bool pass = act == Act::none || (y[i] > 0 && (act == Act::relu || y[i] < 6.0f));
    dx[i] = pass ? dy[i] : 0.0f;
  }
}

void dropout_forward(const float* x, float* y, int64_t n, float p, uint64_t key) {
  for (int64_t i = 0; i < n; ++i) y[i] = hash_uniform(key, uint64_t(i)) >= p ? x[i] / (1.0f - p) : 0.0f;
}

void dropout_backward(const float* dy, float* dx, int64_t n, float p, uint64_t key) {
  for (int64_t i = 0; i < n; ++i) dx[i] = hash_uniform(key, uint64_t(i)) >= p ? dy[i] / (1.0f - p) : 0.0f;
}

void add(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void accumulate(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void u8_to_f32(const uint8_t* src, float* dst, int64_t n, float scale, float offset) {
  for (int64_t i = 0; i < n; ++i) dst[i] = float(src[i]) * scale + offset;
}

}  // namespace dltrain::cpu::ref
