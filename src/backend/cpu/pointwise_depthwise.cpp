// Fused 1x1 conv -> depthwise conv (MobileNet's expand + depthwise) for inference. The expanded
// map is the largest tensor of an inverted-residual block; here only the rows that a block of
// output rows needs exist at a time (a few hundred KB per worker), so it never travels to main
// memory. Work items are
// (image, band of output rows); bands split single images across threads, recomputing at most
// KH-1 expanded rows at each band edge.
#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu.hpp"
#include "epilogue.hpp"
#include "parallel.hpp"
#include "simd.hpp"

namespace dltrain::cpu {

namespace {
constexpr int64_t block_rows = 4;  // output rows per block: the expanded rows they need are one GEMM
}

void pointwise_depthwise_forward(const float* x, const PointwiseChainArgs& p, float* y, const Window& g) {
  const int64_t c = p.c, e = g.c, row = g.w * e, capacity = (block_rows - 1) * g.sh + g.kh;
  const float *w1 = p.w1, *b1 = p.b1, *w2 = p.w2, *b2 = p.b2;
  const int64_t bands = g.n >= omp_get_max_threads() ? 1 : std::min<int64_t>(omp_get_max_threads(), g.oh);
  parallel_chunks(g.n * bands, 1, [&](int64_t i0, int64_t i1, int64_t) {
    // Expanded rows [base, base + held) of the current image, row r at buf + (r - base) * row.
    std::vector<float> buf(static_cast<size_t>(capacity * row));
    // With a projection, the depthwise rows of a block go here first, then through one product.
    std::vector<float> dw(p.w3 ? static_cast<size_t>(block_rows * g.ow * e) : 0);
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t n = item / bands, band = item % bands;
      const int64_t oy0 = g.oh * band / bands, oy1 = g.oh * (band + 1) / bands;
      int64_t base = 0, held = 0;
      for (int64_t ob = oy0; ob < oy1; ob += block_rows) {
        const int64_t oe = std::min(oy1, ob + block_rows);
        const int64_t lo = std::max<int64_t>(0, ob * g.sh - g.pad_top);
        const int64_t hi = std::min<int64_t>(g.h, (oe - 1) * g.sh - g.pad_top + g.kh);
        // Keep the rows the previous block already expanded, then expand the rest in one product.
        const int64_t keep_from = std::max(lo, base), keep_to = std::min(hi, base + held);
        int64_t kept = 0;
        if (keep_from < keep_to) {
          kept = keep_to - keep_from;
          std::memmove(buf.data(), buf.data() + (keep_from - base) * row, size_t(kept * row) * sizeof(float));
        }
        base = lo;
        const int64_t first = lo + kept, count = hi - first;
        if (count > 0) {
          float* dst = buf.data() + kept * row;
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(count * g.w), int(e), int(c), 1.0f,
                      x + (n * g.h + first) * g.w * c, int(c), w1, int(e), 0.0f, dst, int(e));
          for (int64_t q = 0; q < count * g.w; ++q) bias_act(dst + q * e, b1, e, p.act1);
        }
        held = hi - lo;
        for (int64_t oy = ob; oy < oe; ++oy) {
          const int64_t top = oy * g.sh - g.pad_top;
          const int64_t ky_lo = std::max<int64_t>(0, -top), ky_hi = std::min<int64_t>(g.kh, g.h - top);
          float* yr = p.w3 ? dw.data() + (oy - ob) * g.ow * e : y + (n * g.oh + oy) * g.ow * e;
          for (int64_t ox = 0; ox < g.ow; ++ox) {
            const int64_t left = ox * g.sw - g.pad_left;
            const int64_t kx_lo = std::max<int64_t>(0, -left), kx_hi = std::min<int64_t>(g.kw, g.w - left);
            float* yp = yr + ox * e;
            int64_t j = 0;
            for (; j + 16 <= e; j += 16) {
              vf16 acc = load16(b2 + j);
              for (int64_t ky = ky_lo; ky < ky_hi; ++ky) {
                const float* m = buf.data() + (top + ky - base) * row + left * e + j;
                for (int64_t kx = kx_lo; kx < kx_hi; ++kx)
                  acc += load16(m + kx * e) * load16(w2 + (ky * g.kw + kx) * e + j);
              }
              store16(yp + j, acc);
            }
            for (; j < e; ++j) {
              float acc = b2[j];
              for (int64_t ky = ky_lo; ky < ky_hi; ++ky)
                for (int64_t kx = kx_lo; kx < kx_hi; ++kx)
                  acc += buf[size_t((top + ky - base) * row + (left + kx) * e + j)] * w2[(ky * g.kw + kx) * e + j];
              yp[j] = acc;
            }
          }
          bias_act(yr, nullptr, g.ow * e, p.act2);
        }
        if (p.w3) {  // project the block's depthwise rows: y = act3(dw . w3 + b3)
          const int64_t m = (oe - ob) * g.ow;
          float* yb = y + (n * g.oh + ob) * g.ow * p.k;
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(m), int(p.k), int(e), 1.0f, dw.data(), int(e), p.w3,
                      int(p.k), 0.0f, yb, int(p.k));
          for (int64_t q = 0; q < m; ++q) bias_act(yb + q * p.k, p.b3, p.k, p.act3);
        }
      }
    }
  });
}

}  // namespace dltrain::cpu
