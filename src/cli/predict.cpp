// `dltrain predict MODEL IMAGE...`: the top classes with their probabilities for each image.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <numeric>

#include "commands.hpp"
#include "dltrain/io.hpp"
#include "dltrain/train.hpp"

namespace dltrain::cli {
namespace {

struct PredictArgs {
  std::string model_path;
  std::vector<std::string> images;
  int64_t top = 3;
  bool invert = false;
};

void run(const PredictArgs& a) {
  LoadedModel m = load_model(a.model_path);
  const Shape in = m.model->input_shape();
  DLT_CHECK(in.rank() == 3, "this model does not take images (input " + in.str() + ")");
  for (const std::string& path : a.images) {
    Tensor img = load_image(path, in[0], in[1], in[2]);
    if (a.invert)
      for (int64_t i = 0; i < img.numel(); ++i) img.u8()[i] = uint8_t(255 - img.u8()[i]);
    const std::vector<float> p = predict(*m.model, img, m.info.preprocessing);
    std::vector<size_t> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return p[x] > p[y]; });
    std::printf("%s: %s (%.4f)\n", path.c_str(), m.info.labels[order[0]].c_str(), p[order[0]]);
    for (size_t i = 0; i < std::min<size_t>(size_t(a.top), order.size()); ++i)
      std::printf("  %2zu %-16s %.4f\n", order[i], m.info.labels[order[i]].c_str(), p[order[i]]);
  }
}

}  // namespace

void add_predict(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand("predict", "Classify images (PNG, JPEG, BMP, or raw pixels) with a trained model");
  cmd->add_option("model", a->model_path, "model file (runs/<run>/model.safetensors)")->required()->check(CLI::ExistingFile);
  cmd->add_option("images", a->images, "image files")->required()->check(CLI::ExistingFile);
  cmd->add_option("--top,-k", a->top, "how many classes to list")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_flag("--invert", a->invert, "invert pixel values first (dark digits on a light background, unlike MNIST)");
  cmd->callback([a] { run(*a); });
}

}  // namespace dltrain::cli
