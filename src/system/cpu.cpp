// CPU and BLAS inspection: /proc/cpuinfo, the compiler's CPU feature checks, OpenBLAS's own report.
#include <fstream>
#include <set>
#include <thread>

#include "dltrain/core.hpp"
#include "dltrain/system.hpp"

extern "C" {
char* openblas_get_config(void);
char* openblas_get_corename(void);
}

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

BlasInfo inspect_blas() {
  BlasInfo b;
  b.config = openblas_get_config();
  b.core = openblas_get_corename();
  b.name = b.config.substr(0, b.config.find(' ', b.config.find(' ') + 1));  // "OpenBLAS 0.3.21"
  b.threading = "single-threaded calls inside dltrain's " + std::to_string(num_threads()) + " OpenMP threads";
  return b;
}

}  // namespace dltrain
