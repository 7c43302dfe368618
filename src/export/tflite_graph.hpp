// The TFLite exporter's graph: a dltrain Model lowered to TFLite operators (tflite_graph.cpp),
// quantized to int8 when asked (tflite_quantize.cpp), then written as a FlatBuffer against the
// official schema, tensorflow/lite/schema/schema.fbs (tflite_write.cpp). Operator codes, option
// tables and their field ids are the schema's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dltrain/export.hpp"
#include "io/tflite.hpp"

namespace dltrain::tflite_export {

// BuiltinOptions union members (the schema's numbering) and their tables' field ids.
enum OptionsType : uint8_t {
  no_options = 0, conv_options = 1, depthwise_options = 2, pool_options = 5, fully_connected_options = 8,
  softmax_options = 9, add_options = 11, mul_options = 21, reducer_options = 27, cast_options = 37,
};

// One scalar field of an options table: its id and value, stored as the type the schema gives it.
struct Field {
  enum Kind : uint8_t { i8, i32, f32 } kind;
  int id;
  double value;
};

struct Quant {
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  int32_t axis = 0;  // quantized_dimension
};


struct TensorDef {
  std::string name;
  std::vector<int32_t> shape;  // dims[0] is the batch (1, dynamic in shape_signature) when `batched`
  bool batched = true;
  int8_t type = tflite::FLOAT32;
  std::vector<float> values{};  // a float constant (weights), before any quantization
  std::vector<int32_t> ints{};  // an int32 constant (shapes, axes)
  bool constant = false;
  std::string bytes{};          // what is written to the buffer (set by finish() or quantize())
  Quant quant{};
  int source = -2;              // the dltrain node whose output an activation is (for calibration);
                                // Model::input for the preprocessed input, -2 for none
};

struct OpDef {
  int32_t code = 0;
  std::vector<int32_t> inputs, outputs;
  uint8_t options_type = no_options;
  std::vector<Field> options{};
};

struct Graph {
  std::vector<TensorDef> tensors;
  std::vector<OpDef> ops;
  int32_t input = -1, output = -1;  // the graph's one input and one output

  int32_t add_tensor(TensorDef t) {
    tensors.push_back(std::move(t));
    return int32_t(tensors.size()) - 1;
  }
};

// The layers of `m` as TFLite operators over float32 tensors, from the preprocessed input to the
// probabilities (softmax added when the model has no softmax head). Batchnorm is folded into the
// convolution or dense layer before it where that layer feeds it alone, else written as a 1x1
// depthwise convolution (or a diagonal fully connected layer);
// a ReLU/ReLU6 layer is fused into the producer it follows alone; dropout is the identity.
// Throws dltrain::Error naming a layer it cannot lower.
Graph lower(const Model& m, const ModelInfo& info, bool int8);

// Calibrates on `images` (uint8 (N, H, W, C)), then turns every float tensor of `g` into int8:
// weights per-channel symmetric, biases int32, activations per-tensor from the observed ranges.
void quantize(Graph& g, Model& m, const ModelInfo& info, const Tensor& images, bool int8_io);

// Float constants as little-endian bytes (the float export).
void finish_float(Graph& g);

// The FlatBuffer with the TFLite metadata (labels as an associated file) and the zip of that file
// appended, as TFLite's metadata tools pack them.
std::string write(const Graph& g, const Model& m, const ModelInfo& info);

}  // namespace dltrain::tflite_export
