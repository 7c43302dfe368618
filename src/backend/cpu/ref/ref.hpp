// The CPU reference kernels: plain loops, single-threaded, written for obviousness. They are the
// oracle the fast kernels (and later the CUDA ones) are tested against; nothing else calls them.
#pragma once

#include "dltrain/ops.hpp"

namespace dltrain::cpu::ref {
#define DLT_KERNEL(ret, name, params) ret name params;
#include "../../kernels.inc"
#undef DLT_KERNEL

// Calls f(n, oy, ox, ky, kx, iy, ix) for every in-bounds tap of window g (convolutions).
template <class F>
void for_each_tap(const Window& g, F&& f) {
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox)
        for (int64_t ky = 0; ky < g.kh; ++ky)
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            const int64_t iy = oy * g.sh + ky - g.pad_top, ix = ox * g.sw + kx - g.pad_left;
            if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) f(n, oy, ox, ky, kx, iy, ix);
          }
}
}  // namespace dltrain::cpu::ref
