// Shared text-format helpers for layers with a fused activation and an initializer.
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

}  // namespace dltrain::detail
