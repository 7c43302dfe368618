// Fast depthwise convolution over NHWC. Every loop runs along the contiguous channel axis, so the
// compiler vectorises it; threads split output rows (forward, weight gradient) or input rows
// (input gradient, gathered so that no two threads write the same element).
#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu.hpp"
#include "depthwise_row.hpp"
#include "parallel.hpp"

namespace dltrain::cpu {
namespace {
// The output columns ox whose tap kx lands inside the input: [lo, hi).
void columns_in_bounds(const Window& g, int64_t kx, int64_t& lo, int64_t& hi) {
  const int64_t first = g.pad_left - kx;  // ox * sw >= first
  lo = first <= 0 ? 0 : (first + g.sw - 1) / g.sw;
  const int64_t last = g.w - 1 + g.pad_left - kx;  // ox * sw <= last
  hi = last < 0 ? 0 : std::min(g.ow, last / g.sw + 1);
}
}  // namespace

void depthwise_forward(const float* x, const float* w, const float* b, float* y, const Window& g, Act act) {
  DLT_CHECK(g.kh <= 16, "depthwise_forward: windows up to 16 rows");
  parallel_chunks(g.n * g.oh, 4, [&](int64_t r0, int64_t r1, int64_t) {
    const float* rows[16];
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.oh, top = r % g.oh * g.sh - g.pad_top;
      for (int64_t ky = 0; ky < g.kh; ++ky)
        rows[ky] = top + ky >= 0 && top + ky < g.h ? x + (n * g.h + top + ky) * g.w * g.c : nullptr;
      depthwise_row(rows, w, b, y + r * g.ow * g.c, g, act);
    }
  });
}

void depthwise_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db,
                        const Window& g) {
  const int64_t c = g.c, nw = g.kh * g.kw * c;
  // Weight and bias gradients: one partial sum per thread, added in thread order (reproducible).
  const int64_t chunks = chunk_count(g.n * g.oh, 4);
  std::vector<float> partial(size_t(chunks * (nw + c)), 0.0f);
  parallel_chunks(g.n * g.oh, 4, [&](int64_t r0, int64_t r1, int64_t t) {
    float* __restrict pdw = partial.data() + t * (nw + c);
    float* __restrict pdb = pdw + nw;
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.oh, oy = r % g.oh;
      const float* dyr = dy + r * g.ow * c;
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const float* __restrict d = dyr + ox * c;
#pragma omp simd
        for (int64_t j = 0; j < c; ++j) pdb[j] += d[j];
      }
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const int64_t iy = oy * g.sh + ky - g.pad_top;
        if (iy < 0 || iy >= g.h) continue;
        const float* xr = x + (n * g.h + iy) * g.w * c;
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          int64_t lo = 0, hi = 0;
          columns_in_bounds(g, kx, lo, hi);
          float* __restrict gw = pdw + (ky * g.kw + kx) * c;
          for (int64_t ox = lo; ox < hi; ++ox) {
            const float* __restrict xp = xr + (ox * g.sw + kx - g.pad_left) * c;
            const float* __restrict d = dyr + ox * c;
#pragma omp simd
            for (int64_t j = 0; j < c; ++j) gw[j] += xp[j] * d[j];
          }
        }
      }
    }
  });
  std::memset(dw, 0, size_t(nw) * sizeof(float));
  std::memset(db, 0, size_t(c) * sizeof(float));
  for (int64_t t = 0; t < chunks; ++t) {
    const float* p = partial.data() + t * (nw + c);
    for (int64_t i = 0; i < nw; ++i) dw[i] += p[i];
    for (int64_t j = 0; j < c; ++j) db[j] += p[nw + j];
  }
  if (!dx) return;
  // Input gradient, gathered per input row: row iy receives from the output rows whose taps hit it.
  parallel_chunks(g.n * g.h, 4, [&](int64_t r0, int64_t r1, int64_t) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.h, iy = r % g.h;
      float* __restrict dxr = dx + r * g.w * c;
      std::memset(dxr, 0, size_t(g.w * c) * sizeof(float));
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const int64_t t = iy + g.pad_top - ky;
        if (t < 0 || t % g.sh != 0 || t / g.sh >= g.oh) continue;
        const float* dyr = dy + (n * g.oh + t / g.sh) * g.ow * c;
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          int64_t lo = 0, hi = 0;
          columns_in_bounds(g, kx, lo, hi);
          const float* __restrict wt = w + (ky * g.kw + kx) * c;
          for (int64_t ox = lo; ox < hi; ++ox) {
            float* __restrict xp = dxr + (ox * g.sw + kx - g.pad_left) * c;
            const float* __restrict d = dyr + ox * c;
#pragma omp simd
            for (int64_t j = 0; j < c; ++j) xp[j] += d[j] * wt[j];
          }
        }
      }
    }
  });
}

}  // namespace dltrain::cpu
