// Shared checks for the ops dispatch layer: shapes at the boundary, then the device's backend.
#pragma once

#include <string>

#include "../backend/backend.hpp"
#include "dltrain/ops.hpp"

namespace dltrain::ops::detail {

// Every tensor must be non-empty float32 on `device` (one GPU of a backend serves all of its kind).
template <class... T>
void require_on(Device device, const char* op, const T&... t) {
  if (((t.device() == device && t.dtype() == DType::f32 && !t.empty()) && ...)) return;
  std::string got;
  ((got += (got.empty() ? "" : ", ") + std::string(t.empty() ? "empty" : dtype_name(t.dtype())) + " on " +
           device_name(t.device())),
   ...);
  throw Error(std::string(op) + ": expected non-empty float32 tensors, all on " + device_name(device) + "; got " + got,
              "copy tensors to one device first (Tensor::to is explicit; nothing moves implicitly)");
}

// The one dispatch point: the backend of the first tensor's device, after checking that every
// tensor is non-empty float32 on that device, made the current one (a GPU's kernels run on the
// calling thread's current CUDA device).
template <class... T>
const Backend& backend(const char* op, const Tensor& first, const T&... rest) {
  const Backend* be = backend_for(first.device());
  DLT_CHECK(be, std::string(op) + ": this dltrain has no " + device_name(first.device()) + " backend",
            "`dltrain doctor` says which devices this build can train on");
  require_on(first.device(), op, first, rest...);
  if (be->select) be->select(first.device());
  return *be;
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
