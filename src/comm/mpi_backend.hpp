// The seam to comm/mpi.cpp (built with Open MPI) or comm/no_mpi.cpp (without).
#pragma once

#include <memory>

#include "dltrain/comm.hpp"

namespace dltrain {
// Initialises MPI; throws (no_mpi.cpp) when this dltrain has no MPI.
std::unique_ptr<Communicator> make_mpi_communicator();
}  // namespace dltrain
