// Pooling layers: MaxPooling2D, AveragePooling2D and GlobalAveragePooling2D over NHWC.
#include "dltrain/nn.hpp"

namespace dltrain {
namespace {

enum class PoolKind : uint8_t { max, avg };

class Pool2D final : public Layer {
 public:
  Pool2D(PoolKind kind, int64_t k, int64_t stride, Padding padding)
      : kind_(kind), k_(k), stride_(stride ? stride : k), padding_(padding) {
    DLT_CHECK(k > 0 && stride_ > 0, "pool: window and stride must be positive");
  }
  const char* type() const override { return kind_ == PoolKind::max ? "MaxPooling2D" : "AveragePooling2D"; }
  std::string spec() const override {
    std::string s = std::string(kind_ == PoolKind::max ? "maxpool:" : "avgpool:") + std::to_string(k_);
    if (stride_ != k_) s += ",stride=" + std::to_string(stride_);
    if (padding_ == Padding::same) s += ",same";
    return s;
  }
  PoolDesc pool_desc() const override { return {kind_ == PoolKind::max, k_, stride_, padding_}; }

 protected:
  Shape build_impl(std::span<const Shape> in) override {
    DLT_CHECK(in[0].rank() == 3, "pooling expects (H, W, C) input, got " + in[0].str());
    const Window g = Window::make(in[0].with_batch(1), k_, k_, stride_, stride_, padding_, in[0][2]);
    return {g.oh, g.ow, in[0][2]};
  }
  void forward_impl(std::span<const Tensor* const> xs, const Context&, Tensor& y) override {
    if (kind_ == PoolKind::max) ops::maxpool_forward(*xs[0], y, window(*xs[0]));
    else ops::avgpool_forward(*xs[0], y, window(*xs[0]));
  }
  void backward_impl(std::span<const Tensor* const> xs, const Tensor& y, const Tensor& dy,
                     std::span<Tensor* const> dxs) override {
    if (!dxs[0]) return;
    if (kind_ == PoolKind::max) ops::maxpool_backward(*xs[0], y, dy, *dxs[0], window(*xs[0]));
    else ops::avgpool_backward(dy, *dxs[0], window(*xs[0]));
  }

 private:
  Window window(const Tensor& x) const {
    return Window::make(x.shape(), k_, k_, stride_, stride_, padding_, x.shape()[3]);
  }
  PoolKind kind_;
  int64_t k_, stride_;
  Padding padding_;
};

// Mean over H and W: (H, W, C) -> (C). An average pool whose window is the whole image.
class GlobalAvgPool final : public Layer {
 public:
  const char* type() const override { return "GlobalAveragePooling2D"; }
  std::string spec() const override { return "gap"; }

 protected:
  Shape build_impl(std::span<const Shape> in) override {
    DLT_CHECK(in[0].rank() == 3, "global average pooling expects (H, W, C) input, got " + in[0].str());
    return {in[0][2]};
  }
  void forward_impl(std::span<const Tensor* const> xs, const Context&, Tensor& y) override {
    const Shape flat = y.shape();
    y.reshape({flat[0], 1, 1, flat[1]});
    ops::avgpool_forward(*xs[0], y, window(*xs[0]));
    y.reshape(flat);
  }
  void backward_impl(std::span<const Tensor* const> xs, const Tensor&, const Tensor& dy,
                     std::span<Tensor* const> dxs) override {
    if (!dxs[0]) return;
    dy4_.ensure_on(dy.device(), {dy.shape()[0], 1, 1, dy.shape()[1]});
    dy4_.copy_from(dy);
    ops::avgpool_backward(dy4_, *dxs[0], window(*xs[0]));
  }

 private:
  static Window window(const Tensor& x) {
    const Shape& s = x.shape();
    return Window::make(s, s[1], s[2], 1, 1, Padding::valid, s[3]);
  }
  Tensor dy4_;
};

}  // namespace

std::unique_ptr<Layer> make_maxpool(int64_t k, int64_t stride, Padding padding) {
  return std::make_unique<Pool2D>(PoolKind::max, k, stride, padding);
}
std::unique_ptr<Layer> make_avgpool(int64_t k, int64_t stride, Padding padding) {
  return std::make_unique<Pool2D>(PoolKind::avg, k, stride, padding);
}
std::unique_ptr<Layer> make_global_avgpool() { return std::make_unique<GlobalAvgPool>(); }

}  // namespace dltrain
