// Layer: the checks every layer shares (shapes at the boundary), around the virtual *_impl calls.
#include "dltrain/nn.hpp"

namespace dltrain {

Shape Layer::build(std::span<const Shape> in) {
  DLT_CHECK(!built_, "layer " + name_ + " is already built");
  DLT_CHECK(int(in.size()) == n_inputs(), std::string(type()) + " takes " + std::to_string(n_inputs()) +
                                              " input(s), got " + std::to_string(in.size()));
  in_shapes_.assign(in.begin(), in.end());
  out_shape_ = build_impl(in);
  built_ = true;
  return out_shape_;
}

const Tensor& Layer::forward(std::span<const Tensor* const> xs, const Context& ctx) {
  DLT_CHECK(built_, "layer " + name_ + " is used before it is built");
  DLT_CHECK(xs.size() == in_shapes_.size(), name_ + ": wrong number of inputs");
  const int64_t n = xs[0]->shape()[0];
  for (size_t i = 0; i < xs.size(); ++i)
    DLT_CHECK(xs[i]->shape() == in_shapes_[i].with_batch(n),
              name_ + " (" + type() + ") expects input " + in_shapes_[i].with_batch(n).str() + ", got " +
                  xs[i]->shape().str());
  xs_.assign(xs.begin(), xs.end());
  y_.ensure_on(xs[0]->device(), out_shape_.with_batch(n));  // activations live where the input does
  forward_impl(xs, ctx, y_);
  return y_;
}

void Layer::backward(const Tensor& dy, std::span<Tensor* const> dxs) {
  DLT_CHECK(!xs_.empty(), name_ + ": backward without a forward pass");
  DLT_CHECK(dy.shape() == y_.shape(), name_ + ": gradient " + dy.shape().str() + " does not match output " +
                                          y_.shape().str());
  DLT_CHECK(dxs.size() == xs_.size(), name_ + ": wrong number of input gradients");
  for (size_t i = 0; i < dxs.size(); ++i)
    if (dxs[i]) dxs[i]->ensure_on(xs_[i]->device(), xs_[i]->shape());
  backward_impl(xs_, y_, dy, dxs);
}

std::unique_ptr<Layer> Layer::fuse_with(Layer&) { return nullptr; }

Param& Layer::add_param(std::string name, Shape shape, bool trainable) {
  int64_t total = shape.numel();
  for (const Param& q : params_) total += q.value.numel();
  DLT_CHECK(total <= max_model_parameters,
            "the layer would have " + std::to_string(total) + " parameters, more than a model may have (" +
                std::to_string(max_model_parameters) + ")",
            "make the layer smaller (fewer filters or units, or pool before a dense layer)");
  Param p;
  p.name = std::move(name);
  p.value = Tensor::zeros(shape);
  if (trainable) p.grad = Tensor::zeros(shape);
  p.trainable = trainable;
  params_.push_back(std::move(p));
  return params_.back();
}

}  // namespace dltrain
