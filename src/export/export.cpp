// export_model: picks the format from the file name's extension and writes the file atomically.
// The formats themselves live in onnx*.cpp (and, later, tflite export).
#include <algorithm>
#include <filesystem>

#include "dltrain/export.hpp"

namespace dltrain {

void export_model(const std::string& path, const Model& m, const ModelInfo& info) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (ext == ".onnx") {
    const std::string bytes = encode_onnx(m, info);  // every check happens before a byte is written
    write_file_atomic(path, bytes);
    return;
  }
  if (ext == ".tflite")
    throw Error(path + ": TFLite export is not built yet",
                "issue 14's TFLite half (float32 and int8 .tflite) is still to come; export to .onnx for now");
  throw Error(path + ": unknown export format '" + ext + "'", "name the file model.onnx (or, later, model.tflite)");
}

}  // namespace dltrain
