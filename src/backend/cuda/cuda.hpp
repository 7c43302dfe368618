// The CUDA kernels: the kernels.inc signatures over device pointers, plus what their .cu files
// share (launch shapes, error checks, scratch memory from the caching allocator). Correctness
// first: one thread per output element with a fixed loop order, so every result is reproducible
// (no float atomics anywhere); GEMMs are a plain shared-memory tiled kernel.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <string>

#include "dltrain/ops.hpp"

namespace dltrain::cuda {
#define DLT_KERNEL(ret, name, params) ret name params;
#include "../kernels.inc"
#undef DLT_KERNEL

constexpr int threads = 256;
// Blocks for n elements with a grid-stride loop (capped; the loop covers the rest).
inline int blocks(int64_t n) {
  return int(std::max<int64_t>(1, std::min<int64_t>((n + threads - 1) / threads, 1 << 16)));
}

// Makes `device` the calling thread's current GPU (the Backend's `select`): kernels, scratch and
// launches go to the current GPU, and a thread (Python's fit worker) starts on GPU 0.
void select(Device device);

// The fused activation as the reference applies it (std::max/std::min: a NaN stays NaN, where
// fmaxf/fminf would make it 0 and hide a diverging run).
__device__ inline float activate(Act act, float v) {
  if (act != Act::none) v = v < 0.0f ? 0.0f : v;
  if (act == Act::relu6) v = 6.0f < v ? 6.0f : v;
  return v;
}

// Throws a dltrain::Error for a failed launch or CUDA call, naming the kernel.
void check(cudaError_t e, const char* what);
// After each launch: a launch error names the kernel. With DLTRAIN_CUDA_SYNC=1 it also waits for
// the kernel, so an error while it runs (an illegal address) names it too rather than a later
// call (slow; for finding such errors).
void check_launch(const char* kernel);

// Device scratch for one kernel call (from the current GPU's caching allocator).
class Scratch {
 public:
  explicit Scratch(size_t bytes);
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <class T>
  T* as() const { return static_cast<T*>(p_); }

 private:
  void* p_;
  Device device_;
};

// C (M,N) = A (M,K) . B (K,N) [+ bias (N)], with A(m,k) = a[m*sam + k*sak] and B(k,n) =
// b[k*sbk + n*sbn], so transposes are strides. One thread per element of C, k in order.
void gemm(const float* a, int64_t sam, int64_t sak, const float* b, int64_t sbk, int64_t sbn, const float* bias,
          float* c, int64_t m, int64_t n, int64_t k);
// out[j] = sum over rows of x[r*cols + j] (double accumulator, rows in order).
void column_sums(const float* x, float* out, int64_t rows, int64_t cols);

}  // namespace dltrain::cuda

// A grid-stride loop over [0, n).
#define DLT_CUDA_FOR(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)
