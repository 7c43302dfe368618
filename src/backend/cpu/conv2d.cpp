// Fast 2-D convolution over NHWC: output pixels are rows of an im2col matrix (row = KH*KW*C taps),
// so y (P,K) = cols (P,KH*KW*C) . w (KH*KW*C,K) with no layout change. Rows are processed in
// tiles that stay in cache. Narrow rows (few taps, e.g. a first layer on grayscale input) use a
// vectorised loop, wide ones dltrain's GEMM.
#include <cstring>
#include <vector>

#include "cpu.hpp"
#include "im2col.hpp"
#include "conv_tile.hpp"
#include "parallel.hpp"

namespace dltrain::cpu {
namespace {
constexpr int64_t tile_rows = 128;
constexpr int64_t direct_tile_rows = 256;  // 1x1 convolutions: no im2col buffer, so bigger GEMMs

// dw (RC,K) += cols^T (RC,rows) . dy (rows,K)
void tile_weight_grad(const float* cols, const float* dy, float* dw, int64_t rows, int64_t rc, int64_t k) {
  if (rc > narrow_cols || k % 16 != 0) {
    gemm(rc, k, rows, {cols, 1, rc}, {dy, k, 1}, {dw, k, 1}, Accumulate::yes);
    return;
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float* dyr = dy + r * k;
    for (int64_t t = 0; t < rc; ++t) {
      const float v = cols[r * rc + t];
      float* dwt = dw + t * k;
#pragma omp simd
      for (int64_t j = 0; j < k; ++j) dwt[j] += v * dyr[j];
    }
  }
}
// A 1x1 convolution with stride 1 and no padding reads its im2col rows straight from the input.
bool pointwise(const Window& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pad_top == 0 && g.pad_left == 0;
}
}  // namespace

void conv2d_forward(const float* x, const float* w, const float* b, float* y, const Window& g, Act act) {
  const int64_t rows = g.n * g.oh * g.ow, rc = g.cols();
  const bool direct = pointwise(g);
  const int64_t tile = direct ? direct_tile_rows : tile_rows;
  parallel_chunks(rows, tile_rows, [&](int64_t p0, int64_t p1, int64_t) {
    std::vector<float> cols(direct ? 0 : static_cast<size_t>(tile_rows * rc));
    for (int64_t p = p0; p < p1; p += tile) {
      const int64_t pe = std::min(p1, p + tile);
      if (!direct) im2col(x, g, p, pe, cols.data());
      tile_forward(direct ? x + p * rc : cols.data(), w, b, y + p * g.k, pe - p, rc, g.k, act);
    }
  });
}

void conv2d_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db,
                     const Window& g) {
  const int64_t rows = g.n * g.oh * g.ow, rc = g.cols(), nw = rc * g.k;
  // Weight and bias gradients: a partial sum per thread, added in thread order.
  const int64_t chunks = chunk_count(rows, tile_rows);
  std::vector<float> partial(static_cast<size_t>(chunks * (nw + g.k)), 0.0f);
  const bool direct = pointwise(g);
  parallel_chunks(rows, tile_rows, [&](int64_t p0, int64_t p1, int64_t t) {
    std::vector<float> cols(direct ? 0 : static_cast<size_t>(tile_rows * rc));
    float* pdw = partial.data() + t * (nw + g.k);
    float* pdb = pdw + nw;
    for (int64_t p = p0; p < p1; p += tile_rows) {
      const int64_t pe = std::min(p1, p + tile_rows);
      if (!direct) im2col(x, g, p, pe, cols.data());
      tile_weight_grad(direct ? x + p * rc : cols.data(), dy + p * g.k, pdw, pe - p, rc, g.k);
      for (int64_t r = p; r < pe; ++r)
        for (int64_t j = 0; j < g.k; ++j) pdb[j] += dy[r * g.k + j];
    }
  });
  for (int64_t i = 0; i < nw; ++i) dw[i] = 0;
  for (int64_t j = 0; j < g.k; ++j) db[j] = 0;
  for (int64_t t = 0; t < chunks; ++t) {
    const float* pdw = partial.data() + t * (nw + g.k);
    for (int64_t i = 0; i < nw; ++i) dw[i] += pdw[i];
    for (int64_t j = 0; j < g.k; ++j) db[j] += pdw[nw + j];
  }
  if (!dx) return;
  if (direct) {  // dx (P,C) = dy (P,K) . w^T
    parallel_chunks(rows, tile_rows, [&](int64_t p0, int64_t p1, int64_t) {
      gemm(p1 - p0, rc, g.k, {dy + p0 * g.k, g.k, 1}, {w, 1, g.k}, {dx + p0 * rc, rc, 1}, Accumulate::no);
    });
    return;
  }
  // Input gradient: dcols = dy . w^T, scattered back; split by image so scatters never collide.
  const int64_t per_image = g.oh * g.ow;
  parallel_chunks(g.n, 1, [&](int64_t n0, int64_t n1, int64_t) {
    std::memset(dx + n0 * g.h * g.w * g.c, 0, size_t((n1 - n0) * g.h * g.w * g.c) * sizeof(float));
    std::vector<float> dcols(static_cast<size_t>(tile_rows * rc));
    for (int64_t p = n0 * per_image; p < n1 * per_image; p += tile_rows) {
      const int64_t pe = std::min(n1 * per_image, p + tile_rows);
      gemm(pe - p, rc, g.k, {dy + p * g.k, g.k, 1}, {w, 1, g.k}, {dcols.data(), rc, 1}, Accumulate::no);
      col2im_add(dcols.data(), g, p, pe, dx);
    }
  });
}

}  // namespace dltrain::cpu
