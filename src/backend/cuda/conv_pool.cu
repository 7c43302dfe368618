// The fused conv -> activation -> max-pool (stride = window) on the GPU: one thread per pooled
// output computes its pool x pool conv values and keeps the first maximum, as the reference.
// Backward scatters dy to the winning positions (disjoint windows: no races) and runs conv2d_backward.
#include "cuda.hpp"

namespace dltrain::cuda {
namespace {

__global__ void conv_pool_forward_kernel(const float* x, const float* w, const float* b, Act act, int64_t pool,
                                         float* y, uint8_t* argmax, Window g) {
  const int64_t ph = g.oh / pool, pw = g.ow / pool;
  DLT_CUDA_FOR(o, g.n * ph * pw * g.k) {
    const int64_t k = o % g.k, px = o / g.k % pw, py = o / (g.k * pw) % ph, n = o / (g.k * pw * ph);
    float best = 0;
    int64_t arg = -1;
    for (int64_t q = 0; q < pool * pool; ++q) {
      const int64_t oy = py * pool + q / pool, ox = px * pool + q % pool;
      float acc = b[k];
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const int64_t iy = oy * g.sh + ky - g.pad_top;
        if (iy < 0 || iy >= g.h) continue;
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          const int64_t ix = ox * g.sw + kx - g.pad_left;
          if (ix < 0 || ix >= g.w) continue;
          const float* in = x + ((n * g.h + iy) * g.w + ix) * g.c;
          const float* wk = w + (ky * g.kw + kx) * g.c * g.k + k;
          for (int64_t c = 0; c < g.c; ++c) acc += in[c] * wk[c * g.k];
        }
      }
      acc = activate(act, acc);
      if (arg < 0 || acc > best) best = acc, arg = q;
    }
    const bool pass = act == Act::none || (best > 0 && (act == Act::relu || best < 6.0f));
    y[o] = best;
    argmax[o] = pass ? uint8_t(arg) : uint8_t(255);
  }
}

__global__ void scatter_kernel(const uint8_t* argmax, const float* dy, int64_t pool, float* dz, Window g) {
  const int64_t ph = g.oh / pool, pw = g.ow / pool;
  DLT_CUDA_FOR(o, g.n * ph * pw * g.k) {
    if (argmax[o] == 255) continue;
    const int64_t k = o % g.k, px = o / g.k % pw, py = o / (g.k * pw) % ph, n = o / (g.k * pw * ph);
    const int64_t q = argmax[o];
    dz[((n * g.oh + py * pool + q / pool) * g.ow + px * pool + q % pool) * g.k + k] = dy[o];
  }
}

}  // namespace

void conv2d_pool_forward(const float* x, const float* w, const float* b, Act act, int64_t pool, float* y,
                         uint8_t* argmax, const Window& g) {
  conv_pool_forward_kernel<<<blocks(g.n * (g.oh / pool) * (g.ow / pool) * g.k), threads>>>(x, w, b, act, pool, y,
                                                                                           argmax, g);
  check_launch("conv2d_pool_forward");
}

void conv2d_pool_backward(const float* x, const float* w, const uint8_t* argmax, const float* dy, int64_t pool,
                          float* dx, float* dw, float* db, const Window& g) {
  const size_t bytes = size_t(g.n * g.oh * g.ow * g.k) * sizeof(float);
  Scratch dz(bytes);
  check(cudaMemsetAsync(dz.as<float>(), 0, bytes), "conv2d_pool_backward (memset)");
  scatter_kernel<<<blocks(g.n * (g.oh / pool) * (g.ow / pool) * g.k), threads>>>(argmax, dy, pool, dz.as<float>(), g);
  check_launch("conv2d_pool_backward (scatter)");
  conv2d_backward(x, w, dz.as<float>(), dx, dw, db, g);
}

// Any geometry whose pooled windows fit the one-byte argmax (as the reference): the fused kernel
// never stores the full-resolution map, which is what the planner fuses for.
bool conv2d_pool_is_fast(const Window&, int64_t pool) { return pool >= 1 && pool * pool < 255; }

}  // namespace dltrain::cuda
