// max_reduction: the maximum of n floats by a parallel reduction (shared memory within a block, then across blocks), for any n including 0, 1 and non-powers of two.
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CUDA_CHECK(call)                                                                  \
  do {                                                                                    \
    cudaError_t err_ = (call);                                                            \
    if (err_ != cudaSuccess) {                                                            \
      std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call,           \
                   cudaGetErrorString(err_));                                             \
      std::exit(1);                                                                       \
    }                                                                                     \
  } while (0)

constexpr int block = 256;  // a power of two: the tree below halves it

// Each block reduces a grid-stride share of x into out[blockIdx.x]. Threads with nothing to read
// contribute -infinity, the identity of max, so any n works.
__global__ void block_max(const float* x, float* out, int n) {
  __shared__ float s[block];
  float m = -INFINITY;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) m = fmaxf(m, x[i]);
  s[threadIdx.x] = m;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) s[threadIdx.x] = fmaxf(s[threadIdx.x], s[threadIdx.x + half]);
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = s[0];
}

// Reduces until one value is left: first many blocks, then one block over their results.
float device_max(const float* d_x, int n, float* d_partial, int max_blocks, float* ms) {
  if (n == 0) return -INFINITY;  // the maximum of nothing: max's identity
  const int blocks = std::min((n + block - 1) / block, max_blocks);
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  CUDA_CHECK(cudaEventRecord(start));
  block_max<<<blocks, block>>>(d_x, d_partial, n);
  CUDA_CHECK(cudaGetLastError());
  block_max<<<1, block>>>(d_partial, d_partial, blocks);  // across blocks
  CUDA_CHECK(cudaGetLastError());
  CUDA_CHECK(cudaEventRecord(stop));
  CUDA_CHECK(cudaEventSynchronize(stop));
  CUDA_CHECK(cudaEventElapsedTime(ms, start, stop));
  float result = 0;
  CUDA_CHECK(cudaMemcpy(&result, d_partial, sizeof result, cudaMemcpyDeviceToHost));
  return result;
}

int main() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: skipped\n");
    return 77;
  }
  const int max_blocks = 1024;  // partial results; the one-block second pass strides over them
  float* d_partial = nullptr;
  CUDA_CHECK(cudaMalloc(&d_partial, max_blocks * sizeof(float)));
  int failures = 0;
  unsigned seed = 12345;
  for (int n : {0, 1, 2, 3, 255, 257, 1000, (1 << 20) + 7, 1 << 24}) {
    std::vector<float> x(n);
    for (int i = 0; i < n; ++i) {
      seed = seed * 1664525u + 1013904223u;
      x[i] = float(int(seed >> 8) % 2000001 - 1000000) / 1000.0f - 5000.0f;  // mostly negative
    }
    float want = -INFINITY;  // the CPU reference
    for (float v : x) want = std::fmax(want, v);
    float* d_x = nullptr;
    CUDA_CHECK(cudaMalloc(&d_x, std::max(n, 1) * sizeof(float)));
    CUDA_CHECK(cudaMemcpy(d_x, x.data(), n * sizeof(float), cudaMemcpyHostToDevice));
    float ms = 0;
    const float got = device_max(d_x, n, d_partial, max_blocks, &ms);
    const bool ok = got == want;
    failures += !ok;
    std::printf("n=%-9d max %12.3f (CPU %12.3f) %8.3f ms %s\n", n, got, want, ms, ok ? "ok" : "WRONG");
    CUDA_CHECK(cudaFree(d_x));
  }
  CUDA_CHECK(cudaFree(d_partial));
  std::printf("%s\n", failures ? "FAILED" : "all results match the CPU");
  return failures ? 1 : 0;
}
