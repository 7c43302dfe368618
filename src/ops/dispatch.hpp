// Shared checks for the ops dispatch layer: shapes at the boundary, then the device's backend.
#pragma once

#include <string>

#include "../backend/cpu/cpu.hpp"
#include "dltrain/ops.hpp"

namespace dltrain::ops::detail {

// All tensors must be float32 on the CPU (the only backend built today).
template <class... T>
void require_cpu_f32(const char* op, const T&... t) {
  const bool ok = ((t.device() == Device::cpu && t.dtype() == DType::f32 && !t.empty()) && ...);
  DLT_CHECK(ok, std::string(op) + ": expected non-empty float32 tensors on the cpu",
            "a CUDA backend is not built into this dltrain");
}

inline void require_shape(const char* op, const char* what, const Tensor& t, const Shape& want) {
  DLT_CHECK(t.shape() == want, std::string(op) + ": " + what + " has shape " + t.shape().str() + ", expected " +
                                   want.str());
}

inline void require_same_numel(const char* op, const Tensor& a, const Tensor& b) {
  DLT_CHECK(a.numel() == b.numel(), std::string(op) + ": element counts differ: " + a.shape().str() + " vs " +
                                        b.shape().str());
}

}  // namespace dltrain::ops::detail
