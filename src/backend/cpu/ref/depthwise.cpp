// Reference depthwise convolution: direct loops over NHWC, accumulated in double.
#include <vector>

#include "ref.hpp"

namespace dltrain::cpu::ref {

void depthwise_forward(const float* x, const float* w, const float* b, float* y, const Window& g, Act act) {
  std::vector<double> acc(static_cast<size_t>(g.n * g.oh * g.ow * g.c));
  for (int64_t i = 0; i < g.n * g.oh * g.ow; ++i)
    for (int64_t c = 0; c < g.c; ++c) acc[size_t(i * g.c + c)] = b[c];
  for_each_tap(g, [&](int64_t n, int64_t oy, int64_t ox, int64_t ky, int64_t kx, int64_t iy, int64_t ix) {
    for (int64_t c = 0; c < g.c; ++c)
      acc[size_t(((n * g.oh + oy) * g.ow + ox) * g.c + c)] +=
          double(x[((n * g.h + iy) * g.w + ix) * g.c + c]) * w[(ky * g.kw + kx) * g.c + c];
  });
  for (size_t i = 0; i < acc.size(); ++i) y[i] = float(acc[i]);
  activation_forward(act, y, y, int64_t(acc.size()));
}

void depthwise_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db,
                        const Window& g) {
  std::vector<double> gw(size_t(g.kh * g.kw * g.c)), gb(size_t(g.c)), gx(dx ? size_t(g.n * g.h * g.w * g.c) : 0);
  for (int64_t i = 0; i < g.n * g.oh * g.ow; ++i)
    for (int64_t c = 0; c < g.c; ++c) gb[size_t(c)] += dy[i * g.c + c];
  for_each_tap(g, [&](int64_t n, int64_t oy, int64_t ox, int64_t ky, int64_t kx, int64_t iy, int64_t ix) {
    for (int64_t c = 0; c < g.c; ++c) {
      const double d = dy[((n * g.oh + oy) * g.ow + ox) * g.c + c];
      const int64_t xi = ((n * g.h + iy) * g.w + ix) * g.c + c, wi = (ky * g.kw + kx) * g.c + c;
      gw[size_t(wi)] += d * x[xi];
      if (dx) gx[size_t(xi)] += d * w[wi];
    }
  });
  for (size_t i = 0; i < gw.size(); ++i) dw[i] = float(gw[i]);
  for (size_t i = 0; i < gb.size(); ++i) db[i] = float(gb[i]);
  for (size_t i = 0; i < gx.size(); ++i) dx[i] = float(gx[i]);
}

}  // namespace dltrain::cpu::ref
