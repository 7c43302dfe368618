// dltrain's GEMM against OpenBLAS (linked here only, as the peer) on the products dltrain runs:
// the cnn and mlp dense layers at batch 32 and 256 (forward, weight gradient, input gradient) and
// MobileNetV2's 1x1 convolutions on a tile of 256 pixels. One thread, as the ops call it.
// OpenBLAS picks its kernels from its CPU model table (OPENBLAS_CORETYPE overrides; doctor says).
// Run: build/bench/gemm_bench [--benchmark_filter=mobilenet]
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <vector>

#include "backend/cpu/gemm/gemm.hpp"
#include "dltrain/core.hpp"

namespace dltrain {
namespace {

// C (M,N) = A . B with A (M,K) row-major or transposed, B (K,N) row-major or transposed.
struct Shape3 {
  const char* name;
  int64_t m, n, k;
  bool ta, tb;
};
const Shape3 shapes[] = {
    {"cnn_dense_fwd_b32", 32, 100, 5408, false, false},  {"cnn_dense_dw_b32", 5408, 100, 32, true, false},
    {"cnn_dense_dxT_b32", 5408, 32, 100, false, true},    {"cnn_dense_fwd_b256", 256, 100, 5408, false, false},
    {"mlp_dense1_fwd_b32", 32, 512, 784, false, false},   {"mlp_dense1_dw_b32", 784, 512, 32, true, false},
    {"mobilenet_expand_16x96", 896, 96, 16, false, false},  {"mobilenet_project_96x24", 224, 24, 96, false, false},
    {"mobilenet_expand_24x144", 256, 144, 24, false, false}, {"mobilenet_project_576x96", 256, 96, 576, false, false},
    {"mobilenet_expand_160x960", 256, 960, 160, false, false}, {"mobilenet_last_320x1280", 256, 1280, 320, false, false},
};

std::vector<float> values(int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  Rng rng(7);
  for (float& x : v) x = rng.uniform(-1, 1);
  return v;
}

void run(benchmark::State& st, const Shape3& s, bool ours) {
  const std::vector<float> a = values(s.m * s.k), b = values(s.k * s.n);
  std::vector<float> c(size_t(s.m * s.n));
  const cpu::MatView av = s.ta ? cpu::MatView{a.data(), 1, s.m} : cpu::MatView{a.data(), s.k, 1};
  const cpu::MatView bv = s.tb ? cpu::MatView{b.data(), 1, s.k} : cpu::MatView{b.data(), s.n, 1};
  for (auto _ : st) {
    if (ours)
      cpu::gemm(s.m, s.n, s.k, av, bv, {c.data(), s.n, 1}, cpu::Accumulate::no);
    else
      cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans, int(s.m),
                  int(s.n), int(s.k), 1.0f, a.data(), s.ta ? int(s.m) : int(s.k), b.data(), s.tb ? int(s.k) : int(s.n),
                  0.0f, c.data(), int(s.n));
    benchmark::DoNotOptimize(c.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(s.m * s.n * s.k), benchmark::Counter::kIsIterationInvariantRate);
}

const bool registered = [] {
  openblas_set_num_threads(1);
  for (const Shape3& s : shapes) {
    benchmark::RegisterBenchmark((std::string("dltrain/") + s.name).c_str(), [&s](benchmark::State& st) { run(st, s, true); });
    benchmark::RegisterBenchmark((std::string("openblas/") + s.name).c_str(), [&s](benchmark::State& st) { run(st, s, false); });
  }
  return true;
}();

}  // namespace
}  // namespace dltrain

BENCHMARK_MAIN();
