// Reference 2-D convolution (cross-correlation, as every framework): direct loops over NHWC.
#include <vector>

#include "ref.hpp"

namespace dltrain::cpu::ref {

void conv2d_forward(const float* x, const float* w, const float* b, float* y, const Window& g, Act act) {
  std::vector<double> acc(static_cast<size_t>(g.n * g.oh * g.ow * g.k));
  for (int64_t i = 0; i < g.n * g.oh * g.ow; ++i)
    for (int64_t k = 0; k < g.k; ++k) acc[size_t(i * g.k + k)] = b[k];
  for_each_tap(g, [&](int64_t n, int64_t oy, int64_t ox, int64_t ky, int64_t kx, int64_t iy, int64_t ix) {
    double* out = &acc[size_t(((n * g.oh + oy) * g.ow + ox) * g.k)];
    const float* in = &x[((n * g.h + iy) * g.w + ix) * g.c];
    for (int64_t c = 0; c < g.c; ++c)
      for (int64_t k = 0; k < g.k; ++k) out[k] += double(in[c]) * w[((ky * g.kw + kx) * g.c + c) * g.k + k];
  });
  for (size_t i = 0; i < acc.size(); ++i) y[i] = float(acc[i]);
  activation_forward(act, y, y, int64_t(acc.size()));
}

void conv2d_backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db,
                     const Window& g) {
  std::vector<double> dwa(static_cast<size_t>(g.kh * g.kw * g.c * g.k)), dba(size_t(g.k));
  std::vector<double> dxa(dx ? static_cast<size_t>(g.n * g.h * g.w * g.c) : 0);
  for (int64_t i = 0; i < g.n * g.oh * g.ow; ++i)
    for (int64_t k = 0; k < g.k; ++k) dba[size_t(k)] += dy[i * g.k + k];
  for_each_tap(g, [&](int64_t n, int64_t oy, int64_t ox, int64_t ky, int64_t kx, int64_t iy, int64_t ix) {
    const float* d = &dy[((n * g.oh + oy) * g.ow + ox) * g.k];
    int64_t xi = ((n * g.h + iy) * g.w + ix) * g.c;
    for (int64_t c = 0; c < g.c; ++c)
      for (int64_t k = 0; k < g.k; ++k) {
        int64_t wi = ((ky * g.kw + kx) * g.c + c) * g.k + k;
        dwa[size_t(wi)] += double(x[xi + c]) * d[k];
        if (dx) dxa[size_t(xi + c)] += double(w[wi]) * d[k];
      }
  });
  for (size_t i = 0; i < dwa.size(); ++i) dw[i] = float(dwa[i]);
  for (size_t i = 0; i < dba.size(); ++i) db[i] = float(dba[i]);
  for (size_t i = 0; i < dxa.size(); ++i) dx[i] = float(dxa[i]);
}

}  // namespace dltrain::cpu::ref
