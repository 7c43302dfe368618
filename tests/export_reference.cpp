// The reference side of tests/export_test.py: runs a model file (dltrain's .safetensors, or a
// .tflite through dltrain's importer) on images with the library's predict() (exactly what
// `dltrain predict` prints) and dumps the pixels it fed and the probabilities it got, so ONNX
// Runtime and LiteRT can be given the same pixels. Not a test by itself.
//   export_reference MODEL SOURCE N OUT_PREFIX
// SOURCE: an IDX images file (the first N images) or a folder of photos (the first N, sorted by
// name; resized as the model file says). Writes OUT_PREFIX.u8 (N,H,W,C) and OUT_PREFIX.f32 (N,K).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "dltrain/data.hpp"
#include "dltrain/io.hpp"
#include "dltrain/models.hpp"
#include "dltrain/train.hpp"

namespace fs = std::filesystem;
using namespace dltrain;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: export_reference MODEL SOURCE N OUT_PREFIX\n");
    return 2;
  }
  try {
    LoadedModel m;
    if (std::string(argv[1]).ends_with(".tflite")) {
      ImportedModel imported = import_tflite(argv[1]);
      m.model = std::move(imported.model);
      m.info.preprocessing = imported.preprocessing;
    } else {
      m = load_model(argv[1]);
    }
    const Shape in = m.model->input_shape();
    const int64_t n_max = std::stoll(argv[3]);
    std::vector<Tensor> images;
    if (fs::is_directory(argv[2])) {
      std::vector<std::string> files;
      for (const auto& e : fs::directory_iterator(argv[2]))
        if (e.path().extension() == ".jpg" || e.path().extension() == ".bmp" || e.path().extension() == ".png")
          files.push_back(e.path().string());
      std::sort(files.begin(), files.end());
      for (size_t i = 0; i < files.size() && int64_t(i) < n_max; ++i)
        images.push_back(load_image(files[i], in[0], in[1], in[2], m.info.preprocessing.resize));
    } else {
      const Tensor all = read_idx(argv[2]);  // (N, H, W)
      const int64_t n = std::min(n_max, all.shape()[0]), size = in.numel();
      for (int64_t i = 0; i < n; ++i) {
        Tensor one(in.with_batch(1), DType::u8);
        std::copy_n(all.u8() + i * size, size, one.u8());
        images.push_back(std::move(one));
      }
    }
    std::ofstream pixels(std::string(argv[4]) + ".u8", std::ios::binary);
    std::ofstream probs(std::string(argv[4]) + ".f32", std::ios::binary);
    for (const Tensor& img : images) {
      const std::vector<float> p = predict(*m.model, img, m.info.preprocessing);
      pixels.write(reinterpret_cast<const char*>(img.u8()), std::streamsize(img.numel()));
      probs.write(reinterpret_cast<const char*>(p.data()), std::streamsize(p.size() * sizeof(float)));
    }
    std::printf("%zu %lld %lld %lld %lld\n", images.size(), (long long)in[0], (long long)in[1], (long long)in[2],
                (long long)m.model->n_classes());
    return pixels && probs ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "export_reference: %s\n", e.what());
    return 1;
  }
}
