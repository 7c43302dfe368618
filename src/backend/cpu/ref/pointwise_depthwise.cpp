// Reference fused 1x1 conv -> depthwise conv: the two reference ops in sequence.
#include <vector>

#include "ref.hpp"

namespace dltrain::cpu::ref {

void pointwise_depthwise_forward(const float* x, const float* w1, const float* b1, Act act1, const float* w2,
                                 const float* b2, Act act2, float* y, int64_t c, const Window& g) {
  Window pw = g;
  pw.c = c, pw.k = g.c, pw.kh = pw.kw = 1, pw.sh = pw.sw = 1, pw.pad_top = pw.pad_left = 0, pw.oh = g.h, pw.ow = g.w;
  std::vector<float> mid(static_cast<size_t>(g.n * g.h * g.w * g.c));
  conv2d_forward(x, w1, b1, mid.data(), pw, act1);
  depthwise_forward(mid.data(), w2, b2, y, g, act2);
}

}  // namespace dltrain::cpu::ref
