// Built without Open MPI: started by mpirun, say so instead of training N copies of one run.
#include "dltrain/core.hpp"
#include "mpi_backend.hpp"

namespace dltrain {

std::unique_ptr<Communicator> make_mpi_communicator() {
  throw Error("this process was started by mpirun, but this dltrain was built without MPI",
              "install libopenmpi-dev and rebuild (CMake finds it), or run dltrain without mpirun");
}

std::string mpi_library_version() { return ""; }

}  // namespace dltrain
