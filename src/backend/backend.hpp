// The backend table: one function pointer per kernel of kernels.inc, filled in by each backend.
// ops/ picks a table by the device its tensors live on, in one place (ops/dispatch.hpp); tests
// iterate over every registered table. Which backends exist is decided in CMake, not by #ifdef.
#pragma once

#include "dltrain/ops.hpp"

namespace dltrain {

struct Backend {
  const char* name;  // "cpu", "cpu-reference", "cuda"
  Device device;     // the kind of device its pointers must point to (cuda: any GPU, the current one)
  // Makes `device` the one the kernels run on (the tensors' GPU), before each call; null: nothing
  // to choose (the host).
  void (*select)(Device device);
#define DLT_KERNEL(ret, name, params) ret(*name) params;
#include "kernels.inc"
#undef DLT_KERNEL
};

const Backend& cpu_backend();        // the fast CPU kernels
const Backend& reference_backend();  // the oracle: plain loops over CPU memory
const Backend* cuda_backend();       // nullptr when this dltrain has no CUDA backend
// The backend whose kernels run on `device`, or nullptr when none is built.
inline const Backend* backend_for(Device device) {
  return device.is_cuda() ? cuda_backend() : &cpu_backend();
}

}  // namespace dltrain
