// Rng: a splitmix64 stream; hash_uniform: the same mixer keyed by (key, index).
#include <cmath>

#include "dltrain/core.hpp"

namespace dltrain {
namespace {
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
double to_unit(uint64_t x) { return static_cast<double>(x >> 11) * 0x1.0p-53; }
}  // namespace

uint64_t Rng::next_u64() {
  state_ += 0x9e3779b97f4a7c15ULL;
  return mix(state_);
}

double Rng::uniform() { return to_unit(next_u64()); }

float Rng::uniform(float lo, float hi) {
  return lo + static_cast<float>(uniform()) * (hi - lo);
}

uint64_t Rng::below(uint64_t n) {
  DLT_CHECK(n > 0, "Rng::below(0)");
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = next_u64(); while (x >= limit);
  return x % n;
}

double hash_uniform(uint64_t key, uint64_t index) {
  return to_unit(mix(mix(key) ^ (index * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL)));
}

}  // namespace dltrain
