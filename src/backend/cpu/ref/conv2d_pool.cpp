// Reference fused conv -> activation -> max-pool: literally the three reference ops in sequence,
// with the winning position recorded (first maximum in window order).
#include <vector>

#include "ref.hpp"

namespace dltrain::cpu::ref {

void conv2d_pool_forward(const float* x, const float* w, const float* b, Act act, int64_t pool, float* y,
                         uint8_t* argmax, const Window& g) {
  std::vector<float> z(static_cast<size_t>(g.n * g.oh * g.ow * g.k));
  conv2d_forward(x, w, b, z.data(), g, Act::none);
  activation_forward(act, z.data(), z.data(), int64_t(z.size()));
  const int64_t ph = g.oh / pool, pw = g.ow / pool;
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t py = 0; py < ph; ++py)
      for (int64_t px = 0; px < pw; ++px)
        for (int64_t k = 0; k < g.k; ++k) {
          float best = 0;
          int64_t arg = -1;
          for (int64_t q = 0; q < pool * pool; ++q) {
            const float v = z[size_t(((n * g.oh + py * pool + q / pool) * g.ow + px * pool + q % pool) * g.k + k)];
            if (arg < 0 || v > best) best = v, arg = q;
          }
          const int64_t o = ((n * ph + py) * pw + px) * g.k + k;
          float one = 1, pass = 0;
          activation_backward(act, &best, &one, &pass, 1);
          y[o] = best;
          argmax[o] = pass != 0 ? uint8_t(arg) : uint8_t(255);
        }
}

void conv2d_pool_backward(const float* x, const float* w, const uint8_t* argmax, const float* dy, int64_t pool,
                          float* dx, float* dw, float* db, const Window& g) {
  std::vector<float> dz(static_cast<size_t>(g.n * g.oh * g.ow * g.k), 0.0f);
  const int64_t ph = g.oh / pool, pw = g.ow / pool;
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t py = 0; py < ph; ++py)
      for (int64_t px = 0; px < pw; ++px)
        for (int64_t k = 0; k < g.k; ++k) {
          const int64_t o = ((n * ph + py) * pw + px) * g.k + k;
          if (argmax[o] == 255) continue;
          const int64_t q = argmax[o];
          dz[size_t(((n * g.oh + py * pool + q / pool) * g.ow + px * pool + q % pool) * g.k + k)] = dy[o];
        }
  conv2d_backward(x, w, dz.data(), dx, dw, db, g);
}

// The reference runs any geometry whose pooled windows fit the one-byte argmax.
bool conv2d_pool_is_fast(const Window&, int64_t pool) { return pool >= 1 && pool * pool < 255; }

}  // namespace dltrain::cpu::ref
