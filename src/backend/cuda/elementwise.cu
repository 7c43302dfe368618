// Elementwise kernels on the GPU: activations, dropout (the CPU's hash, so masks match), add,
// accumulate, uint8 -> float conversion.
#include "cuda.hpp"

namespace dltrain::cuda {
namespace {

// hash_uniform of core/rng.cpp, bit for bit: splitmix64's mixer keyed by (key, index).
__device__ inline uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
__device__ inline double hash_uniform(uint64_t key, uint64_t index) {
  return double(mix(mix(key) ^ (index * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL)) >> 11) * 0x1.0p-53;
}

__global__ void activation_forward_kernel(Act act, const float* x, float* y, int64_t n) {
  DLT_CUDA_FOR(i, n) {
    y[i] = activate(act, x[i]);
  }
}

__global__ void activation_backward_kernel(Act act, const float* y, const float* dy, float* dx, int64_t n) {
  DLT_CUDA_FOR(i, n) {
    const bool pass = act == Act::none || (y[i] > 0 && (act == Act::relu || y[i] < 6.0f));
    dx[i] = pass ? dy[i] : 0.0f;
  }
}

__global__ void dropout_kernel(const float* x, float* y, int64_t n, float p, uint64_t key) {
  DLT_CUDA_FOR(i, n) y[i] = hash_uniform(key, uint64_t(i)) >= p ? x[i] / (1.0f - p) : 0.0f;
}

__global__ void add_kernel(const float* a, const float* b, float* y, int64_t n) {
  DLT_CUDA_FOR(i, n) y[i] = a[i] + b[i];
}

__global__ void accumulate_kernel(const float* x, float* y, int64_t n) {
  DLT_CUDA_FOR(i, n) y[i] += x[i];
}

__global__ void u8_to_f32_kernel(const uint8_t* src, float* dst, int64_t n, float scale, float offset) {
  DLT_CUDA_FOR(i, n) dst[i] = float(src[i]) * scale + offset;
}

}  // namespace

void activation_forward(Act act, const float* x, float* y, int64_t n) {
  activation_forward_kernel<<<blocks(n), threads>>>(act, x, y, n);
  check_launch("activation_forward");
}

void activation_backward(Act act, const float* y, const float* dy, float* dx, int64_t n) {
  activation_backward_kernel<<<blocks(n), threads>>>(act, y, dy, dx, n);
  check_launch("activation_backward");
}

void dropout_forward(const float* x, float* y, int64_t n, float p, uint64_t key) {
  dropout_kernel<<<blocks(n), threads>>>(x, y, n, p, key);
  check_launch("dropout_forward");
}

void dropout_backward(const float* dy, float* dx, int64_t n, float p, uint64_t key) {
  dropout_kernel<<<blocks(n), threads>>>(dy, dx, n, p, key);
  check_launch("dropout_backward");
}

void add(const float* a, const float* b, float* y, int64_t n) {
  add_kernel<<<blocks(n), threads>>>(a, b, y, n);
  check_launch("add");
}

void accumulate(const float* x, float* y, int64_t n) {
  accumulate_kernel<<<blocks(n), threads>>>(x, y, n);
  check_launch("accumulate");
}

void u8_to_f32(const uint8_t* src, float* dst, int64_t n, float scale, float offset) {
  u8_to_f32_kernel<<<blocks(n), threads>>>(src, dst, n, scale, offset);
  check_launch("u8_to_f32");
}

}  // namespace dltrain::cuda
