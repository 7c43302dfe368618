// Standalone activations: ReLU, ReLU6 (Keras's ReLU layer with max_value=6) and Softmax.
#include "dltrain/nn.hpp"

namespace dltrain {
namespace {

class Activation final : public Layer {
 public:
  explicit Activation(Act act) : act_(act) {}
  const char* type() const override { return "ReLU"; }
  std::string spec() const override { return act_ == Act::relu6 ? "relu6" : "relu"; }

 protected:
  Shape build_impl(std::span<const Shape> in) override { return in[0]; }
  void forward_impl(std::span<const Tensor* const> xs, const Context&, Tensor& y) override {
    ops::activation_forward(act_, *xs[0], y);
  }
  void backward_impl(std::span<const Tensor* const>, const Tensor& y, const Tensor& dy,
                     std::span<Tensor* const> dxs) override {
    if (dxs[0]) ops::activation_backward(act_, y, dy, *dxs[0]);
  }

 private:
  Act act_;
};

// Softmax over the last axis of (K) inputs. Its backward is the softmax Jacobian; training on a
// softmax head skips this layer and uses the fused cross-entropy on the logits instead.
class Softmax final : public Layer {
 public:
  const char* type() const override { return "Softmax"; }
  std::string spec() const override { return "softmax"; }

 protected:
  Shape build_impl(std::span<const Shape> in) override {
    DLT_CHECK(in[0].rank() == 1, "softmax expects a flat input, got " + in[0].str());
    return in[0];
  }
  void forward_impl(std::span<const Tensor* const> xs, const Context&, Tensor& y) override { ops::softmax(*xs[0], y); }
  void backward_impl(std::span<const Tensor* const>, const Tensor& y, const Tensor& dy,
                     std::span<Tensor* const> dxs) override {
    if (dxs[0]) ops::softmax_backward(y, dy, *dxs[0]);
  }
};

}  // namespace

std::unique_ptr<Layer> make_activation(Act act) {
  DLT_CHECK(act != Act::none, "an activation layer needs relu or relu6");
  return std::make_unique<Activation>(act);
}
std::unique_ptr<Layer> make_softmax() { return std::make_unique<Softmax>(); }

}  // namespace dltrain
