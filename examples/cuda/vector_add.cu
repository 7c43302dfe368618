// vector_add: c = a + b three ways (one thread, one block with a block-stride loop, a full grid with a grid-stride loop), checked against the CPU.
// Each launch runs the body exactly n times in total, also when n is not a multiple of the block size.
#include <chrono>
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

// 1. One thread does the whole loop: launch <<<1, 1>>>.
__global__ void add_one_thread(const float* a, const float* b, float* c, int n) {
  for (int i = 0; i < n; ++i) c[i] = a[i] + b[i];
}

// 2. One block; each thread starts at its index and strides by the block size: <<<1, block>>>.
__global__ void add_block_stride(const float* a, const float* b, float* c, int n) {
  for (int i = threadIdx.x; i < n; i += blockDim.x) c[i] = a[i] + b[i];
}

// 3. Many blocks; each thread strides by the whole grid, so any grid size covers any n.
__global__ void add_grid_stride(const float* a, const float* b, float* c, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) c[i] = a[i] + b[i];
}

int main() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: skipped\n");
    return 77;
  }
  int sms = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  int failures = 0;
  for (int n : {1, 255, 1000, (1 << 20) + 3}) {
    std::vector<float> a(n), b(n), c(n), want(n);
    for (int i = 0; i < n; ++i) a[i] = 0.5f * float(i % 997), b[i] = float(i % 13) - 6.0f, want[i] = a[i] + b[i];
    float *da, *db, *dc;
    const size_t bytes = size_t(n) * sizeof(float);
    CUDA_CHECK(cudaMalloc(&da, bytes));
    CUDA_CHECK(cudaMalloc(&db, bytes));
    CUDA_CHECK(cudaMalloc(&dc, bytes));
    CUDA_CHECK(cudaMemcpy(da, a.data(), bytes, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(db, b.data(), bytes, cudaMemcpyHostToDevice));
    const int block = 256;
    const int grid = std::min((n + block - 1) / block, sms * 32);  // enough blocks to fill the GPU
    for (int way = 0; way < 3; ++way) {
      CUDA_CHECK(cudaMemset(dc, 0, bytes));
      cudaEvent_t start, stop;
      CUDA_CHECK(cudaEventCreate(&start));
      CUDA_CHECK(cudaEventCreate(&stop));
      CUDA_CHECK(cudaEventRecord(start));
      if (way == 0) add_one_thread<<<1, 1>>>(da, db, dc, n);
      if (way == 1) add_block_stride<<<1, block>>>(da, db, dc, n);
      if (way == 2) add_grid_stride<<<grid, block>>>(da, db, dc, n);
      CUDA_CHECK(cudaGetLastError());
      CUDA_CHECK(cudaEventRecord(stop));
      CUDA_CHECK(cudaEventSynchronize(stop));
      float ms = 0;
      CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
      CUDA_CHECK(cudaMemcpy(c.data(), dc, bytes, cudaMemcpyDeviceToHost));
      int wrong = 0;
      for (int i = 0; i < n; ++i) wrong += c[i] != want[i];
      failures += wrong != 0;
      static const char* names[] = {"one thread      <<<1, 1>>>", "block stride    <<<1, 256>>>",
                                    "grid stride     <<<grid, 256>>>"};
      std::printf("n=%-8d %s %9.3f ms %8.2f GB/s  %s\n", n, names[way], ms, 3.0 * bytes / (ms * 1e6),
                  wrong ? "WRONG" : "ok");
      CUDA_CHECK(cudaEventDestroy(start));
      CUDA_CHECK(cudaEventDestroy(stop));
    }
    CUDA_CHECK(cudaFree(da));
    CUDA_CHECK(cudaFree(db));
    CUDA_CHECK(cudaFree(dc));
  }
  std::printf("%s\n", failures ? "FAILED" : "all results match the CPU");
  return failures ? 1 : 0;
}
