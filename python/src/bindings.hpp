// What the binding files share: NumPy arrays <-> tensors, and each file's registration function.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <vector>

#include "dltrain/core.hpp"

namespace dltrain::python {
namespace nb = nanobind;

// Any read-only host array; its dtype, rank and layout are checked by image_tensor/labels_vector.
using HostArray = nb::ndarray<nb::ro, nb::device::cpu>;

// Images (N,H,W) or (N,H,W,C), uint8 or float32, C-contiguous -> a tensor over the same memory (no
// copy). The array must outlive the tensor: callers keep it for the duration of their call.
Tensor image_tensor(const HostArray& images, const char* what);
// Class ids (N) of any integer dtype, each in [0, classes) when classes > 0.
std::vector<int32_t> labels_vector(const HostArray& labels, const char* what, int64_t classes);
// A tensor handed to NumPy without a copy: the array owns it from now on.
nb::object to_numpy(Tensor tensor);

void bind_model(nb::module_& m);
void bind_tools(nb::module_& m);

}  // namespace dltrain::python
