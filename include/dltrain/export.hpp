// export: trained models out to formats other runtimes read. ONNX float32 is built (when CMake
// found protobuf and Debian's onnx.proto); TFLite export is the rest of issue 14, not built yet.
// Export only reads the model: it never trains or changes it.
#pragma once

#include <string>

#include "dltrain/io.hpp"

namespace dltrain {

// What the ONNX file declares: IR version 8 and the default domain's opset 17, which Debian's onnx
// 1.12 checker and every current ONNX Runtime accept.
constexpr int64_t onnx_ir_version = 8;
constexpr int64_t onnx_opset = 17;

// False when this build left the ONNX exporter out (no protobuf or onnx.proto at configure time).
bool onnx_export_built();

// The model as a serialized ONNX ModelProto. The graph takes raw pixels, exactly what
// `dltrain predict` feeds its model: input "pixels", uint8 NHWC (N,H,W,C) with a dynamic batch N;
// Cast + Mul(scale) + Add(offset) inside the graph do the preprocessing, Transposes convert to NCHW
// for Conv and pools and back to NHWC before Flatten (so Dense kernels keep Keras's order). Output
// "probabilities" (N,K) is what `dltrain predict` prints: a softmax over the model's output (the
// model's own Softmax layer when it has one). Labels and preprocessing go into metadata_props.
// Throws dltrain::Error naming the first layer it cannot express.
std::string encode_onnx(const Model& m, const ModelInfo& info);

// Writes `path` atomically (a temporary file renamed over it): on any error no file is left.
// The format follows the extension: .onnx; .tflite is not built yet (an Error says so).
void export_model(const std::string& path, const Model& m, const ModelInfo& info);

}  // namespace dltrain
