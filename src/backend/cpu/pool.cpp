// Fast pooling over NHWC: the channel axis is innermost, so each window tap is a contiguous,
// vectorisable run of C values. Parallel over output rows (n, oy).
#include <cstring>
#include <limits>
#include <vector>

#include "cpu.hpp"
#include "parallel.hpp"

namespace dltrain::cpu {
namespace {
// Calls f(out_offset, in_offsets, count) for every output pixel, with the offsets of its in-bounds taps.
template <class F>
void for_each_output(const Window& g, int64_t grain, F&& f) {
  parallel_chunks(g.n * g.oh, grain, [&](int64_t r0, int64_t r1, int64_t) {
    std::vector<int64_t> taps(static_cast<size_t>(g.kh * g.kw));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.oh, oy = r % g.oh;
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        int64_t count = 0;
        for (int64_t ky = 0; ky < g.kh; ++ky)
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            const int64_t iy = oy * g.sh + ky - g.pad_top, ix = ox * g.sw + kx - g.pad_left;
            if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) taps[size_t(count++)] = ((n * g.h + iy) * g.w + ix) * g.c;
          }
        f(((n * g.oh + oy) * g.ow + ox) * g.c, taps.data(), count);
      }
    }
  });
}
}  // namespace

void maxpool_forward(const float* x, float* y, const Window& g) {
  for_each_output(g, 4, [&](int64_t o, const int64_t* taps, int64_t count) {
    float* yo = y + o;
    for (int64_t c = 0; c < g.c; ++c) yo[c] = -std::numeric_limits<float>::infinity();
    for (int64_t t = 0; t < count; ++t) {
      const float* xt = x + taps[t];
#pragma omp simd
      for (int64_t c = 0; c < g.c; ++c) yo[c] = xt[c] > yo[c] ? xt[c] : yo[c];
    }
  });
}

void maxpool_backward(const float* x, const float* y, const float* dy, float* dx, const Window& g) {
  // Overlapping windows may share inputs across output rows: zero and scatter per image.
  parallel_chunks(g.n, 1, [&](int64_t n0, int64_t n1, int64_t) {
    std::memset(dx + n0 * g.h * g.w * g.c, 0, size_t((n1 - n0) * g.h * g.w * g.c) * sizeof(float));
    std::vector<int64_t> taps(static_cast<size_t>(g.kh * g.kw));
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t oy = 0; oy < g.oh; ++oy)
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          int64_t count = 0;
          for (int64_t ky = 0; ky < g.kh; ++ky)
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              const int64_t iy = oy * g.sh + ky - g.pad_top, ix = ox * g.sw + kx - g.pad_left;
              if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) taps[size_t(count++)] = ((n * g.h + iy) * g.w + ix) * g.c;
            }
          const int64_t o = ((n * g.oh + oy) * g.ow + ox) * g.c;
          for (int64_t c = 0; c < g.c; ++c)
            for (int64_t t = 0; t < count; ++t)
              if (x[taps[t] + c] == y[o + c]) {
                dx[taps[t] + c] += dy[o + c];
                break;
              }
        }
  });
}

void avgpool_forward(const float* x, float* y, const Window& g) {
  for_each_output(g, 4, [&](int64_t o, const int64_t* taps, int64_t count) {
    float* yo = y + o;
    for (int64_t c = 0; c < g.c; ++c) yo[c] = 0;
    for (int64_t t = 0; t < count; ++t) {
      const float* xt = x + taps[t];
#pragma omp simd
      for (int64_t c = 0; c < g.c; ++c) yo[c] += xt[c];
    }
    const float inv = 1.0f / float(count);
    for (int64_t c = 0; c < g.c; ++c) yo[c] *= inv;
  });
}

void avgpool_backward(const float* dy, float* dx, const Window& g) {
  parallel_chunks(g.n, 1, [&](int64_t n0, int64_t n1, int64_t) {
    std::memset(dx + n0 * g.h * g.w * g.c, 0, size_t((n1 - n0) * g.h * g.w * g.c) * sizeof(float));
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t oy = 0; oy < g.oh; ++oy)
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          const int64_t y0 = std::max<int64_t>(oy * g.sh - g.pad_top, 0), y1 = std::min(oy * g.sh - g.pad_top + g.kh, g.h);
          const int64_t x0 = std::max<int64_t>(ox * g.sw - g.pad_left, 0), x1 = std::min(ox * g.sw - g.pad_left + g.kw, g.w);
          const float inv = 1.0f / float((y1 - y0) * (x1 - x0));
          const float* d = dy + ((n * g.oh + oy) * g.ow + ox) * g.c;
          for (int64_t iy = y0; iy < y1; ++iy)
            for (int64_t ix = x0; ix < x1; ++ix) {
              float* dst = dx + ((n * g.h + iy) * g.w + ix) * g.c;
#pragma omp simd
              for (int64_t c = 0; c < g.c; ++c) dst[c] += d[c] * inv;
            }
        }
  });
}

}  // namespace dltrain::cpu
