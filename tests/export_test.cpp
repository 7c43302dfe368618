// Export's contract without outside tools: a layer it cannot express is an Error naming the layer
// and leaves no file (nor touches an existing one); the format follows the extension; dltrain
// imports its own TFLite files back. The numerical checks against ONNX Runtime and LiteRT are
// tests/export_test.py.
#include <filesystem>

#include "dltrain/export.hpp"
#include "dltrain/models.hpp"
#include "dltrain/train.hpp"
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

// `count` images of `shape` with pseudo-random pixels.
Tensor images(const Shape& shape, int64_t count) {
  Tensor t(shape.with_batch(count), DType::u8);
  Rng rng(7);
  for (int64_t i = 0; i < t.numel(); ++i) t.u8()[i] = uint8_t(rng.below(256));
  return t;
}

class ExportTo : public testing::TestWithParam<std::string> {};

TEST_P(ExportTo, UnsupportedLayerNamedAndNoFileWritten) {
  const std::string file = GetParam();
  if (file.ends_with(".onnx") && !onnx_export_built())
    GTEST_SKIP() << "this build has no ONNX exporter (protobuf or onnx.proto missing)";
  test::TempDir dir;
  const auto m = model_with(std::make_unique<Double>());
  TfliteOptions options;
  if (file.ends_with("int8.tflite")) {
    options.int8 = true;
    options.calibration = images(m->input_shape(), 4);
  }
  try {
    export_model(dir / file, *m, info(), options);
    FAIL() << "exported a model with an unknown layer";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'double"), std::string::npos) << what;  // the layer's name
    EXPECT_NE(what.find("Double"), std::string::npos) << what;   // and its kind
  }
  EXPECT_TRUE(fs::is_empty(dir.path())) << "a file (or a temporary) was left behind";
  // An existing file of that name stays as it was.
  write_file_atomic(dir / file, "old");
  EXPECT_THROW(export_model(dir / file, *m, info(), options), Error);
  EXPECT_EQ(read_file(dir / file), "old");
}

INSTANTIATE_TEST_SUITE_P(Formats, ExportTo, testing::Values("model.onnx", "model.tflite", "model_int8.tflite"));

// Every layer kind, batchnorm folded (after conv) and not (after a pool), ReLU layers fused.
const char* every_layer = "conv:4x3x3,same bn relu res{ dwconv:3x3,same,relu6 } avgpool:2,same bn relu6 "
                          "maxpool:2 res{ conv:4x1x1 bn } gap dropout:0.5 dense:6 bn relu dense:3,softmax";

TEST(Export, TfliteFloatImportsBackWithTheSamePredictions) {
  test::TempDir dir;
  auto m = parse_model(every_layer, {8, 8, 3});
  m->init_params(1);
  for (Param* p : m->params())  // batchnorm statistics other than 0 and 1
    if (p->name == "moving_mean" || p->name == "moving_variance" || p->name == "gamma")
      for (int64_t i = 0; i < p->value.numel(); ++i) p->value.f32()[i] = 0.5f + 0.1f * float(i % 5);
  ModelInfo i = info();
  i.preprocessing = {1 / 127.5f, -1.0f, Resize::bilinear};
  export_model(dir / "m.tflite", *m, i);
  ImportedModel back = import_tflite(dir / "m.tflite");
  EXPECT_EQ(back.labels, i.labels);
  EXPECT_FLOAT_EQ(back.preprocessing.scale, i.preprocessing.scale);
  EXPECT_FLOAT_EQ(back.preprocessing.offset, i.preprocessing.offset);
  const Tensor x = images(m->input_shape(), 5);
  for (int64_t n = 0; n < 5; ++n) {
    Tensor one(m->input_shape().with_batch(1), DType::u8);
    std::copy_n(x.u8() + n * one.numel(), one.numel(), one.u8());
    const std::vector<float> want = predict(*m, one, i.preprocessing), got = predict(*back.model, one, back.preprocessing);
    ASSERT_EQ(got.size(), want.size());
    for (size_t k = 0; k < want.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-5f) << "image " << n << " class " << k;
  }
}

TEST(Export, TfliteInt8NeedsCalibrationImagesOfTheModelsShape) {
  test::TempDir dir;
  auto m = parse_model("flatten dense:3,softmax", {4, 4, 1});
  m->init_params(1);
  TfliteOptions o;
  o.int8 = true;
  EXPECT_THROW(export_model(dir / "m.tflite", *m, info(), o), Error);  // none given
  o.calibration = images({5, 5, 1}, 2);
  EXPECT_THROW(export_model(dir / "m.tflite", *m, info(), o), Error);  // the wrong size
  EXPECT_THROW(export_model(dir / "m.onnx", *m, info(), o), Error);    // int8 is TFLite's
  o.calibration = images({4, 4, 1}, 2);
  o.int8_io = true;
  export_model(dir / "m.tflite", *m, info(), o);
  EXPECT_EQ(import_tflite(dir / "m.tflite").model->n_classes(), 3);
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
    export_model(dir / "model.pt", *m, info());
    FAIL() << "exported to an unknown format";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'.pt'"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_empty(dir.path()));
  export_model(dir / "model.TFLite", *m, info());
  EXPECT_EQ(read_file(dir / "model.TFLite").substr(4, 4), "TFL3");
}

}  // namespace
}  // namespace dltrain
