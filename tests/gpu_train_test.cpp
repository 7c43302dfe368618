// Training on a real GPU against the CPU (CTest label gpu; skipped with the reason without a
// CUDA build or a GPU): 20 steps of each network of training_cases.hpp from the same weights end
// within tolerance of the CPU's (float sums in another order, so not bit for bit); two GPU runs
// with the same seed are bit-identical; a run resumed on the GPU ends bit-identical to a straight
// one; a GPU-trained model predicts the same classes on the CPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "backend/backend.hpp"
#include "core/device_memory.hpp"
#include "helpers.hpp"
#include "training_cases.hpp"

namespace dltrain {
namespace {
using test::TempDir;
using namespace test::training_cases;

// After 20 steps the weights may differ by this much, relative to max(1, |w|): the CUDA kernels
// add in other orders than the CPU's (about 1e-7 per operation), and training amplifies it.
constexpr double tol_20_steps = 1e-3;

// Why these tests cannot run here ("" when they can).
std::string no_gpu() {
  if (!cuda_backend()) return "this dltrain was built without the CUDA backend";
  if (device_memory::gpu_count() == 0) return "no NVIDIA GPU (or no driver) on this machine";
  return "";
}
#define REQUIRE_GPU() \
  if (const std::string why = no_gpu(); !why.empty()) GTEST_SKIP() << why

// One epoch of 240 images in batches of 12: 20 steps.
std::unique_ptr<Trainer> twenty_steps(const Case& k, const std::string& dir, Device device) {
  TrainConfig c = config(k.model, k.optim, k.grad_accum);
  c.epochs = 1;
  c.batch = 12 / k.grad_accum;
  auto t = std::make_unique<Trainer>(c, quadrants(240, 30), dir);
  t->use_device(device);
  return t;
}

class GpuTraining : public ::testing::TestWithParam<Case> {};

TEST_P(GpuTraining, TwentyStepsMatchTheCpu) {
  REQUIRE_GPU();
  TempDir dir;
  auto cpu = twenty_steps(GetParam(), dir / "cpu", Device::cpu);
  auto gpu = twenty_steps(GetParam(), dir / "gpu", Device::cuda);
  ASSERT_TRUE(cpu->fit());
  ASSERT_TRUE(gpu->fit());
  const std::vector<float> a = weights(cpu->model()), b = weights(gpu->model());
  ASSERT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(double(a[i]) - double(b[i])) / std::max(1.0, std::abs(double(a[i]))));
  EXPECT_LE(worst, tol_20_steps);
  EXPECT_NEAR(cpu->history()[0].loss, gpu->history()[0].loss, 1e-3);
  std::printf("%s: largest relative weight difference after 20 steps %.3g\n", GetParam().name, worst);
}

TEST_P(GpuTraining, SameSeedSameWeights) {
  REQUIRE_GPU();
  TempDir dir;
  auto first = twenty_steps(GetParam(), dir / "a", Device::cuda);
  auto second = twenty_steps(GetParam(), dir / "b", Device::cuda);
  ASSERT_TRUE(first->fit());
  ASSERT_TRUE(second->fit());
  EXPECT_EQ(weights(first->model()), weights(second->model()));
}

INSTANTIATE_TEST_SUITE_P(Models, GpuTraining, ::testing::ValuesIn(cases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(GpuRun, ResumedOnTheGpuEndsBitIdentical) {
  REQUIRE_GPU();
  TempDir dir;
  expect_gpu_resume_is_exact(dir.path());
}

TEST(GpuRun, GpuTrainedModelPredictsTheSameClassesOnTheCpu) {
  REQUIRE_GPU();
  TempDir dir;
  Trainer t(config(cases[0].model, cases[0].optim), quadrants(100, 30), dir / "run");
  t.use_device(Device::cuda);
  ASSERT_TRUE(t.fit());
  const DatasetSplits data = quadrants(100, 30);
  LoadedModel on_cpu = load_model(dir / "run/model.safetensors");
  LoadedModel on_gpu = load_model(dir / "run/model.safetensors");
  on_gpu.model->to(Device::cuda);
  const EvalResult a = evaluate(*on_cpu.model, data.test, on_cpu.info.preprocessing, 8);
  const EvalResult b = evaluate(*on_gpu.model, data.test, on_gpu.info.preprocessing, 8);
  ASSERT_EQ(a.outcomes.size(), b.outcomes.size());
  for (size_t i = 0; i < a.outcomes.size(); ++i) EXPECT_EQ(a.outcomes[i].predicted, b.outcomes[i].predicted) << i;
  EXPECT_NEAR(a.loss, b.loss, 1e-5);
}

}  // namespace
}  // namespace dltrain
