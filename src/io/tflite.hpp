// Reading TFLite model files (a FlatBuffer, schema tensorflow/lite/schema/schema.fbs): tensors,
// operators, buffers and quantization, checked with the flatbuffers library's Verifier. Every
// structural problem is an Error naming the part and its byte offset. The graph translation into
// dltrain layers lives in models/import_tflite.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace flatbuffers {
class Table;
}

namespace dltrain::tflite {

// BuiltinOperator values used here (the schema's numbering).
enum Op : int32_t {
  ADD = 0, AVERAGE_POOL_2D = 1, CONV_2D = 3, DEPTHWISE_CONV_2D = 4, DEQUANTIZE = 6, FULLY_CONNECTED = 9,
  MAX_POOL_2D = 17, MUL = 18, RELU = 19, RELU6 = 21, RESHAPE = 22, SOFTMAX = 25, PAD = 34, MEAN = 40, CAST = 53,
  QUANTIZE = 114,
};
const char* op_name(int32_t code);  // "CONV_2D", or "BUILTIN_<n>"

// TensorType values.
enum Type : int8_t { FLOAT32 = 0, INT32 = 2, UINT8 = 3, INT8 = 9 };

struct Quantization {
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  int32_t axis = 0;  // quantized_dimension, for per-channel scales
};

struct TensorInfo {
  std::string name;
  std::vector<int32_t> shape;
  int8_t type = FLOAT32;
  std::span<const uint8_t> data;  // constant contents; empty for activations
  Quantization quant;
};

// One operator's options table, read field by field (ids as in the schema).
class Options {
 public:
  Options(const flatbuffers::Table* t, const class File* file) : t_(t), file_(file) {}
  int32_t i32(int id, int32_t fallback) const;
  int8_t i8(int id, int8_t fallback) const;
  float f32(int id, float fallback) const;
  std::vector<int32_t> i32s(int id) const;

 private:
  const flatbuffers::Table* t_;
  const class File* file_;
};

struct OpInfo {
  int index = 0;  // position in the subgraph
  int32_t code = 0;
  std::vector<int32_t> inputs, outputs;  // tensor ids; -1 marks an omitted optional input
  uint8_t options_type = 0;
  Options options{nullptr, nullptr};
};

// The files of the zip archive that TFLite's metadata tools append to a model (its labels, for
// instance), as (name, contents); empty when there is none.
std::vector<std::pair<std::string, std::string>> associated_files(const std::string& path);

class File {
 public:
  // Reads and verifies the whole file (the first subgraph).
  static std::unique_ptr<File> read(const std::string& path);
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::vector<OpInfo>& ops() const { return ops_; }
  const std::vector<int32_t>& inputs() const { return inputs_; }
  const std::vector<int32_t>& outputs() const { return outputs_; }
  // A constant tensor as float: (q - zero_point) * scale per tensor or per channel; int32 biases
  // likewise; float32 as stored.
  std::vector<float> dequantize(int32_t tensor) const;
  [[noreturn]] void malformed(const std::string& what, const void* at) const;

 private:
  File() = default;
  std::string path_, bytes_;
  std::vector<TensorInfo> tensors_;
  std::vector<OpInfo> ops_;
  std::vector<int32_t> inputs_, outputs_;
  friend class Reader;
  friend class Options;
};

}  // namespace dltrain::tflite
