// Fused 1x1 conv -> depthwise conv (MobileNet's expand + depthwise) for inference. The expanded
// map is the largest tensor of an inverted-residual block; here it exists only as a ring of KH
// rows per worker (a few hundred KB), so it never travels to main memory. Work items are
// (image, band of output rows); bands split single images across threads, recomputing at most
// KH-1 expanded rows at each band edge.
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "cpu.hpp"
#include "epilogue.hpp"
#include "parallel.hpp"
#include "simd.hpp"

namespace dltrain::cpu {

void pointwise_depthwise_forward(const float* x, const float* w1, const float* b1, Act act1, const float* w2,
                                 const float* b2, Act act2, float* y, int64_t c, const Window& g) {
  const int64_t e = g.c, row = g.w * e;
  const int64_t bands = g.n >= omp_get_max_threads() ? 1 : std::min<int64_t>(omp_get_max_threads(), g.oh);
  parallel_chunks(g.n * bands, 1, [&](int64_t i0, int64_t i1, int64_t) {
    std::vector<float> ring(static_cast<size_t>(g.kh * row));
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t n = item / bands, band = item % bands;
      const int64_t oy0 = g.oh * band / bands, oy1 = g.oh * (band + 1) / bands;
      int64_t next = std::max<int64_t>(0, oy0 * g.sh - g.pad_top);  // next expanded row to compute
      for (int64_t oy = oy0; oy < oy1; ++oy) {
        const int64_t top = oy * g.sh - g.pad_top;
        const int64_t ky_lo = std::max<int64_t>(0, -top), ky_hi = std::min<int64_t>(g.kh, g.h - top);
        // Expand the rows this output row needs: mid[iy] = act1(x[iy] . w1 + b1), into slot iy % KH.
        for (; next < top + ky_hi; ++next) {
          float* slot = ring.data() + (next % g.kh) * row;
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(g.w), int(e), int(c), 1.0f,
                      x + (n * g.h + next) * g.w * c, int(c), w1, int(e), 0.0f, slot, int(e));
          for (int64_t ix = 0; ix < g.w; ++ix) bias_act(slot + ix * e, b1, e, act1);
        }
        float* yr = y + (n * g.oh + oy) * g.ow * e;
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          const int64_t left = ox * g.sw - g.pad_left;
          const int64_t kx_lo = std::max<int64_t>(0, -left), kx_hi = std::min<int64_t>(g.kw, g.w - left);
          float* yp = yr + ox * e;
          int64_t j = 0;
          for (; j + 16 <= e; j += 16) {
            vf16 acc = load16(b2 + j);
            for (int64_t ky = ky_lo; ky < ky_hi; ++ky) {
              const float* m = ring.data() + ((top + ky) % g.kh) * row + left * e + j;
              for (int64_t kx = kx_lo; kx < kx_hi; ++kx) acc += load16(m + kx * e) * load16(w2 + (ky * g.kw + kx) * e + j);
            }
            store16(yp + j, acc);
          }
          for (; j < e; ++j) {
            float acc = b2[j];
            for (int64_t ky = ky_lo; ky < ky_hi; ++ky)
              for (int64_t kx = kx_lo; kx < kx_hi; ++kx)
                acc += ring[size_t(((top + ky) % g.kh) * row + (left + kx) * e + j)] * w2[(ky * g.kw + kx) * e + j];
            yp[j] = acc;
          }
        }
        bias_act(yr, nullptr, g.ow * e, act2);
      }
    }
  });
}

}  // namespace dltrain::cpu
