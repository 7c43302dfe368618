// The device smoke test for `dltrain doctor`: a vector add on GPU 0 with a grid-stride loop,
// checked element by element against the CPU, timed with CUDA events.
#include <cuda_runtime.h>

#include <cmath>
#include <string>
#include <vector>

#include "dltrain/system.hpp"

namespace dltrain {
namespace {

__global__ void vector_add(const float* a, const float* b, float* c, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    c[i] = a[i] + b[i];
}

// Throws the failing call's text and CUDA's message.
#define SMOKE_CHECK(call)                                                                       \
  do {                                                                                          \
    const cudaError_t e_ = (call);                                                              \
    if (e_ != cudaSuccess) throw std::string(#call) + ": " + cudaGetErrorString(e_);            \
  } while (0)

}  // namespace

int cuda_runtime_version() {
  int v = 0;
  return cudaRuntimeGetVersion(&v) == cudaSuccess ? v : 0;
}

SmokeResult cuda_smoke_test(int64_t n) {
  SmokeResult r;
  const size_t count = static_cast<size_t>(n);
  std::vector<float> a(count), b(count), c(count);
  for (int64_t i = 0; i < n; ++i) a[size_t(i)] = float(i % 1000) * 0.5f, b[size_t(i)] = float(i % 7) - 3.0f;
  float *da = nullptr, *db = nullptr, *dc = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
  try {
    r.ran = true;
    const size_t bytes = size_t(n) * sizeof(float);
    SMOKE_CHECK(cudaMalloc(&da, bytes));
    SMOKE_CHECK(cudaMalloc(&db, bytes));
    SMOKE_CHECK(cudaMalloc(&dc, bytes));
    SMOKE_CHECK(cudaMemcpy(da, a.data(), bytes, cudaMemcpyHostToDevice));
    SMOKE_CHECK(cudaMemcpy(db, b.data(), bytes, cudaMemcpyHostToDevice));
    SMOKE_CHECK(cudaEventCreate(&start));
    SMOKE_CHECK(cudaEventCreate(&stop));
    int sms = 0;
    SMOKE_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    SMOKE_CHECK(cudaEventRecord(start));
    vector_add<<<sms * 8, 256>>>(da, db, dc, n);
    SMOKE_CHECK(cudaGetLastError());
    SMOKE_CHECK(cudaEventRecord(stop));
    SMOKE_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    SMOKE_CHECK(cudaEventElapsedTime(&ms, start, stop));
    SMOKE_CHECK(cudaMemcpy(c.data(), dc, bytes, cudaMemcpyDeviceToHost));
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; ++i) wrong += c[size_t(i)] != a[size_t(i)] + b[size_t(i)];
    r.passed = wrong == 0;
    r.milliseconds = ms;
    r.detail = "vector add of " + std::to_string(n) + " floats: " +
               (wrong ? std::to_string(wrong) + " wrong results" : "all match the CPU") + ", " +
               std::to_string(ms) + " ms (" + std::to_string(3.0 * double(bytes) / (ms * 1e6)) + " GB/s)";
  } catch (const std::string& what) {
    r.passed = false;
    r.detail = what;
  }
  cudaFree(da);
  cudaFree(db);
  cudaFree(dc);
  if (start) cudaEventDestroy(start);
  if (stop) cudaEventDestroy(stop);
  return r;
}

}  // namespace dltrain
