// `dltrain export MODEL.safetensors -o model.onnx|model.tflite [--int8 ...]`: a trained model out
// to a deployable format (the library's export_model picks it from the extension). Only parses
// and prints.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "commands.hpp"
#include "dltrain/export.hpp"

namespace dltrain::cli {
namespace {

struct ExportArgs {
  std::string model, output, calibration, io = "uint8";
  int64_t calibration_images = 500;
  bool int8 = false;
};

void run(const ExportArgs& a) {
  LoadedModel m = load_model(a.model);
  TfliteOptions t;
  t.int8 = a.int8;
  t.int8_io = a.io == "int8";
  DLT_CHECK(a.int8 || a.calibration.empty(), "--calibration is for --int8 exports", "add --int8, or drop --calibration");
  const bool tflite = std::filesystem::path(a.output).extension() == ".tflite";
  if (a.int8 && tflite) {
    const std::string data = a.calibration.empty() ? m.info.dataset : a.calibration;
    DLT_CHECK(!data.empty(), a.model + " does not say what it was trained on", "give --calibration DATA");
    t.calibration = calibration_images(data, a.calibration_images, *m.model, m.info);
    std::printf("calibrating on %lld images from %s\n", static_cast<long long>(t.calibration.shape()[0]), data.c_str());
  }
  export_model(a.output, *m.model, m.info, t);
  const std::string size = thousands(int64_t(std::filesystem::file_size(a.output)));
  if (!tflite)
    std::printf("%s: %s bytes (ONNX IR %lld, opset %lld; input pixels uint8 NHWC, output probabilities)\n",
                a.output.c_str(), size.c_str(), static_cast<long long>(onnx_ir_version),
                static_cast<long long>(onnx_opset));
  else if (!a.int8)
    std::printf("%s: %s bytes (TFLite float32; input pixels uint8 NHWC, output probabilities float32)\n",
                a.output.c_str(), size.c_str());
  else
    std::printf("%s: %s bytes (TFLite full-integer int8; input pixels %s NHWC, output probabilities %s, scale 1/256)\n",
                a.output.c_str(), size.c_str(), a.io.c_str(), a.io.c_str());
}

}  // namespace

void add_export(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand("export", "Export a trained model to ONNX or TFLite (the format follows -o's "
                                               "extension: .onnx float32, .tflite float32 or --int8)");
  cmd->add_option("model", a->model, "MODEL.safetensors (from `dltrain train`)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--output,-o", a->output, "the file to write: model.onnx or model.tflite")->required();
  cmd->add_flag("--int8", a->int8, "TFLite full-integer quantization: int8 weights (per channel) and activations");
  cmd->add_option("--calibration", a->calibration,
                  "with --int8: the data whose training images set the activation ranges (default: what the model "
                  "was trained on)");
  cmd->add_option("--calibration-images", a->calibration_images, "with --int8: how many images calibrate it")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(100000)));
  cmd->add_option("--io", a->io, "with --int8: the input and output type")
      ->capture_default_str()
      ->check(CLI::IsMember({"uint8", "int8"}));
  cmd->callback([a] { run(*a); });
}

}  // namespace dltrain::cli
