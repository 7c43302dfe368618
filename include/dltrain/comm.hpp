// comm: the processes one training runs on, and the collectives data-parallel training needs. A
// single process, or the ranks Open MPI's mpirun started (CPU; NCCL for GPUs comes with the GPU
// trainer). Chosen at run time from the environment, so one binary runs alone or under mpirun.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dltrain {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual int local_rank() const = 0;  // among the ranks on this machine
  virtual int local_size() const = 0;
  // Sums n values over all ranks, in place. The sum is taken in rank order 0, 1, ... by one rank
  // per slice and sent to all, so every rank holds the same bits. A rank that does not answer
  // within comm_timeout_seconds() is an Error (and the job is aborted when this process exits).
  virtual void allreduce_sum(float* data, int64_t n) = 0;
  virtual void allreduce_sum(double* data, int64_t n) = 0;
  // Every rank's value, in rank order.
  virtual std::vector<uint64_t> allgather(uint64_t value) = 0;
  // Rank 0's text, on every rank (e.g. the run folder rank 0 named).
  virtual std::string broadcast(const std::string& text) = 0;
  virtual std::string describe() const = 0;  // "single process", "Open MPI 4.1.4: rank 0 of 2"
};

// This process's communicator, made on first use: Open MPI when mpirun (or another Open MPI / PMIx
// launcher) started it, else a single process. Started by mpirun in a dltrain built without MPI:
// an Error saying so, rather than N independent copies of one training.
Communicator& communicator();
// Whether a launcher started this process as one of several ranks (from its environment).
bool launched_as_rank();
// Whether this dltrain was built with Open MPI, and its version ("" when not).
std::string mpi_library_version();
// How long a collective waits for the other ranks: $DLTRAIN_COMM_TIMEOUT seconds, default 300.
double comm_timeout_seconds();

}  // namespace dltrain
