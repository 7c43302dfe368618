// The GPU path of the Trainer, evaluation and prediction, checked without a GPU: this executable
// supplies its own cuda_backend() and device_memory (so the library's CUDA table and memory are
// never linked in): "cuda:0" memory is host memory and its kernels are the CPU's. Every op refuses
// tensors on different devices, so a parameter, optimizer slot, batch or scratch tensor left on
// the host (or a host tensor fed to the GPU model) fails here; and because the kernels are the
// same, training on this "GPU" must give the CPU's weights bit for bit. What it cannot see: host
// code reading GPU memory directly, and the CUDA kernels themselves (conformance.cuda, label gpu).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "backend/backend.hpp"
#include "core/device_memory.hpp"
#include "dltrain/train.hpp"
#include "helpers.hpp"
#include "training_cases.hpp"

namespace dltrain {

const Backend* cuda_backend() {
  static const Backend b = [] {
    Backend t = cpu_backend();
    t.name = "cpu-as-cuda";
    t.device = Device::cuda;
    return t;
  }();
  return &b;
}

namespace device_memory {
void require(Device device) { DLT_CHECK(device.is_cuda() && device.index == 0, "only cuda:0 is emulated"); }
int gpu_count() { return 1; }
void* allocate(Device device, size_t bytes) {
  require(device);
  return std::aligned_alloc(64, (std::max<size_t>(bytes, 1) + 63) / 64 * 64);
}
void release(Device, void* p) noexcept { std::free(p); }
void copy(void* dst, Device, const void* src, Device, size_t bytes) { std::memcpy(dst, src, bytes); }
void zero(Device, void* p, size_t bytes) { std::memset(p, 0, bytes); }
AllocatorStats stats(Device) { return {}; }
}  // namespace device_memory

namespace {
using test::TempDir;
using namespace test::training_cases;

class HostGpu : public ::testing::TestWithParam<Case> {};

TEST_P(HostGpu, TrainsAsOnTheCpuBitForBit) {
  const Case& k = GetParam();
  TempDir dir;
  Trainer cpu(config(k.model, k.optim, k.grad_accum), quadrants(100, 30), dir / "cpu");
  Trainer gpu(config(k.model, k.optim, k.grad_accum), quadrants(100, 30), dir / "gpu");
  gpu.use_device(Device::cuda);
  EXPECT_TRUE(gpu.device().is_cuda());
  for (Param* p : gpu.model().params()) {
    EXPECT_TRUE(p->value.device().is_cuda()) << p->name;
    if (p->trainable) {
      EXPECT_TRUE(p->grad.device().is_cuda()) << p->name;
    }
  }
  ASSERT_TRUE(cpu.fit());
  ASSERT_TRUE(gpu.fit());
  EXPECT_EQ(weights(cpu.model()), weights(gpu.model()));
  ASSERT_EQ(cpu.history().size(), gpu.history().size());
  for (size_t e = 0; e < cpu.history().size(); ++e) {
    EXPECT_EQ(cpu.history()[e].loss, gpu.history()[e].loss);
    EXPECT_EQ(cpu.history()[e].val_loss, gpu.history()[e].val_loss);  // evaluation on the GPU model
    EXPECT_EQ(cpu.history()[e].val_accuracy, gpu.history()[e].val_accuracy);
  }
  // What the GPU run saved is an ordinary host file: the same bytes as the CPU run's.
  EXPECT_EQ(read_file(dir / "cpu/model.safetensors"), read_file(dir / "gpu/model.safetensors"));
  const std::string cpu_ckpt = read_file(dir / "cpu/checkpoint.safetensors");
  EXPECT_EQ(cpu_ckpt, read_file(dir / "gpu/checkpoint.safetensors"));
}

INSTANTIATE_TEST_SUITE_P(Models, HostGpu, ::testing::ValuesIn(cases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(HostGpuRun, ResumedOnTheGpuEndsBitIdentical) {
  TempDir dir;
  expect_gpu_resume_is_exact(dir.path());
}

TEST(HostGpuRun, ModelsMoveBetweenDevicesAndPredictAlike) {
  TempDir dir;
  Trainer t(config(cases[0].model, cases[0].optim), quadrants(100, 30), dir / "run");
  t.use_device(Device::cuda);
  ASSERT_TRUE(t.fit());
  const DatasetSplits data = quadrants(100, 30);
  LoadedModel on_cpu = load_model(dir / "run/model.safetensors");
  LoadedModel on_gpu = load_model(dir / "run/model.safetensors");
  on_gpu.model->to(Device::cuda);
  const Tensor a = predict_batch(*on_cpu.model, data.test.images, on_cpu.info.preprocessing, 7);
  const Tensor b = predict_batch(*on_gpu.model, data.test.images, on_gpu.info.preprocessing, 7);
  EXPECT_TRUE(b.device() == Device::cpu);
  EXPECT_TRUE(std::equal(a.values().begin(), a.values().end(), b.values().begin(), b.values().end()));
  const EvalResult ea = evaluate(*on_cpu.model, data.test, on_cpu.info.preprocessing, 8);
  const EvalResult eb = evaluate(*on_gpu.model, data.test, on_gpu.info.preprocessing, 8);
  EXPECT_EQ(ea.loss, eb.loss);
  EXPECT_EQ(ea.confusion, eb.confusion);
  Tensor first({1, 10, 10, 1}, DType::u8);
  std::memcpy(first.u8(), data.test.images.u8(), 100);
  const Preprocessing& pre = on_cpu.info.preprocessing;
  EXPECT_EQ(predict(*on_cpu.model, first, pre), predict(*on_gpu.model, first, pre));
  // And back: a model moved to the GPU and home again is the same model.
  on_gpu.model->to(Device::cpu);
  EXPECT_EQ(weights(*on_cpu.model), weights(*on_gpu.model));
  // A host batch given to the GPU model directly is refused with the devices named, not read.
  Tensor x({2, 10, 10, 1});
  x.fill(0.5f);
  on_gpu.model->to(Device::cuda);
  try {
    on_gpu.model->forward(x, Context{});
    FAIL() << "a host batch reached the GPU model's kernels";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cuda:0"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dltrain
