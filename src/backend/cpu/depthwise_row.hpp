// One output row of a depthwise convolution, shared by the depthwise kernel and the fused
// expand/depthwise/project chain. rows[ky] points at the input row under tap row ky (column 0,
// channel 0), or is null where that row is padding. Channels go 16 at a time; for windows of up to
// 3x3 the group's taps stay in registers across the whole row.
#pragma once

#include <algorithm>

#include "dltrain/ops.hpp"
#include "simd.hpp"

namespace dltrain::cpu {

inline void depthwise_row(const float* const* rows, const float* w, const float* b, float* yr, const Window& g) {
  const int64_t c = g.c;
  auto columns = [&](int64_t ox, int64_t& lo, int64_t& hi) {
    const int64_t left = ox * g.sw - g.pad_left;
    lo = std::max<int64_t>(0, -left), hi = std::min<int64_t>(g.kw, g.w - left);
    return left;
  };
  int64_t j = 0;
  if (g.kh * g.kw <= 9) {
    for (; j + 16 <= c; j += 16) {
      vf16 taps[9];
      for (int64_t t = 0; t < g.kh * g.kw; ++t) taps[t] = load16(w + t * c + j);
      const vf16 bias = load16(b + j);
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        int64_t lo = 0, hi = 0;
        const int64_t left = columns(ox, lo, hi);
        vf16 acc = bias;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          if (!rows[ky]) continue;
          const float* m = rows[ky] + left * c + j;
          for (int64_t kx = lo; kx < hi; ++kx) acc += load16(m + kx * c) * taps[ky * g.kw + kx];
        }
        store16(yr + ox * c + j, acc);
      }
    }
  }
  for (int64_t ox = 0; ox < g.ow; ++ox) {  // wider windows, and channels past the last group of 16
    int64_t lo = 0, hi = 0;
    const int64_t left = columns(ox, lo, hi);
    for (int64_t k = j; k < c; ++k) {
      float acc = b[k];
      for (int64_t ky = 0; ky < g.kh; ++ky)
        if (rows[ky])
          for (int64_t kx = lo; kx < hi; ++kx) acc += rows[ky][(left + kx) * c + k] * w[(ky * g.kw + kx) * c + k];
      yr[ox * c + k] = acc;
    }
  }
}

}  // namespace dltrain::cpu
