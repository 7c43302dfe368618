// The single-process communicator, and the choice between it and MPI (comm/mpi.cpp or
// comm/no_mpi.cpp, as CMake found Open MPI or not).
#include <cstdlib>
#include <memory>

#include "dltrain/comm.hpp"
#include "dltrain/core.hpp"
#include "mpi_backend.hpp"

namespace dltrain {
namespace {

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  void allreduce_sum(float*, int64_t) override {}
  void allreduce_sum(double*, int64_t) override {}
  std::vector<uint64_t> allgather(uint64_t value) override { return {value}; }
  std::string broadcast(const std::string& text) override { return text; }
  std::string describe() const override { return "single process"; }
};

}  // namespace

bool launched_as_rank() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"}) {
    const char* s = std::getenv(v);
    if (s && *s) return std::string(v) != "OMPI_COMM_WORLD_SIZE" || std::atoi(s) >= 1;
  }
  return false;
}

double comm_timeout_seconds() {
  const char* s = std::getenv("DLTRAIN_COMM_TIMEOUT");
  if (!s || !*s) return 300;
  char* end = nullptr;
  const double v = std::strtod(s, &end);
  if (end == s || *end || !(v > 0) || v > 1e6)
    throw Error(std::string("DLTRAIN_COMM_TIMEOUT=") + s + " is not a number of seconds", "e.g. DLTRAIN_COMM_TIMEOUT=600");
  return v;
}

Communicator& communicator() {
  static std::unique_ptr<Communicator> comm = [] {
    if (!launched_as_rank()) return std::unique_ptr<Communicator>(std::make_unique<SingleProcess>());
    return make_mpi_communicator();
  }();
  return *comm;
}

}  // namespace dltrain
