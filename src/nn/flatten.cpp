// Flatten: (H, W, C) -> (H*W*C), in NHWC order (as Keras flattens channels-last data).
#include <memory>

#include "dltrain/nn.hpp"

namespace dltrain {
namespace {

class Flatten final : public Layer {
 public:
  const char* type() const override { return "Flatten"; }
  std::string spec() const override { return "flatten"; }
  bool reshapes_only() const override { return true; }

 protected:
  Shape build_impl(std::span<const Shape> in) override { return {in[0].numel()}; }
  // The output (shaped by Layer::forward) becomes a view of the input's memory: copying it was 3%
  // of a `cnn` step, spent on one thread while the others waited. The view is valid while that
  // memory is (the producer's output, or the caller's batch when Flatten comes first), as the
  // layer contract already requires of inputs until backward; each forward pass makes it again,
  // and nothing writes through it. It owns nothing, so its `owner` is a token.
  void forward_impl(std::span<const Tensor* const> xs, const Context&, Tensor& y) override {
    const Tensor& x = *xs[0];
    if (x.numel() == 0) return;
    static const auto token = std::make_shared<int>();
    y = Tensor::borrow(y.shape(), x.dtype(), const_cast<float*>(x.f32()), token, x.device());
  }
  void backward_impl(std::span<const Tensor* const>, const Tensor&, const Tensor& dy,
                     std::span<Tensor* const> dxs) override {
    if (dxs[0]) dxs[0]->copy_from(dy);
  }
};

}  // namespace

std::unique_ptr<Layer> make_flatten() { return std::make_unique<Flatten>(); }

}  // namespace dltrain
