// The machine's measured FMA peak: independent multiply-add chains in registers on 1..N threads,
// with 16-float (AVX-512, when built for it) and 8-float (AVX2) vectors. The chains must fit the
// vector registers (32 with AVX-512, 16 without) or the compiler spills them and the figure says
// more about the stack than about the FMA units. Every GFLOP/s figure in the benchmarks is
// also given as a fraction of the best of these. Usage: fma_peak [threads]  (default: all)
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {
using v16 = float __attribute__((vector_size(64)));
using v8 = float __attribute__((vector_size(32)));

#if defined(__AVX512F__)
constexpr int registers = 32;
#else
constexpr int registers = 16;
#endif

template <class vec>
double run(int threads) {
  constexpr int W = sizeof(vec) / sizeof(float);
  // Enough to cover FMA latency x throughput on current cores (2 pipes x 4-5 cycles), leaving
  // registers for the two operands.
  constexpr int chains = registers == 32 ? 24 : 12;
  constexpr long iters = 200'000'000 / W;
  float sink = 0;
  const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
  {
    vec acc[chains], m = vec{} + 0.999999f, a = vec{} + 1e-7f;
    for (int c = 0; c < chains; ++c) acc[c] = vec{} + float(c + omp_get_thread_num());
    for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 32
      for (int c = 0; c < chains; ++c) acc[c] = acc[c] * m + a;
    }
    for (int c = 0; c < chains; ++c) sink += acc[c][0];
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (sink == 12345.f) std::puts("");
  return 2.0 * W * chains * double(iters) * threads / s / 1e9;
}
}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : omp_get_num_procs();
  double best = 0;
  for (int t = 1; t <= threads; t *= 2) {
    const double g8 = run<v8>(t);
#if defined(__AVX512F__)
    const double g16 = run<v16>(t);
    std::printf("threads %d: 16-float FMA %.1f GFLOP/s, 8-float FMA %.1f GFLOP/s\n", t, g16, g8);
#else
    const double g16 = 0;  // no 16-float registers in this build: the compiler would emulate them
    std::printf("threads %d: 8-float FMA %.1f GFLOP/s (built without AVX-512)\n", t, g8);
#endif
    if (t == threads) best = g16 > g8 ? g16 : g8;
  }
  std::printf("peak %.1f GFLOP/s with %d threads\n", best, threads);
}
