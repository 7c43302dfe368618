// Machine inspection and `cuda run` support that needs no GPU: the %%cu stripping, the report's
// JSON, nvcc discovery and the build cache (when a CUDA toolkit is installed).
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "dltrain/system.hpp"
#include "helpers.hpp"

namespace dltrain {
namespace {

TEST(CellMagic, LeadingPercentCuLineIsRemovedKeepingLineNumbers) {
  EXPECT_EQ(strip_cell_magic("%%cu\nint main() {}\n"), "\nint main() {}\n");
  EXPECT_EQ(strip_cell_magic("  %%cu  \r\nint x;"), "\nint x;");
  EXPECT_EQ(strip_cell_magic("%%cu"), "");
  EXPECT_EQ(strip_cell_magic("int main() {}\n%%cu\n"), "int main() {}\n%%cu\n");  // only a first line
  EXPECT_EQ(strip_cell_magic("%%cuda\nx"), "%%cuda\nx");                          // another magic
  EXPECT_EQ(strip_cell_magic(""), "");
}

TEST(Report, JsonHasEveryPart) {
  const SystemReport r = inspect_system(false);
  const auto j = nlohmann::json::parse(r.to_json());
  for (const char* key : {"cpu", "kernels", "cuda", "nvcc", "smoke_test", "device", "problems"}) EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_GT(j["cpu"]["threads"].get<int>(), 0);
  EXPECT_TRUE(j["cpu"]["isa"].contains("AVX2"));
  EXPECT_EQ(j["kernels"]["paths"].size(), r.kernels.paths.size());
  if (r.cuda.gpus.empty()) {
    EXPECT_EQ(j["device"], "cpu");
    EXPECT_FALSE(r.cuda.driver_error.empty());
  }
}

// The kernel level from CPUID agrees with the flags the kernel reports in /proc/cpuinfo.
TEST(Kernels, DetectedLevelAgreesWithProcCpuinfo) {
  std::ifstream f("/proc/cpuinfo");
  std::string line, flags;
  while (std::getline(f, line))
    if (line.rfind("flags", 0) == 0) {
      flags = line + " ";
      break;
    }
  if (flags.empty()) GTEST_SKIP() << "/proc/cpuinfo has no flags line here";
  auto has = [&](const char* flag) { return flags.find(std::string(" ") + flag + " ") != std::string::npos; };
  const std::string want = has("avx512f") && has("avx512bw") && has("avx512vl") && has("avx512dq") ? "avx512"
                           : has("avx2") && has("fma")                                             ? "avx2"
                                                                                                    : "sse2";
  EXPECT_EQ(inspect_kernels().detected, want) << flags;
}

TEST(Nvcc, ForcedPathIsHonoured) {
  ::setenv("DLTRAIN_NVCC", "/no/such/nvcc", 1);
  EXPECT_TRUE(find_nvcc().path.empty());
  ::unsetenv("DLTRAIN_NVCC");
}

TEST(CudaBuild, CompilesOnceThenUsesTheCache) {
  const NvccInfo nvcc = find_nvcc();
  if (nvcc.path.empty()) GTEST_SKIP() << "nvcc is not installed: the CUDA toolkit is needed to compile";
  test::TempDir cache;
  ::setenv("DLTRAIN_CACHE", cache.path().c_str(), 1);
  const std::string src = "int main() { return 3; }\n";
  const CudaBuild first = build_cuda(src, "sm_80", {}, nvcc);
  EXPECT_FALSE(first.cached);
  EXPECT_TRUE(std::filesystem::exists(first.binary));
  EXPECT_EQ(run_program({first.binary}), 3);  // host-only code runs without a GPU
  const CudaBuild again = build_cuda(src, "sm_80", {}, nvcc);
  EXPECT_TRUE(again.cached);
  EXPECT_EQ(again.binary, first.binary);
  const CudaBuild other_flags = build_cuda(src, "sm_80", {"-DX=1"}, nvcc);
  EXPECT_NE(other_flags.binary, first.binary);
  EXPECT_THROW(build_cuda("int main( {", "sm_80", {}, nvcc), Error);
  ::unsetenv("DLTRAIN_CACHE");
}

TEST(Processes, ExitStatusAndSignalsAreReported) {
  std::string out;
  EXPECT_EQ(run_program({"sh", "-c", "echo hi; exit 4"}, out), 4);
  EXPECT_EQ(out, "hi\n");
  EXPECT_EQ(run_program({"sh", "-c", "kill -SEGV $$"}), 128 + 11);
  EXPECT_THROW(run_program({"/no/such/program"}), Error);
}

TEST(Examples, AllFourAreBuiltIn) {
  std::vector<std::string> names;
  for (const CudaExample& e : cuda_examples()) {
    names.push_back(e.name);
    EXPECT_NE(e.source.find("CUDA_CHECK"), std::string::npos) << e.name;
    EXPECT_EQ(e.source.find("cudaMallocManaged"), std::string::npos) << e.name;
    EXPECT_FALSE(e.description.empty());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"hello", "matmul", "max_reduction", "vector_add"}));
}

}  // namespace
}  // namespace dltrain
