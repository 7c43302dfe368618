// --device: which device train/eval/predict run on, and the errors for one that cannot be used.
#include <string>

#include "../backend/backend.hpp"
#include "core/device_memory.hpp"
#include "dltrain/comm.hpp"
#include "dltrain/system.hpp"
#include "dltrain/train.hpp"

namespace dltrain {

// False until the GPU path (trainer, evaluation, the CUDA kernels) has run on a GPU and passed
// tools/gpu-check.sh: until then a GPU trains only when asked for by name.
bool auto_picks_gpu() { return false; }

Device resolve_device(std::string_view request) {
  if (request == "auto") {
    // A GPU only when everything needed is there; any doubt means the CPU, silently.
    if (!cuda_backend() || !auto_picks_gpu() || device_memory::gpu_count() == 0) return Device::cpu;
    const SmokeResult smoke = cuda_smoke_test(1 << 20);
    return smoke.passed ? Device::cuda : Device::cpu;
  }
  const Device d = parse_device(request);
  if (!d.is_cuda()) return d;
  const std::string flag = "--device " + std::string(request) + ": ";
  if (communicator().size() > 1)  // refused before any run folder is made
    throw Error(flag + "data-parallel training on GPUs needs NCCL, which this dltrain does not use yet",
                "under mpirun, train on the CPUs (--device cpu); one GPU trains without mpirun");
  if (!cuda_backend())
    throw Error(flag + "this dltrain was built without the CUDA backend",
                "train on the CPU (--device cpu), or rebuild with the CUDA toolkit; "
                "`dltrain doctor` says what it found");
  try {
    device_memory::require(d);
  } catch (const Error& e) {
    throw Error(flag + e.what(), e.hint());
  }
  return d;
}

}  // namespace dltrain
