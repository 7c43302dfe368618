// The plain types the GEMM kernels and their callers share: no standard-library headers and no
// inline functions, so the per-ISA kernel files (compiled with AVX2 or AVX-512 flags) define
// nothing with external linkage that the linker could hand to code running on a lower level.
#pragma once

#include <stdint.h>

namespace dltrain::cpu {

// Element (i, j) of a matrix is p[i * rs + j * cs].
struct MatView {
  const float* p;
  int64_t rs, cs;
};
struct MutView {
  float* p;
  int64_t rs, cs;
};

enum class Accumulate { no, yes };  // C = A.B or C += A.B

// What a product does to each element of C as it stores its final value, in this order:
// c = act(c + bias[j]) + residual[i * residual_rs + j], with (i, j) C's row and column. act takes
// Act's values (0 none, 1 relu, 2 relu6). Null pointers skip their step. Zero-initialise it
// (Epilogue{}): no member initialisers, so no constructor that the ISA files would each compile.
struct Epilogue {
  const float* bias;
  const float* residual;
  int64_t residual_rs;
  uint8_t act;
};

// The ISA levels with a kernel set, lowest first.
enum class CpuIsa { sse2, avx2, avx512 };

// Single-threaded C (M,N) (+)= A (M,K) . B (K,N) on one ISA's kernels, then the epilogue if any.
using GemmFn = void (*)(int64_t m, int64_t n, int64_t k, MatView a, MatView b, MutView c, Accumulate acc,
                        const Epilogue* ep);
struct GemmKernels {
  CpuIsa isa;
  GemmFn gemm;
  int mr, nr;  // micro-tile: rows of A and columns of B held in registers
};
const GemmKernels& gemm_kernels_sse2();
const GemmKernels& gemm_kernels_avx2();
const GemmKernels& gemm_kernels_avx512();

}  // namespace dltrain::cpu
