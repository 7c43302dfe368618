// Fast elementwise kernels: contiguous chunks per thread; each loop lives in a function with
// restrict-qualified pointers and by-value scalars so it vectorises wherever it is inlined.
#include <algorithm>
#include <limits>

#include "cpu.hpp"
#include "parallel.hpp"
#include "simd.hpp"

namespace dltrain::cpu {
namespace {
constexpr int64_t grain = 1 << 15;
constexpr float inf = std::numeric_limits<float>::infinity();

float act_lo(Act act) { return act == Act::none ? -inf : 0.0f; }
float act_hi(Act act) { return act == Act::relu6 ? 6.0f : inf; }

// Clamps and masks in native-width vectors: GCC leaves std::min/std::max loops scalar (NaN rules).
void clamp_range(const float* x, float* y, int64_t b, int64_t e, float lo, float hi) {
  const vf vlo = splat(lo), vhi = splat(hi);
  int64_t i = b;
  for (; i + lanes <= e; i += lanes) {
    vf v = loadv(x + i);
    v = v < vlo ? vlo : v;  // written so that NaN passes through, as std::max/std::min do
    storev(y + i, v > vhi ? vhi : v);
  }
  for (; i < e; ++i) y[i] = std::min(std::max(x[i], lo), hi);
}

void mask_range(const float* __restrict y, const float* __restrict dy, float* __restrict dx, int64_t b, int64_t e,
                float lo, float hi) {
  const vf vlo = splat(lo), vhi = splat(hi), zero = splat(0.0f);
  int64_t i = b;
  for (; i + lanes <= e; i += lanes) {
    const vf v = loadv(y + i);
    storev(dx + i, (v > vlo) & (v < vhi) ? loadv(dy + i) : zero);
  }
  for (; i < e; ++i) dx[i] = (y[i] > lo && y[i] < hi) ? dy[i] : 0.0f;
}

void add_range(const float* a, const float* c, float* y, int64_t b, int64_t e) {
#pragma omp simd
  for (int64_t i = b; i < e; ++i) y[i] = a[i] + c[i];
}

void convert_range(const uint8_t* __restrict src, float* __restrict dst, int64_t b, int64_t e, float scale,
                   float offset) {
#pragma omp simd
  for (int64_t i = b; i < e; ++i) dst[i] = float(src[i]) * scale + offset;
}
}  // namespace

void activation_forward(Act act, const float* x, float* y, int64_t n) {
  parallel_chunks(n, grain, [&](int64_t b, int64_t e, int64_t) { clamp_range(x, y, b, e, act_lo(act), act_hi(act)); });
}

void activation_backward(Act act, const float* y, const float* dy, float* dx, int64_t n) {
  parallel_chunks(n, grain, [&](int64_t b, int64_t e, int64_t) { mask_range(y, dy, dx, b, e, act_lo(act), act_hi(act)); });
}

void dropout_forward(const float* x, float* y, int64_t n, float p, uint64_t key) {
  const float scale = 1.0f / (1.0f - p);
  parallel_chunks(n, grain, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t i = b; i < e; ++i) y[i] = hash_uniform(key, uint64_t(i)) >= p ? x[i] * scale : 0.0f;
  });
}

void dropout_backward(const float* dy, float* dx, int64_t n, float p, uint64_t key) { dropout_forward(dy, dx, n, p, key); }

void add(const float* a, const float* b, float* y, int64_t n) {
  parallel_chunks(n, grain, [&](int64_t s, int64_t e, int64_t) { add_range(a, b, y, s, e); });
}

void accumulate(const float* x, float* y, int64_t n) { add(x, y, y, n); }

void u8_to_f32(const uint8_t* src, float* dst, int64_t n, float scale, float offset) {
  parallel_chunks(n, grain, [&](int64_t b, int64_t e, int64_t) { convert_range(src, dst, b, e, scale, offset); });
}

}  // namespace dltrain::cpu
