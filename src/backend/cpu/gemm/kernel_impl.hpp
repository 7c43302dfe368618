// The GEMM driver and micro-kernel, written once and compiled by each gemm_<isa>.cpp with that
// ISA's flags (its CMake source properties) into an anonymous namespace, so no symbol compiled for
// one ISA can be picked by the linker for another. Include only from those files, after defining
// W (floats per vector register) and MR (rows per micro-tile). Only gemm_types.hpp is included and
// nothing from the standard library is used: inline functions with external linkage would be
// shared between translation units compiled for different levels.
//
// Micro-tile: MR rows of A times NV vectors (NV*W columns) of B, held in MR*NV accumulators over
// a block of K. A is read in place through its strides (one broadcast per row and k); B is read in
// place when its rows are contiguous and the tile is full, otherwise a KC x NR block is packed. B
// rows 1 KB or more apart are packed too when at least two row tiles share the panel: at such
// strides a panel's rows fall into a few L1 sets and evict each other (MobileNetV2's 7x7 layers,
// 960 to 1280 columns: 6-9% faster). (Packing every panel was measured slower on small-K
// expansions and the 7x7 blocks' narrow products.)
// The last K block applies the epilogue (bias, activation, residual) to each vector as it stores
// it, so a convolution's output is written once; the store of a full tile decides once what the
// epilogue does (the activation as a clamp), as a per-vector test measured 15-35% slower on
// products with K = 16 to 32.

#include "gemm_types.hpp"

namespace {
using dltrain::cpu::Accumulate;
using dltrain::cpu::Epilogue;
using dltrain::cpu::MatView;
using dltrain::cpu::MutView;

using vec = float __attribute__((vector_size(W * 4)));
constexpr int64_t kc_block = 256;  // a packed B block of KC x NR floats stays in L1
constexpr int nv_max = 2;
constexpr int64_t nr = nv_max * W;

inline int64_t lesser(int64_t a, int64_t b) { return a < b ? a : b; }
inline vec load(const float* p) {
  vec v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, vec v) { __builtin_memcpy(p, &v, sizeof v); }
// One broadcast: x - 0 is x for every x, so nothing is subtracted (x + 0 would turn -0 into +0).
inline vec splat(float x) { return x - vec{}; }

// The epilogue (gemm_types.hpp) on one element of C, row i, column j: edge tiles.
inline float finish(float x, const Epilogue& e, int64_t i, int64_t j) {
  if (e.bias) x += e.bias[j];
  if (e.act != 0) x = x < 0.0f ? 0.0f : x;
  if (e.act == 2) x = x > 6.0f ? 6.0f : x;
  if (e.residual) x += e.residual[i * e.residual_rs + j];
  return x;
}

// Where a micro-tile stores: C at its top-left corner, which is element (i0, j0) of the whole
// product, and the epilogue when this K block is the last one (else null).
struct Out {
  float* c;
  int64_t rs, cs, nvalid;
  bool add;
  const Epilogue* ep;
  int64_t i0, j0;
};

// The last K block's store of a full tile: c = min(max(c + bias, lo), hi) [+ residual], decided
// once per tile (the activation as clamps: no activation is [-inf, inf], which changes nothing).
// lo > x ? lo : x is maxps(lo, x), which returns x when x is NaN, as std::max(0, x) does.
template <int R, int NV, bool Bias, bool Residual>
inline void store_finished(const vec (&acc)[R][NV], const Out& o) {
  const Epilogue& e = *o.ep;
  constexpr float inf = __builtin_inff();
  const vec lo = splat(e.act != 0 ? 0.0f : -inf), hi = splat(e.act == 2 ? 6.0f : inf);
  vec bias[NV];
  for (int v = 0; v < NV; ++v) bias[v] = Bias ? load(e.bias + o.j0 + v * W) : vec{};
  const float* res = Residual ? e.residual + o.i0 * e.residual_rs + o.j0 : nullptr;
  for (int i = 0; i < R; ++i)
    for (int v = 0; v < NV; ++v) {
      float* cp = o.c + i * o.rs + v * W;
      vec x = o.add ? load(cp) + acc[i][v] : acc[i][v];
      if constexpr (Bias) x += bias[v];
      x = lo > x ? lo : x;
      x = hi < x ? hi : x;
      if constexpr (Residual) x += load(res + i * e.residual_rs + v * W);
      store(cp, x);
    }
}

// Any tile, element by element (tiles at the right edge, C with strided columns).
template <int R, int NV>
[[gnu::noinline]] void store_edge(const vec (&acc)[R][NV], const Out& o) {
  float tile[R][NV * W];
  for (int i = 0; i < R; ++i)
    for (int v = 0; v < NV; ++v) store(&tile[i][v * W], acc[i][v]);
  for (int64_t j = 0; j < o.nvalid; ++j)
    for (int i = 0; i < R; ++i) {
      float* cp = o.c + i * o.rs + j * o.cs;
      float x = o.add ? *cp + tile[i][j] : tile[i][j];
      if (o.ep) x = finish(x, *o.ep, o.i0 + i, o.j0 + j);
      *cp = x;
    }
}

// C tile (R rows, nvalid <= NV*W columns) (+)= A rows . B panel over kc.
template <int R, int NV>
void micro(int64_t kc, const float* a, int64_t ars, int64_t acs, const float* b, int64_t brs, const Out& o) {
  vec acc[R][NV];
  for (int i = 0; i < R; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = vec{};
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; ++p) {
    vec bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = load(b + p * brs + v * W);
    for (int i = 0; i < R; ++i) {
      const vec av = splat(a[i * ars + p * acs]);
      for (int v = 0; v < NV; ++v) acc[i][v] += av * bv[v];
    }
  }
  if (o.cs != 1 || o.nvalid != NV * W) return store_edge<R, NV>(acc, o);
  if (o.ep) {
    if (o.ep->residual)
      return o.ep->bias ? store_finished<R, NV, true, true>(acc, o) : store_finished<R, NV, false, true>(acc, o);
    return o.ep->bias ? store_finished<R, NV, true, false>(acc, o) : store_finished<R, NV, false, false>(acc, o);
  }
  for (int i = 0; i < R; ++i)
    for (int v = 0; v < NV; ++v) {
      float* cp = o.c + i * o.rs + v * W;
      store(cp, o.add ? load(cp) + acc[i][v] : acc[i][v]);
    }
}

template <int NV, int R = MR>
void rows_tail(int64_t r, int64_t kc, const float* a, int64_t ars, int64_t acs, const float* b, int64_t brs,
               const Out& o) {
  if constexpr (R > 1) {
    if (r < R) return rows_tail<NV, R - 1>(r, kc, a, ars, acs, b, brs, o);
  }
  micro<R, NV>(kc, a, ars, acs, b, brs, o);
}

// Rows go MR at a time. A remainder of fewer than MR / 2 rows would be a tile of one or two
// accumulator chains per vector, which runs at a fraction of the FMA throughput: it joins the last
// full tile and the two are split in halves instead (49 rows: seven tiles of 6, then 4 and 3).
template <int NV>
void panel(int64_t m, int64_t kc, MatView a, const float* b, int64_t brs, Out o) {
  const int64_t rest = m % MR, stop = m - rest - (rest > 0 && rest < MR / 2 && m > MR ? MR : 0);
  int64_t i = 0;
  float* const c = o.c;
  for (; i < stop; i += MR, o.i0 += MR) {
    o.c = c + i * o.rs;
    micro<MR, NV>(kc, a.p + i * a.rs, a.rs, a.cs, b, brs, o);
  }
  while (i < m) {
    const int64_t r = m - i > MR ? (m - i + 1) / 2 : m - i;
    o.c = c + i * o.rs;
    rows_tail<NV>(r, kc, a.p + i * a.rs, a.rs, a.cs, b, brs, o);
    i += r;
    o.i0 += r;
  }
}

void isa_gemm(int64_t m, int64_t n, int64_t k, MatView a, MatView b, MutView c, Accumulate acc, const Epilogue* ep) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {  // an empty sum: C = 0, or C unchanged
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        float& x = c.p[i * c.rs + j * c.cs];
        if (acc == Accumulate::no) x = 0.0f;
        if (ep) x = finish(x, *ep, i, j);
      }
    return;
  }
  alignas(64) float packed[kc_block * nr];
  for (int64_t p0 = 0; p0 < k; p0 += kc_block) {
    const int64_t kc = lesser(kc_block, k - p0);
    const bool add = acc == Accumulate::yes || p0 > 0;
    const MatView ak{a.p + p0 * a.cs, a.rs, a.cs};
    for (int64_t j0 = 0; j0 < n; j0 += nr) {
      const int64_t nc = lesser(nr, n - j0);
      const int nv = nc <= W ? 1 : 2;  // a last panel that fits one vector computes one
      const int64_t width = nv * W;
      const float* bp = b.p + p0 * b.rs + j0 * b.cs;
      int64_t brs = b.rs;
      if (b.cs != 1 || nc != width || (m >= 2 * MR && b.rs >= 256)) {  // see the top of the file
        if (b.cs == 1 && nc == width)
          for (int64_t p = 0; p < kc; ++p) {  // (a loop over nv became rep movsq: slow for 64 bytes)
            store(packed + p * width, load(bp + p * b.rs));
            if (nv == 2) store(packed + p * width + W, load(bp + p * b.rs + W));
          }
        else
          for (int64_t p = 0; p < kc; ++p)
            for (int64_t j = 0; j < width; ++j) packed[p * width + j] = j < nc ? bp[p * b.rs + j * b.cs] : 0.0f;
        bp = packed;
        brs = width;
      }
      const Out o{c.p + j0 * c.cs, c.rs, c.cs, nc, add, p0 + kc >= k ? ep : nullptr, 0, j0};
      if (nv == 1)
        panel<1>(m, kc, ak, bp, brs, o);
      else
        panel<2>(m, kc, ak, bp, brs, o);
    }
  }
}
}  // namespace
