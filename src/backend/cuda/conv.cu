// Convolutions on the GPU, direct: one thread per output element (forward), per weight (dw) and
// per input element (dx, gathering from the outputs whose windows cover it), so nothing is
// accumulated by atomics and every sum has a fixed order.
#include "cuda.hpp"

namespace dltrain::cuda {
namespace {

// y (N,OH,OW,K); depthwise when `depthwise` (then K == C and w is (KH,KW,C)).
__global__ void conv_forward_kernel(const float* x, const float* w, const float* b, float* y, Window g, Act act,
                                    bool depthwise) {
  DLT_CUDA_FOR(o, g.n * g.oh * g.ow * g.k) {
    const int64_t k = o % g.k, ox = o / g.k % g.ow, oy = o / (g.k * g.ow) % g.oh, n = o / (g.k * g.ow * g.oh);
    float acc = b[k];
    for (int64_t ky = 0; ky < g.kh; ++ky) {
      const int64_t iy = oy * g.sh + ky - g.pad_top;
      if (iy < 0 || iy >= g.h) continue;
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        const int64_t ix = ox * g.sw + kx - g.pad_left;
        if (ix < 0 || ix >= g.w) continue;
        const float* in = x + ((n * g.h + iy) * g.w + ix) * g.c;
        if (depthwise) {
          acc += in[k] * w[(ky * g.kw + kx) * g.c + k];
        } else {
          const float* wk = w + (ky * g.kw + kx) * g.c * g.k + k;
          for (int64_t c = 0; c < g.c; ++c) acc += in[c] * wk[c * g.k];
        }
      }
    }
    y[o] = activate(act, acc);
  }
}

// dw: one thread per weight (ky,kx,c,k) [depthwise: (ky,kx,c)], summing over batch and positions.
__global__ void conv_dw_kernel(const float* x, const float* dy, float* dw, Window g, bool depthwise) {
  const int64_t kout = depthwise ? 1 : g.k;
  DLT_CUDA_FOR(i, g.kh * g.kw * g.c * kout) {
    const int64_t k = i % kout, c = i / kout % g.c, kx = i / (kout * g.c) % g.kw, ky = i / (kout * g.c * g.kw);
    const int64_t kk = depthwise ? c : k;
    double acc = 0;
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        const int64_t iy = oy * g.sh + ky - g.pad_top;
        if (iy < 0 || iy >= g.h) continue;
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          const int64_t ix = ox * g.sw + kx - g.pad_left;
          if (ix < 0 || ix >= g.w) continue;
          acc += double(x[((n * g.h + iy) * g.w + ix) * g.c + c]) * dy[((n * g.oh + oy) * g.ow + ox) * g.k + kk];
        }
      }
    dw[i] = float(acc);
  }
}

// dx: one thread per input element, over the outputs whose windows contain it.
__global__ void conv_dx_kernel(const float* w, const float* dy, float* dx, Window g, bool depthwise) {
  DLT_CUDA_FOR(i, g.n * g.h * g.w * g.c) {
    const int64_t c = i % g.c, ix = i / g.c % g.w, iy = i / (g.c * g.w) % g.h, n = i / (g.c * g.w * g.h);
    float acc = 0;
    for (int64_t ky = 0; ky < g.kh; ++ky) {
      const int64_t ty = iy + g.pad_top - ky;
      if (ty < 0 || ty % g.sh != 0 || ty / g.sh >= g.oh) continue;
      const int64_t oy = ty / g.sh;
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        const int64_t tx = ix + g.pad_left - kx;
        if (tx < 0 || tx % g.sw != 0 || tx / g.sw >= g.ow) continue;
        const float* d = dy + ((n * g.oh + oy) * g.ow + tx / g.sw) * g.k;
        if (depthwise) {
          acc += d[c] * w[(ky * g.kw + kx) * g.c + c];
        } else {
          const float* wc = w + ((ky * g.kw + kx) * g.c + c) * g.k;
          for (int64_t k = 0; k < g.k; ++k) acc += d[k] * wc[k];
        }
      }
    }
    dx[i] = acc;
  }
}

void conv_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db, const Window& g,
                   bool depthwise) {
  column_sums(dy, db, g.n * g.oh * g.ow, g.k);
  conv_dw_kernel<<<blocks(g.kh * g.kw * g.c * (depthwise ? 1 : g.k)), threads>>>(x, dy, dw, g, depthwise);
  check_launch("conv_backward (dw)");
  if (!dx) return;
  conv_dx_kernel<<<blocks(g.n * g.h * g.w * g.c), threads>>>(w, dy, dx, g, depthwise);
  check_launch("conv_backward (dx)");
}

}  // namespace

void conv2d_forward(const float* x, const float* w, const float* b, float* y, const Window& g, Act act) {
  conv_forward_kernel<<<blocks(g.n * g.oh * g.ow * g.k), threads>>>(x, w, b, y, g, act, false);
  check_launch("conv2d_forward");
}

void conv2d_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db,
                     const Window& g) {
  conv_backward(x, w, dy, dx, dw, db, g, false);
}

void depthwise_forward(const float* x, const float* w, const float* b, float* y, const Window& g, Act act) {
  Window d = g;
  d.k = g.c;
  conv_forward_kernel<<<blocks(d.n * d.oh * d.ow * d.k), threads>>>(x, w, b, y, d, act, true);
  check_launch("depthwise_forward");
}

void depthwise_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db,
                        const Window& g) {
  Window d = g;
  d.k = g.c;
  conv_backward(x, w, dy, dx, dw, db, d, true);
}

// The reference's order: conv, depthwise, [1x1 conv [+ x]], with the maps in scratch memory.
void conv_depthwise_forward(const float* x, const ConvDepthwiseArgs& p, float* y, const Window& g) {
  Scratch mid(size_t(g.n * g.h * g.w * g.c) * sizeof(float));
  conv2d_forward(x, p.w1, p.b1, mid.as<float>(), p.first, p.act1);
  if (!p.w3) return depthwise_forward(mid.as<float>(), p.w2, p.b2, y, g, p.act2);
  Scratch dw(size_t(g.n * g.oh * g.ow * g.c) * sizeof(float));
  depthwise_forward(mid.as<float>(), p.w2, p.b2, dw.as<float>(), g, p.act2);
  conv2d_forward(dw.as<float>(), p.w3, p.b3, y, Window::make({g.n, g.oh, g.ow, g.c}, 1, 1, 1, 1, Padding::valid, p.k),
                 p.act3);
  if (p.residual) add(y, x, y, g.n * g.oh * g.ow * p.k);
}

}  // namespace dltrain::cuda
