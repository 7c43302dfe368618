// Portable vectors of the build's native width (GCC/Clang vector extensions): 16 floats with
// AVX-512, 8 with AVX/AVX2, 4 with SSE. Used where a kernel keeps accumulators in registers
// across a loop the compiler will not vectorise on its own. Kernels size their register blocks
// from `lanes` and `vector_registers`: a vector twice the native width, or more live vectors than
// there are registers, makes the compiler split and spill them through the stack.
#pragma once

#include <cstdint>
#include <cstring>
#include <utility>

namespace dltrain::cpu {

#if defined(__AVX512F__)
inline constexpr int lanes = 16, vector_registers = 32;
#elif defined(__AVX__)
inline constexpr int lanes = 8, vector_registers = 16;
#else
inline constexpr int lanes = 4, vector_registers = 16;
#endif

using vf = float __attribute__((vector_size(lanes * 4)));
using vi = int32_t __attribute__((vector_size(lanes * 4)));
using vu8 = uint8_t __attribute__((vector_size(lanes)));

inline vf loadv(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void storev(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
inline vi loadv_u8(const uint8_t* p) {
  vu8 v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_convertvector(v, vi);
}
namespace detail {
using vbytes = uint8_t __attribute__((vector_size(lanes * 4)));
template <size_t... I>
inline vu8 low_bytes(vbytes b, std::index_sequence<I...>) {
  return __builtin_shufflevector(b, b, (I * 4)...);
}
}  // namespace detail
// Stores the low byte of each lane (the lanes hold 0..255). A byte shuffle, where a narrowing
// conversion becomes one extract per lane without AVX-512's vpmovdb.
inline void storev_u8(uint8_t* p, vi v) {
  const vu8 b = detail::low_bytes(reinterpret_cast<detail::vbytes>(v), std::make_index_sequence<lanes>{});
  std::memcpy(p, &b, sizeof b);
}
// x - 0 is x for every x (x + 0 is not: -0 + 0 = +0), so this is one broadcast.
inline vf splat(float v) { return v - vf{}; }

}  // namespace dltrain::cpu
