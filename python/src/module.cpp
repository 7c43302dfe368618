// dltrain._core: the library as a Python extension (nanobind). The Python package around it
// (python/dltrain/) adds the Keras-like surface, progress bars and the notebook magics; no
// training logic lives on this side.
#include "bindings.hpp"

NB_MODULE(_core, m) {
  m.doc() = "dltrain's C++ library (see the dltrain package for the Python interface)";
  dltrain::python::bind_tools(m);
  dltrain::python::bind_model(m);
}
