// `dltrain summary`: the layer table of a preset, a network in the text format, or a model file.
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "dltrain/io.hpp"
#include "dltrain/models.hpp"
#include "dltrain/path.hpp"

namespace dltrain::cli {
namespace {

struct SummaryArgs {
  std::string model = "cnn", file;
  std::vector<int64_t> input{28, 28, 1};
  int64_t classes = 10;
  bool list = false;
};

void run(const SummaryArgs& a) {
  if (a.list) {
    for (const Preset& p : presets()) std::printf("%-8s %s\n         %s\n", p.name.c_str(), p.description.c_str(), p.text.c_str());
    return;
  }
  if (a.file.size() > 7 && a.file.ends_with(".tflite")) {
    const ImportedModel m = import_tflite(a.file);
    std::printf("%s", summary(*m.model).c_str());
    std::printf("Architecture: %s\nInput: %s, pixel * %g %+g\n", m.model->spec.c_str(), m.input_shape.str().c_str(),
                double(m.preprocessing.scale), double(m.preprocessing.offset));
    if (m.backbone_nodes > 0)
      std::printf("Transfer-learning backbone: the first %zu layers (features: %lld values)\n", m.backbone_nodes,
                  (long long)m.embedding_size);
    return;
  }
  if (!a.file.empty()) {
    LoadedModel m = load_model(a.file);
    std::printf("%s", summary(*m.model).c_str());
    std::printf("Architecture: %s\nTrained on: %s\n", m.model->spec.c_str(), m.info.dataset.c_str());
    return;
  }
  auto model = naming("--model", [&] { return build_model(a.model, Shape(std::span<const int64_t>(a.input)), a.classes); });
  std::printf("%s", summary(*model).c_str());
}

}  // namespace

void add_summary(CLI::App& app) {
  auto a = std::make_shared<SummaryArgs>();
  CLI::App* cmd = app.add_subcommand("summary", "Show a model's layers, output shapes and parameter counts");
  cmd->add_option("file", a->file, "a model file (model.safetensors or a .tflite) to describe instead")
      ->check(CLI::ExistingFile);
  cmd->add_option("--model,-m", a->model, "preset name or network text")->capture_default_str();
  cmd->add_option("--input", a->input, "input shape H,W,C")->delimiter(',')->expected(3)->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--classes", a->classes, "number of classes")->capture_default_str()->check(CLI::Range(2, 1 << 20));
  cmd->add_flag("--list", a->list, "list the presets");
  cmd->footer(model_format_help());
  cmd->callback([a] { run(*a); });
}

}  // namespace dltrain::cli
