// The step after a matrix product or a convolution's accumulation: y = act(y + bias), on one
// row of k outputs while it is still in cache. Written with native-width vectors: GCC does not
// vectorise std::max/std::min clamps on its own (NaN semantics).
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

// bias may be null (already added).
inline void bias_act(float* __restrict y, const float* __restrict bias, int64_t k, Act act) {
  int64_t j = 0;
  for (; j + lanes <= k; j += lanes) {
    vf v = loadv(y + j);
    if (bias) v += loadv(bias + j);
    storev(y + j, activate(v, act));
  }
  for (; j < k; ++j) y[j] = activate(y[j] + (bias ? bias[j] : 0.0f), act);
}

}  // namespace dltrain::cpu
