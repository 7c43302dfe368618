// inspect_system: everything `dltrain doctor` shows, the problems found and a hint for each.
#include <nlohmann/json.hpp>

#include "dltrain/system.hpp"

namespace dltrain {
namespace {
std::string cuda_version(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }
int level_rank(const std::string& level) { return level == "avx512" ? 2 : level == "avx2" ? 1 : 0; }
}  // namespace

SystemReport inspect_system(bool smoke) {
  SystemReport r;
  r.cpu = inspect_cpu();
  r.kernels = inspect_kernels();
  r.cuda = inspect_cuda();
  r.nvcc = find_nvcc();
  if (!r.cpu.has("AVX2"))
    r.problems.push_back({"this CPU has no AVX2", "dltrain falls back to SSE2 kernels: expect epochs several times "
                                                  "slower than on a CPU from 2015 or later"});
  const KernelInfo& k = r.kernels;
  if (k.gemm != k.detected)
    r.problems.push_back({"the GEMM kernels run at " + k.gemm + " although this CPU runs " + k.detected + " (" +
                              k.gemm_why + ")",
                          "unset DLTRAIN_CPU_ISA unless you are checking the lower kernels on purpose"});
  if (level_rank(k.compiled) < level_rank(k.detected))
    r.problems.push_back({"dltrain was built for " + k.compiled + " but this CPU runs " + k.detected +
                              ": its convolution, pooling and optimizer loops use the narrower vectors",
                          "rebuild on this machine with -DDLTRAIN_NATIVE=ON (the default) for the full speed"});
  if (r.cuda.runtime_version && r.cuda.driver_version && r.cuda.driver_version < r.cuda.runtime_version)
    r.problems.push_back({"the NVIDIA driver supports CUDA " + cuda_version(r.cuda.driver_version) +
                              " but dltrain's CUDA runtime is " + cuda_version(r.cuda.runtime_version),
                          "update the NVIDIA driver (or build dltrain with a CUDA toolkit no newer than the driver)"});
  if (r.nvcc.path.empty())
    r.problems.push_back({"nvcc not found", "install the CUDA toolkit to compile CUDA programs (`dltrain cuda run`)"});
  else if (!r.nvcc.on_path)
    r.problems.push_back({"nvcc is installed at " + r.nvcc.path + " but not on PATH",
                          "add its folder to PATH, e.g. export PATH=" + r.nvcc.path.substr(0, r.nvcc.path.rfind('/')) +
                              ":$PATH"});
  if (r.cuda.gpus.empty()) {
    r.smoke.detail = "no GPU: training will use the CPU";
  } else if (smoke) {
    r.smoke = cuda_smoke_test();
    if (r.smoke.ran && !r.smoke.passed)
      r.problems.push_back({"the GPU smoke test failed: " + r.smoke.detail,
                            "if it says out of memory or busy, another process holds the GPU (see nvidia-smi)"});
  }
  return r;
}

std::string SystemReport::to_json() const {
  nlohmann::ordered_json j;
  nlohmann::ordered_json isa;
  for (const auto& [name, yes] : cpu.isa) isa[name] = yes;
  j["cpu"] = {{"model", cpu.model}, {"cores", cpu.physical}, {"threads", cpu.logical},
              {"threads_used", cpu.threads_used}, {"isa", isa}};
  nlohmann::ordered_json paths;
  for (const auto& [path, what] : kernels.paths) paths[path] = what;
  j["kernels"] = {{"detected", kernels.detected}, {"gemm", kernels.gemm},         {"gemm_why", kernels.gemm_why},
                  {"gemm_tile", std::to_string(kernels.gemm_mr) + "x" + std::to_string(kernels.gemm_nr)},
                  {"compiled", kernels.compiled}, {"threading", kernels.threading}, {"paths", paths}};
  nlohmann::ordered_json gpus = nlohmann::ordered_json::array();
  for (const GpuInfo& g : cuda.gpus)
    gpus.push_back({{"index", g.index}, {"name", g.name}, {"compute_capability", std::to_string(g.cc_major) + "." +
                                                                                   std::to_string(g.cc_minor)},
                    {"memory_bytes", g.memory_bytes}, {"sm_count", g.sm_count}});
  j["cuda"] = {{"driver_version", cuda.driver_version ? cuda_version(cuda.driver_version) : ""},
               {"driver_error", cuda.driver_error},
               {"runtime_version", cuda.runtime_version ? cuda_version(cuda.runtime_version) : ""},
               {"cublas_version", cuda.cublas_version},
               {"cudnn_version", cuda.cudnn_version},
               {"gpus", gpus}};
  j["nvcc"] = {{"path", nvcc.path}, {"on_path", nvcc.on_path}, {"version", nvcc.version}};
  j["smoke_test"] = {{"ran", smoke.ran}, {"passed", smoke.passed}, {"detail", smoke.detail},
                     {"milliseconds", smoke.milliseconds}};
  j["device"] = cuda.gpus.empty() ? "cpu" : "cuda";
  nlohmann::ordered_json problems = nlohmann::ordered_json::array();
  for (const Problem& p : this->problems) problems.push_back({{"problem", p.problem}, {"hint", p.hint}});
  j["problems"] = problems;
  return j.dump(2);
}

}  // namespace dltrain
