// Optimizer and schedule specs: parsing, errors, and the schedule shapes. (The update rules
// themselves are checked against PyTorch in golden_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>

#include "dltrain/optim.hpp"

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
