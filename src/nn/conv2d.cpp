// Conv2D: y = act(conv(x, kernel) + bias) over NHWC; kernel (KH,KW,C,K) as Keras stores it.
#include "fused_activation.hpp"

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
  std::unique_ptr<Layer> fuse_with(Layer& next) override;
  bool pointwise() const { return kh_ == 1 && kw_ == 1 && stride_ == 1; }
  Act act() const { return act_; }
  ConvDesc conv_desc() const override { return {stride_, padding_, act_}; }

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
    ops::conv2d_forward(*xs[0], param(0).value, param(1).value, y, g, act_);
  }
  void backward_impl(std::span<const Tensor* const> xs, const Tensor& y, const Tensor& dy,
                     std::span<Tensor* const> dxs) override {
    const Tensor& dz = detail::through_activation(act_, y, dy, dz_);
    ops::conv2d_backward(*xs[0], param(0).value, dz, dxs[0], param(0).grad, param(1).grad, window(*xs[0]));
  }

 private:
  Window window(const Tensor& x) const { return Window::make(x.shape(), kh_, kw_, stride_, stride_, padding_, filters_); }
  int64_t filters_, kh_, kw_, stride_, channels_ = 0;
  Padding padding_;
  Act act_;
  Init init_;
  Tensor dz_;
};

// Runs a narrow Conv2D (+ activation) and the max-pool that consumes it as one op
// (ops::conv2d_pool_*), updating the conv's parameters. Produces the pool's output.
class Conv2DMaxPool final : public Layer {
 public:
  Conv2DMaxPool(Param& kernel, Param& bias, int64_t stride, Padding padding, Act act, int64_t pool)
      : kernel_(kernel), bias_(bias), stride_(stride), padding_(padding), act_(act), pool_(pool) {}
  const char* type() const override { return "Conv2D+MaxPooling2D"; }
  std::string spec() const override { return "(fused)"; }

 protected:
  Shape build_impl(std::span<const Shape> in) override {
    const Window g = window(in[0].with_batch(1));
    return {g.oh / pool_, g.ow / pool_, g.k};
  }
  void forward_impl(std::span<const Tensor* const> xs, const Context&, Tensor& y) override {
    argmax_.ensure_on(y.device(), y.shape(), DType::u8);
    ops::conv2d_pool_forward(*xs[0], kernel_.value, bias_.value, act_, pool_, y, argmax_, window(xs[0]->shape()));
  }
  void backward_impl(std::span<const Tensor* const> xs, const Tensor&, const Tensor& dy,
                     std::span<Tensor* const> dxs) override {
    ops::conv2d_pool_backward(*xs[0], kernel_.value, argmax_, dy, pool_, dxs[0], kernel_.grad, bias_.grad,
                              window(xs[0]->shape()));
  }

 private:
  Window window(const Shape& x) const {
    const Shape& w = kernel_.value.shape();
    return Window::make(x, w[0], w[1], stride_, stride_, padding_, w[3]);
  }
  Param& kernel_;
  Param& bias_;
  int64_t stride_;
  Padding padding_;
  Act act_;
  int64_t pool_;
  Tensor argmax_;
};

// One convolution of a fused chain: its parameters (owned by the original layer), activation,
// stride and padding.
struct ConvRef {
  Param* w = nullptr;
  Param* b = nullptr;
  Act act = Act::none;
  int64_t stride = 1;
  Padding padding = Padding::valid;
};

// Runs a Conv2D, the DepthwiseConv2D after it and possibly the 1x1 Conv2D and the residual Add
// after that (MobileNet's expand/stem, depthwise, project, add). Inference uses
// ops::conv_depthwise_forward, which never stores the maps between; training runs the ops one by
// one and keeps the maps for backward.

class ConvDepthwise final : public Layer {
 public:
  ConvDepthwise(ConvRef expand, ConvRef depthwise, const DepthwiseDesc& d, ConvRef project = {}, bool residual = false)
      : expand_(expand), depthwise_(depthwise), project_(project), d_(d), residual_(residual) {}
  const char* type() const override { return "Conv2D+DepthwiseConv2D(+Conv2D)(+Add)"; }
  std::string spec() const override { return "(fused)"; }
  std::unique_ptr<Layer> fuse_with(Layer& next) override;

 protected:
  Shape build_impl(std::span<const Shape> in) override {
    const Window g = window(in[0].with_batch(1));
    return {g.oh, g.ow, project_.w ? project_.w->value.shape()[3] : g.c};
  }
  void forward_impl(std::span<const Tensor* const> xs, const Context& ctx, Tensor& y) override {
    const Window g = window(xs[0]->shape());
    if (ctx.mode == Mode::infer) {
      const ops::ConvDepthwiseChain chain{&expand_.w->value,
                                          &expand_.b->value,
                                          expand_.act,
                                          expand_.stride,
                                          expand_.padding,
                                          &depthwise_.w->value,
                                          &depthwise_.b->value,
                                          d_.act,
                                          project_.w ? &project_.w->value : nullptr,
                                          project_.b ? &project_.b->value : nullptr,
                                          project_.act,
                                          residual_};
      ops::conv_depthwise_forward(*xs[0], chain, y, g);
      return;
    }
    mid_.ensure_on(xs[0]->device(), {g.n, g.h, g.w, g.c});
    ops::conv2d_forward(*xs[0], expand_.w->value, expand_.b->value, mid_, first(xs[0]->shape()), expand_.act);
    Tensor& dw = project_.w ? dw_ : y;
    dw.ensure_on(xs[0]->device(), {g.n, g.oh, g.ow, g.c});
    ops::depthwise_forward(mid_, depthwise_.w->value, depthwise_.b->value, dw, g, d_.act);
    if (project_.w)
      ops::conv2d_forward(dw_, project_.w->value, project_.b->value, y, pointwise(dw_.shape(), y.shape()[3]),
                          project_.act);
    if (residual_) ops::add(y, *xs[0], y);
  }
  void backward_impl(std::span<const Tensor* const> xs, const Tensor& y, const Tensor& dy,
                     std::span<Tensor* const> dxs) override {
    const Window g = window(xs[0]->shape());
    const Tensor* d = &dy;  // with a residual, dy reaches the projection as it is (its act is none)
    if (project_.w) {
      const Tensor& dz3 = detail::through_activation(project_.act, y, dy, dz3_);
      ddw_.ensure_on(dw_.device(), dw_.shape());
      ops::conv2d_backward(dw_, project_.w->value, dz3, &ddw_, project_.w->grad, project_.b->grad,
                           pointwise(dw_.shape(), y.shape()[3]));
      d = &ddw_;
    }
    const Tensor& dz2 = detail::through_activation(d_.act, project_.w ? dw_ : y, *d, dz2_);
    dmid_.ensure_on(mid_.device(), mid_.shape());
    ops::depthwise_backward(mid_, depthwise_.w->value, dz2, &dmid_, depthwise_.w->grad, depthwise_.b->grad, g);
    const Tensor& dz1 = detail::through_activation(expand_.act, mid_, dmid_, dz1_);
    ops::conv2d_backward(*xs[0], expand_.w->value, dz1, dxs[0], expand_.w->grad, expand_.b->grad,
                         first(xs[0]->shape()));
    if (residual_ && dxs[0]) ops::accumulate(dy, *dxs[0]);
  }

 private:
  static Window pointwise(const Shape& x, int64_t k) { return Window::make(x, 1, 1, 1, 1, Padding::valid, k); }
  // The first conv over x, and the depthwise conv over the first conv's output.
  Window first(const Shape& x) const {
    const Shape& w = expand_.w->value.shape();
    return Window::make(x, w[0], w[1], expand_.stride, expand_.stride, expand_.padding, w[3]);
  }
  Window window(const Shape& x) const {
    const Window f = first(x);
    return Window::make(Shape{f.n, f.oh, f.ow, f.k}, d_.kh, d_.kw, d_.stride, d_.stride, d_.padding, f.k);
  }
  ConvRef expand_, depthwise_, project_;
  DepthwiseDesc d_;
  bool residual_;
  Tensor mid_, dw_, dmid_, ddw_, dz1_, dz2_, dz3_;
};

// The fused kernels pay off where the conv is memory-bound: few taps per output (narrow rows)
// before a pool, or a conv whose large output only feeds a depthwise conv.
std::unique_ptr<Layer> Conv2D::fuse_with(Layer& next) {
  if (const DepthwiseDesc d = next.depthwise_desc(); d.kh > 0) {
    auto f = std::make_unique<ConvDepthwise>(ConvRef{&param(0), &param(1), act_, stride_, padding_},
                                             ConvRef{&next.params()[0], &next.params()[1]}, d);
    f->set_name(name() + "+" + next.name());
    f->build(input_shapes());
    return f;
  }
  const PoolDesc p = next.pool_desc();
  if (!p.max || p.stride != p.k || p.padding != Padding::valid || kh_ * kw_ * channels_ > 32 ||
      !ops::conv2d_pool_is_fast(Window::make(input_shapes()[0].with_batch(1), kh_, kw_, stride_, stride_, padding_,
                                             filters_),
                                 p.k, param(0).value.device()))
    return nullptr;
  auto f = std::make_unique<Conv2DMaxPool>(param(0), param(1), stride_, padding_, act_, p.k);
  f->set_name(name() + "+" + next.name());
  f->build(input_shapes());
  return f;
}

// Extends expand + depthwise with the projection that follows, and that with the residual Add
// closing the block (Model::plan offers an Add only when its other input is this chain's input).
std::unique_ptr<Layer> ConvDepthwise::fuse_with(Layer& next) {
  if (project_.w && !residual_ && project_.act == Act::none && std::string(next.type()) == "Add" &&
      output_shape() == input_shapes()[0] && first(input_shapes()[0].with_batch(1)).oh == input_shapes()[0][0]) {
    auto f = std::make_unique<ConvDepthwise>(expand_, depthwise_, d_, project_, true);
    f->set_name(name() + "+" + next.name());
    f->build(input_shapes());
    return f;
  }
  auto* conv = dynamic_cast<Conv2D*>(&next);
  if (project_.w || !conv || !conv->pointwise()) return nullptr;
  auto f = std::make_unique<ConvDepthwise>(expand_, depthwise_, d_, ConvRef{&conv->params()[0], &conv->params()[1], conv->act()});
  f->set_name(name() + "+" + next.name());
  f->build(input_shapes());
  return f;
}

}  // namespace

std::unique_ptr<Layer> make_conv2d(int64_t filters, int64_t kh, int64_t kw, int64_t stride, Padding padding, Act act,
                                   Init init) {
  return std::make_unique<Conv2D>(filters, kh, kw, stride, padding, act, init);
}

}  // namespace dltrain
