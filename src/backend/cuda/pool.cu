// Max and average pooling on the GPU. Backward passes gather: one thread per input element visits
// the windows that contain it, in window order, so overlapping windows need no atomics.
#include <cmath>

#include "cuda.hpp"

namespace dltrain::cuda {
namespace {

struct Pos {
  int64_t n, y, x, c;
};
__device__ inline Pos out_pos(const Window& g, int64_t o) {
  return {o / (g.c * g.ow * g.oh), o / (g.c * g.ow) % g.oh, o / g.c % g.ow, o % g.c};
}

__global__ void maxpool_forward_kernel(const float* x, float* y, Window g) {
  DLT_CUDA_FOR(o, g.n * g.oh * g.ow * g.c) {
    const Pos p = out_pos(g, o);
    float best = -INFINITY;  // as the reference starts
    for (int64_t ky = 0; ky < g.kh; ++ky)
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        const int64_t iy = p.y * g.sh + ky - g.pad_top, ix = p.x * g.sw + kx - g.pad_left;
        if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w)
          best = fmaxf(best, x[((p.n * g.h + iy) * g.w + ix) * g.c + p.c]);
      }
    y[o] = best;
  }
}

// The input index of window o's first element equal to y[o] (the one the reference routes to).
__device__ inline int64_t first_max(const float* x, const float* y, const Window& g, int64_t o) {
  const Pos p = out_pos(g, o);
  for (int64_t ky = 0; ky < g.kh; ++ky)
    for (int64_t kx = 0; kx < g.kw; ++kx) {
      const int64_t iy = p.y * g.sh + ky - g.pad_top, ix = p.x * g.sw + kx - g.pad_left;
      if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
      const int64_t i = ((p.n * g.h + iy) * g.w + ix) * g.c + p.c;
      if (x[i] == y[o]) return i;
    }
  return -1;
}

// Calls f(o) for each output window containing input element i = (n, iy, ix, c), in window order.
template <class F>
__device__ inline void for_each_covering(const Window& g, int64_t i, F&& f) {
  const int64_t c = i % g.c, ix = i / g.c % g.w, iy = i / (g.c * g.w) % g.h, n = i / (g.c * g.w * g.h);
  for (int64_t oy = 0; oy < g.oh; ++oy) {
    const int64_t ky = iy + g.pad_top - oy * g.sh;
    if (ky < 0 || ky >= g.kh) continue;
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      const int64_t kx = ix + g.pad_left - ox * g.sw;
      if (kx < 0 || kx >= g.kw) continue;
      f(((n * g.oh + oy) * g.ow + ox) * g.c + c);
    }
  }
}

__global__ void maxpool_backward_kernel(const float* x, const float* y, const float* dy, float* dx, Window g) {
  DLT_CUDA_FOR(i, g.n * g.h * g.w * g.c) {
    float acc = 0;
    for_each_covering(g, i, [&](int64_t o) {
      if (first_max(x, y, g, o) == i) acc += dy[o];
    });
    dx[i] = acc;
  }
}

__device__ inline int64_t window_count(const Window& g, int64_t o) {
  const Pos p = out_pos(g, o);
  int64_t count = 0;
  for (int64_t ky = 0; ky < g.kh; ++ky)
    for (int64_t kx = 0; kx < g.kw; ++kx) {
      const int64_t iy = p.y * g.sh + ky - g.pad_top, ix = p.x * g.sw + kx - g.pad_left;
      count += iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
    }
  return count;
}

__global__ void avgpool_forward_kernel(const float* x, float* y, Window g) {
  DLT_CUDA_FOR(o, g.n * g.oh * g.ow * g.c) {
    const Pos p = out_pos(g, o);
    double sum = 0;
    int64_t count = 0;
    for (int64_t ky = 0; ky < g.kh; ++ky)
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        const int64_t iy = p.y * g.sh + ky - g.pad_top, ix = p.x * g.sw + kx - g.pad_left;
        if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
        sum += x[((p.n * g.h + iy) * g.w + ix) * g.c + p.c];
        ++count;
      }
    if (count) y[o] = float(sum / double(count));
  }
}

__global__ void avgpool_backward_kernel(const float* dy, float* dx, Window g) {
  DLT_CUDA_FOR(i, g.n * g.h * g.w * g.c) {
    float acc = 0;
    for_each_covering(g, i, [&](int64_t o) { acc += dy[o] / float(window_count(g, o)); });
    dx[i] = acc;
  }
}

}  // namespace

void maxpool_forward(const float* x, float* y, const Window& g) {
  maxpool_forward_kernel<<<blocks(g.n * g.oh * g.ow * g.c), threads>>>(x, y, g);
  check_launch("maxpool_forward");
}

void maxpool_backward(const float* x, const float* y, const float* dy, float* dx, const Window& g) {
  maxpool_backward_kernel<<<blocks(g.n * g.h * g.w * g.c), threads>>>(x, y, dy, dx, g);
  check_launch("maxpool_backward");
}

void avgpool_forward(const float* x, float* y, const Window& g) {
  avgpool_forward_kernel<<<blocks(g.n * g.oh * g.ow * g.c), threads>>>(x, y, g);
  check_launch("avgpool_forward");
}

void avgpool_backward(const float* dy, float* dx, const Window& g) {
  avgpool_backward_kernel<<<blocks(g.n * g.h * g.w * g.c), threads>>>(dy, dx, g);
  check_launch("avgpool_backward");
}

}  // namespace dltrain::cuda
