// Checks that need an NVIDIA GPU (CTest label `gpu`): doctor's smoke test passes, and every
// built-in example compiles through `dltrain cuda run` and reports results matching the CPU.
// Without a GPU each test is skipped and says why.
#include <gtest/gtest.h>

#include <cstdlib>

#include "dltrain/system.hpp"
#include "helpers.hpp"

namespace dltrain {
namespace {

const CudaInfo& cuda() {
  static const CudaInfo info = inspect_cuda();
  return info;
}
// The binary under test; DLTRAIN_TEST_BINARY overrides it when a prebuilt bundle is run elsewhere
// (tools/gpu-bundle.sh).
const char* binary() {
  const char* over = std::getenv("DLTRAIN_TEST_BINARY");
  return over != nullptr ? over : DLTRAIN_BINARY;
}
#define REQUIRE_GPU() \
  if (cuda().gpus.empty()) GTEST_SKIP() << "no NVIDIA GPU: " << cuda().driver_error

TEST(Gpu, DoctorSmokeTestPasses) {
  REQUIRE_GPU();
  const SystemReport r = inspect_system(true);
  EXPECT_TRUE(r.smoke.ran);
  EXPECT_TRUE(r.smoke.passed) << r.smoke.detail;
  std::string out;
  EXPECT_EQ(run_program({binary(), "doctor"}, out), 0) << out;
  EXPECT_NE(out.find("passed"), std::string::npos) << out;
}

class Example : public ::testing::TestWithParam<std::string> {};

TEST_P(Example, RunsThroughCudaRunAndMatchesTheCpu) {
  REQUIRE_GPU();
  test::TempDir cache;
  ::setenv("DLTRAIN_CACHE", cache.path().c_str(), 1);
  std::string out;
  const int rc = run_program({binary(), "cuda", "run", GetParam()}, out);
  ::unsetenv("DLTRAIN_CACHE");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.find("WRONG"), std::string::npos) << out;
  std::printf("%s", out.c_str());
}
INSTANTIATE_TEST_SUITE_P(BuiltIn, Example, ::testing::Values("hello", "vector_add", "max_reduction", "matmul"));

}  // namespace
}  // namespace dltrain
