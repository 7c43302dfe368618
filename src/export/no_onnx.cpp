// The ONNX exporter's stand-in for builds without protobuf or onnx.proto (CMake picks this file):
// it says what to install. Not an exporter.
#include "dltrain/export.hpp"

namespace dltrain {

bool onnx_export_built() { return false; }

std::string encode_onnx(const Model&, const ModelInfo&) {
  throw Error("ONNX export is not built into this dltrain",
              "install protobuf-compiler libprotobuf-dev libonnx-dev (tools/install-deps.sh) and rebuild");
}

}  // namespace dltrain
