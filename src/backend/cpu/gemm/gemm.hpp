// Single-precision matrix product with register-blocked micro-kernels compiled once per x86-64 ISA
// level (AVX-512, AVX2+FMA, SSE2) and chosen at run time from what CPUID reports, never from a CPU
// model list. Matrices are strided views, so transposes cost nothing; B is read in place when its
// rows are contiguous, else packed a block at a time. Not a BLAS: only what dltrain's ops need.
#pragma once

#include <cstdint>
#include <string>

#include "gemm_types.hpp"

namespace dltrain::cpu {

const char* isa_name(CpuIsa isa);

// What this CPU (and its OS, via XGETBV) can run, from CPUID feature bits.
CpuIsa detected_isa();
// The kernels in use: the detected level, or a lower one named by DLTRAIN_CPU_ISA (sse2, avx2,
// avx512). Read once, on first use; never throws (it may first run inside an OpenMP region).
const GemmKernels& gemm_kernels();
// Throws when DLTRAIN_CPU_ISA names a level the CPU lacks or no level (the detected one runs then).
void check_gemm_choice();
// Why that level: "detected" or "DLTRAIN_CPU_ISA=avx2".
std::string gemm_choice();
// The kernel sets this CPU can run, for tests that check every path.
const GemmKernels* const* runnable_gemm_kernels(int& count);

// Single-threaded product on the chosen kernels; the epilogue, if any, as C is stored.
inline void gemm(int64_t m, int64_t n, int64_t k, MatView a, MatView b, MutView c, Accumulate acc,
                 const Epilogue* ep = nullptr) {
  gemm_kernels().gemm(m, n, k, a, b, c, acc, ep);
}
// The same product split over dltrain's threads (by rows, by columns, or, when both are small,
// by K with per-thread partial products added in thread order: deterministic for a thread count).
void gemm_parallel(int64_t m, int64_t n, int64_t k, MatView a, MatView b, MutView c, Accumulate acc);

}  // namespace dltrain::cpu
