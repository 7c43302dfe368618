// Model building: presets, the text format and its errors, Keras-style names and summary,
// initializers, residual graphs, and fused execution matching layer-by-layer ops.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "dltrain/models.hpp"
#include "dltrain/nn.hpp"
#include "helpers.hpp"

namespace dltrain {
namespace {
using test::close;
using test::random_tensor;

int64_t layer_params(const Layer& l) {
  int64_t n = 0;
  for (const Param& p : l.params()) n += p.value.numel();
  return n;
}

TEST(Presets, CnnHasTheKerasNotebooksParameterCounts) {
  auto m = build_model("cnn", {28, 28, 1}, 10);
  // Conv2D 32 3x3: 3*3*1*32 + 32; Dense 5408->100; Dense 100->10 (the 320 + 540,900 + 1,010).
  EXPECT_EQ(count_params(*m, false), 542230);
  EXPECT_EQ(layer_params(m->layer(0)), 320);
  EXPECT_EQ(layer_params(m->layer(3)), 540900);
  EXPECT_EQ(layer_params(m->layer(4)), 1010);
  EXPECT_EQ(m->layer(1).output_shape(), (Shape{13, 13, 32}));
  EXPECT_EQ(m->layer(2).output_shape(), (Shape{5408}));
  const std::string s = summary(*m);
  EXPECT_NE(s.find("conv2d (Conv2D)"), std::string::npos) << s;
  EXPECT_NE(s.find("(None, 26, 26, 32)"), std::string::npos) << s;
  EXPECT_NE(s.find("dense_1 (Dense)"), std::string::npos) << s;
  EXPECT_NE(s.find("Total params: 542,230"), std::string::npos) << s;
  EXPECT_NE(s.find("Non-trainable params: 0"), std::string::npos) << s;
}

TEST(Presets, MlpAndLeNet) {
  auto mlp = build_model("mlp", {28, 28, 1}, 10);
  EXPECT_EQ(count_params(*mlp, false), 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10);
  auto lenet = build_model("lenet5", {28, 28, 1}, 10);
  EXPECT_EQ(lenet->layer(0).output_shape(), (Shape{28, 28, 6}));
  EXPECT_EQ(lenet->layer(2).output_shape(), (Shape{10, 10, 16}));
  EXPECT_EQ(lenet->output_shape(), (Shape{10}));
  EXPECT_THROW(build_model("resnet9000", {28, 28, 1}, 10), Error);
}

TEST(TextFormat, RoundTripsThroughItsCanonicalForm) {
  const std::string text = "conv:8x3x3,stride=2,same,relu6,he_uniform bn maxpool:3,stride=2 res{ conv:8x1x1,relu } "
                           "gap dropout:0.25 dense:10,softmax";
  auto a = parse_model(text, {32, 32, 3});
  auto b = parse_model(a->spec, {32, 32, 3});
  EXPECT_EQ(a->spec, b->spec);
  EXPECT_EQ(summary(*a), summary(*b));
  EXPECT_NE(a->spec.find("res{"), std::string::npos);
  EXPECT_EQ(count_params(*a, false) - count_params(*a, true), 16);  // batch norm's moving statistics
}

TEST(TextFormat, MistakesNameTheToken) {
  auto message = [](const std::string& text, Shape in = {28, 28, 1}) {
    try {
      parse_model(text, in);
    } catch (const Error& e) {
      return std::string(e.what()) + " | " + e.hint();
    }
    return std::string("no error");
  };
  EXPECT_NE(message("convv:32x3x3").find("'convv:32x3x3'"), std::string::npos);
  EXPECT_NE(message("conv:32x3x3,rleu").find("unknown option 'rleu'"), std::string::npos);
  EXPECT_NE(message("dense:-5").find("not a positive whole number"), std::string::npos);
  EXPECT_NE(message("dense:10").find("add `flatten`"), std::string::npos);
  EXPECT_NE(message("flatten res{ dense:10").find("never closed"), std::string::npos);
  EXPECT_NE(message("flatten }").find("without a matching"), std::string::npos);
  EXPECT_NE(message("conv:8x3x3 res{ conv:4x3x3,same }").find("residual block must keep"), std::string::npos);
  EXPECT_NE(message("conv:8x30x30").find("larger than its input"), std::string::npos);
  EXPECT_NE(message("dropout:1.5").find("rate"), std::string::npos);
  EXPECT_NE(message("").find("empty"), std::string::npos);
}

TEST(Graph, ResidualBlockAddsItsInput) {
  // res{ relu } on non-negative input x gives x + relu(x) = 2x.
  auto m = parse_model("res{ relu } flatten", {2, 2, 1});
  Tensor x = random_tensor({3, 2, 2, 1}, 1, 0, 1);
  const Tensor& y = m->forward(x, Context{});
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_FLOAT_EQ(y.f32()[i], 2 * x.f32()[i]);
  EXPECT_EQ(m->inputs_of(1), (std::vector<int>{Model::input, 0}));  // add(input, relu)
}

TEST(Graph, KerasStyleNames) {
  auto m = parse_model("flatten dense:4 dense:4 relu dense:2 softmax", {3, 1, 1});
  EXPECT_EQ(m->layer(1).name(), "dense");
  EXPECT_EQ(m->layer(2).name(), "dense_1");
  EXPECT_EQ(m->layer(3).name(), "re_lu");
  EXPECT_EQ(m->layer(4).name(), "dense_2");
}

// A text with more layers than Model::max_layers is refused before any layer is built; a model
// at the limit builds, with Keras names counted per type.
TEST(TextFormat, LayerCountLimit) {
  auto relus = [](size_t n) {
    std::string text;
    for (size_t i = 0; i < n; ++i) text += "relu ";
    return text;
  };
  const std::string limit = std::to_string(Model::max_layers);
  try {
    parse_model(relus(Model::max_layers + 1), {4});
    ADD_FAILURE() << "no error for " << Model::max_layers + 1 << " layers";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model text: more than " + limit + " layers"), std::string::npos) << e.what();
  }
  // `dense:N,softmax` is two layers: at the limit in tokens, over it in layers.
  try {
    parse_model(relus(Model::max_layers - 1) + "dense:2,softmax", {4});
    ADD_FAILURE() << "no error for " << Model::max_layers + 1 << " layers";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("more than " + limit + " layers"), std::string::npos) << e.what();
  }
  auto m = parse_model(relus(Model::max_layers - 2) + "dense:2,softmax", {4});
  EXPECT_EQ(m->size(), Model::max_layers);
  EXPECT_EQ(m->layer(Model::max_layers - 3).name(), "re_lu_" + std::to_string(Model::max_layers - 3));
  EXPECT_EQ(m->layer(Model::max_layers - 1).name(), "softmax");
  EXPECT_THROW(m->add(make_activation(Act::relu)), Error);  // add() holds the limit too
}

// A layer over the parameter limit is refused before its weights are allocated (a 1 GiB kernel
// from 12 bytes of text: the fuzzer's find), naming the layer.
TEST(TextFormat, ParameterLimit) {
  try {
    parse_model("conv:9953959x3", {32, 32, 3});
    ADD_FAILURE() << "built a convolution with 268,756,893 weights";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("layer 1 (conv:9953959x3x3)"), std::string::npos) << what;
    EXPECT_NE(what.find("more than a model may have (" + std::to_string(max_model_parameters) + ")"),
              std::string::npos) << what;
  }
}

// Building is linear in the layer count: 10x the layers may not cost 30x the time (it cost about
// 100x when each add() re-derived every earlier layer's name). Best of five runs each.
TEST(Graph, FusedExecutionMatchesLayerByLayerOps) {
  auto m = build_model("cnn", {28, 28, 1}, 10);
  m->init_params(7);
  for (Param* p : m->params()) p->value = random_tensor(p->value.shape(), 11, -0.2f, 0.2f);
  Tensor x = random_tensor({4, 28, 28, 1}, 3, 0, 1);
  const Tensor logits = m->forward(x, Context{}, Output::logits).clone();
  // The same network op by op, without the fused conv+pool executor.
  auto& conv = m->layer(0).params();
  const Window g = Window::make(x.shape(), 3, 3, 1, 1, Padding::valid, 32);
  Tensor c({4, 26, 26, 32}), pooled({4, 13, 13, 32}), h({4, 100}), out({4, 10});
  ops::conv2d_forward(x, conv[0].value, conv[1].value, c, g);
  ops::activation_forward(Act::relu, c, c);
  ops::maxpool_forward(c, pooled, Window::make(c.shape(), 2, 2, 2, 2, Padding::valid, 32));
  pooled.reshape({4, 5408});
  ops::dense_forward(pooled, m->layer(3).params()[0].value, m->layer(3).params()[1].value, h);
  ops::activation_forward(Act::relu, h, h);
  ops::dense_forward(h, m->layer(4).params()[0].value, m->layer(4).params()[1].value, out);
  EXPECT_TRUE(close(logits, out, 1e-5));
}

// The gradients as views into one flat buffer: every kernel writes the same values there as into
// a gradient of its own (two models, same weights, one with the buffer), each gradient starts on
// a 64-byte boundary in trainable_params() order, the gaps stay zero, and making the buffer again
// (another spare count) keeps the values.
TEST(Graph, FlatGradientsAreTheGradients) {
  const std::string text = "conv:5x3x3,relu maxpool:2 res{ bn conv:5x3x3,same } flatten dense:7,relu dense:3";
  auto a = parse_model(text, {9, 9, 2}), b = parse_model(text, {9, 9, 2});
  a->init_params(5);
  b->init_params(5);
  const std::span<float> flat = b->flat_gradients(2);
  const Tensor x = random_tensor({4, 9, 9, 2}, 3, 0, 1);
  const Context ctx{Mode::train, 1, 1};
  for (Model* m : {a.get(), b.get()}) {
    const Tensor& y = m->forward(x, ctx, Output::logits);
    m->backward(random_tensor(y.shape(), 8));
  }
  const std::vector<Param*> pa = a->trainable_params(), pb = b->trainable_params();
  ASSERT_EQ(pa.size(), pb.size());
  std::vector<bool> covered(flat.size(), false);
  int64_t at = 0;
  for (size_t i = 0; i < pb.size(); ++i) {
    const int64_t offset = pb[i]->grad.f32() - flat.data();
    EXPECT_GE(offset, at);
    EXPECT_EQ(offset % 16, 0);
    EXPECT_EQ(std::vector<float>(pa[i]->grad.values().begin(), pa[i]->grad.values().end()),
              std::vector<float>(flat.begin() + offset, flat.begin() + offset + pb[i]->grad.numel()))
        << "parameter " << i;
    std::fill_n(covered.begin() + offset, pb[i]->grad.numel(), true);
    at = offset + pb[i]->grad.numel();
  }
  EXPECT_EQ(int64_t(flat.size()), (at + 15) / 16 * 16 + 2);
  for (size_t j = 0; j < flat.size(); ++j)
    if (!covered[j]) {
      EXPECT_EQ(flat[j], 0.0f) << "gap or spare float " << j;
    }
  const std::vector<float> before(flat.begin(), flat.end() - 2);
  const std::span<float> again = b->flat_gradients(1);
  EXPECT_NE(again.data(), flat.data());
  EXPECT_EQ(before, std::vector<float>(again.begin(), again.end() - 1));
  EXPECT_EQ(b->trainable_params()[0]->grad.f32(), again.data());
}

// Each input through its own thread's replica gives what the model itself gives for that input,
// with every kind of layer a backbone has (the fused expand/depthwise/project chain included).
TEST(Graph, ParallelInferenceMatchesTheModel) {
  const std::string text =
      "conv:16x3x3,stride=2,same,relu6 res{ conv:48x1x1,relu6 dwconv:3x3,same,relu6 conv:16x1x1 } "
      "conv:40x1x1,relu6 dwconv:3x3,stride=2,same,relu6 conv:24x1x1 bn gap dense:10,softmax";
  auto m = parse_model(text, {19, 17, 3});
  m->init_params(5);
  for (Param* p : m->params()) p->value = random_tensor(p->value.shape(), 13, 0.1f, 0.3f);
  const int64_t n = 9, per = m->input_shape().numel(), k = m->output_shape().numel();
  const Tensor x = random_tensor(m->input_shape().with_batch(n), 4, -1, 1);
  const int threads = num_threads();
  set_num_threads(2);
  ParallelInference replicas(*m);
  EXPECT_EQ(replicas.threads(), 2);
  std::vector<float> out(size_t(n * k));
  replicas.run(0, n, [&](int64_t i, float* d) { std::copy_n(x.f32() + i * per, per, d); }, out.data());
  for (int64_t i = 0; i < n; ++i) {
    Tensor one(m->input_shape().with_batch(1));
    std::copy_n(x.f32() + i * per, per, one.f32());
    const Tensor& y = m->forward(one, Context{}, Output::probabilities);
    for (int64_t j = 0; j < k; ++j) EXPECT_EQ(out[size_t(i * k + j)], y.f32()[j]) << "input " << i << " class " << j;
  }
  // A failing input is rethrown after the others have run, the lowest index first.
  try {
    replicas.run(0, n, [&](int64_t i, float* d) {
      if (i == 3 || i == 6) throw Error("input " + std::to_string(i) + " is broken");
      std::copy_n(x.f32() + i * per, per, d);
    }, out.data());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "input 3 is broken");
  }
  set_num_threads(threads);
}

TEST(Initializers, FollowKerasLimits) {
  Rng rng(5);
  Tensor t({400, 300});
  for (Init init : {Init::he_uniform, Init::glorot_uniform}) {
    initialize(t, init, 400, 300, rng);
    const double limit = init == Init::he_uniform ? std::sqrt(6.0 / 400) : std::sqrt(6.0 / 700);
    double sum2 = 0, worst = 0;
    for (float v : t.values()) sum2 += double(v) * v, worst = std::max(worst, std::abs(double(v)));
    EXPECT_LE(worst, limit);
    EXPECT_GT(worst, 0.99 * limit);
    EXPECT_NEAR(sum2 / double(t.numel()), limit * limit / 3, 0.02 * limit * limit / 3);  // uniform variance
  }
}

TEST(Initializers, SameSeedSameWeights) {
  auto a = build_model("cnn", {28, 28, 1}, 10), b = build_model("cnn", {28, 28, 1}, 10);
  a->init_params(1);
  b->init_params(1);
  EXPECT_TRUE(close(a->params()[2]->value, b->params()[2]->value, 0));
  b->init_params(2);
  EXPECT_FALSE(close(a->params()[2]->value, b->params()[2]->value, 0));
}

}  // namespace
}  // namespace dltrain
