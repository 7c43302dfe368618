// hello: a host program and a kernel printing from a few threads, each recording its global index.
// Build and run: dltrain cuda run hello   (or: nvcc -arch=sm_80 hello.cu -o hello && ./hello)
#include <cstdio>
#include <cstdlib>

// Every CUDA call is checked: on failure print where, what and why, then stop.
#define CUDA_CHECK(call)                                                                  \
  do {                                                                                    \
    cudaError_t err_ = (call);                                                            \
    if (err_ != cudaSuccess) {                                                            \
      std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call,           \
                   cudaGetErrorString(err_));                                             \
      std::exit(1);                                                                       \
    }                                                                                     \
  } while (0)

// One thread = one "iteration": it prints and writes its own global index.
__global__ void hello(int* ids, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;  // the grid may hold more threads than there is work
  printf("hello from block %d, thread %d (global %d)\n", blockIdx.x, threadIdx.x, i);
  ids[i] = i;
}

int main() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: skipped\n");
    return 77;
  }
  std::printf("hello from the host\n");
  const int n = 6, block = 4, grid = (n + block - 1) / block;  // 2 blocks of 4 threads for 6 items
  int* d_ids = nullptr;
  CUDA_CHECK(cudaMalloc(&d_ids, n * sizeof(int)));
  CUDA_CHECK(cudaMemset(d_ids, 0xff, n * sizeof(int)));
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  CUDA_CHECK(cudaEventRecord(start));
  hello<<<grid, block>>>(d_ids, n);
  CUDA_CHECK(cudaGetLastError());
  CUDA_CHECK(cudaEventRecord(stop));
  CUDA_CHECK(cudaEventSynchronize(stop));  // also flushes the kernel's printf output
  float ms = 0;
  CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  int ids[n];
  CUDA_CHECK(cudaMemcpy(ids, d_ids, sizeof ids, cudaMemcpyDeviceToHost));
  int wrong = 0;
  for (int i = 0; i < n; ++i) wrong += ids[i] != i;  // the CPU reference: indices 0..n-1
  std::printf("%d threads ran for %d items in %.3f ms: %s\n", grid * block, n, ms, wrong ? "WRONG" : "ok");
  CUDA_CHECK(cudaFree(d_ids));
  return wrong ? 1 : 0;
}
