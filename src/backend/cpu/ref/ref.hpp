// The CPU reference kernels: plain loops, single-threaded, written for obviousness. They are the
// oracle the fast kernels (and later the CUDA ones) are tested against; nothing else calls them.
#pragma once

#include "dltrain/ops.hpp"

namespace dltrain::cpu::ref {
#include "../../kernels.inc"
}
