// `dltrain export MODEL.safetensors -o model.onnx`: a trained model out to a deployable format
// (the library's export_model picks it from the extension). Only parses and prints.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "commands.hpp"
#include "dltrain/export.hpp"

namespace dltrain::cli {
namespace {

struct ExportArgs {
  std::string model, output;
};

void run(const ExportArgs& a) {
  LoadedModel m = load_model(a.model);
  export_model(a.output, *m.model, m.info);
  std::printf("%s: %s bytes (ONNX IR %lld, opset %lld; input pixels uint8 NHWC, output probabilities)\n",
              a.output.c_str(), thousands(int64_t(std::filesystem::file_size(a.output))).c_str(),
              static_cast<long long>(onnx_ir_version), static_cast<long long>(onnx_opset));
}

}  // namespace

void add_export(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand("export", "Export a trained model to ONNX (float32; the format follows -o's "
                                               "extension; .tflite is not built yet)");
  cmd->add_option("model", a->model, "MODEL.safetensors (from `dltrain train`)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--output,-o", a->output, "the file to write, e.g. model.onnx")->required();
  cmd->callback([a] { run(*a); });
}

}  // namespace dltrain::cli
