// Golden tests against PyTorch: fixtures in tests/golden/ made by tools/make_golden.py. Inputs
// (weights, images, labels) come from an integer hash that the script and this file compute the
// same way; outputs (logits, loss, gradients, weights after SGD steps, optimizer trajectories)
// are PyTorch's. Nothing expected here is computed by dltrain.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "dltrain/io.hpp"
#include "dltrain/models.hpp"
#include "dltrain/optim.hpp"
#include "helpers.hpp"

namespace dltrain {
namespace {

uint64_t splitmix(uint64_t x) { return Rng(x).next_u64(); }

// tools/make_golden.py's hashed(): (u * 2 - 1) * scale with u = 24 hash bits / 2^24.
Tensor hashed(uint64_t salt, Shape shape, float scale) {
  Tensor t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double u = double(splitmix((salt << 32) + uint64_t(i)) >> 40) / double(1 << 24);
    t.f32()[i] = float(u * 2 - 1) * scale;
  }
  return t;
}

// |a - b| <= rtol * max|b| + atol elementwise; reports the first mismatches.
::testing::AssertionResult close_scaled(std::span<const float> a, std::span<const float> b, double rtol,
                                        double atol = 1e-7) {
  double scale = 0;
  for (float v : b) scale = std::max(scale, double(std::abs(v)));
  return test::close(a, b, 0) ? ::testing::AssertionSuccess() : [&] {
    std::vector<float> an(a.begin(), a.end()), bn(b.begin(), b.end());
    const double s = rtol * scale + atol;  // express as an absolute tolerance via scaling
    for (size_t i = 0; i < an.size(); ++i) an[i] = float(an[i] / s), bn[i] = float(bn[i] / s);
    return test::close(an, bn, 1.0);
  }();
}

// The stored elements of `t`: all of it, or every stride-th element for large tensors.
std::vector<float> stored(const Tensor& t, int64_t stride) {
  std::vector<float> out;
  const int64_t step = t.numel() > 20000 ? stride : 1;
  for (int64_t i = 0; i < t.numel(); i += step) out.push_back(t.f32()[i]);
  return out;
}

std::vector<float> minus(const std::vector<float>& a, const std::vector<float>& b) {
  std::vector<float> d(a.size());
  for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  return d;
}

void check_two_sgd_steps(const std::string& preset, const std::string& fixture) {
  const SafetensorsFile gold = read_safetensors(test::golden(fixture));
  const int64_t stride = std::stoll(gold.metadata.at("stride"));
  auto model = build_model(preset, {28, 28, 1}, 10);
  std::vector<std::string> keys;
  std::vector<std::vector<float>> initial;
  uint64_t p_index = 0;
  for (size_t i = 0; i < model->size(); ++i)
    for (Param& p : model->layer(i).params()) {
      p.value = hashed(100 + p_index++, p.value.shape(), 0.1f);
      keys.push_back(model->param_key(model->layer(i), p));
      initial.push_back(stored(p.value, stride));
    }
  Tensor pixels({8, 28, 28, 1}, DType::u8), x({8, 28, 28, 1});
  for (int64_t i = 0; i < pixels.numel(); ++i) pixels.u8()[i] = uint8_t(splitmix((7ULL << 32) + uint64_t(i)) >> 56);
  ops::u8_to_f32(pixels, x, 1.0f / 255.0f, 0);
  std::vector<int32_t> labels;
  for (uint64_t i = 0; i < 8; ++i) labels.push_back(int32_t(splitmix((8ULL << 32) + i) % 10));
  ASSERT_EQ(nlohmann::json(labels), nlohmann::json::parse(gold.metadata.at("labels")));

  auto opt = make_optimizer("sgd:lr=0.01,momentum=0.9", model->trainable_params());
  Tensor dlogits({8, 10});
  for (int step = 1; step <= 2; ++step) {
    const Tensor& logits = model->forward(x, Context{Mode::train, 0, 0}, Output::logits);
    const LossStats st = ops::softmax_cross_entropy(logits, labels, &dlogits);
    if (step == 1) {
      EXPECT_TRUE(close_scaled(logits.values(), gold.tensors.at("logits").values(), 1e-5)) << "logits";
      EXPECT_NEAR(st.loss_sum / 8, gold.tensors.at("loss").f32()[0], 1e-5);
    }
    model->backward(dlogits);
    if (step == 1) {
      size_t k = 0;
      for (Param* p : model->params())
        EXPECT_TRUE(close_scaled(stored(p->grad, stride), gold.tensors.at("grad/" + keys[k++]).values(), 1e-4))
            << "gradient of " << keys[k - 1];
    }
    opt->step(0.01f);
    size_t k = 0;
    for (Param* p : model->params()) {  // compare the change since the start: the updates are small
      const Tensor& ref = gold.tensors.at("step" + std::to_string(step) + "/" + keys[k]);
      EXPECT_TRUE(close_scaled(minus(stored(p->value, stride), initial[k]),
                               minus(std::vector<float>(ref.values().begin(), ref.values().end()), initial[k]), 1e-3,
                               1e-8))
          << "weights of " << keys[k] << " after step " << step;
      ++k;
    }
  }
}

TEST(GoldenPyTorch, CnnTwoSgdSteps) { check_two_sgd_steps("cnn", "cnn_step.safetensors"); }
TEST(GoldenPyTorch, MlpTwoSgdSteps) { check_two_sgd_steps("mlp", "mlp_step.safetensors"); }

TEST(GoldenPyTorch, OptimizerTrajectories) {
  const SafetensorsFile gold = read_safetensors(test::golden("optimizers.safetensors"));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"sgd", "sgd:lr=0.1,momentum=0.9,weight_decay=0.01"},
      {"sgd_nesterov", "sgd:lr=0.1,momentum=0.9,nesterov=1"},
      {"sgd_plain", "sgd:lr=0.1"},
      {"adam", "adam:lr=0.01,weight_decay=0.01"},
      {"adamw", "adamw:lr=0.01,weight_decay=0.1"},
  };
  const Tensor w0 = hashed(1, {50}, 1.0f);
  for (const auto& [name, spec] : cases) {
    Param p;
    p.value = w0.clone();
    p.grad = Tensor({50});
    auto opt = make_optimizer(spec, {&p});
    for (uint64_t s = 0; s < 3; ++s) {
      p.grad.copy_from(hashed(2 + s, {50}, 1.0f));
      opt->step(opt->base_lr());
    }
    const std::vector<float> before(w0.values().begin(), w0.values().end());
    const Tensor& ref = gold.tensors.at(name);
    EXPECT_TRUE(close_scaled(minus(std::vector<float>(p.value.values().begin(), p.value.values().end()), before),
                             minus(std::vector<float>(ref.values().begin(), ref.values().end()), before), 1e-4))
        << name;
  }
}

}  // namespace
}  // namespace dltrain
