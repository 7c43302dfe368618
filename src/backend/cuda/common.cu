// What the CUDA kernels share: error checks, scratch memory, the tiled GEMM and column sums.
#include <cstdlib>

#include "core/device_memory.hpp"
#include "cuda.hpp"

namespace dltrain::cuda {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    throw Error(std::string("CUDA kernel ") + what + " failed: " + cudaGetErrorString(e),
                "`dltrain doctor` checks the driver and the GPU; compare with --device cpu");
}

void check_launch(const char* kernel) {
  static const bool sync = [] {
    const char* v = std::getenv("DLTRAIN_CUDA_SYNC");
    return v && std::string(v) == "1";
  }();
  check(cudaGetLastError(), kernel);
  if (sync) check(cudaDeviceSynchronize(), kernel);
}

void select(Device device) {
  int now = -1;
  check(cudaGetDevice(&now), "cudaGetDevice");
  if (now != device.index) check(cudaSetDevice(device.index), "cudaSetDevice");
}

namespace {
Device current() {
  int index = 0;
  check(cudaGetDevice(&index), "cudaGetDevice");
  return Device::gpu(index);
}
}  // namespace

Scratch::Scratch(size_t bytes) : device_(current()) { p_ = device_memory::allocate(device_, bytes); }
Scratch::~Scratch() { device_memory::release(device_, p_); }

namespace {
constexpr int tile = 16;

__global__ void gemm_kernel(const float* a, int64_t sam, int64_t sak, const float* b, int64_t sbk, int64_t sbn,
                            const float* bias, float* c, int64_t m, int64_t n, int64_t k) {
  __shared__ float as[tile][tile + 1], bs[tile][tile + 1];
  const int64_t row = blockIdx.y * int64_t(tile) + threadIdx.y, col = blockIdx.x * int64_t(tile) + threadIdx.x;
  float acc = 0;
  for (int64_t k0 = 0; k0 < k; k0 += tile) {
    const int64_t ka = k0 + threadIdx.x, kb = k0 + threadIdx.y;
    as[threadIdx.y][threadIdx.x] = row < m && ka < k ? a[row * sam + ka * sak] : 0.0f;
    bs[threadIdx.y][threadIdx.x] = kb < k && col < n ? b[kb * sbk + col * sbn] : 0.0f;
    __syncthreads();
    for (int j = 0; j < tile; ++j) acc += as[threadIdx.y][j] * bs[j][threadIdx.x];
    __syncthreads();
  }
  if (row < m && col < n) c[row * n + col] = acc + (bias ? bias[col] : 0.0f);
}

__global__ void column_sums_kernel(const float* x, float* out, int64_t rows, int64_t cols) {
  DLT_CUDA_FOR(j, cols) {
    double s = 0;
    for (int64_t r = 0; r < rows; ++r) s += x[r * cols + j];
    out[j] = float(s);
  }
}
}  // namespace

void gemm(const float* a, int64_t sam, int64_t sak, const float* b, int64_t sbk, int64_t sbn, const float* bias,
          float* c, int64_t m, int64_t n, int64_t k) {
  if (m == 0 || n == 0) return;
  const dim3 block(tile, tile), grid(unsigned((n + tile - 1) / tile), unsigned((m + tile - 1) / tile));
  DLT_CHECK(grid.y <= 65535, "gemm: " + std::to_string(m) + " rows exceed the CUDA grid",
            "use a smaller batch size");
  gemm_kernel<<<grid, block>>>(a, sam, sak, b, sbk, sbn, bias, c, m, n, k);
  check_launch("gemm");
}

void column_sums(const float* x, float* out, int64_t rows, int64_t cols) {
  column_sums_kernel<<<blocks(cols), threads>>>(x, out, rows, cols);
  check_launch("column_sums");
}

}  // namespace dltrain::cuda
