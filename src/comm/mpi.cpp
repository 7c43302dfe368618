// Open MPI ranks: the deterministic all-reduce (each rank sums one slice in rank order, then every
// rank gathers all slices; a rank's own part never leaves its buffer), with a deadline on every
// collective.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <thread>
#include <type_traits>
#include <vector>

#include "dltrain/core.hpp"
#include "mpi_backend.hpp"

namespace dltrain {
namespace {

bool failed = false;  // a collective timed out: abort the job at exit instead of finalising

void finish() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  if (failed) MPI_Abort(MPI_COMM_WORLD, 1);  // the other ranks may be waiting forever
  MPI_Finalize();
}

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  failed = true;
  throw Error(std::string(what) + " failed: " + std::string(text, size_t(len)),
              "a rank stopped or the network between them failed; every rank stops");
}

class Mpi final : public Communicator {
 public:
  Mpi() {
    int provided = 0;
    // SERIALIZED: the Python module calls from a training thread that is not the main one.
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
    std::atexit(finish);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (provided < MPI_THREAD_SERIALIZED)
      throw Error("this MPI library cannot be called from more than one thread (MPI_THREAD_SERIALIZED)");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local), "MPI_Comm_split_type");
    MPI_Comm_rank(local, &local_rank_);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
    timeout_ = comm_timeout_seconds();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  void allreduce_sum(float* data, int64_t n) override { reduce(data, n, MPI_FLOAT); }
  void allreduce_sum(double* data, int64_t n) override { reduce(data, n, MPI_DOUBLE); }
  std::vector<uint64_t> allgather(uint64_t value) override {
    std::vector<uint64_t> all(static_cast<size_t>(size_), 0);
    MPI_Request r;
    check(MPI_Iallgather(&value, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD, &r), "MPI_Iallgather");
    wait(r, "allgather");
    return all;
  }
  std::string broadcast(const std::string& text) override {
    uint64_t n = text.size();
    MPI_Request r;
    check(MPI_Ibcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD, &r), "MPI_Ibcast");
    wait(r, "broadcast");
    DLT_CHECK(n <= INT_MAX, "a broadcast of more than 2^31 bytes");
    std::string out = rank_ == 0 ? text : std::string(size_t(n), '\0');
    check(MPI_Ibcast(out.data(), int(n), MPI_CHAR, 0, MPI_COMM_WORLD, &r), "MPI_Ibcast");
    wait(r, "broadcast");
    return out;
  }
  std::string describe() const override {
    return mpi_library_version() + ": rank " + std::to_string(rank_) + " of " + std::to_string(size_) + " (" +
           std::to_string(local_size_) + " on this machine)";
  }

 private:
  template <class T>
  void reduce(T* data, int64_t n, MPI_Datatype type) {
    if (size_ == 1 || n == 0) return;
    DLT_CHECK(n <= INT_MAX, "an all-reduce of more than 2^31 values");
    const auto lo = [&](int j) { return int(n * j / size_); };
    const int begin = lo(rank_), mine = lo(rank_ + 1) - begin;
    const auto ranks = static_cast<size_t>(size_);
    counts_.assign(ranks, 0);
    displs_.assign(ranks, 0);
    send_counts_.assign(ranks, 0);
    recv_counts_.assign(ranks, 0);
    recv_displs_.assign(ranks, 0);
    for (int j = 0; j < size_; ++j) {
      const auto u = size_t(j);
      counts_[u] = lo(j + 1) - lo(j);
      displs_[u] = lo(j);
      if (j == rank_) continue;  // this rank's own part of its slice stays in place
      send_counts_[u] = counts_[u];
      recv_counts_[u] = mine;
      recv_displs_[u] = (j < rank_ ? j : j - 1) * mine;
    }
    // 1. Slice j of every other rank goes to rank j. (A buffer kept across calls: a step's
    // gradients are megabytes, which malloc would map and the kernel zero again every step.)
    std::vector<T>& parts = buffer<T>();
    parts.resize(size_t(mine) * (ranks - 1));
    MPI_Request r;
    check(MPI_Ialltoallv(data, send_counts_.data(), displs_.data(), type, parts.data(), recv_counts_.data(),
                         recv_displs_.data(), type, MPI_COMM_WORLD, &r),
          "MPI_Ialltoallv");
    wait(r, "all-reduce (scatter)");
    // 2. This rank's slice, summed in rank order 0, 1, ... (the same order for every slice).
    // A block of 1024 values at a time is summed in a small array (vector adds) and only then
    // written over this rank's own part, which is one of the summands.
    T* own = data + begin;
    std::vector<const T*> from(ranks);
    for (int j = 0; j < size_; ++j)
      from[size_t(j)] = j == rank_ ? own : parts.data() + size_t(j < rank_ ? j : j - 1) * size_t(mine);
    constexpr int block = 1024;
    T sum[block];
    for (int k0 = 0; k0 < mine; k0 += block) {
      const int len = std::min(block, mine - k0);
      std::copy_n(from[0] + k0, len, sum);
      for (size_t j = 1; j < ranks; ++j)
        for (int k = 0; k < len; ++k) sum[k] += from[j][k0 + k];
      std::copy_n(sum, len, own + k0);
    }
    // 3. Every rank gathers every slice, in place.
    check(MPI_Iallgatherv(MPI_IN_PLACE, 0, type, data, counts_.data(), displs_.data(), type, MPI_COMM_WORLD, &r),
          "MPI_Iallgatherv");
    wait(r, "all-reduce (gather)");
  }
  template <class T>
  std::vector<T>& buffer() {
    if constexpr (std::is_same_v<T, float>) return parts_f32_;
    else return parts_f64_;
  }

  void wait(MPI_Request& r, const char* what) {
    // Open MPI moves a non-blocking collective's fragments forward only inside MPI calls: poll
    // without pause for the first 100 ms (a step's exchange takes well under that), then back off.
    const auto start = std::chrono::steady_clock::now();
    const auto patient = start + std::chrono::milliseconds(100);
    const auto deadline = start + std::chrono::duration<double>(timeout_);
    for (;;) {
      int done = 0;
      check(MPI_Test(&r, &done, MPI_STATUS_IGNORE), what);
      if (done) return;
      const auto now = std::chrono::steady_clock::now();
      if (now > patient) std::this_thread::sleep_for(std::chrono::microseconds(200));
      if (now > deadline) {
        failed = true;
        throw Error("rank " + std::to_string(rank_) + ": the other ranks did not answer within " +
                        std::to_string(int(timeout_)) + " s (" + what + ")",
                    "a rank stopped or hangs; all ranks stop (DLTRAIN_COMM_TIMEOUT sets the wait)");
      }
    }
  }

  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  double timeout_ = 300;
  std::vector<int> counts_, displs_, send_counts_, recv_counts_, recv_displs_;
  std::vector<float> parts_f32_;
  std::vector<double> parts_f64_;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator() { return std::make_unique<Mpi>(); }

std::string mpi_library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(text, &len);
  const std::string v(text, size_t(len));
  return v.substr(0, v.find(','));
}

}  // namespace dltrain
