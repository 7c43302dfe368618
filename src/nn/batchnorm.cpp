// BatchNormalization over the channel (last) axis, Keras's defaults: eps 1e-3, momentum 0.99,
// moving statistics updated in training and used at inference (non-trainable parameters).
#include "dltrain/nn.hpp"

namespace dltrain {
namespace {

class BatchNorm final : public Layer {
 public:
  BatchNorm(float eps, float momentum) : eps_(eps), momentum_(momentum) {}
  const char* type() const override { return "BatchNormalization"; }
  std::string spec() const override { return "bn"; }
  float batchnorm_eps() const override { return eps_; }
  void init_params(Rng&) override {
    param(0).value.fill(1);  // gamma
    param(1).value.fill(0);  // beta
    param(2).value.fill(0);  // moving mean
    param(3).value.fill(1);  // moving variance
  }

 protected:
  Shape build_impl(std::span<const Shape> in) override {
    const int64_t c = in[0][in[0].rank() - 1];
    add_param("gamma", {c});
    add_param("beta", {c});
    add_param("moving_mean", {c}, false);
    add_param("moving_variance", {c}, false);
    return in[0];
  }
  void forward_impl(std::span<const Tensor* const> xs, const Context& ctx, Tensor& y) override {
    if (ctx.mode == Mode::infer) {
      ops::batchnorm_forward_infer(*xs[0], param(0).value, param(1).value, param(2).value, param(3).value, y, eps_);
      return;
    }
    const int64_t c = param(0).value.numel();
    mean_.ensure_on(xs[0]->device(), {c});
    invstd_.ensure_on(xs[0]->device(), {c});
    ops::batchnorm_forward_train(*xs[0], param(0).value, param(1).value, y, mean_, invstd_, eps_);
    // Moving statistics use the unbiased batch variance, as Keras and PyTorch do.
    ops::batchnorm_update_running(mean_, invstd_, param(2).value, param(3).value, momentum_, eps_,
                                  xs[0]->numel() / mean_.numel());
  }
  void backward_impl(std::span<const Tensor* const> xs, const Tensor&, const Tensor& dy,
                     std::span<Tensor* const> dxs) override {
    dx_scratch_.ensure_on(xs[0]->device(), xs[0]->shape());
    ops::batchnorm_backward(*xs[0], param(0).value, mean_, invstd_, dy, dxs[0] ? *dxs[0] : dx_scratch_,
                            param(0).grad, param(1).grad);
  }

 private:
  float eps_, momentum_;
  Tensor mean_, invstd_, dx_scratch_;
};

}  // namespace

std::unique_ptr<Layer> make_batchnorm(float eps, float momentum) { return std::make_unique<BatchNorm>(eps, momentum); }

}  // namespace dltrain
