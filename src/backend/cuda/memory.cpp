// Device memory through the CUDA runtime (linked statically; the driver is found at run time):
// one CachingAllocator per GPU over cudaMalloc/cudaFree, synchronous copies, and the checks that
// turn "no driver" or "no such GPU" into an Error with doctor's hint.
#include <cuda_runtime.h>

#include <array>
#include <memory>
#include <mutex>
#include <string>

#include "core/device_memory.hpp"

namespace dltrain::device_memory {
namespace {

constexpr int max_gpus = 64;

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    throw Error(std::string(what) + ": " + cudaGetErrorString(e), "`dltrain doctor` checks the driver and the GPU");
}

class CudaRaw final : public RawAllocator {
 public:
  explicit CudaRaw(int index) : index_(index) {}
  void* allocate(size_t bytes) override {
    check(cudaSetDevice(index_), "cudaSetDevice");
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, bytes);
    if (e == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // clear the sticky-free error so the retry starts clean
      return nullptr;
    }
    check(e, "cudaMalloc");
    return p;
  }
  void release(void* p) noexcept override {
    cudaSetDevice(index_);
    cudaFree(p);
  }

 private:
  int index_;
};

struct Gpu {
  explicit Gpu(int index) : raw(index), cache(raw) {}
  CudaRaw raw;
  CachingAllocator cache;
};

// The allocators live until the process ends (blocks owned by static tensors may be freed late).
// The device is checked once, when its allocator is made; a block's owner finds it again.
std::mutex gpus_mutex;
std::array<Gpu*, max_gpus> gpus{};

Gpu& gpu(Device device) {
  {
    std::lock_guard lock(gpus_mutex);
    if (device.index >= 0 && device.index < max_gpus && gpus[size_t(device.index)]) return *gpus[size_t(device.index)];
  }
  require(device);
  std::lock_guard lock(gpus_mutex);
  Gpu*& g = gpus[size_t(device.index)];
  if (!g) g = new Gpu(device.index);
  return *g;
}

}  // namespace

int gpu_count() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

void require(Device device) {
  DLT_CHECK(device.is_cuda(), device_name(device) + " is not a GPU");
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver || e == cudaErrorInitializationError ||
      (e == cudaSuccess && n == 0))
    throw Error(device_name(device) + ": no CUDA driver found (" + cudaGetErrorString(e) + ")",
                "`dltrain doctor` says why; train on the CPU with --device cpu");
  if (e != cudaSuccess)
    throw Error(device_name(device) + ": the CUDA runtime cannot start: " + cudaGetErrorString(e),
                "`dltrain doctor` says why; train on the CPU with --device cpu");
  if (device.index < 0 || device.index >= n || device.index >= max_gpus)
    throw Error(device_name(device) + ": there is no such GPU (" + std::to_string(n) + " found)",
                "GPUs count from 0: use cuda:0 .. cuda:" + std::to_string(n - 1));
}

void* allocate(Device device, size_t bytes) { return gpu(device).cache.allocate(bytes); }

// Only blocks from allocate() come here, so the device's allocator exists.
void release(Device device, void* p) noexcept {
  Gpu* g = nullptr;
  {
    std::lock_guard lock(gpus_mutex);
    g = gpus[size_t(device.index)];
  }
  if (g) g->cache.free(p);
}

void copy(void* dst, Device to, const void* src, Device from, size_t bytes) {
  const cudaMemcpyKind kind = to.is_cuda() ? (from.is_cuda() ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                           : (from.is_cuda() ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  check(cudaSetDevice(to.is_cuda() ? to.index : from.index), "cudaSetDevice");
  check(cudaMemcpy(dst, src, bytes, kind), "cudaMemcpy");
}

void zero(Device device, void* p, size_t bytes) {
  check(cudaSetDevice(device.index), "cudaSetDevice");
  check(cudaMemset(p, 0, bytes), "cudaMemset");
}

AllocatorStats stats(Device device) { return gpu(device).cache.stats(); }

}  // namespace dltrain::device_memory
