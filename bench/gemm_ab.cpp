// Two builds of the GEMM kernel file in one process, alternated, best of 40 rounds each: on a
// shared host whose neighbours move one-process figures by a third, this is how a kernel change
// is measured (tools/gemm-ab.sh compiles it against a git revision's kernel_impl.hpp). The shapes
// are MobileNetV2's 1x1 convolutions (with their bias/relu6 or residual epilogue) and the cnn
// and mlp dense layers. COLD=1 cycles B through 64 MB so that the weights come from memory.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "backend/cpu/gemm/gemm_types.hpp"

using dltrain::cpu::Accumulate;
using dltrain::cpu::Epilogue;
using dltrain::cpu::GemmFn;
extern GemmFn gemm_old, gemm_new;

namespace {
struct Case {
  const char* name;
  long m, n, k;
  int epilogue;  // 0 none, 1 bias + relu6 (an expansion), 2 bias + residual (a projection)
  bool transposed = false;  // B and C transposed, as a dense layer's input gradient runs
};
const Case cases[] = {
    {"expand 16x96, 896 px", 896, 96, 16, 1},     {"expand 24x144, 256 px", 256, 144, 24, 1},
    {"expand 32x192, 256 px", 256, 192, 32, 1},   {"expand 64x384, 196 px", 196, 384, 64, 1},
    {"project 96x24, 224 px", 224, 24, 96, 2},    {"project 144x32, 196 px", 196, 32, 144, 2},
    {"project 576x96, 196 px", 196, 96, 576, 2},  {"expand 160x960, 49 px", 49, 960, 160, 1},
    {"project 960x320, 49 px", 49, 320, 960, 2},  {"last 320x1280, 49 px", 49, 1280, 320, 1},
    {"mlp dense 32x512x784", 32, 512, 784, 0},    {"cnn dense 32x100x5408", 32, 100, 5408, 0},
    {"cnn dense dx^T 5408x32x100", 5408, 32, 100, 0, true},
};
}  // namespace

int main() {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  std::printf("%-28s %8s %8s %8s  (GFLOP/s, best of 40 alternating rounds)\n", "product", "old", "new", "new/old");
  for (const Case& s : cases) {
    const long copies = std::getenv("COLD") ? long(64e6 / (4.0 * s.k * s.n)) + 1 : 1;
    std::vector<float> a(s.m * s.k), b(s.k * s.n * copies), c(s.m * s.n), bias(s.n), res(s.m * s.n);
    for (auto* v : {&a, &b, &bias, &res})
      for (float& x : *v) x = u(rng);
    Epilogue ep{};
    if (s.epilogue) {
      ep.bias = bias.data();
      ep.act = s.epilogue == 1 ? 2 : 0;
      if (s.epilogue == 2) ep.residual = res.data(), ep.residual_rs = s.n;
    }
    const double flop = 2.0 * s.m * s.n * s.k;
    const long reps = std::max(1L, long(4e7 / flop));
    double best[2] = {1e30, 1e30};
    for (int round = 0; round < 40; ++round)
      for (int which = 0; which < 2; ++which) {
        const GemmFn f = which ? gemm_new : gemm_old;
        const auto t0 = std::chrono::steady_clock::now();
        for (long r = 0; r < reps; ++r)
          f(s.m, s.n, s.k, {a.data(), s.k, 1},
            {b.data() + (r % copies) * s.k * s.n, s.transposed ? 1 : s.n, s.transposed ? s.k : 1},
            {c.data(), s.transposed ? 1 : s.n, s.transposed ? s.m : 1}, Accumulate::no, s.epilogue ? &ep : nullptr);
        const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(reps);
        best[which] = std::min(best[which], t);
      }
    std::printf("%-28s %8.1f %8.1f %8.3f\n", s.name, flop / best[0] / 1e9, flop / best[1] / 1e9, best[0] / best[1]);
  }
}
