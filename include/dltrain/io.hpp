// io: files dltrain reads and writes. safetensors (weights + string metadata), atomic writes,
// and model files: weights plus architecture, labels and preprocessing in one self-contained file.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dltrain/nn.hpp"

namespace dltrain {

// Writes to a temporary file in the same folder, fsyncs it (unless `durable` is false: progress
// notes that may be lost with the machine, not with the process) and renames it over `path`, so
// readers see the old file or the new one, never a partial one. Nothing is left behind on failure.
void write_file_atomic(const std::string& path, std::string_view content, bool durable = true);
std::string read_file(const std::string& path);
// The lines of a text (LF or CRLF), without the empty lines at its end: labels files.
std::vector<std::string> text_lines(const std::string& text);

// Hex digests (OpenSSL): of a string, and of a file read in chunks (SHA-256, and MD5 in the same
// pass when asked for).
std::string sha256_hex(const std::string& data);
std::string hex_string(const unsigned char* bytes, size_t n);  // lower-case
struct FileDigest {
  std::string sha256, md5;  // md5 is empty unless asked for
  int64_t size = 0;
};
FileDigest digest_file(const std::string& path, bool with_md5 = false);
// The same, fed in pieces (e.g. while a download arrives).
class Hasher {
 public:
  explicit Hasher(bool with_md5 = false);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void update(const void* data, size_t n);
  FileDigest finish();  // once
  int64_t size() const { return size_; }

 private:
  void* sha_;
  void* md5_;
  int64_t size_ = 0;
};

using Metadata = std::map<std::string, std::string>;
struct TensorRef {
  std::string name;
  const Tensor* tensor;
};
// safetensors: u64 little-endian header length, JSON header (dtype, shape, data_offsets per tensor
// and "__metadata__" of strings), then the raw little-endian data. F32 and U8 are supported.
std::string encode_safetensors(const std::vector<TensorRef>& tensors, const Metadata& metadata);
void write_safetensors(const std::string& path, const std::vector<TensorRef>& tensors, const Metadata& metadata);

struct SafetensorsFile {
  Metadata metadata;
  std::map<std::string, Tensor> tensors;
};
// Validates the header (length, JSON, dtypes, shapes, offsets in bounds and not overlapping).
SafetensorsFile read_safetensors(const std::string& path);

// How raw pixels become model input: x = pixel * scale + offset, images resized to the model's
// input height and width with `channels` channels.
// How images of another size reach the model's: stretched with bilinear interpolation (half-pixel
// centres, TFLite's convention), or the shorter side resized and the centre cropped.
enum class Resize : uint8_t { bilinear, crop };
struct Preprocessing {
  float scale = 1.0f / 255.0f;
  float offset = 0.0f;
  Resize resize = Resize::bilinear;
};

// Everything a model file carries besides weights.
struct ModelInfo {
  std::string title;                 // preset name or "custom"
  std::string dataset;               // what it was trained on
  std::vector<std::string> labels;   // class names, index = class id
  Preprocessing preprocessing;
};

struct LoadedModel {
  std::unique_ptr<Model> model;
  ModelInfo info;
};

// Model <-> safetensors. Tensor names are "<layer>/<param>"; metadata keys: format,
// architecture (the text format), input_shape, labels, preprocessing (JSON), title, dataset.
Metadata model_metadata(const Model& m, const ModelInfo& info);
std::vector<TensorRef> model_tensors(Model& m);
void save_model(const std::string& path, Model& m, const ModelInfo& info);
LoadedModel load_model(const std::string& path);
// The largest input sample a model file may declare: 2^28 elements (1 GiB of float32 per image).
constexpr int64_t max_model_input_elements = int64_t(1) << 28;
// Builds the model a file describes and copies the weights in; used by load_model and checkpoints.
// Checks the metadata first (input shape against max_model_input_elements, finite preprocessing),
// and names the file in every error.
LoadedModel model_from(const SafetensorsFile& file, const std::string& path);

}  // namespace dltrain
