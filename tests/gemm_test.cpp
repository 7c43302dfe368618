// The GEMM kernels of every ISA level this CPU can run (SSE2, AVX2+FMA, AVX-512), each against a
// double-precision triple loop, on odd sizes, K blocks and every layout the ops use (transposed A,
// B packed or read in place, C written transposed), plain and accumulating; then the threaded split.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backend/cpu/gemm/gemm.hpp"
#include "helpers.hpp"

namespace dltrain {
namespace {
using cpu::Accumulate;
using cpu::GemmKernels;

struct GemmCase {
  int64_t m, n, k;
  bool ta, tb, tc;  // A, B or C stored transposed
  Accumulate acc;
  std::string name() const {
    return "m" + std::to_string(m) + "_n" + std::to_string(n) + "_k" + std::to_string(k) + (ta ? "_At" : "") +
           (tb ? "_Bt" : "") + (tc ? "_Ct" : "") + (acc == Accumulate::yes ? "_acc" : "");
  }
};

struct Operands {
  std::vector<float> a, b, c, want;
  cpu::MatView av, bv;
  cpu::MutView cv;
};

std::vector<float> random_values(int64_t n, uint64_t seed) {
  if (n == 0) return {};
  const Tensor t = test::random_tensor({n}, seed);
  return {t.values().begin(), t.values().end()};
}

// The operands of case t; with `reference`, also the product in double precision (want).
Operands make(const GemmCase& t, uint64_t seed, bool reference = true) {
  Operands o;
  o.a = random_values(t.m * t.k, seed);
  o.b = random_values(t.k * t.n, seed + 1);
  o.c = random_values(t.m * t.n, seed + 2);
  o.av = t.ta ? cpu::MatView{o.a.data(), 1, t.m} : cpu::MatView{o.a.data(), t.k, 1};
  o.bv = t.tb ? cpu::MatView{o.b.data(), 1, t.k} : cpu::MatView{o.b.data(), t.n, 1};
  o.cv = t.tc ? cpu::MutView{o.c.data(), 1, t.m} : cpu::MutView{o.c.data(), t.n, 1};
  o.want = o.c;
  for (int64_t i = 0; i < t.m && reference; ++i)
    for (int64_t j = 0; j < t.n; ++j) {
      double s = t.acc == Accumulate::yes ? o.c[size_t(i * o.cv.rs + j * o.cv.cs)] : 0.0;
      for (int64_t p = 0; p < t.k; ++p)
        s += double(o.av.p[i * o.av.rs + p * o.av.cs]) * o.bv.p[p * o.bv.rs + j * o.bv.cs];
      o.want[size_t(i * o.cv.rs + j * o.cv.cs)] = float(s);
    }
  return o;
}

// float32 sums of k products drift from the double sum by about eps * sqrt(k) of the terms' size.
double tolerance(int64_t k) { return 1e-6 + 2e-6 * std::sqrt(double(k)); }

class Gemm : public ::testing::TestWithParam<GemmCase> {};

TEST_P(Gemm, EveryIsaLevelMatchesDoubleLoops) {
  const GemmCase t = GetParam();
  int count = 0;
  const GemmKernels* const* levels = cpu::runnable_gemm_kernels(count);
  ASSERT_GE(count, 1);
  for (int l = 0; l < count; ++l) {
    Operands o = make(t, 10);
    levels[l]->gemm(t.m, t.n, t.k, o.av, o.bv, o.cv, t.acc, nullptr);
    EXPECT_TRUE(test::close(o.c, o.want, tolerance(t.k))) << cpu::isa_name(levels[l]->isa) << " kernels";
  }
  if (count < 3) std::printf("[  NOTE    ] this CPU runs %d of the 3 kernel levels; the others were not checked\n", count);
}

// The fused epilogue gives exactly what the product followed by bias, activation and residual
// passes gives (the same float operations in the same order), for every activation.
TEST_P(Gemm, EpilogueEqualsSeparatePasses) {
  const GemmCase t = GetParam();
  std::vector<float> bias = random_values(t.n, 30), residual = random_values(t.m * t.n, 31);
  for (float& v : bias) v *= 8;  // values on both sides of relu6's 0 and 6
  int count = 0;
  const GemmKernels* const* levels = cpu::runnable_gemm_kernels(count);
  for (int l = 0; l < count; ++l)
    for (int parts = 0; parts < 16; ++parts) {  // every activation, with and without bias and residual
      const uint8_t act = uint8_t(parts % 3);
      Operands fused = make(t, 40, false), separate = make(t, 40, false);
      const cpu::Epilogue ep{parts & 4 ? nullptr : bias.data(), parts & 8 ? nullptr : residual.data(), t.n, act};
      levels[l]->gemm(t.m, t.n, t.k, fused.av, fused.bv, fused.cv, t.acc, &ep);
      levels[l]->gemm(t.m, t.n, t.k, separate.av, separate.bv, separate.cv, t.acc, nullptr);
      for (int64_t i = 0; i < t.m; ++i)
        for (int64_t j = 0; j < t.n; ++j) {
          float& x = separate.c[size_t(i * separate.cv.rs + j * separate.cv.cs)];
          if (ep.bias) x += bias[size_t(j)];
          if (act != 0) x = std::max(x, 0.0f);
          if (act == 2) x = std::min(x, 6.0f);
          if (ep.residual) x += residual[size_t(i * t.n + j)];
        }
      ASSERT_EQ(fused.c, separate.c) << cpu::isa_name(levels[l]->isa) << " kernels, act " << int(act);
    }
}

TEST_P(Gemm, ThreadedSplitMatchesDoubleLoops) {
  const GemmCase t = GetParam();
  Operands o = make(t, 20);
  cpu::gemm_parallel(t.m, t.n, t.k, o.av, o.bv, o.cv, t.acc);
  EXPECT_TRUE(test::close(o.c, o.want, tolerance(t.k)));
}

std::vector<GemmCase> cases() {
  std::vector<GemmCase> all;
  const std::vector<std::array<int64_t, 3>> sizes = {{1, 1, 1},   {13, 7, 5},    {12, 32, 256}, {25, 100, 300},
                                                     {37, 17, 513}, {32, 100, 5408}, {300, 100, 32}, {6, 48, 0},
                                                     {49, 272, 300},  // B rows over 1 KB apart: packed
                                                     {3, 10, 60000}};  // few rows and columns: split over K
  for (auto [m, n, k] : sizes)
    for (int layout = 0; layout < 8; ++layout)
      all.push_back({m, n, k, bool(layout & 1), bool(layout & 2), bool(layout & 4),
                     layout % 3 == 0 ? Accumulate::yes : Accumulate::no});
  return all;
}
INSTANTIATE_TEST_SUITE_P(Shapes, Gemm, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name(); });

TEST(GemmChoice, FollowsTheEnvironmentOrTheCpu) {
  const char* env = std::getenv("DLTRAIN_CPU_ISA");
  const std::string want = env && *env ? env : cpu::isa_name(cpu::detected_isa());
  EXPECT_EQ(cpu::isa_name(cpu::gemm_kernels().isa), want) << "chosen because: " << cpu::gemm_choice();
}

}  // namespace
}  // namespace dltrain
