// The activation kernels apply to their outputs in registers, as they store them (the GEMM has its
// own copy in gemm/kernel_impl.hpp, which may include nothing compiled for the native ISA).
// Written with native-width vectors: GCC does not vectorise std::max/std::min clamps on its own
// (NaN semantics).
#pragma once

#include <algorithm>

#include "dltrain/ops.hpp"
#include "simd.hpp"

namespace dltrain::cpu {

// act on one vector or one value.
inline vf activate(vf v, Act act) {
  if (act != Act::none) v = v < splat(0.0f) ? splat(0.0f) : v;  // NaN passes through, as with std::max
  if (act == Act::relu6) v = v > splat(6.0f) ? splat(6.0f) : v;
  return v;
}
inline float activate(float v, Act act) {
  if (act != Act::none) v = std::max(v, 0.0f);
  if (act == Act::relu6) v = std::min(v, 6.0f);
  return v;
}

}  // namespace dltrain::cpu
