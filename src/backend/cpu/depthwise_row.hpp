// One output row of a depthwise convolution, shared by the depthwise kernel and the fused
// expand/depthwise/project chain. rows[ky] points at the input row under tap row ky (column 0,
// channel 0), or is null where that row is padding. Channels go one vector at a time; for windows
// of up to 3x3 the group's taps stay in registers across the whole row.
#pragma once

#include <algorithm>

#include "dltrain/ops.hpp"
#include "simd.hpp"

namespace dltrain::cpu {

// Output columns [ox0, ox0 + 4 * groups) of one channel vector, whose 3x3 windows lie wholly
// inside the row: four columns at a time, so four independent accumulator chains hide the FMA
// latency. Each output adds its taps in the same order as the general loop below, so the results
// are identical.
inline void depthwise_interior3x3(const float* const* rows, const vf* taps, vf bias, float* yr, const Window& g,
                                  int64_t j, int64_t ox0, int64_t groups) {
  const int64_t c = g.c, step = g.sw * c;
  for (int64_t ox = ox0; ox < ox0 + 4 * groups; ox += 4) {
    vf acc[4] = {bias, bias, bias, bias};
    for (int ky = 0; ky < 3; ++ky) {
      const float* m = rows[ky] + (ox * g.sw - g.pad_left) * c + j;
      for (int kx = 0; kx < 3; ++kx)
        for (int u = 0; u < 4; ++u) acc[u] += loadv(m + u * step + kx * c) * taps[ky * 3 + kx];
    }
    for (int u = 0; u < 4; ++u) storev(yr + (ox + u) * c + j, acc[u]);
  }
}

inline void depthwise_row(const float* const* rows, const float* w, const float* b, float* yr, const Window& g) {
  const int64_t c = g.c;
  auto columns = [&](int64_t ox, int64_t& lo, int64_t& hi) {
    const int64_t left = ox * g.sw - g.pad_left;
    lo = std::max<int64_t>(0, -left), hi = std::min<int64_t>(g.kw, g.w - left);
    return left;
  };
  // The columns whose 3x3 windows need no padding, when no tap row is padding either, in whole
  // groups of four from the first; the general loop takes the rest.
  int64_t in0 = 0, groups = 0;
  if (g.kh == 3 && g.kw == 3 && g.w >= 3 && rows[0] && rows[1] && rows[2]) {
    in0 = std::min<int64_t>(g.ow, (g.pad_left + g.sw - 1) / g.sw);
    groups = std::max<int64_t>(0, std::min<int64_t>(g.ow, (g.w - 3 + g.pad_left) / g.sw + 1) - in0) / 4;
  }
  int64_t j = 0;
  if (g.kh * g.kw <= 9) {
    for (; j + lanes <= c; j += lanes) {
      vf taps[9];
      for (int64_t t = 0; t < g.kh * g.kw; ++t) taps[t] = loadv(w + t * c + j);
      const vf bias = loadv(b + j);
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        if (ox == in0 && groups > 0) {
          depthwise_interior3x3(rows, taps, bias, yr, g, j, in0, groups);
          ox += 4 * groups - 1;
          continue;
        }
        int64_t lo = 0, hi = 0;
        const int64_t left = columns(ox, lo, hi);
        vf acc = bias;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          if (!rows[ky]) continue;
          const float* m = rows[ky] + left * c + j;
          for (int64_t kx = lo; kx < hi; ++kx) acc += loadv(m + kx * c) * taps[ky * g.kw + kx];
        }
        storev(yr + ox * c + j, acc);
      }
    }
  }
  for (int64_t ox = 0; ox < g.ow; ++ox) {  // wider windows, and channels past the last whole vector
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
