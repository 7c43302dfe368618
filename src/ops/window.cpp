// Window::make: output size and padding for VALID and SAME, as TensorFlow computes them.
#include "dltrain/ops.hpp"

namespace dltrain {

Window Window::make(const Shape& x, int64_t kh, int64_t kw, int64_t sh, int64_t sw, Padding padding, int64_t k) {
  DLT_CHECK(x.rank() == 4, "window ops take NHWC input, got shape " + x.str());
  DLT_CHECK(kh > 0 && kw > 0 && sh > 0 && sw > 0, "window and stride must be positive");
  Window g;
  g.n = x[0], g.h = x[1], g.w = x[2], g.c = x[3];
  g.kh = kh, g.kw = kw, g.sh = sh, g.sw = sw, g.k = k;
  if (padding == Padding::same) {
    g.oh = (g.h + sh - 1) / sh;
    g.ow = (g.w + sw - 1) / sw;
    g.pad_top = std::max<int64_t>((g.oh - 1) * sh + kh - g.h, 0) / 2;
    g.pad_left = std::max<int64_t>((g.ow - 1) * sw + kw - g.w, 0) / 2;
  } else {
    DLT_CHECK(g.h >= kh && g.w >= kw, "window " + std::to_string(kh) + "x" + std::to_string(kw) +
                                          " is larger than its input " + x.str(),
              "use 'same' padding or a smaller window");
    g.oh = (g.h - kh) / sh + 1;
    g.ow = (g.w - kw) / sw + 1;
  }
  return g;
}

}  // namespace dltrain
