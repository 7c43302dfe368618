// Portable 16-lane vectors (GCC/Clang vector extensions): one AVX-512 register, two AVX2 ones.
// Used where a kernel keeps accumulators in registers across a loop the compiler will not
// vectorise on its own.
#pragma once

#include <cstdint>
#include <cstring>

namespace dltrain::cpu {

using vf16 = float __attribute__((vector_size(64)));
using vi16 = int32_t __attribute__((vector_size(64)));
using vu8x16 = uint8_t __attribute__((vector_size(16)));

inline vf16 load16(const float* p) {
  vf16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store16(float* p, vf16 v) { std::memcpy(p, &v, sizeof v); }
inline vi16 load16_u8(const uint8_t* p) {
  vu8x16 v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_convertvector(v, vi16);
}
inline void store16_u8(uint8_t* p, vi16 v) {
  const vu8x16 b = __builtin_convertvector(v, vu8x16);
  std::memcpy(p, &b, sizeof b);
}
inline vf16 splat(float v) { return vf16{} + v; }

}  // namespace dltrain::cpu
