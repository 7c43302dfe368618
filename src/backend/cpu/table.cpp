// The CPU backend tables: the fast kernels and the reference ones, each filled from kernels.inc.
#include "../backend.hpp"
#include "cpu.hpp"
#include "ref/ref.hpp"

namespace dltrain {

const Backend& cpu_backend() {
  static const Backend b{"cpu", Device::cpu, nullptr,
#define DLT_KERNEL(ret, name, params) &cpu::name,
#include "../kernels.inc"
#undef DLT_KERNEL
  };
  return b;
}

const Backend& reference_backend() {
  static const Backend b{"cpu-reference", Device::cpu, nullptr,
#define DLT_KERNEL(ret, name, params) &cpu::ref::name,
#include "../kernels.inc"
#undef DLT_KERNEL
  };
  return b;
}

}  // namespace dltrain
