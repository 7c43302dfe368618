// The product at the heart of a convolution, for one tile of output pixels:
// y (rows,K) = act(bias + cols (rows,RC) . w (RC,K)), where cols holds each pixel's taps (im2col
// rows, or the input itself for a 1x1 convolution). Shared by the conv kernel and the fused chain.
#pragma once

#include <algorithm>

#include "epilogue.hpp"
#include "gemm/gemm.hpp"
#include "simd.hpp"

namespace dltrain::cpu {

static_assert(uint8_t(Act::relu) == 1 && uint8_t(Act::relu6) == 2, "Epilogue::act takes Act's values");

constexpr int64_t narrow_cols = 32;   // at most this many taps: the weight gradient's loop (conv2d.cpp)
constexpr int64_t narrow_max_k = 64;  // narrow rows keep K/lanes accumulators per row in registers
// The forward register kernel takes at most this many taps: beyond, the GEMM (6x16 tiles on AVX2,
// epilogue at the store) was measured faster (rc 25-27 with 32 outputs, a 3x3 RGB stem: 77 against
// 54 GFLOP/s), below it slower (rc 4-16: 36-75 against 61-89).
constexpr int64_t narrow_forward_cols = 16;

// Narrow rows, K = lanes * Q outputs: the outputs of R rows at a time stay in R * Q vector
// registers over all taps (R independent accumulator chains hide the FMA latency): about 128
// accumulated floats, and no more rows than the registers hold next to one tap's Q weight vectors
// and a broadcast.
template <int Q>
inline void narrow_rows(const float* cols, const float* w, const float* b, float* y, int64_t rows, int64_t rc, Act act) {
  constexpr int64_t k = lanes * Q;
  constexpr int R = std::clamp(std::min(128 / (lanes * Q), (vector_registers - Q - 1) / Q), 1, 8);
  int64_t r = 0;
  for (; r + R <= rows; r += R) {
    vf acc[R][Q];
    for (int i = 0; i < R; ++i)
      for (int q = 0; q < Q; ++q) acc[i][q] = loadv(b + lanes * q);
    for (int64_t t = 0; t < rc; ++t) {
      vf wt[Q];
      for (int q = 0; q < Q; ++q) wt[q] = loadv(w + t * k + lanes * q);
      for (int i = 0; i < R; ++i) {
        const vf v = splat(cols[(r + i) * rc + t]);
        for (int q = 0; q < Q; ++q) acc[i][q] += v * wt[q];
      }
    }
    for (int i = 0; i < R; ++i)
      for (int q = 0; q < Q; ++q) storev(y + (r + i) * k + lanes * q, activate(acc[i][q], act));
  }
  for (; r < rows; ++r) {
    vf acc[Q];
    for (int q = 0; q < Q; ++q) acc[q] = loadv(b + lanes * q);
    for (int64_t t = 0; t < rc; ++t) {
      const vf v = splat(cols[r * rc + t]);
      for (int q = 0; q < Q; ++q) acc[q] += v * loadv(w + t * k + lanes * q);
    }
    for (int q = 0; q < Q; ++q) storev(y + r * k + lanes * q, activate(acc[q], act));
  }
}

// y (rows,K) = act(bias + cols (rows,RC) . w (RC,K)). Narrow rows with a small multiple of 16
// outputs use a vectorised loop; the rest dltrain's GEMM, which applies bias and activation as it
// stores each vector.
inline void tile_forward(const float* cols, const float* w, const float* b, float* y, int64_t rows, int64_t rc, int64_t k,
                  Act act) {
  if (rc > narrow_forward_cols || k % 16 != 0 || k > narrow_max_k) {
    const Epilogue ep{b, nullptr, 0, uint8_t(act)};
    gemm(rows, k, rc, {cols, rc, 1}, {w, k, 1}, {y, k, 1}, Accumulate::no, &ep);
    return;
  }
  constexpr int q16 = 16 / lanes;  // vectors per 16 outputs
  switch (k / 16) {
    case 1: return narrow_rows<q16>(cols, w, b, y, rows, rc, act);
    case 2: return narrow_rows<2 * q16>(cols, w, b, y, rows, rc, act);
    case 3: return narrow_rows<3 * q16>(cols, w, b, y, rows, rc, act);
    default: return narrow_rows<4 * q16>(cols, w, b, y, rows, rc, act);
  }
}

}  // namespace dltrain::cpu
