// Add: y = a + b, the join of a residual connection.
#include "dltrain/nn.hpp"

namespace dltrain {
namespace {

class Add final : public Layer {
 public:
  const char* type() const override { return "Add"; }
  std::string spec() const override { return "add"; }
  int n_inputs() const override { return 2; }

 protected:
  Shape build_impl(std::span<const Shape> in) override {
    DLT_CHECK(in[0] == in[1], "add: inputs differ in shape: " + in[0].str() + " vs " + in[1].str(),
              "a residual block must keep the shape of its input");
    return in[0];
  }
  void forward_impl(std::span<const Tensor* const> xs, const Context&, Tensor& y) override {
    ops::add(*xs[0], *xs[1], y);
  }
  void backward_impl(std::span<const Tensor* const>, const Tensor&, const Tensor& dy,
                     std::span<Tensor* const> dxs) override {
    for (Tensor* dx : dxs)
      if (dx) dx->copy_from(dy);
  }
};

}  // namespace

std::unique_ptr<Layer> make_add() { return std::make_unique<Add>(); }

}  // namespace dltrain
