// One output row of a depthwise convolution, shared by the depthwise kernel and the fused
// expand/depthwise/project chain. rows[ky] points at the input row under tap row ky (column 0,
// channel 0), or is null where that row is padding. The activation is applied as each output is
// stored. Every output adds its taps in the same order (rows, then columns), whichever path takes
// it, so results do not depend on the path.
#pragma once

#include <algorithm>

#include "dltrain/ops.hpp"
#include "epilogue.hpp"
#include "simd.hpp"

namespace dltrain::cpu {

// Output columns [ox0, ox0 + 4 * groups), whose 3x3 windows lie wholly inside the row, stride S:
// four columns at a time (four independent accumulator chains), every channel vector of them
// before the next four, so the input is read in the order it lies in memory. Each input vector
// is loaded once per group and row and serves every output column whose window covers it. Not
// inlined: inside the fused chain's loop the compiler spilled its registers to the stack.
template <int S>
[[gnu::noinline]] void depthwise_interior3x3(const float* const* rows, const float* w, const float* b, float* yr,
                                             const Window& g, int64_t ox0, int64_t groups, Act act) {
  constexpr int span = 3 * S + 3;  // input columns under four outputs: (4 - 1) * S + 3
  const int64_t c = g.c, whole = c / lanes * lanes;
  const float* const r[3] = {rows[0] - g.pad_left * c, rows[1] - g.pad_left * c, rows[2] - g.pad_left * c};
  for (int64_t ox = ox0; ox < ox0 + 4 * groups; ox += 4) {
    const int64_t left = ox * S * c;
    for (int64_t j = 0; j < whole; j += lanes) {
      // The compiler would otherwise keep one pointer per input column, tap and output (31), in
      // 16 general registers, and spill them; hiding c's value makes it form addresses from c.
      int64_t cs = c;
      __asm__("" : "+r"(cs));
      const vf bias = loadv(b + j);
      vf acc[4] = {bias, bias, bias, bias};
      for (int ky = 0; ky < 3; ++ky) {
        const float* m = r[ky] + left + j;
        const float* t = w + ky * 3 * cs + j;
        vf in[span];
        for (int q = 0; q < span; ++q) in[q] = loadv(m + q * cs);
        for (int kx = 0; kx < 3; ++kx) {
          const vf tap = loadv(t + kx * cs);
          for (int u = 0; u < 4; ++u) acc[u] += in[u * S + kx] * tap;
        }
      }
      for (int u = 0; u < 4; ++u) storev(yr + (ox + u) * cs + j, activate(acc[u], act));
    }
  }
}

// Output column ox for U channel vectors from channel j, U independent accumulator chains, taps
// read from memory; windows of any size, padding skipped (null rows, columns out of bounds).
template <int U>
inline void depthwise_column(const float* const* rows, const float* w, const float* b, float* yr, const Window& g,
                             int64_t ox, int64_t j, Act act) {
  const int64_t c = g.c, left = ox * g.sw - g.pad_left;
  const int64_t lo = std::max<int64_t>(0, -left), hi = std::min<int64_t>(g.kw, g.w - left);
  vf acc[U];
  for (int u = 0; u < U; ++u) acc[u] = loadv(b + j + u * lanes);
  for (int64_t ky = 0; ky < g.kh; ++ky) {
    if (!rows[ky]) continue;
    const float* m = rows[ky] + left * c + j;
    const float* t = w + ky * g.kw * c + j;
    for (int64_t kx = lo; kx < hi; ++kx)
      for (int u = 0; u < U; ++u) acc[u] += loadv(m + kx * c + u * lanes) * loadv(t + kx * c + u * lanes);
  }
  for (int u = 0; u < U; ++u) storev(yr + ox * c + j + u * lanes, activate(acc[u], act));
}

// Output columns [ox0, ox1) over the channels in whole vectors, four vectors at a time.
inline void depthwise_columns(const float* const* rows, const float* w, const float* b, float* yr, const Window& g,
                              int64_t ox0, int64_t ox1, Act act) {
  const int64_t vectors = g.c / lanes;
  for (int64_t ox = ox0; ox < ox1; ++ox) {
    int64_t v = 0;
    for (; v + 4 <= vectors; v += 4) depthwise_column<4>(rows, w, b, yr, g, ox, v * lanes, act);
    switch (vectors - v) {
      case 3: depthwise_column<3>(rows, w, b, yr, g, ox, v * lanes, act); break;
      case 2: depthwise_column<2>(rows, w, b, yr, g, ox, v * lanes, act); break;
      case 1: depthwise_column<1>(rows, w, b, yr, g, ox, v * lanes, act); break;
      default: break;
    }
  }
}

inline void depthwise_row(const float* const* rows, const float* w, const float* b, float* yr, const Window& g,
                          Act act) {
  const int64_t c = g.c, whole = c / lanes * lanes;
  // The columns whose 3x3 windows (stride 1 or 2) need no padding, when no tap row is padding
  // either, in whole groups of four from the first; the rest column by column, several channel
  // vectors at a time.
  int64_t in0 = 0, groups = 0;
  if (g.kh == 3 && g.kw == 3 && g.sw <= 2 && g.w >= 3 && rows[0] && rows[1] && rows[2]) {
    in0 = std::min<int64_t>(g.ow, (g.pad_left + g.sw - 1) / g.sw);
    groups = std::max<int64_t>(0, std::min<int64_t>(g.ow, (g.w - 3 + g.pad_left) / g.sw + 1) - in0) / 4;
  }
  if (groups > 0) {
    if (g.sw == 1)
      depthwise_interior3x3<1>(rows, w, b, yr, g, in0, groups, act);
    else
      depthwise_interior3x3<2>(rows, w, b, yr, g, in0, groups, act);
  }
  depthwise_columns(rows, w, b, yr, g, 0, in0, act);
  depthwise_columns(rows, w, b, yr, g, in0 + 4 * groups, g.ow, act);
  for (int64_t ox = 0; ox < g.ow; ++ox) {  // channels past the last whole vector
    const int64_t left = ox * g.sw - g.pad_left;
    const int64_t lo = std::max<int64_t>(0, -left), hi = std::min<int64_t>(g.kw, g.w - left);
    for (int64_t k = whole; k < c; ++k) {
      float acc = b[k];
      for (int64_t ky = 0; ky < g.kh; ++ky)
        if (rows[ky])
          for (int64_t kx = lo; kx < hi; ++kx) acc += rows[ky][(left + kx) * c + k] * w[(ky * g.kw + kx) * c + k];
      yr[ox * c + k] = activate(acc, act);
    }
  }
}

}  // namespace dltrain::cpu
