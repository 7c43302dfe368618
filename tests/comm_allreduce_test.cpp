// The MPI all-reduce, run under `mpirun -np 3` (CTest mpi.allreduce_rank_order): for lengths that
// leave some ranks an empty slice and for one over many summing blocks, every rank must end with
// exactly ((x0 + x1) + x2) for every element, in float and in double. The values span 40 binary
// orders of magnitude, so any other summation order gives different bits (checked too, so the
// test cannot pass by accident).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "dltrain/comm.hpp"

namespace {

// Rank r's value at index i: a hash of (r, i) scaled by 2^-20 ... 2^20.
double value(int r, int64_t i) {
  uint64_t h = (uint64_t(i) * 0x9E3779B97F4A7C15ull) ^ (uint64_t(r + 1) * 0xC2B2AE3D27D4EB4Full);
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 32;
  const double u = double(h >> 11) / double(1ull << 53) - 0.5;
  return std::ldexp(u, int(h % 41) - 20);
}

template <class T>
int check(dltrain::Communicator& comm, int64_t n) {
  const int ranks = comm.size();
  const auto len = static_cast<size_t>(n);
  std::vector<T> data(len), want(len), reversed(len);
  for (int64_t i = 0; i < n; ++i) {
    data[size_t(i)] = T(value(comm.rank(), i));
    T s = T(value(0, i)), back = T(value(ranks - 1, i));
    for (int r = 1; r < ranks; ++r) {
      s += T(value(r, i));
      back += T(value(ranks - 1 - r, i));
    }
    want[size_t(i)] = s;
    reversed[size_t(i)] = back;
  }
  comm.allreduce_sum(data.data(), n);
  int64_t wrong = 0;
  for (int64_t i = 0; i < n; ++i) wrong += std::memcmp(&data[size_t(i)], &want[size_t(i)], sizeof(T)) != 0;
  const bool discriminates = n < 1000 || std::memcmp(want.data(), reversed.data(), size_t(n) * sizeof(T)) != 0;
  if (wrong || !discriminates) {
    std::printf("rank %d, n = %lld, %zu-byte values: %lld of the sums are not ((x0 + x1) + ...) bit for bit%s\n",
                comm.rank(), (long long)n, sizeof(T), (long long)wrong,
                discriminates ? "" : "; the values do not tell summation orders apart");
    return 1;
  }
  return 0;
}

}  // namespace

int main() {
  dltrain::Communicator& comm = dltrain::communicator();
  if (comm.size() < 3) {
    std::printf("run under mpirun -np 3 (this is %s)\n", comm.describe().c_str());
    return 1;
  }
  int failures = 0;
  for (const int64_t n : {int64_t(1), int64_t(2), int64_t(7), int64_t(1000003)}) {
    failures += check<float>(comm, n);
    failures += check<double>(comm, n);
  }
  if (comm.rank() == 0 && failures == 0) std::printf("all-reduce on %d ranks: every sum in rank order\n", comm.size());
  return failures == 0 ? 0 : 1;
}
