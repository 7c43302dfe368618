// Finite-difference gradient checks for every layer (input and parameter gradients) and for whole
// models that exercise the fused conv+pool executor and residual connections.
// L = sum(y * r) for a fixed random r, so dL/dy = r; each analytic gradient is compared with
// (L(v + eps) - L(v - eps)) / (2 eps) at sampled positions.
#include <gtest/gtest.h>

#include "dltrain/models.hpp"
#include "dltrain/nn.hpp"
#include "helpers.hpp"

namespace dltrain {
namespace {
using test::random_tensor;

// Small enough that a perturbation rarely moves a ReLU or max-pool decision, large enough that
// float32 rounding stays well below the tolerance.
constexpr float layer_eps = 1e-3f, model_eps = 2.5e-4f;

double dot(const Tensor& y, const Tensor& r) {
  double s = 0;
  for (int64_t i = 0; i < y.numel(); ++i) s += double(y.f32()[i]) * r.f32()[i];
  return s;
}

// Compares analytic[i] with the central difference of f() when v[i] moves, at up to 60 positions.
void check_positions(const char* what, Tensor& v, const Tensor& analytic, const std::function<double()>& f,
                     float eps = layer_eps) {
  Rng rng(99);
  const int64_t n = v.numel(), count = std::min<int64_t>(n, 60);
  int failures = 0;
  for (int64_t k = 0; k < count; ++k) {
    const int64_t i = count == n ? k : int64_t(rng.below(uint64_t(n)));
    const float keep = v.f32()[i];
    v.f32()[i] = keep + eps;
    const double up = f();
    v.f32()[i] = keep - eps;
    const double down = f();
    v.f32()[i] = keep;
    const double numeric = (up - down) / (2 * eps), a = analytic.f32()[i];
    if (std::abs(a - numeric) > 2e-2 * std::max(std::abs(a), std::abs(numeric)) + 3e-3 && ++failures <= 5)
      ADD_FAILURE() << what << "[" << i << "]: analytic " << a << ", numeric " << numeric;
  }
}

// Builds `layer` for per-sample inputs `in`, randomises its parameters and checks all gradients.
void check_layer(std::unique_ptr<Layer> layer, std::vector<Shape> in, int64_t batch = 3, float scale = 1) {
  layer->set_name("under_test");
  layer->build(in);
  uint64_t seed = 10;
  for (Param& p : layer->params()) p.value = random_tensor(p.value.shape(), seed++, -0.5f, 0.5f);
  std::vector<Tensor> xs;
  for (const Shape& s : in) xs.push_back(random_tensor(s.with_batch(batch), seed++, -scale, scale));
  std::vector<const Tensor*> xp;
  for (Tensor& x : xs) xp.push_back(&x);
  const Context ctx{Mode::train, 5, 7};
  auto loss = [&](const Tensor& r) { return dot(layer->forward(xp, ctx), r); };
  const Tensor r = random_tensor(layer->forward(xp, ctx).shape(), 1);
  std::vector<Tensor> dxs(xs.size());
  std::vector<Tensor*> dxp;
  for (Tensor& d : dxs) dxp.push_back(&d);
  layer->backward(r, dxp);
  std::vector<Tensor> param_grads;
  for (Param& p : layer->params()) param_grads.push_back(p.grad.empty() ? Tensor() : p.grad.clone());
  for (size_t i = 0; i < xs.size(); ++i)
    check_positions(("dx" + std::to_string(i)).c_str(), xs[i], dxs[i], [&] { return loss(r); });
  for (size_t i = 0; i < layer->params().size(); ++i) {
    Param& p = layer->params()[i];
    if (p.trainable) check_positions(p.name.c_str(), p.value, param_grads[i], [&] { return loss(r); });
  }
}

TEST(LayerGradients, Dense) {
  check_layer(make_dense(7), {{5}});
  check_layer(make_dense(6, Act::relu, Init::he_uniform), {{9}});
  check_layer(make_dense(6, Act::relu6), {{9}}, 3, 30);  // inputs large enough to clip at 6
}

TEST(LayerGradients, Conv2D) {
  check_layer(make_conv2d(4, 3, 3), {{6, 5, 2}});
  check_layer(make_conv2d(3, 3, 3, 2, Padding::same, Act::relu), {{7, 6, 3}});
  check_layer(make_conv2d(5, 1, 1, 1, Padding::valid, Act::relu6), {{4, 4, 3}}, 2, 20);
}

TEST(LayerGradients, DepthwiseConv2D) {
  check_layer(make_depthwise_conv2d(3, 3), {{6, 5, 2}});
  check_layer(make_depthwise_conv2d(3, 3, 2, Padding::same), {{7, 6, 4}}, 2);
  check_layer(make_depthwise_conv2d(5, 5, 1, Padding::same), {{5, 4, 3}});
}

TEST(LayerGradients, Pooling) {
  check_layer(make_maxpool(2), {{6, 6, 3}});
  check_layer(make_maxpool(3, 2, Padding::same), {{7, 5, 2}});
  check_layer(make_avgpool(3, 2, Padding::same), {{7, 5, 2}});
  check_layer(make_global_avgpool(), {{4, 3, 5}});
}

TEST(LayerGradients, ShapeAndActivationLayers) {
  check_layer(make_flatten(), {{3, 4, 2}});
  check_layer(make_activation(Act::relu), {{20}});
  check_layer(make_activation(Act::relu6), {{20}}, 3, 10);
  check_layer(make_softmax(), {{6}}, 4, 3);
}

TEST(LayerGradients, DropoutBatchNormAdd) {
  check_layer(make_dropout(0.4f), {{50}});
  check_layer(make_batchnorm(), {{4, 3, 6}}, 5, 2);
  check_layer(make_add(), {{5, 2}, {5, 2}});
}

// Whole models: gradients of every trainable parameter, through Model::backward. Two passes, as
// training runs them: the second reuses the buffers (and handed-over gradients) of the first.
void check_model(std::unique_ptr<Model> model) {
  const Shape input = model->input_shape();
  model->init_params(3);
  uint64_t seed = 40;
  for (Param* p : model->trainable_params()) p->value = random_tensor(p->value.shape(), seed++, -0.5f, 0.5f);
  const Tensor x = random_tensor(input.with_batch(2), 7, 0, 1);
  const Context ctx{Mode::train, 1, 1};
  const Tensor r = random_tensor(model->forward(x, ctx, Output::logits).shape(), 8);
  for (int pass = 0; pass < 2; ++pass) {
    model->forward(x, ctx, Output::logits);
    model->backward(r);
  }
  for (size_t i = 0; i < model->size(); ++i)
    for (Param& p : model->layer(i).params()) {
      if (!p.trainable) continue;
      const Tensor analytic = p.grad.clone();
      check_positions(model->param_key(model->layer(i), p).c_str(), p.value, analytic,
                      [&] { return dot(model->forward(x, ctx, Output::logits), r); }, model_eps);
    }
}

void check_model(const std::string& text, Shape input) { check_model(build_model(text, input, 3)); }

// A Flatten hands its gradient to the conv before it without a copy (Model::backward); here the
// conv's output also feeds another branch, whose gradient reaches the conv after the Flatten's
// (`flatten_first`: it is added to the handed-over one) or before it (the Flatten's is added to it).
std::unique_ptr<Model> flatten_beside_another_branch(bool flatten_first) {
  auto m = std::make_unique<Model>(Shape{4, 4, 2});
  const int conv = m->add(make_conv2d(3, 3, 3, 1, Padding::same, Act::relu));
  int branch_a = 0, branch_b = 0;
  for (int i = 0; i < 2; ++i) {
    if ((i == 0) == flatten_first)
      branch_b = m->add(make_dense(3), {m->add(make_global_avgpool(), {conv})});
    else
      branch_a = m->add(make_dense(3), {m->add(make_flatten(), {conv})});
  }
  m->add(make_add(), {branch_a, branch_b});
  return m;
}

TEST(ModelGradients, FlattenBesideAnotherBranch) {
  check_model(flatten_beside_another_branch(true));
  check_model(flatten_beside_another_branch(false));
}

TEST(ModelGradients, FusedConvPoolExecutor) {
  // A one-channel 3x3 conv with 16 filters feeding a max-pool runs as one fused op.
  check_model("conv:16x3x3,relu,he_uniform maxpool:2 flatten dense:3,softmax", {8, 8, 1});
}

TEST(ModelGradients, ResidualBlockAndSharedOutputs) {
  check_model("conv:4x3x3,same,relu res{ conv:4x3x3,same,relu conv:4x3x3,same } relu bn gap dense:3,softmax",
              {6, 6, 2});
}

// A MobileNetV2 inverted-residual block: expand, depthwise, linear projection, residual add.
TEST(ModelGradients, InvertedResidualBlock) {
  check_model("conv:4x3x3,stride=2,same,relu6 res{ conv:12x1x1,relu6 dwconv:3x3,same,relu6 conv:4x1x1 } "
              "conv:8x1x1,relu6 dwconv:3x3,stride=2,same,relu6 gap dense:3,softmax",
              {9, 8, 3});
  // MobileNet's stem: a 3x3 stride-2 conv straight into a depthwise conv and a projection.
  check_model("conv:6x3x3,stride=2,same,relu6 dwconv:3x3,same,relu6 conv:4x1x1 gap dense:3,softmax", {8, 7, 3});
}

TEST(ModelGradients, LeNetStyleStack) {
  check_model("conv:6x5x5,same,relu maxpool:2 conv:4x3x3,relu avgpool:2 flatten dense:8,relu dropout:0.25 dense:3",
              {12, 12, 1});
}

}  // namespace
}  // namespace dltrain
