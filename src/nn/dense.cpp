// Dense: y = act(x . kernel + bias); kernel (IN,OUT) as Keras stores it.
#include "fused_activation.hpp"

namespace dltrain {
namespace {

class Dense final : public Layer {
 public:
  Dense(int64_t units, Act act, Init init) : units_(units), act_(act), init_(init) {
    DLT_CHECK(units > 0, "dense: units must be positive");
  }
  const char* type() const override { return "Dense"; }
  std::string spec() const override {
    return "dense:" + std::to_string(units_) + detail::act_suffix(act_) + detail::init_suffix(init_);
  }
  void init_params(Rng& rng) override {
    initialize(param(0).value, init_, in_, units_, rng);
    param(1).value.fill(0);
  }

 protected:
  Shape build_impl(std::span<const Shape> in) override {
    DLT_CHECK(in[0].rank() == 1, "dense expects a flat input, got " + in[0].str(), "add `flatten` before it");
    in_ = in[0][0];
    add_param("kernel", {in_, units_});
    add_param("bias", {units_});
    return {units_};
  }
  void forward_impl(std::span<const Tensor* const> xs, const Context&, Tensor& y) override {
    ops::dense_forward(*xs[0], param(0).value, param(1).value, y);
    if (act_ != Act::none) ops::activation_forward(act_, y, y);
  }
  void backward_impl(std::span<const Tensor* const> xs, const Tensor& y, const Tensor& dy,
                     std::span<Tensor* const> dxs) override {
    const Tensor& dz = detail::through_activation(act_, y, dy, dz_);
    ops::dense_backward(*xs[0], param(0).value, dz, dxs[0], param(0).grad, param(1).grad);
  }

 private:
  int64_t units_, in_ = 0;
  Act act_;
  Init init_;
  Tensor dz_;
};

}  // namespace

std::unique_ptr<Layer> make_dense(int64_t units, Act act, Init init) {
  return std::make_unique<Dense>(units, act, init);
}

}  // namespace dltrain
