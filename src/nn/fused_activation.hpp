// What layers with a fused activation (Keras's `activation=`) share: the text-format suffixes
// and the backward step through the activation.
#pragma once

#include <string>

#include "dltrain/nn.hpp"

namespace dltrain::detail {

inline std::string act_suffix(Act act) {
  return act == Act::relu ? ",relu" : act == Act::relu6 ? ",relu6" : "";
}

inline std::string init_suffix(Init init) {
  return init == Init::glorot_uniform ? "" : std::string(",") + init_name(init);
}

// dL/d(pre-activation) from dL/dy and the activated output y: dy itself for Act::none, else
// written into `scratch`.
inline const Tensor& through_activation(Act act, const Tensor& y, const Tensor& dy, Tensor& scratch) {
  if (act == Act::none) return dy;
  scratch.ensure_on(y.device(), y.shape());
  ops::activation_backward(act, y, dy, scratch);
  return scratch;
}

}  // namespace dltrain::detail
