// CPU and kernel inspection: /proc/cpuinfo, the compiler's CPU feature checks, and which kernels
// the hot paths run (the GEMM level chosen from CPUID, the level the other kernels were built for).
#include <fstream>
#include <set>
#include <thread>

#include "backend/cpu/gemm/gemm.hpp"
#include "dltrain/core.hpp"
#include "dltrain/system.hpp"


namespace dltrain {

bool CpuInfo::has(const std::string& name) const {
  for (const auto& [n, yes] : isa)
    if (n == name) return yes;
  return false;
}

CpuInfo inspect_cpu() {
  CpuInfo c;
  std::ifstream f("/proc/cpuinfo");
  std::set<std::pair<std::string, std::string>> cores;
  std::string line, physical_id;
  while (std::getline(f, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon), value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    key.erase(key.find_last_not_of(" \t") + 1);
    if (key == "model name" && c.model.empty()) c.model = value;
    if (key == "physical id") physical_id = value;
    if (key == "core id") cores.insert({physical_id, value});
  }
  c.logical = int(std::thread::hardware_concurrency());
  c.physical = cores.empty() ? c.logical : int(cores.size());
  c.threads_used = num_threads();
  __builtin_cpu_init();
  c.isa = {{"SSE4.2", __builtin_cpu_supports("sse4.2")},         {"AVX", __builtin_cpu_supports("avx")},
           {"AVX2", __builtin_cpu_supports("avx2")},             {"FMA", __builtin_cpu_supports("fma")},
           {"AVX-512F", __builtin_cpu_supports("avx512f")},      {"AVX-512BW", __builtin_cpu_supports("avx512bw")},
           {"AVX-512VL", __builtin_cpu_supports("avx512vl")},    {"AVX-512VNNI", __builtin_cpu_supports("avx512vnni")},
           {"AVX-512BF16", __builtin_cpu_supports("avx512bf16")}};
  return c;
}

KernelInfo inspect_kernels() {
  KernelInfo k;
  cpu::check_gemm_choice();
  k.detected = cpu::isa_name(cpu::detected_isa());
  const cpu::GemmKernels& g = cpu::gemm_kernels();
  k.gemm = cpu::isa_name(g.isa);
  k.gemm_why = cpu::gemm_choice();
  k.gemm_mr = g.mr;
  k.gemm_nr = g.nr;
  // The flags this file was compiled with are the library's, so those of every other fast kernel.
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
  k.compiled = "avx512";
#elif defined(__AVX2__) && defined(__FMA__)
  k.compiled = "avx2";
#else
  k.compiled = "sse2";
#endif
  k.threading = std::to_string(num_threads()) + " OpenMP threads, one contiguous chunk each";
  const std::string gemm = "dltrain GEMM, " + k.gemm + " (" + std::to_string(g.mr) + "x" + std::to_string(g.nr) +
                           " register tile, " + k.gemm_why + ")";
  k.paths = {{"dense layers", gemm},
             {"wide and 1x1 convolutions", gemm + " over im2col tiles"},
             {"narrow conv + max-pool, depthwise, pools, optimizers", "vectorised loops built for " + k.compiled}};
  return k;
}

}  // namespace dltrain
