// Fast fused conv -> activation -> max-pool for narrow convolutions (few input channels, e.g. a
// first layer on grayscale images). Such a conv is memory-bound: computing each pooled pixel's
// window in registers and keeping only the pooled value and a one-byte argmax avoids writing and
// re-reading the full-resolution map several times per step. Channels go a vector at a time in
// registers; a K below 64 that is not a multiple of 16 (LeNet-5's 6 filters) runs padded with
// zero filters to the next multiple and is compacted after. Parallel over images.
#include <algorithm>
#include <limits>
#include <vector>

#include "cpu.hpp"
#include "im2col.hpp"
#include "parallel.hpp"
#include "ref/ref.hpp"
#include "simd.hpp"

namespace dltrain::cpu {
namespace {
constexpr int64_t max_window = 225;  // pool <= 15

// The pool*pool im2col rows of pooled pixel (n, py, px), row q = qy*pool + qx.
void gather_window(const float* x, const Window& g, int64_t pool, int64_t n, int64_t py, int64_t px, float* cols) {
  for (int64_t q = 0; q < pool * pool; ++q)
    im2col_pixel(x, g, n, py * pool + q / pool, px * pool + q % pool, cols + q * g.cols());
}

// The offsets of a pooling window's conv outputs (q = qy*pool + qx) from the window's first one,
// in an image whose rows are `row` floats apart: computed once, not divided out per position.
struct Corners {
  Corners(const Window& g, int64_t row, int64_t pool) : n(pool * pool) {
    for (int64_t q = 0; q < n; ++q) at[q] = (q / pool) * g.sh * row + (q % pool) * g.sw * g.c;
  }
  int64_t n;
  int64_t at[max_window];
};

// Register-blocked kernels for a fixed tap count T and KB vectors of channels: channels
// [c0, c0 + KB * lanes) of nk, where w, b, y and argmax (or dy, dw and db) already point at
// channel c0. The weights stay in registers, each conv output costs T broadcasts and T*KB FMAs.
// `img` is one image whose rows are `row` floats apart and needs no padding (the caller pads a
// copy when the conv pads); off[t] is tap t's offset from a window's corner.
template <int T, int KB>
void forward_image(const float* img, int64_t row, const int64_t* off, const float* w, const float* b, int64_t nk,
                   const Window& g, int64_t pool, vf lo, vf hi, float* y, uint8_t* argmax) {
  vf wr[T][KB], br[KB];
  for (int t = 0; t < T; ++t)
    for (int k = 0; k < KB; ++k) wr[t][k] = loadv(w + t * nk + k * lanes);
  for (int k = 0; k < KB; ++k) br[k] = loadv(b + k * lanes);
  const int64_t ph = g.oh / pool, pw = g.ow / pool;
  const Corners qoff(g, row, pool);
  for (int64_t py = 0; py < ph; ++py)
    for (int64_t px = 0; px < pw; ++px) {
      const float* window = img + py * pool * g.sh * row + px * pool * g.sw * g.c;
      const auto conv_at = [&](int64_t q, vf* acc) {
        const float* corner = window + qoff.at[q];
        for (int k = 0; k < KB; ++k) acc[k] = br[k];
        for (int t = 0; t < T; ++t) {
          const float v = corner[off[t]];
          for (int k = 0; k < KB; ++k) acc[k] += v * wr[t][k];
        }
      };
      vf best[KB];
      vi arg[KB] = {};
      conv_at(0, best);
      for (int64_t q = 1; q < qoff.n; ++q) {
        vf acc[KB];
        conv_at(q, acc);
        for (int k = 0; k < KB; ++k) {
          const vi better = acc[k] > best[k];  // the first maximum wins ties
          best[k] = better ? acc[k] : best[k];
          arg[k] = better ? vi{} + int32_t(q) : arg[k];
        }
      }
      const int64_t o = (py * pw + px) * nk;
      for (int k = 0; k < KB; ++k) {
        storev(y + o + k * lanes, best[k] < lo ? lo : best[k] > hi ? hi : best[k]);
        storev_u8(argmax + o + k * lanes, (best[k] > lo) & (best[k] < hi) ? arg[k] : vi{} + 255);
      }
    }
}

// Adds one image's weight and bias gradients of channels [c0, c0 + KB * lanes) into dw (T,nk)
// and db (nk), all pointers at channel c0.
template <int T, int KB>
void grad_image(const float* img, int64_t row, const int64_t* off, const float* dy, const uint8_t* argmax,
                int64_t nk, const Window& g, int64_t pool, float* dw, float* db) {
  vf acc[T][KB], bacc[KB];
  for (int t = 0; t < T; ++t)
    for (int k = 0; k < KB; ++k) acc[t][k] = loadv(dw + t * nk + k * lanes);
  for (int k = 0; k < KB; ++k) bacc[k] = loadv(db + k * lanes);
  const int64_t ph = g.oh / pool, pw = g.ow / pool;
  const Corners qoff(g, row, pool);
  for (int64_t py = 0; py < ph; ++py)
    for (int64_t px = 0; px < pw; ++px) {
      const int64_t o = (py * pw + px) * nk;
      vf d[KB];
      vi a[KB];
      for (int k = 0; k < KB; ++k) {
        d[k] = loadv(dy + o + k * lanes);
        a[k] = loadv_u8(argmax + o + k * lanes);
        bacc[k] += a[k] != 255 ? d[k] : vf{};
      }
      const float* window = img + py * pool * g.sh * row + px * pool * g.sw * g.c;
      for (int64_t q = 0; q < qoff.n; ++q) {
        const float* corner = window + qoff.at[q];
        vf m[KB];
        for (int k = 0; k < KB; ++k) m[k] = a[k] == int32_t(q) ? d[k] : vf{};
        for (int t = 0; t < T; ++t) {
          const float v = corner[off[t]];
          for (int k = 0; k < KB; ++k) acc[t][k] += v * m[k];
        }
      }
    }
  for (int t = 0; t < T; ++t)
    for (int k = 0; k < KB; ++k) storev(dw + t * nk + k * lanes, acc[t][k]);
  for (int k = 0; k < KB; ++k) storev(db + k * lanes, bacc[k]);
}

using ForwardFn = decltype(&forward_image<9, 1>);
using GradFn = decltype(&grad_image<9, 1>);
struct Specialised {
  ForwardFn forward = nullptr;
  GradFn grad = nullptr;
  int64_t channels = 0;  // per call: KB * lanes
};

template <int T>
Specialised pick_blocks(int64_t nk) {
  // As many vectors of channels as the registers hold: T weight vectors, a bias, an accumulator,
  // the running maximum and its argmax per vector, plus a broadcast. Whole calls only.
  int kb = std::clamp((vector_registers - 1) / (T + 4), 1, 4);
  while (kb > 1 && (nk / lanes) % kb != 0) kb /= 2;
  switch (kb) {
    case 4: return {forward_image<T, 4>, grad_image<T, 4>, 4 * lanes};
    case 2: return {forward_image<T, 2>, grad_image<T, 2>, 2 * lanes};
    default: return {forward_image<T, 1>, grad_image<T, 1>, lanes};
  }
}

// The specialised kernels for this geometry, or nulls.
Specialised pick(const Window& g) {
  if (g.k % 16 != 0) return {};
  switch (g.cols()) {
    case 9: return pick_blocks<9>(g.k);    // 3x3 on one channel
    case 25: return pick_blocks<25>(g.k);  // 5x5 on one channel
    case 27: return pick_blocks<27>(g.k);  // 3x3 on RGB
    default: return {};
  }
}

// Image n, padded into `buf` when the conv pads; sets `row` to its row stride in floats.
const float* unpadded_image(const float* x, const Window& g, int64_t n, std::vector<float>& buf, int64_t& row) {
  const int64_t hp = (g.oh - 1) * g.sh + g.kh, wp = (g.ow - 1) * g.sw + g.kw;
  if (g.pad_top == 0 && g.pad_left == 0 && hp <= g.h && wp <= g.w) {
    row = g.w * g.c;
    return x + n * g.h * g.w * g.c;
  }
  buf.assign(static_cast<size_t>(hp * wp * g.c), 0.0f);
  for (int64_t iy = 0; iy < g.h; ++iy)
    for (int64_t ix = 0; ix < g.w; ++ix) {
      const int64_t py = iy + g.pad_top, px = ix + g.pad_left;
      if (py < hp && px < wp)
        std::copy_n(x + ((n * g.h + iy) * g.w + ix) * g.c, g.c, buf.data() + (py * wp + px) * g.c);
    }
  row = wp * g.c;
  return buf.data();
}

std::vector<int64_t> tap_offsets(const Window& g, int64_t row) {
  std::vector<int64_t> off;
  for (int64_t ky = 0; ky < g.kh; ++ky)
    for (int64_t kx = 0; kx < g.kw; ++kx)
      for (int64_t c = 0; c < g.c; ++c) off.push_back(ky * row + kx * g.c + c);
  return off;
}

// Calls f(image, row, tap_offsets, n) for images [n0, n1), each unpadded as the kernels need.
template <class F>
void for_each_image(const float* x, const Window& g, int64_t n0, int64_t n1, F&& f) {
  std::vector<float> buf;
  std::vector<int64_t> off;
  int64_t row = 0;
  for (int64_t n = n0; n < n1; ++n) {
    const float* img = unpadded_image(x, g, n, buf, row);
    if (off.empty()) off = tap_offsets(g, row);  // the row stride is the same for every image
    f(img, row, off.data(), n);
  }
}
constexpr int64_t max_padded_k = 64;

// K rounded up to whole vectors, and the same window with that K.
int64_t padded_k(int64_t k) { return (k + 15) / 16 * 16; }
Window with_padded_k(Window g) {
  g.k = padded_k(g.k);
  return g;
}

// Per-thread scratch for the padded route, kept across calls (one set of shapes per model).
struct Padded {
  std::vector<float> w, b, y, dy, dw, db;
  std::vector<uint8_t> argmax;
};
Padded& padded_scratch() {
  thread_local Padded p;
  return p;
}

// Copies `rows` rows of `from` floats (or bytes) into rows of `to`, filling the rest with `fill`.
template <class T>
void widen(const T* src, int64_t rows, int64_t from, int64_t to, T fill, std::vector<T>& dst) {
  dst.assign(static_cast<size_t>(rows * to), fill);
  for (int64_t r = 0; r < rows; ++r) std::copy_n(src + r * from, from, dst.data() + r * to);
}
template <class T>
void narrow(const T* src, int64_t rows, int64_t from, int64_t to, T* dst) {
  for (int64_t r = 0; r < rows; ++r) std::copy_n(src + r * from, to, dst + r * to);
}
}  // namespace

// Geometries the vectorised kernels take (others run the reference kernel).
bool conv2d_pool_is_fast(const Window& g, int64_t pool) {
  return (g.k % 16 == 0 || g.k < max_padded_k) && pool >= 1 && pool * pool <= max_window;
}

void conv2d_pool_forward(const float* x, const float* w, const float* b, Act act, int64_t pool, float* y,
                         uint8_t* argmax, const Window& g) {
  if (!conv2d_pool_is_fast(g, pool)) return ref::conv2d_pool_forward(x, w, b, act, pool, y, argmax, g);
  if (g.k % 16 != 0) {
    const Window gp = with_padded_k(g);
    const int64_t outputs = g.n * (g.oh / pool) * (g.ow / pool);
    Padded& s = padded_scratch();
    widen(w, g.cols(), g.k, gp.k, 0.0f, s.w);
    widen(b, 1, g.k, gp.k, 0.0f, s.b);
    s.y.resize(static_cast<size_t>(outputs * gp.k));
    s.argmax.resize(static_cast<size_t>(outputs * gp.k));
    conv2d_pool_forward(x, s.w.data(), s.b.data(), act, pool, s.y.data(), s.argmax.data(), gp);
    narrow(s.y.data(), outputs, gp.k, g.k, y);
    narrow(s.argmax.data(), outputs, gp.k, g.k, argmax);
    return;
  }
  const int64_t ph = g.oh / pool, pw = g.ow / pool, rc = g.cols(), nk = g.k, np = pool * pool;
  const vf lo = splat(act == Act::none ? -std::numeric_limits<float>::infinity() : 0.0f);
  const vf hi = splat(act == Act::relu6 ? 6.0f : std::numeric_limits<float>::infinity());
  if (const Specialised f = pick(g); f.forward) {
    parallel_chunks(g.n, 1, [&](int64_t n0, int64_t n1, int64_t) {
      for_each_image(x, g, n0, n1, [&](const float* img, int64_t row, const int64_t* off, int64_t n) {
        const int64_t o = n * ph * pw * nk;
        for (int64_t c0 = 0; c0 < nk; c0 += f.channels)
          f.forward(img, row, off, w + c0, b + c0, nk, g, pool, lo, hi, y + o + c0, argmax + o + c0);
      });
    });
    return;
  }
  parallel_chunks(g.n, 1, [&](int64_t n0, int64_t n1, int64_t) {
    std::vector<float> cols(static_cast<size_t>(np * rc));
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t py = 0; py < ph; ++py)
        for (int64_t px = 0; px < pw; ++px) {
          gather_window(x, g, pool, n, py, px, cols.data());
          const int64_t o = ((n * ph + py) * pw + px) * nk;
          for (int64_t j = 0; j < nk; j += lanes) {
            vf best{};
            vi arg{};
            for (int64_t q = 0; q < np; ++q) {
              vf acc = loadv(b + j);
              const float* c = cols.data() + q * rc;
              for (int64_t t = 0; t < rc; ++t) acc += c[t] * loadv(w + t * nk + j);
              const vi better = q == 0 ? vi{} - 1 : acc > best;  // first maximum wins ties
              best = better ? acc : best;
              arg = better ? vi{} + int32_t(q) : arg;
            }
            storev(y + o + j, best < lo ? lo : best > hi ? hi : best);
            storev_u8(argmax + o + j, (best > lo) & (best < hi) ? arg : vi{} + 255);
          }
        }
  });
}

void conv2d_pool_backward(const float* x, const float* w, const uint8_t* argmax, const float* dy, int64_t pool,
                          float* dx, float* dw, float* db, const Window& g) {
  if (!conv2d_pool_is_fast(g, pool)) return ref::conv2d_pool_backward(x, w, argmax, dy, pool, dx, dw, db, g);
  if (g.k % 16 != 0) {  // the padded filters take no gradient: their argmax says none (255)
    const Window gp = with_padded_k(g);
    const int64_t outputs = g.n * (g.oh / pool) * (g.ow / pool);
    Padded& s = padded_scratch();
    widen(w, g.cols(), g.k, gp.k, 0.0f, s.w);
    widen(dy, outputs, g.k, gp.k, 0.0f, s.dy);
    widen(argmax, outputs, g.k, gp.k, uint8_t{255}, s.argmax);
    s.dw.resize(static_cast<size_t>(g.cols() * gp.k));
    s.db.resize(static_cast<size_t>(gp.k));
    conv2d_pool_backward(x, s.w.data(), s.argmax.data(), s.dy.data(), pool, dx, s.dw.data(), s.db.data(), gp);
    narrow(s.dw.data(), g.cols(), gp.k, g.k, dw);
    narrow(s.db.data(), 1, gp.k, g.k, db);
    return;
  }
  const int64_t ph = g.oh / pool, pw = g.ow / pool, rc = g.cols(), nk = g.k, np = pool * pool, nw = rc * nk;
  const int64_t chunks = chunk_count(g.n, 1);
  std::vector<float> partial(static_cast<size_t>(chunks * (nw + nk)), 0.0f);
  const Specialised f = dx ? Specialised{} : pick(g);
  parallel_chunks(g.n, 1, [&](int64_t n0, int64_t n1, int64_t t) {
    if (f.grad) {
      float* pdw = partial.data() + t * (nw + nk);
      for_each_image(x, g, n0, n1, [&](const float* img, int64_t row, const int64_t* off, int64_t n) {
        const int64_t o = n * ph * pw * nk;
        for (int64_t c0 = 0; c0 < nk; c0 += f.channels)
          f.grad(img, row, off, dy + o + c0, argmax + o + c0, nk, g, pool, pdw + c0, pdw + nw + c0);
      });
      return;
    }
    if (dx) std::memset(dx + n0 * g.h * g.w * g.c, 0, size_t((n1 - n0) * g.h * g.w * g.c) * sizeof(float));
    float* pdw = partial.data() + t * (nw + nk);
    float* pdb = pdw + nw;
    std::vector<float> cols(static_cast<size_t>(np * rc)), dcols(static_cast<size_t>(np * rc));
    vf m[max_window];
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t py = 0; py < ph; ++py)
        for (int64_t px = 0; px < pw; ++px) {
          gather_window(x, g, pool, n, py, px, cols.data());
          const int64_t o = ((n * ph + py) * pw + px) * nk;
          if (dx) std::fill(dcols.begin(), dcols.end(), 0.0f);
          for (int64_t j = 0; j < nk; j += lanes) {
            const vf d = loadv(dy + o + j);
            const vi a = loadv_u8(argmax + o + j);
            for (int64_t q = 0; q < np; ++q) m[q] = a == int32_t(q) ? d : vf{};
            storev(pdb + j, loadv(pdb + j) + (a != 255 ? d : vf{}));
            for (int64_t tap = 0; tap < rc; ++tap) {
              vf acc = loadv(pdw + tap * nk + j);
              for (int64_t q = 0; q < np; ++q) acc += cols[size_t(q * rc + tap)] * m[q];
              storev(pdw + tap * nk + j, acc);
            }
            if (!dx) continue;
            for (int64_t q = 0; q < np; ++q)
              for (int64_t tap = 0; tap < rc; ++tap) {
                const vf p = loadv(w + tap * nk + j) * m[q];
                float s = 0;
                for (int l = 0; l < lanes; ++l) s += p[l];
                dcols[size_t(q * rc + tap)] += s;
              }
          }
          if (!dx) continue;
          for (int64_t q = 0; q < np; ++q) {
            const int64_t p = (n * g.oh + py * pool + q / pool) * g.ow + px * pool + q % pool;
            col2im_add(dcols.data() + q * rc, g, p, p + 1, dx);
          }
        }
  });
  for (int64_t i = 0; i < nw; ++i) dw[i] = 0;
  for (int64_t j = 0; j < nk; ++j) db[j] = 0;
  for (int64_t t = 0; t < chunks; ++t) {
    const float* pdw = partial.data() + t * (nw + nk);
    for (int64_t i = 0; i < nw; ++i) dw[i] += pdw[i];
    for (int64_t j = 0; j < nk; ++j) db[j] += pdw[nw + j];
  }
}

}  // namespace dltrain::cpu
