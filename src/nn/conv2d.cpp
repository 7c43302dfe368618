// Conv2D: y = act(conv(x, kernel) + bias) over NHWC; kernel (KH,KW,C,K) as Keras stores it.
#include "act_suffix.hpp"

namespace dltrain {
namespace {

class Conv2D final : public Layer {
 public:
  Conv2D(int64_t filters, int64_t kh, int64_t kw, int64_t stride, Padding padding, Act act, Init init)
      : filters_(filters), kh_(kh), kw_(kw), stride_(stride), padding_(padding), act_(act), init_(init) {
    DLT_CHECK(filters > 0 && kh > 0 && kw > 0 && stride > 0, "conv: filters, kernel size and stride must be positive");
  }
  const char* type() const override { return "Conv2D"; }
  std::string spec() const override {
    std::string s = "conv:" + std::to_string(filters_) + "x" + std::to_string(kh_) + "x" + std::to_string(kw_);
    if (stride_ != 1) s += ",stride=" + std::to_string(stride_);
    if (padding_ == Padding::same) s += ",same";
    return s + detail::act_suffix(act_) + detail::init_suffix(init_);
  }
  void init_params(Rng& rng) override {
    initialize(param(0).value, init_, kh_ * kw_ * channels_, kh_ * kw_ * filters_, rng);
    param(1).value.fill(0);
  }

 protected:
  Shape build_impl(std::span<const Shape> in) override {
    DLT_CHECK(in[0].rank() == 3, "conv expects (H, W, C) input, got " + in[0].str(),
              "images are height x width x channels; use a dense layer on flat input");
    channels_ = in[0][2];
    const Window g = Window::make(in[0].with_batch(1), kh_, kw_, stride_, stride_, padding_, filters_);
    add_param("kernel", {kh_, kw_, channels_, filters_});
    add_param("bias", {filters_});
    return {g.oh, g.ow, filters_};
  }
  void forward_impl(std::span<const Tensor* const> xs, const Context&, Tensor& y) override {
    const Window g = window(*xs[0]);
    ops::conv2d_forward(*xs[0], param(0).value, param(1).value, y, g);
    if (act_ != Act::none) ops::activation_forward(act_, y, y);
  }
  void backward_impl(std::span<const Tensor* const> xs, const Tensor& y, const Tensor& dy,
                     std::span<Tensor* const> dxs) override {
    const Tensor* d = &dy;
    if (act_ != Act::none) {
      dz_.ensure(y.shape());
      ops::activation_backward(act_, y, dy, dz_);
      d = &dz_;
    }
    ops::conv2d_backward(*xs[0], param(0).value, *d, dxs[0], param(0).grad, param(1).grad, window(*xs[0]));
  }

 private:
  Window window(const Tensor& x) const { return Window::make(x.shape(), kh_, kw_, stride_, stride_, padding_, filters_); }
  int64_t filters_, kh_, kw_, stride_, channels_ = 0;
  Padding padding_;
  Act act_;
  Init init_;
  Tensor dz_;
};

}  // namespace

std::unique_ptr<Layer> make_conv2d(int64_t filters, int64_t kh, int64_t kw, int64_t stride, Padding padding, Act act,
                                   Init init) {
  return std::make_unique<Conv2D>(filters, kh, kw, stride, padding, act, init);
}

}  // namespace dltrain
