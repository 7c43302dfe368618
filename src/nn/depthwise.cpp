// DepthwiseConv2D: y = act(depthwise(x, kernel) + bias) over NHWC; kernel (KH,KW,C), one filter
// per channel (Keras's depth_multiplier=1, its (KH,KW,C,1) kernel without the last axis).
#include "fused_activation.hpp"

namespace dltrain {
namespace {

class DepthwiseConv2D final : public Layer {
 public:
  DepthwiseConv2D(int64_t kh, int64_t kw, int64_t stride, Padding padding, Act act)
      : kh_(kh), kw_(kw), stride_(stride), padding_(padding), act_(act) {
    DLT_CHECK(kh > 0 && kw > 0 && stride > 0, "dwconv: kernel size and stride must be positive");
  }
  const char* type() const override { return "DepthwiseConv2D"; }
  std::string spec() const override {
    std::string s = "dwconv:" + std::to_string(kh_) + "x" + std::to_string(kw_);
    if (stride_ != 1) s += ",stride=" + std::to_string(stride_);
    if (padding_ == Padding::same) s += ",same";
    return s + detail::act_suffix(act_);
  }
  DepthwiseDesc depthwise_desc() const override { return {kh_, kw_, stride_, padding_, act_}; }
  void init_params(Rng& rng) override {
    initialize(param(0).value, Init::glorot_uniform, kh_ * kw_, kh_ * kw_, rng);
    param(1).value.fill(0);
  }

 protected:
  Shape build_impl(std::span<const Shape> in) override {
    DLT_CHECK(in[0].rank() == 3, "dwconv expects (H, W, C) input, got " + in[0].str());
    const int64_t c = in[0][2];
    const Window g = window(in[0].with_batch(1));
    add_param("kernel", {kh_, kw_, c});
    add_param("bias", {c});
    return {g.oh, g.ow, c};
  }
  void forward_impl(std::span<const Tensor* const> xs, const Context&, Tensor& y) override {
    ops::depthwise_forward(*xs[0], param(0).value, param(1).value, y, window(xs[0]->shape()), act_);
  }
  void backward_impl(std::span<const Tensor* const> xs, const Tensor& y, const Tensor& dy,
                     std::span<Tensor* const> dxs) override {
    const Tensor& dz = detail::through_activation(act_, y, dy, dz_);
    ops::depthwise_backward(*xs[0], param(0).value, dz, dxs[0], param(0).grad, param(1).grad,
                            window(xs[0]->shape()));
  }

 private:
  Window window(const Shape& x) const { return Window::make(x, kh_, kw_, stride_, stride_, padding_, x[3]); }
  int64_t kh_, kw_, stride_;
  Padding padding_;
  Act act_;
  Tensor dz_;
};

}  // namespace

std::unique_ptr<Layer> make_depthwise_conv2d(int64_t kh, int64_t kw, int64_t stride, Padding padding, Act act) {
  return std::make_unique<DepthwiseConv2D>(kh, kw, stride, padding, act);
}

}  // namespace dltrain
