// Reference fused conv -> depthwise conv [-> 1x1 conv [+ x]]: the reference ops in sequence.
#include <vector>

#include "ref.hpp"

namespace dltrain::cpu::ref {

void conv_depthwise_forward(const float* x, const ConvDepthwiseArgs& p, float* y, const Window& g) {
  std::vector<float> mid(static_cast<size_t>(g.n * g.h * g.w * g.c));
  conv2d_forward(x, p.w1, p.b1, mid.data(), p.first, p.act1);
  if (!p.w3) return depthwise_forward(mid.data(), p.w2, p.b2, y, g, p.act2);
  std::vector<float> dw(static_cast<size_t>(g.n * g.oh * g.ow * g.c));
  depthwise_forward(mid.data(), p.w2, p.b2, dw.data(), g, p.act2);
  conv2d_forward(dw.data(), p.w3, p.b3, y, Window::make({g.n, g.oh, g.ow, g.c}, 1, 1, 1, 1, Padding::valid, p.k), p.act3);
  if (p.residual) add(y, x, y, g.n * g.oh * g.ow * p.k);
}

}  // namespace dltrain::cpu::ref
