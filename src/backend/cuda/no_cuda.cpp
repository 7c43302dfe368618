// Built instead of the CUDA sources when CMake finds no CUDA toolkit: the device smoke test and
// runtime version report that CUDA is not built in.
#include "dltrain/system.hpp"

namespace dltrain {

SmokeResult cuda_smoke_test(int64_t) {
  SmokeResult r;
  r.detail = "not run: this dltrain was built without the CUDA toolkit";
  return r;
}

int cuda_runtime_version() { return 0; }

}  // namespace dltrain
