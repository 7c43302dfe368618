// inspect_system: everything `dltrain doctor` shows, the problems found and a hint for each.
#include <nlohmann/json.hpp>

#include "dltrain/system.hpp"

namespace dltrain {
namespace {
std::string cuda_version(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }
}  // namespace

SystemReport inspect_system(bool smoke) {
  SystemReport r;
  r.cpu = inspect_cpu();
  r.blas = inspect_blas();
  r.cuda = inspect_cuda();
  r.nvcc = find_nvcc();
  if (!r.cpu.has("AVX2"))
    r.problems.push_back({"this CPU has no AVX2", "dltrain and OpenBLAS fall back to older vector code: expect epochs "
                                                  "several times slower than on a CPU from 2015 or later"});
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
  j["blas"] = {{"name", blas.name}, {"core", blas.core}, {"config", blas.config}, {"threading", blas.threading}};
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
