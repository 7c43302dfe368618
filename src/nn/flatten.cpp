// Flatten: (H, W, C) -> (H*W*C), in NHWC order (as Keras flattens channels-last data).
#include "dltrain/nn.hpp"

namespace dltrain {
namespace {

class Flatten final : public Layer {
 public:
  const char* type() const override { return "Flatten"; }
  std::string spec() const override { return "flatten"; }

 protected:
  Shape build_impl(std::span<const Shape> in) override { return {in[0].numel()}; }
  void forward_impl(std::span<const Tensor* const> xs, const Context&, Tensor& y) override { y.copy_from(*xs[0]); }
  void backward_impl(std::span<const Tensor* const>, const Tensor&, const Tensor& dy,
                     std::span<Tensor* const> dxs) override {
    if (dxs[0]) dxs[0]->copy_from(dy);
  }
};

}  // namespace

std::unique_ptr<Layer> make_flatten() { return std::make_unique<Flatten>(); }

}  // namespace dltrain
