// im2col and its transpose for NHWC convolutions: row p = (n*OH + oy)*OW + ox holds the
// KH*KW*C inputs under output pixel p, in (ky, kx, c) order to match (KH,KW,C,K) weights.
#pragma once

#include <algorithm>
#include <cstring>

#include "dltrain/ops.hpp"
#include "simd.hpp"

namespace dltrain::cpu {

// Copies n floats (src == nullptr: zeros) with inline vector moves: the runs here are short (KW*C
// floats, 5 for a 5x5 conv on grayscale) and a library call per run cost more than the copy.
inline void copy_run(float* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) storev(dst + i, src ? loadv(src + i) : vf{});
  for (; i + 4 <= n; i += 4) {
    float t[4] = {};
    if (src) std::memcpy(t, src + i, sizeof t);
    std::memcpy(dst + i, t, sizeof t);
  }
  switch (n - i) {
    case 3: dst[i + 2] = src ? src[i + 2] : 0.0f; [[fallthrough]];
    case 2: dst[i + 1] = src ? src[i + 1] : 0.0f; [[fallthrough]];
    case 1: dst[i] = src ? src[i] : 0.0f;
  }
}

// Writes the KH*KW*C inputs under output pixel (n, oy, ox) into row (zeros where padded). In
// NHWC the taps of one kernel row are a contiguous run of KW*C inputs, copied as one block.
inline void im2col_pixel(const float* x, const Window& g, int64_t n, int64_t oy, int64_t ox, float* row) {
  const int64_t ix0 = ox * g.sw - g.pad_left, run = g.kw * g.c;
  const int64_t kx_lo = std::max<int64_t>(0, -ix0), kx_hi = std::min(g.kw, g.w - ix0);  // taps inside
  for (int64_t ky = 0; ky < g.kh; ++ky) {
    const int64_t iy = oy * g.sh - g.pad_top + ky;
    float* dst = row + ky * run;
    if (iy < 0 || iy >= g.h || kx_lo >= kx_hi) {
      copy_run(dst, nullptr, run);
      continue;
    }
    copy_run(dst, nullptr, kx_lo * g.c);
    copy_run(dst + kx_lo * g.c, x + ((n * g.h + iy) * g.w + ix0 + kx_lo) * g.c, (kx_hi - kx_lo) * g.c);
    copy_run(dst + kx_hi * g.c, nullptr, run - kx_hi * g.c);
  }
}

// Writes im2col rows [p0, p1) (p = (n*OH + oy)*OW + ox) into cols (p1-p0, KH*KW*C).
// The pixel's coordinates advance by counting, and pixels with every tap inside copy their KH runs
// without bounds: three divisions and the edge logic per pixel cost more than a small
// convolution's copy (a 3x3 stem on RGB copies 27 floats per pixel). Out of line, as measured (the
// fused chain's loop, like the depthwise interior, stays small).
[[gnu::noinline]] inline void im2col(const float* x, const Window& g, int64_t p0, int64_t p1, float* cols) {
  if (p0 >= p1) return;
  int64_t n = p0 / (g.oh * g.ow), oy = p0 / g.ow % g.oh, ox = p0 % g.ow;
  const int64_t run = g.kw * g.c, rc = g.cols();
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t iy = oy * g.sh - g.pad_top, ix = ox * g.sw - g.pad_left;
    float* row = cols + (p - p0) * rc;
    if (iy >= 0 && iy + g.kh <= g.h && ix >= 0 && ix + g.kw <= g.w) {  // every tap inside
      const float* src = x + ((n * g.h + iy) * g.w + ix) * g.c;
      for (int64_t ky = 0; ky < g.kh; ++ky) copy_run(row + ky * run, src + ky * g.w * g.c, run);
    } else {
      im2col_pixel(x, g, n, oy, ox, row);
    }
    if (++ox == g.ow) {
      ox = 0;
      if (++oy == g.oh) oy = 0, ++n;
    }
  }
}

// Adds the rows of dcols back onto dx (the transpose of im2col).
inline void col2im_add(const float* dcols, const Window& g, int64_t p0, int64_t p1, float* dx) {
  const int64_t rc = g.cols();
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t n = p / (g.oh * g.ow), oy = p / g.ow % g.oh, ox = p % g.ow;
    const float* row = dcols + (p - p0) * rc;
    for (int64_t ky = 0; ky < g.kh; ++ky)
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        const int64_t iy = oy * g.sh + ky - g.pad_top, ix = ox * g.sw + kx - g.pad_left;
        if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
        const float* __restrict src = row + (ky * g.kw + kx) * g.c;
        float* __restrict dst = dx + ((n * g.h + iy) * g.w + ix) * g.c;
#pragma omp simd
        for (int64_t c = 0; c < g.c; ++c) dst[c] += src[c];
      }
  }
}

}  // namespace dltrain::cpu
