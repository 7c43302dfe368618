// matmul: C = A.B with a naive kernel and a shared-memory tiled kernel, validated against the CPU for sizes that are not multiples of the tile, with GFLOP/s.
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

constexpr int tile = 16;

// A (M,K) . B (K,N) = C (M,N), row-major. One thread per element of C.
__global__ void matmul_naive(const float* a, const float* b, float* c, int m, int n, int k) {
  const int row = blockIdx.y * blockDim.y + threadIdx.y, col = blockIdx.x * blockDim.x + threadIdx.x;
  if (row >= m || col >= n) return;
  float s = 0;
  for (int i = 0; i < k; ++i) s += a[row * k + i] * b[i * n + col];
  c[row * n + col] = s;
}

// Each block loads tile x tile pieces of A and B into shared memory and reuses them tile times.
// Loads outside the matrices read 0, so edges need no special case.
__global__ void matmul_tiled(const float* a, const float* b, float* c, int m, int n, int k) {
  __shared__ float sa[tile][tile], sb[tile][tile];
  const int row = blockIdx.y * tile + threadIdx.y, col = blockIdx.x * tile + threadIdx.x;
  float s = 0;
  for (int t = 0; t < k; t += tile) {
    sa[threadIdx.y][threadIdx.x] = row < m && t + threadIdx.x < k ? a[row * k + t + threadIdx.x] : 0.0f;
    sb[threadIdx.y][threadIdx.x] = col < n && t + threadIdx.y < k ? b[(t + threadIdx.y) * n + col] : 0.0f;
    __syncthreads();
    for (int i = 0; i < tile; ++i) s += sa[threadIdx.y][i] * sb[i][threadIdx.x];
    __syncthreads();
  }
  if (row < m && col < n) c[row * n + col] = s;
}

int main() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no CUDA device: skipped\n");
    return 77;
  }
  int failures = 0;
  const int sizes[][3] = {{1, 1, 1}, {17, 33, 9}, {127, 129, 65}, {513, 257, 1025}, {1024, 1024, 1024}};
  for (const auto& sz : sizes) {
    const int m = sz[0], n = sz[1], k = sz[2];
    std::vector<float> a(size_t(m) * k), b(size_t(k) * n), c(size_t(m) * n);
    for (size_t i = 0; i < a.size(); ++i) a[i] = float(int(i * 7 % 23) - 11) / 16.0f;
    for (size_t i = 0; i < b.size(); ++i) b[i] = float(int(i * 5 % 19) - 9) / 8.0f;
    std::vector<double> want(size_t(m) * n, 0.0);  // the CPU reference, in double
    for (int r = 0; r < m; ++r)
      for (int i = 0; i < k; ++i)
        for (int col = 0; col < n; ++col) want[size_t(r) * n + col] += double(a[size_t(r) * k + i]) * b[size_t(i) * n + col];
    float *da, *db, *dc;
    CUDA_CHECK(cudaMalloc(&da, a.size() * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&db, b.size() * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&dc, c.size() * sizeof(float)));
    CUDA_CHECK(cudaMemcpy(da, a.data(), a.size() * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(db, b.data(), b.size() * sizeof(float), cudaMemcpyHostToDevice));
    // The launch covers C exactly once: ceil(N / tile) x ceil(M / tile) blocks of tile x tile threads.
    const dim3 threads(tile, tile), blocks((n + tile - 1) / tile, (m + tile - 1) / tile);
    for (int way = 0; way < 2; ++way) {
      CUDA_CHECK(cudaMemset(dc, 0, c.size() * sizeof(float)));
      cudaEvent_t start, stop;
      CUDA_CHECK(cudaEventCreate(&start));
      CUDA_CHECK(cudaEventCreate(&stop));
      CUDA_CHECK(cudaEventRecord(start));
      if (way == 0) matmul_naive<<<blocks, threads>>>(da, db, dc, m, n, k);
      else matmul_tiled<<<blocks, threads>>>(da, db, dc, m, n, k);
      CUDA_CHECK(cudaGetLastError());
      CUDA_CHECK(cudaEventRecord(stop));
      CUDA_CHECK(cudaEventSynchronize(stop));
      float ms = 0;
      CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
      CUDA_CHECK(cudaMemcpy(c.data(), dc, c.size() * sizeof(float), cudaMemcpyDeviceToHost));
      double worst = 0;
      for (size_t i = 0; i < c.size(); ++i)
        worst = std::fmax(worst, std::fabs(c[i] - want[i]) / std::fmax(1.0, std::fabs(want[i])));
      const bool ok = worst < 1e-4;
      failures += !ok;
      std::printf("%4dx%4dx%4d %-6s grid %3ux%-3u %8.3f ms %8.1f GFLOP/s  max rel err %.1e %s\n", m, n, k,
                  way ? "tiled" : "naive", blocks.x, blocks.y, ms, 2.0 * m * n * k / (ms * 1e6), worst,
                  ok ? "ok" : "WRONG");
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
