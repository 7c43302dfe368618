// Which GEMM kernels run: CPUID feature bits plus the OS's register-state support (XGETBV), then
// an optional lower level from DLTRAIN_CPU_ISA (how tests and users check the lower paths).
// Also the threaded split of a product. Compiled for the baseline ISA.
#include <cpuid.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../parallel.hpp"
#include "dltrain/core.hpp"
#include "gemm.hpp"

namespace dltrain::cpu {
namespace {

uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}

CpuIsa probe() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return CpuIsa::sse2;
  const bool osxsave = c & bit_OSXSAVE, fma = c & bit_FMA, avx = c & bit_AVX;
  if (!osxsave || !avx) return CpuIsa::sse2;
  const uint64_t xcr0 = xgetbv0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;      // SSE and AVX state saved by the OS
  const bool zmm_state = (xcr0 & 0xe6) == 0xe6;    // plus opmask and the upper ZMM registers
  if (!ymm_state || __get_cpuid_max(0, nullptr) < 7) return CpuIsa::sse2;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx2 = b & bit_AVX2;
  const bool avx512 = (b & bit_AVX512F) && (b & bit_AVX512BW) && (b & bit_AVX512VL) && (b & bit_AVX512DQ);
  if (avx512 && avx2 && fma && zmm_state) return CpuIsa::avx512;
  if (avx2 && fma) return CpuIsa::avx2;
  return CpuIsa::sse2;
}

const GemmKernels& kernels_for(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::avx512: return gemm_kernels_avx512();
    case CpuIsa::avx2: return gemm_kernels_avx2();
    default: return gemm_kernels_sse2();
  }
}

struct Choice {
  const GemmKernels* kernels;
  std::string why;
  std::string error, hint;  // a DLTRAIN_CPU_ISA that cannot be followed; the detected level runs
};

// Never throws: the first product may run inside an OpenMP region, where an exception would end
// the process. An unusable DLTRAIN_CPU_ISA is kept as an error for check_gemm_choice().
Choice choose() {
  const CpuIsa have = detected_isa();
  const char* env = std::getenv("DLTRAIN_CPU_ISA");
  if (!env || !*env) return {&kernels_for(have), "detected", "", ""};
  for (CpuIsa isa : {CpuIsa::sse2, CpuIsa::avx2, CpuIsa::avx512}) {
    if (std::strcmp(env, isa_name(isa)) != 0) continue;
    if (isa > have)
      return {&kernels_for(have), "detected", std::string("DLTRAIN_CPU_ISA=") + env + ": this CPU only runs up to " +
              isa_name(have), "unset DLTRAIN_CPU_ISA, or name a lower level: sse2, avx2, avx512"};
    return {&kernels_for(isa), std::string("DLTRAIN_CPU_ISA=") + env, "", ""};
  }
  return {&kernels_for(have), "detected", std::string("DLTRAIN_CPU_ISA=") + env + " is not a kernel level",
          "use one of sse2, avx2, avx512, or unset it"};
}

const Choice& choice() {
  static const Choice c = choose();
  return c;
}

}  // namespace

const char* isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::avx512: return "avx512";
    case CpuIsa::avx2: return "avx2";
    default: return "sse2";
  }
}

CpuIsa detected_isa() {
  static const CpuIsa isa = probe();
  return isa;
}

const GemmKernels& gemm_kernels() { return *choice().kernels; }
void check_gemm_choice() {
  if (!choice().error.empty()) throw Error(choice().error, choice().hint);
}
std::string gemm_choice() { return choice().why; }

const GemmKernels* const* runnable_gemm_kernels(int& count) {
  static const GemmKernels* all[3];
  count = 0;
  for (CpuIsa isa : {CpuIsa::sse2, CpuIsa::avx2, CpuIsa::avx512})
    if (isa <= detected_isa()) all[count++] = &kernels_for(isa);
  return all;
}

void gemm_parallel(int64_t m, int64_t n, int64_t k, MatView a, MatView b, MutView c, Accumulate acc) {
  const GemmKernels& kern = gemm_kernels();
  const int64_t threads = op_threads();
  const int64_t flops_per_thread_min = int64_t{1} << 18;  // below this a split costs more than it saves
  if (threads == 1 || m * n * k < threads * flops_per_thread_min) return kern.gemm(m, n, k, a, b, c, acc, nullptr);
  // Rows or columns, whichever splits into whole micro-tiles with enough of them per thread.
  const int64_t row_tiles = (m + kern.mr - 1) / kern.mr, col_tiles = (n + kern.nr - 1) / kern.nr;
  if (row_tiles >= 4 * threads || (row_tiles >= threads && row_tiles >= col_tiles)) {
    parallel_chunks(row_tiles, 1, [&](int64_t t0, int64_t t1, int64_t) {
      const int64_t i0 = t0 * kern.mr, i1 = std::min(m, t1 * kern.mr);
      kern.gemm(i1 - i0, n, k, {a.p + i0 * a.rs, a.rs, a.cs}, b, {c.p + i0 * c.rs, c.rs, c.cs}, acc, nullptr);
    });
    return;
  }
  if (col_tiles >= 4 * threads) {
    parallel_chunks(col_tiles, 1, [&](int64_t t0, int64_t t1, int64_t) {
      const int64_t j0 = t0 * kern.nr, j1 = std::min(n, t1 * kern.nr);
      kern.gemm(m, j1 - j0, k, a, {b.p + j0 * b.cs, b.rs, b.cs}, {c.p + j0 * c.cs, c.rs, c.cs}, acc, nullptr);
    });
    return;
  }
  // Few rows and columns, long K (a dense layer's forward at small batch): split K, sum in order.
  const int64_t chunks = chunk_count(k, 64);
  // The calling thread's buffer, kept across calls (this split can run every step). The workers
  // must use this pointer: naming the thread_local inside the region would give them their own.
  thread_local std::vector<float> partial;
  partial.resize(size_t(chunks - 1) * size_t(m * n));
  float* const partials = partial.data();
  parallel_chunks(k, 64, [&](int64_t p0, int64_t p1, int64_t t) {
    const MatView ap{a.p + p0 * a.cs, a.rs, a.cs}, bp{b.p + p0 * b.rs, b.rs, b.cs};
    if (t == 0)
      kern.gemm(m, n, p1 - p0, ap, bp, c, acc, nullptr);
    else
      kern.gemm(m, n, p1 - p0, ap, bp, {partials + (t - 1) * m * n, n, 1}, Accumulate::no, nullptr);
  });
  for (int64_t t = 1; t < chunks; ++t) {
    const float* part = partials + (t - 1) * m * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c.p[i * c.rs + j * c.cs] += part[i * n + j];
  }
}

}  // namespace dltrain::cpu
