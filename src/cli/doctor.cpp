// `dltrain doctor [--json]`: this machine's CPU, the kernels in use, NVIDIA driver, GPUs, CUDA libraries and nvcc,
// a device smoke test when a GPU is present, and a hint for each problem found. Exit status 0
// also without a GPU (training then uses the CPU).
#include <cstdio>
#include <memory>
#include <string>

#include "commands.hpp"
#include "dltrain/core.hpp"
#include "dltrain/comm.hpp"
#include "dltrain/system.hpp"

namespace dltrain::cli {
namespace {

struct DoctorArgs {
  bool json = false, no_smoke = false;
  int threads = 0;
};

std::string cuda_version(int v) { return v ? std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10) : ""; }

void print_report(const SystemReport& r) {
  std::printf("CPU      %s: %d cores, %d threads; dltrain uses %d\n", r.cpu.model.c_str(), r.cpu.physical,
              r.cpu.logical, r.cpu.threads_used);
  std::string have, lack;
  for (const auto& [name, yes] : r.cpu.isa) (yes ? have : lack) += " " + name;
  std::printf("ISA     %s%s\n", have.c_str(), lack.empty() ? "" : ("  (not:" + lack + ")").c_str());
  std::printf("Kernels  CPU level %s; %s\n", r.kernels.detected.c_str(), r.kernels.threading.c_str());
  for (const auto& [path, what] : r.kernels.paths) std::printf("         %s: %s\n", path.c_str(), what.c_str());
  const CudaInfo& c = r.cuda;
  std::printf("Driver   %s\n", c.driver_version ? ("CUDA " + cuda_version(c.driver_version)).c_str() : c.driver_error.c_str());
  if (!c.driver_version && !c.driver_error.empty() && c.driver_error.find("not found") == std::string::npos)
    std::printf("         %s\n", c.driver_error.c_str());
  std::printf("Runtime  %s\n", c.runtime_version ? ("CUDA " + cuda_version(c.runtime_version) + " (built in)").c_str()
                                                 : "none: dltrain was built without the CUDA toolkit");
  std::printf("cuBLAS   %s\ncuDNN    %s\n", c.cublas_version.empty() ? "not found" : c.cublas_version.c_str(),
              c.cudnn_version.empty() ? "not found" : c.cudnn_version.c_str());
  std::printf("nvcc     %s\n", r.nvcc.path.empty() ? "not found" : (r.nvcc.path + ", release " + r.nvcc.version).c_str());
  if (c.gpus.empty()) std::printf("GPU      none\n");
  for (const GpuInfo& g : c.gpus)
    std::printf("GPU %d    %s, compute capability %d.%d (%s), %.1f GiB, %d SMs\n", g.index, g.name.c_str(), g.cc_major,
                g.cc_minor, g.arch().c_str(), double(g.memory_bytes) / double(1ull << 30), g.sm_count);
  std::printf("Smoke    %s%s\n", r.smoke.ran ? (r.smoke.passed ? "passed: " : "FAILED: ") : "", r.smoke.detail.c_str());
  const std::string first_gpu = std::to_string(c.gpus.empty() ? 0 : c.gpus[0].index);
  const std::string why = !c.runtime_version ? "this dltrain was built without CUDA"
                                              : "by default: the GPU path has not passed tools/gpu-check.sh yet; "
                                                "--device cuda trains on GPU " + first_gpu;
  std::printf("Training %s\n", c.gpus.empty() ? "on the CPU" : ("on the CPU (" + why + ")").c_str());
  // Data-parallel: what this build can do, and where this process stands when mpirun started it.
  const std::string mpi = mpi_library_version();
  std::printf("MPI      %s\n", mpi.empty() ? "none: dltrain was built without Open MPI (mpirun refused)"
                                            : (mpi + " built in; " +
                                               (launched_as_rank() ? communicator().describe()
                                                                   : std::string("not started by mpirun"))).c_str());
  std::printf("NCCL     not used yet (GPU data-parallel comes with the GPU trainer)\n");
  for (const Problem& p : r.problems) std::printf("\nProblem: %s\n  hint: %s\n", p.problem.c_str(), p.hint.c_str());
}

}  // namespace

void add_doctor(CLI::App& app) {
  auto a = std::make_shared<DoctorArgs>();
  CLI::App* cmd = app.add_subcommand("doctor", "Check this machine for training: CPU, kernels, NVIDIA driver, GPUs, nvcc");
  cmd->add_flag("--json", a->json, "machine-readable output");
  cmd->add_flag("--no-smoke", a->no_smoke, "skip the GPU smoke test");
  cmd->add_option("--threads,-j", a->threads, "threads dltrain would use (0: all cores)")->check(CLI::NonNegativeNumber);
  cmd->callback([a] {
    set_num_threads(a->threads);
    const SystemReport r = inspect_system(!a->no_smoke);
    if (a->json) std::printf("%s\n", r.to_json().c_str());
    else print_report(r);
  });
}

}  // namespace dltrain::cli
