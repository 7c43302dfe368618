// Fast pooling over NHWC: the channel axis is innermost, so each window tap is a contiguous,
// vectorisable run of C values. Parallel over output rows (n, oy).
#include <cstring>
#include <limits>
#include <vector>

#include "cpu.hpp"
#include "parallel.hpp"

namespace dltrain::cpu {
namespace {
// Offsets of the in-bounds inputs of output pixel (n, oy, ox)'s window; returns their count.
int64_t window_taps(const Window& g, int64_t n, int64_t oy, int64_t ox, int64_t* taps) {
  int64_t count = 0;
  for (int64_t ky = 0; ky < g.kh; ++ky)
    for (int64_t kx = 0; kx < g.kw; ++kx) {
      const int64_t iy = oy * g.sh + ky - g.pad_top, ix = ox * g.sw + kx - g.pad_left;
      if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) taps[count++] = ((n * g.h + iy) * g.w + ix) * g.c;
    }
  return count;
}

// Calls f(out_offset, in_offsets, count) for every output pixel, with its window's in-bounds taps.
// Parallel over output rows; with `by_image`, over whole images (for scatters, whose windows may
// overlap between rows), calling chunk(n0, n1) first for each thread's images.
template <class Chunk, class F>
void for_each_output(const Window& g, bool by_image, Chunk&& chunk, F&& f) {
  parallel_chunks(by_image ? g.n : g.n * g.oh, by_image ? 1 : 4, [&](int64_t r0, int64_t r1, int64_t) {
    if (by_image) chunk(r0, r1);
    std::vector<int64_t> taps(static_cast<size_t>(g.kh * g.kw));
    const int64_t rows_per = by_image ? g.oh : 1;
    for (int64_t r = r0 * rows_per; r < r1 * rows_per; ++r) {
      const int64_t n = r / g.oh, oy = r % g.oh;
      for (int64_t ox = 0; ox < g.ow; ++ox)
        f(((n * g.oh + oy) * g.ow + ox) * g.c, taps.data(), window_taps(g, n, oy, ox, taps.data()));
    }
  });
}

template <class F>
void for_each_output(const Window& g, F&& f) {
  for_each_output(g, false, [](int64_t, int64_t) {}, f);
}

// Zeroes images [n0, n1) of dx (N,H,W,C).
auto zero_images(float* dx, const Window& g) {
  return [=](int64_t n0, int64_t n1) {
    std::memset(dx + n0 * g.h * g.w * g.c, 0, size_t((n1 - n0) * g.h * g.w * g.c) * sizeof(float));
  };
}
}  // namespace

void maxpool_forward(const float* x, float* y, const Window& g) {
  for_each_output(g, [&](int64_t o, const int64_t* taps, int64_t count) {
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
  constexpr int64_t max_c = 1024;  // channels whose pending gradients fit a stack buffer
  for_each_output(g, true, zero_images(dx, g), [&](int64_t o, const int64_t* taps, int64_t count) {
    if (g.c > max_c) {
      for (int64_t c = 0; c < g.c; ++c)
        for (int64_t t = 0; t < count; ++t)
          if (x[taps[t] + c] == y[o + c]) {  // the first maximum takes the gradient
            dx[taps[t] + c] += dy[o + c];
            break;
          }
      return;
    }
    // The same rule without a branch per channel: each channel's gradient waits in `pending`
    // until its first maximum takes it.
    float pending[max_c];
    std::memcpy(pending, dy + o, size_t(g.c) * sizeof(float));
    for (int64_t t = 0; t < count; ++t) {
      const float* __restrict xt = x + taps[t];
      const float* __restrict yo = y + o;
      float* __restrict dxt = dx + taps[t];
#pragma omp simd
      for (int64_t c = 0; c < g.c; ++c) {
        const bool hit = xt[c] == yo[c];
        dxt[c] += hit ? pending[c] : 0.0f;
        pending[c] = hit ? 0.0f : pending[c];
      }
    }
  });
}

void avgpool_forward(const float* x, float* y, const Window& g) {
  for_each_output(g, [&](int64_t o, const int64_t* taps, int64_t count) {
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
  for_each_output(g, true, zero_images(dx, g), [&](int64_t o, const int64_t* taps, int64_t count) {
    const float inv = 1.0f / float(count);
    for (int64_t t = 0; t < count; ++t) {
      float* dst = dx + taps[t];
#pragma omp simd
      for (int64_t c = 0; c < g.c; ++c) dst[c] += dy[o + c] * inv;
    }
  });
}

}  // namespace dltrain::cpu
