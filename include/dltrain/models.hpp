// models: named presets in the text format (see nn.hpp), sized to a dataset's input and classes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dltrain/io.hpp"
#include "dltrain/nn.hpp"

namespace dltrain {

struct Preset {
  std::string name;
  std::string description;
  std::string text;  // "{classes}" stands for the dataset's class count
};
const std::vector<Preset>& presets();

// A preset name or a network in the text format -> a built (not yet initialised) model.
std::unique_ptr<Model> build_model(const std::string& preset_or_text, const Shape& input_shape, int64_t n_classes);

// A classifier read from a TFLite file (models/import_tflite.cpp), weights dequantized to float.
struct ImportedModel {
  std::unique_ptr<Model> model;   // the whole network, softmax included
  Shape input_shape;              // (H, W, C)
  Preprocessing preprocessing;    // from the input tensor's quantization
  std::vector<std::string> labels;  // from a labels file packed into the model, if it has one
  // The feature extractor for transfer learning: the layers up to and including the last global
  // average pool (model's first `backbone_nodes` nodes), in the text format. Empty if there is none.
  std::string backbone;
  size_t backbone_nodes = 0;
  int64_t embedding_size = 0;
};
// Reads a .tflite file (uint8/int8 per-tensor or per-channel quantized, or float) and builds the
// model. Unsupported operators, graphs the text format cannot express and malformed files are
// errors that name the operator or the byte offset.
ImportedModel import_tflite(const std::string& path);

}  // namespace dltrain
