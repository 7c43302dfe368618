// Reference max and average pooling over NHWC windows.
#include <limits>
#include <vector>

#include "ref.hpp"

namespace dltrain::cpu::ref {
namespace {
// Calls f(out_index, in_index) for each output element and each in-bounds input of its window,
// windows visited in order; begin(out_index) is called before each window.
template <class Begin, class F>
void for_each_window(const Window& g, Begin&& begin, F&& f) {
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox)
        for (int64_t c = 0; c < g.c; ++c) {
          int64_t o = ((n * g.oh + oy) * g.ow + ox) * g.c + c;
          begin(o);
          for (int64_t ky = 0; ky < g.kh; ++ky)
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              int64_t iy = oy * g.sh + ky - g.pad_top, ix = ox * g.sw + kx - g.pad_left;
              if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) f(o, ((n * g.h + iy) * g.w + ix) * g.c + c);
            }
        }
}
}  // namespace

void maxpool_forward(const float* x, float* y, const Window& g) {
  for_each_window(g, [&](int64_t o) { y[o] = -std::numeric_limits<float>::infinity(); },
                  [&](int64_t o, int64_t i) { if (x[i] > y[o]) y[o] = x[i]; });
}

void maxpool_backward(const float* x, const float* y, const float* dy, float* dx, const Window& g) {
  for (int64_t i = 0; i < g.n * g.h * g.w * g.c; ++i) dx[i] = 0;
  bool routed = false;
  for_each_window(g, [&](int64_t) { routed = false; }, [&](int64_t o, int64_t i) {
    if (!routed && x[i] == y[o]) { dx[i] += dy[o]; routed = true; }
  });
}

void avgpool_forward(const float* x, float* y, const Window& g) {
  double sum = 0;
  int64_t count = 0;
  for_each_window(g, [&](int64_t) { sum = 0; count = 0; }, [&](int64_t o, int64_t i) {
    sum += x[i];
    y[o] = float(sum / double(++count));
  });
}

void avgpool_backward(const float* dy, float* dx, const Window& g) {
  for (int64_t i = 0; i < g.n * g.h * g.w * g.c; ++i) dx[i] = 0;
  // First pass counts each window's in-bounds inputs, second spreads dy evenly over them.
  std::vector<int64_t> counts(static_cast<size_t>(g.n * g.oh * g.ow * g.c));
  for_each_window(g, [](int64_t) {}, [&](int64_t o, int64_t) { ++counts[size_t(o)]; });
  for_each_window(g, [](int64_t) {}, [&](int64_t o, int64_t i) { dx[i] += dy[o] / float(counts[size_t(o)]); });
}

}  // namespace dltrain::cpu::ref
