// `dltrain predict MODEL IMAGE...` (MODEL: a model.safetensors, or a .tflite such as dltrain's own
// export) or `dltrain predict --backbone FILE.tflite [--labels FILE] IMAGE...`: the top classes
// with their probabilities for each image.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <numeric>

#include "commands.hpp"
#include "dltrain/io.hpp"
#include "dltrain/models.hpp"
#include "dltrain/train.hpp"

namespace dltrain::cli {
namespace {

struct PredictArgs {
  std::vector<std::string> files;
  std::string backbone, labels, device = "auto";
  int64_t top = 3;
  bool invert = false;
};

void run(const PredictArgs& a) {
  ops::cpu_kernel_level();  // a DLTRAIN_CPU_ISA that cannot be followed is an error before any work
  const Device device = resolve_device(a.device);
  LoadedModel m;
  std::vector<std::string> images = a.files;
  std::string model_path = a.backbone;
  if (model_path.empty() && images.size() >= 2 && images.front().ends_with(".tflite")) {
    model_path = images.front();  // `dltrain predict model.tflite photo.jpg`: a TFLite classifier, e.g. an export
    images.erase(images.begin());
  }
  if (!model_path.empty()) {
    require_file_argument(model_path, a.backbone.empty() ? "MODEL" : "--backbone");
    ImportedModel imported = import_tflite(model_path);
    m.model = std::move(imported.model);
    m.info.preprocessing = imported.preprocessing;
    const int64_t k = m.model->n_classes();
    m.info.labels = a.labels.empty() ? imported.labels : text_lines(read_file(a.labels));
    if (m.info.labels.empty())
      for (int64_t i = 0; i < k; ++i) m.info.labels.push_back("class " + std::to_string(i));
    if (int64_t(m.info.labels.size()) != k)
      throw Error((a.labels.empty() ? model_path : a.labels) + ": " + std::to_string(m.info.labels.size()) +
                      " labels for a model with " +
                      std::to_string(k) + " classes",
                  "one label per line, line N naming class N");
  } else {
    DLT_CHECK(images.size() >= 2, "give a model file and at least one image",
              "dltrain predict runs/<run>/model.safetensors photo.jpg, or --backbone model.tflite photo.jpg");
    model_path = model_argument(images.front());
    m = load_model(model_path);
    images.erase(images.begin());
  }
  m.model->to(device);
  const Shape in = m.model->input_shape();
  DLT_CHECK(in.rank() == 3, model_path + ": this model does not take images (input " + in.str() + ")");
  for (const std::string& path : images) require_file_argument(path, "IMAGE");  // all there before the first is classified
  for (const std::string& path : images) {
    Tensor img = load_image(path, in[0], in[1], in[2], m.info.preprocessing.resize);
    if (a.invert)
      for (int64_t i = 0; i < img.numel(); ++i) img.u8()[i] = uint8_t(255 - img.u8()[i]);
    const std::vector<float> p = predict(*m.model, img, m.info.preprocessing);
    std::vector<size_t> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return p[x] > p[y]; });
    std::printf("%s: %s (%.4f)\n", path.c_str(), m.info.labels[order[0]].c_str(), p[order[0]]);
    for (size_t i = 0; i < std::min<size_t>(size_t(a.top), order.size()); ++i)
      std::printf("  %4zu %-24s %.4f\n", order[i], m.info.labels[order[i]].c_str(), p[order[i]]);
  }
}

}  // namespace

void add_predict(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand(
      "predict", "Classify images (JPEG, PNG, BMP, or raw pixels) with a trained model or a TFLite classifier");
  cmd->add_option("files", a->files, "MODEL IMAGE... (a model.safetensors from `dltrain train`, its run folder, the "
                                     "--name of a fetched run, or a .tflite classifier such as `dltrain export` "
                                     "writes), or only images with --backbone")
      ->required();
  cmd->add_option("--backbone", a->backbone, "classify with a TFLite model instead (e.g. mobilenet_v2_1.0_224_quant.tflite)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--labels", a->labels,
                  "class names for --backbone, one per line (line N = class N); default: a labels file packed "
                  "into the model, if any")
      ->check(CLI::ExistingFile);
  cmd->add_option("--top,-k", a->top, "how many classes to list")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--device", a->device, "where to run: auto (a GPU when this dltrain can run there and doctor's smoke test passes, else the "
                  "CPU), cpu, cuda, cuda:N")->capture_default_str();
  cmd->add_flag("--invert", a->invert, "invert pixel values first (dark digits on a light background, unlike MNIST)");
  cmd->callback([a] { run(*a); });
}

}  // namespace dltrain::cli
