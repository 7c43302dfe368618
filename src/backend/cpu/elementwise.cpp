// Fast elementwise kernels: contiguous chunks per thread, vectorised loops.
#include <algorithm>
#include <limits>

#include "cpu.hpp"
#include "parallel.hpp"

namespace dltrain::cpu {
namespace {
constexpr int64_t grain = 1 << 15;
}

void activation_forward(Act act, const float* x, float* y, int64_t n) {
  const float hi = act == Act::relu6 ? 6.0f : std::numeric_limits<float>::infinity();
  const float lo = act == Act::none ? -std::numeric_limits<float>::infinity() : 0.0f;
  parallel_chunks(n, grain, [&](int64_t b, int64_t e, int64_t) {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) y[i] = std::min(std::max(x[i], lo), hi);
  });
}

void activation_backward(Act act, const float* y, const float* dy, float* dx, int64_t n) {
  const float hi = act == Act::relu6 ? 6.0f : std::numeric_limits<float>::infinity();
  const float lo = act == Act::none ? -std::numeric_limits<float>::infinity() : 0.0f;
  parallel_chunks(n, grain, [&](int64_t b, int64_t e, int64_t) {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) dx[i] = (y[i] > lo && y[i] < hi) ? dy[i] : 0.0f;
  });
}

void dropout_forward(const float* x, float* y, int64_t n, float p, uint64_t key) {
  const float scale = 1.0f / (1.0f - p);
  parallel_chunks(n, grain, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t i = b; i < e; ++i) y[i] = hash_uniform(key, uint64_t(i)) >= p ? x[i] * scale : 0.0f;
  });
}

void dropout_backward(const float* dy, float* dx, int64_t n, float p, uint64_t key) { dropout_forward(dy, dx, n, p, key); }

void add(const float* a, const float* b, float* y, int64_t n) {
  parallel_chunks(n, grain, [&](int64_t s, int64_t e, int64_t) {
#pragma omp simd
    for (int64_t i = s; i < e; ++i) y[i] = a[i] + b[i];
  });
}

void accumulate(const float* x, float* y, int64_t n) { add(x, y, y, n); }

void u8_to_f32(const uint8_t* src, float* dst, int64_t n, float scale, float offset) {
  parallel_chunks(n, grain, [&](int64_t b, int64_t e, int64_t) {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) dst[i] = float(src[i]) * scale + offset;
  });
}

}  // namespace dltrain::cpu
