// Optimizer and schedule specs: parsing, errors, and the schedule shapes. (The update rules
// themselves are checked against PyTorch in golden_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "dltrain/models.hpp"
#include "dltrain/optim.hpp"
#include "helpers.hpp"

namespace dltrain {
namespace {

TEST(Schedules, ConstantStepAndCosine) {
  EXPECT_FLOAT_EQ(Schedule("constant").lr(0.1f, 12345, 100, 5), 0.1f);
  const Schedule step("step:every=2,gamma=0.5");
  EXPECT_FLOAT_EQ(step.lr(0.1f, 0, 100, 10), 0.1f);
  EXPECT_FLOAT_EQ(step.lr(0.1f, 199, 100, 10), 0.1f);   // still epoch 1 (0-based)
  EXPECT_FLOAT_EQ(step.lr(0.1f, 200, 100, 10), 0.05f);  // epoch 2
  EXPECT_FLOAT_EQ(step.lr(0.1f, 450, 100, 10), 0.025f);
  const Schedule cos("cosine:min=0.001");
  EXPECT_FLOAT_EQ(cos.lr(0.1f, 0, 100, 10), 0.1f);
  EXPECT_NEAR(cos.lr(0.1f, 500, 100, 10), 0.001 + 0.5 * (0.1 - 0.001), 1e-7);
  EXPECT_NEAR(cos.lr(0.1f, 1000, 100, 10), 0.001, 1e-7);
  EXPECT_LT(cos.lr(0.1f, 600, 100, 10), cos.lr(0.1f, 599, 100, 10));
}

// The Trainer updates each layer's parameters as soon as its backward is done; that must give the
// same bits as one whole-model step after the backward pass, weights and optimizer state alike.
TEST(SplitStep, UpdatesDuringBackwardAreBitIdenticalToOneStep) {
  const std::vector<std::pair<std::string, Shape>> models = {
      {"cnn", {28, 28, 1}},  // fused conv+pool
      {"mlp", {28, 28, 1}},
      {"conv:4x3x3,same,relu res{ conv:4x3x3,same,relu conv:4x3x3,same } relu bn gap dense:3,softmax", {8, 8, 2}}};
  for (const auto& [spec, shape] : models)
    for (const char* optim : {"sgd:lr=0.05,momentum=0.9,weight_decay=0.01", "adamw:lr=0.01,weight_decay=0.1"}) {
      std::unique_ptr<Model> m[2];
      std::unique_ptr<Optimizer> o[2];
      for (int k = 0; k < 2; ++k) {
        m[k] = spec.find(' ') == std::string::npos ? build_model(spec, shape, 10) : parse_model(spec, shape);
        m[k]->init_params(3);
        o[k] = make_optimizer(optim, m[k]->trainable_params());
      }
      const int64_t classes = m[0]->output_shape()[0];
      for (int step = 0; step < 3; ++step) {
        const Tensor x = test::random_tensor(shape.with_batch(4), 100 + uint64_t(step), 0, 1);
        std::vector<int32_t> labels = {0, 1, 2, int32_t(step % classes)};
        for (int k = 0; k < 2; ++k) {
          const Tensor& logits = m[k]->forward(x, Context{Mode::train, 7, uint64_t(step)}, Output::logits);
          Tensor dlogits(logits.shape());
          ops::softmax_cross_entropy(logits, labels, &dlogits);
          if (k == 0) {
            m[k]->backward(dlogits);
            o[k]->step(0.05f);
          } else {
            o[k]->begin_step();
            m[k]->backward(dlogits, [&](const std::vector<Param*>& ready) { o[k]->update_ready(ready, 0.05f); });
            o[k]->finish_step(0.05f);
          }
        }
      }
      const std::vector<Param*> p0 = m[0]->params(), p1 = m[1]->params();
      ASSERT_EQ(p0.size(), p1.size());
      for (size_t i = 0; i < p0.size(); ++i)
        EXPECT_EQ(std::memcmp(p0[i]->value.f32(), p1[i]->value.f32(), p0[i]->value.bytes()), 0)
            << spec << ", " << optim << ": parameter " << i;
      for (size_t i = 0; i < o[0]->n_params(); ++i)
        for (size_t s = 0; s < o[0]->slot_names().size(); ++s)
          EXPECT_EQ(std::memcmp(o[0]->slot(i, s).f32(), o[1]->slot(i, s).f32(), o[0]->slot(i, s).bytes()), 0)
              << spec << ", " << optim << ": state " << o[0]->slot_names()[s] << " of parameter " << i;
    }
}

TEST(Specs, BadSpecsAreExplained) {
  Param p;
  p.value = Tensor::zeros({3});
  p.grad = Tensor::zeros({3});
  auto hint_of = [&](const std::string& spec) {
    try {
      make_optimizer(spec, {&p});
    } catch (const Error& e) {
      return std::string(e.what()) + " | " + e.hint();
    }
    return std::string("accepted");
  };
  EXPECT_NE(hint_of("rmsprop").find("use sgd, adam or adamw"), std::string::npos);
  EXPECT_NE(hint_of("sgd:lr=0.1,mom=0.9").find("lr, momentum, nesterov, weight_decay"), std::string::npos);
  EXPECT_NE(hint_of("sgd:lr=fast").find("not a number"), std::string::npos);
  EXPECT_NE(hint_of("sgd:lr=-1").find("positive"), std::string::npos);
  EXPECT_NE(hint_of("sgd:nesterov=1").find("needs momentum"), std::string::npos);
  EXPECT_EQ(hint_of("adamw:lr=0.001,beta2=0.99"), "accepted");
  EXPECT_THROW(Schedule("linear"), Error);
  EXPECT_THROW(Schedule("step:every=0"), Error);
  EXPECT_THROW(Schedule("cosine:floor=1"), Error);
}

TEST(Specs, FrozenParametersAreLeftAlone) {
  Param a, b;
  for (Param* p : {&a, &b}) {
    p->value = Tensor::zeros({4});
    p->grad = Tensor::zeros({4});
    p->grad.fill(1);
  }
  b.trainable = false;
  auto opt = make_optimizer("sgd:lr=0.5", {&a, &b});
  opt->step(0.5f);
  EXPECT_FLOAT_EQ(a.value.f32()[0], -0.5f);
  EXPECT_FLOAT_EQ(b.value.f32()[0], 0.0f);
  EXPECT_EQ(opt->steps(), 1);
}

}  // namespace
}  // namespace dltrain
