// Export's contract without outside tools: a layer it cannot express is an Error naming the layer
// and leaves no file (nor touches an existing one); the format follows the extension. The
// numerical checks against ONNX Runtime are tests/onnx_export_test.py.
#include <filesystem>

#include "dltrain/export.hpp"
#include "helpers.hpp"

namespace dltrain {
namespace {

namespace fs = std::filesystem;

// A layer dltrain's exporters do not know: y = x * 2.
class Double final : public Layer {
 public:
  const char* type() const override { return "Double"; }
  std::string spec() const override { return "double"; }

 protected:
  Shape build_impl(std::span<const Shape> in) override { return in[0]; }
  void forward_impl(std::span<const Tensor* const> xs, const Context&, Tensor& y) override {
    for (int64_t i = 0; i < y.numel(); ++i) y.f32()[i] = 2 * xs[0]->f32()[i];
  }
  void backward_impl(std::span<const Tensor* const>, const Tensor&, const Tensor&, std::span<Tensor* const>) override {}
};

std::unique_ptr<Model> model_with(std::unique_ptr<Layer> odd) {
  auto m = parse_model("conv:4x3x3,relu maxpool:2 flatten", {8, 8, 1});
  m->add(std::move(odd));
  m->add(make_dense(3));
  m->add(make_softmax());
  m->init_params(1);
  return m;
}

ModelInfo info() {
  ModelInfo i;
  i.labels = {"a", "b", "c"};
  return i;
}

TEST(Export, UnsupportedLayerNamedAndNoFileWritten) {
  if (!onnx_export_built()) GTEST_SKIP() << "this build has no ONNX exporter (protobuf or onnx.proto missing)";
  test::TempDir dir;
  const auto m = model_with(std::make_unique<Double>());
  try {
    export_model(dir / "model.onnx", *m, info());
    FAIL() << "exported a model with an unknown layer";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'double"), std::string::npos) << what;  // the layer's name
    EXPECT_NE(what.find("Double"), std::string::npos) << what;   // and its kind
  }
  EXPECT_TRUE(fs::is_empty(dir.path())) << "a file (or a temporary) was left behind";
  // An existing file of that name stays as it was.
  write_file_atomic(dir / "model.onnx", "old");
  EXPECT_THROW(export_model(dir / "model.onnx", *m, info()), Error);
  EXPECT_EQ(read_file(dir / "model.onnx"), "old");
}

TEST(Export, SupportedModelWritesOnnx) {
  if (!onnx_export_built()) GTEST_SKIP() << "this build has no ONNX exporter (protobuf or onnx.proto missing)";
  test::TempDir dir;
  auto m = parse_model("conv:4x3x3,same,relu bn res{ dwconv:3x3,same,relu6 } avgpool:2 gap dropout:0.5 dense:3,softmax",
                       {8, 8, 1});
  m->init_params(1);
  export_model(dir / "model.ONNX", *m, info());
  const std::string bytes = read_file(dir / "model.ONNX");
  EXPECT_GT(bytes.size(), 4 * 9 * 4u);  // at least the conv kernel
  EXPECT_NE(bytes.find("probabilities"), std::string::npos);
  EXPECT_NE(bytes.find("[\"a\",\"b\",\"c\"]"), std::string::npos);  // labels in metadata_props
}

TEST(Export, FormatFollowsTheExtension) {
  test::TempDir dir;
  auto m = parse_model("flatten dense:3,softmax", {4, 4, 1});
  m->init_params(1);
  try {
    export_model(dir / "model.tflite", *m, info());
    FAIL() << "TFLite export is not built yet";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not built yet"), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("issue 14"), std::string::npos) << e.hint();
  }
  EXPECT_THROW(export_model(dir / "model.pt", *m, info()), Error);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

}  // namespace
}  // namespace dltrain
