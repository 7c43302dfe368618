// export_model: picks the format from the file name's extension and writes the file atomically;
// encode_tflite and the calibration images for int8. The formats live in onnx.cpp and tflite_*.cpp.
#include <algorithm>
#include <cstring>
#include <filesystem>

#include "dltrain/data.hpp"
#include "dltrain/export.hpp"
#include "tflite_graph.hpp"

namespace dltrain {

std::string encode_tflite(Model& m, const ModelInfo& info, const TfliteOptions& options) {
  DLT_CHECK(!options.int8_io || options.int8, "TFLite export: int8 input and output need --int8");
  tflite_export::Graph g = tflite_export::lower(m, info, options.int8);
  if (options.int8) tflite_export::quantize(g, m, info, options.calibration, options.int8_io);
  else tflite_export::finish_float(g);
  return tflite_export::write(g, m, info);
}

Tensor calibration_images(const std::string& data, int64_t count, const Model& m, const ModelInfo& info) {
  DLT_CHECK(count >= 1, "TFLite export: --calibration-images must be at least 1");
  const Shape in = m.input_shape();
  const int64_t per = in.numel();
  Rng rng(0);
  if (is_image_dataset(data)) {
    DLT_CHECK(in.rank() == 3, data + ": photos cannot calibrate a model whose input is " + in.str());
    const ImageList train = load_image_dataset(data, 0.0, 0).train;
    const std::vector<int64_t> order = shuffled_order(train.size(), rng);
    const int64_t n = std::min(count, train.size());
    Tensor out(in.with_batch(n), DType::u8);
    for (int64_t i = 0; i < n; ++i) {
      const Tensor img = load_image(train.paths[size_t(order[size_t(i)])], in[0], in[1], in[2], info.preprocessing.resize);
      std::memcpy(out.u8() + i * per, img.u8(), size_t(per));
    }
    return out;
  }
  const Dataset train = load_dataset(data).train;
  DLT_CHECK(train.sample_shape().numel() == per,
            data + ": its images are " + train.sample_shape().str() + ", the model takes " + in.str(),
            "calibrate with the data the model was trained on");
  const std::vector<int64_t> order = shuffled_order(train.size(), rng);
  const int64_t n = std::min(count, train.size());
  Tensor out(in.with_batch(n), DType::u8);
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(out.u8() + i * per, train.images.u8() + order[size_t(i)] * per, size_t(per));
  return out;
}

void export_model(const std::string& path, Model& m, const ModelInfo& info, const TfliteOptions& tflite) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  // Every check happens before a byte is written.
  if (ext == ".onnx") {
    DLT_CHECK(!tflite.int8, path + ": int8 export is for .tflite files", "name the file model_int8.tflite");
    write_file_atomic(path, encode_onnx(m, info));
    return;
  }
  if (ext == ".tflite") {
    write_file_atomic(path, encode_tflite(m, info, tflite));
    return;
  }
  throw Error(path + ": unknown export format '" + ext + "'", "name the file model.onnx or model.tflite");
}

}  // namespace dltrain
