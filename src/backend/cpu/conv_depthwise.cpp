// Fused conv -> depthwise conv [-> 1x1 projection [+ residual]] for inference: MobileNet's
// inverted-residual blocks (1x1 expansion first) and its stem (3x3 stride-2 conv first). The first
// conv's map is the largest tensor of a block; here only the rows that a block of output rows
// needs exist at a time (a few hundred KB per worker), so it never travels to main memory. Work
// items are (image, band of output rows); bands split single images across threads, recomputing
// at most KH-1 first-conv rows at each band edge. Maps small enough that several whole images fit
// one block of rows go several images per item instead.
#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu.hpp"
#include "depthwise_row.hpp"
#include "conv_tile.hpp"
#include "im2col.hpp"
#include "parallel.hpp"

namespace dltrain::cpu {

namespace {
// Output rows per block: the expanded rows they need are one product, and the projection of the
// block's depthwise rows another, so a block should hold a few hundred pixels.
constexpr int64_t block_pixels = 256;
int64_t block_rows(const Window& g) {
  return std::min(std::max<int64_t>(block_pixels / std::max<int64_t>(g.ow, 1), 4), std::max<int64_t>(g.oh, 1));
}
// Scratch buffer `slot` of the calling thread, at least n floats (contents undefined).
float* scratch(int slot, int64_t n) {
  thread_local std::vector<float> buffers[3];
  std::vector<float>& b = buffers[slot];
  if (b.size() < size_t(n)) b.resize(size_t(n));
  return b.data();
}
}  // namespace

void conv_depthwise_forward(const float* x, const ConvDepthwiseArgs& p, float* y, const Window& g) {
  const int64_t rows_per_block = block_rows(g);
  const Window& f = p.first;  // over x; its output rows are the depthwise input rows
  const bool direct = f.kh == 1 && f.kw == 1 && f.sh == 1 && f.sw == 1 && f.pad_top == 0 && f.pad_left == 0;
  DLT_CHECK(g.kh <= 16, "conv_depthwise_forward: windows up to 16 rows");
  const int64_t bands = g.n >= op_threads() ? 1 : std::min<int64_t>(op_threads(), g.oh);
  // Small maps (7x7): several whole images per work item, so that each product reads the weights
  // once for all of them (a 160x960 expansion's weights outweigh one image's expanded map).
  // Items are then made a multiple of the thread count, so that every thread gets as many images.
  const int64_t fit = std::clamp<int64_t>(block_pixels / std::max<int64_t>(g.oh * g.ow, 1), 1, g.n);
  const int64_t groups = ((g.n + fit - 1) / fit + op_threads() - 1) / op_threads() * op_threads();
  const int64_t images = bands == 1 ? (g.n + groups - 1) / groups : 1;
  const int64_t items = bands == 1 ? (g.n + images - 1) / images : g.n * bands;
  const int64_t c = f.c, e = g.c, row = g.w * e;
  const int64_t capacity = std::max((rows_per_block - 1) * g.sh + g.kh, images * g.h);
  parallel_chunks(items, 1, [&](int64_t i0, int64_t i1, int64_t) {
    // Expanded rows [base, base + held) of the current image, row r at buf + (r - base) * row.
    // Per-thread scratch kept across calls: these run to hundreds of KB, which malloc would map
    // and the kernel zero again on every call.
    float* buf = scratch(0, capacity * row);
    // With a projection, the depthwise rows of a block go here first, then through one product.
    float* dw = scratch(1, p.w3 ? std::max(rows_per_block, images * g.oh) * g.ow * e : 0);
    // The first conv's taps per pixel (im2col rows), unless it is a 1x1 that reads x directly.
    float* cols = scratch(2, direct ? 0 : capacity * g.w * f.cols());
    for (int64_t item = i0; item < i1; ++item) {
      // Images [n, n + count) (then the block is every row of them), or rows [oy0, oy1) of image n.
      const int64_t n = item / bands * images, band = item % bands, count_images = std::min(images, g.n - n);
      const int64_t oy0 = g.oh * band / bands, oy1 = g.oh * (band + 1) / bands;
      int64_t base = 0, held = 0;
      for (int64_t ob = oy0; ob < oy1; ob += rows_per_block) {
        const int64_t oe = std::min(oy1, ob + rows_per_block);
        const int64_t lo = std::max<int64_t>(0, ob * g.sh - g.pad_top);
        const int64_t hi = std::min<int64_t>(g.h, (oe - 1) * g.sh - g.pad_top + g.kh);
        // Keep the rows the previous block already expanded, then expand the rest in one product.
        const int64_t keep_from = std::max(lo, base), keep_to = std::min(hi, base + held);
        int64_t kept = 0;
        if (keep_from < keep_to) {
          kept = keep_to - keep_from;
          std::memmove(buf, buf + (keep_from - base) * row, size_t(kept * row) * sizeof(float));
        }
        base = lo;
        const int64_t first = lo + kept, count = hi - first;
        if (count > 0) {  // first-conv output pixels [p0, p1); with several images, all of their rows
          const int64_t p0 = (n * g.h + first) * g.w, p1 = p0 + ((count_images - 1) * g.h + count) * g.w;
          if (!direct) im2col(x, f, p0, p1, cols);
          tile_forward(direct ? x + p0 * c : cols, p.w1, p.b1, buf + kept * row, p1 - p0, f.cols(), e,
                       p.act1);
        }
        held = hi - lo;
        const float* rows[16];
        for (int64_t i = 0; i < count_images; ++i)
          for (int64_t oy = ob; oy < oe; ++oy) {
            const int64_t top = oy * g.sh - g.pad_top;
            const float* image = buf + (i * g.h - base) * row;
            for (int64_t ky = 0; ky < g.kh; ++ky)
              rows[ky] = top + ky >= 0 && top + ky < g.h ? image + (top + ky) * row : nullptr;
            float* yr = p.w3 ? dw + (i * (oe - ob) + oy - ob) * g.ow * e : y + ((n + i) * g.oh + oy) * g.ow * e;
            depthwise_row(rows, p.w2, p.b2, yr, g, p.act2);
          }
        if (p.w3) {  // project the block's depthwise rows: y = act3(dw . w3 + b3) [+ x]
          const int64_t m = count_images * (oe - ob) * g.ow;
          float* yb = y + (n * g.oh + ob) * g.ow * p.k;
          // With a residual, shapes are the same in and out: the block's pixels of x line up with yb.
          const Epilogue ep{p.b3, p.residual ? x + (n * g.h + ob) * g.w * c : nullptr, c, uint8_t(p.act3)};
          gemm(m, p.k, e, {dw, e, 1}, {p.w3, p.k, 1}, {yb, p.k, 1}, Accumulate::no, &ep);
        }
      }
    }
  });
}

}  // namespace dltrain::cpu
