// export: trained models out to formats other runtimes read: ONNX float32 (when CMake found
// protobuf and Debian's onnx.proto) and TFLite, float32 or full-integer int8. Export never trains
// or changes the model's weights (int8 calibration runs it forward).
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

// What a TFLite export is.
struct TfliteOptions {
  bool int8 = false;        // full-integer: int8 weights and activations
  bool int8_io = false;     // with int8: int8 input and output tensors instead of uint8
  Tensor calibration;       // with int8: uint8 (N, H, W, C) images the activation ranges come from
};

// The model as a TFLite FlatBuffer (schema version 3) with its labels packed as TFLite's metadata
// tools pack them (TFLITE_METADATA and a zip holding labels.txt). Input "pixels" (N, H, W, C)
// with a dynamic batch N, the same uint8 pixels `dltrain predict` feeds the model: the float32
// graph starts with Cast + Mul(scale) + Add(offset); the int8 graph's input quantization is the
// preprocessing itself (scale, zero point -offset/scale). Output "probabilities" (N, K): float32,
// or uint8/int8 at scale 1/256. Batchnorm is folded into the convolution or dense layer before
// it, ReLU layers into their producer. Throws dltrain::Error naming the first layer it cannot
// express. Calibration runs the model forward, hence the non-const model.
std::string encode_tflite(Model& m, const ModelInfo& info, const TfliteOptions& options = {});

// Up to `count` uint8 images shaped as `m`'s input from a dataset (a catalog name, an IDX folder or
// an image dataset, as `train --data` takes): the training split, in a seeded random order.
Tensor calibration_images(const std::string& data, int64_t count, const Model& m, const ModelInfo& info);

// Writes `path` atomically (a temporary file renamed over it): on any error no file is left.
// The format follows the extension: .onnx or .tflite (`tflite` applies only to the latter).
void export_model(const std::string& path, Model& m, const ModelInfo& info, const TfliteOptions& tflite = {});

}  // namespace dltrain
