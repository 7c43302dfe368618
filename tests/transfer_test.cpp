// Transfer learning on MobileNetV2: TFLite import (checked against ImageNet answers and an
// independent NumPy reference), malformed and unsupported files, images (EXIF, resize), image
// datasets, and heads trained on the imprinting photos and on Fashion-MNIST as images.
#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>
#include <stb_image_write.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "dltrain/data.hpp"
#include "dltrain/io.hpp"
#include "dltrain/models.hpp"
#include "dltrain/system.hpp"
#include "dltrain/train.hpp"
#include "helpers.hpp"

namespace dltrain {
namespace {
namespace fs = std::filesystem;

// ../shared/data (or $DLTRAIN_TEST_DATA), or "" when absent.
std::string shared_data() {
  const char* env = std::getenv("DLTRAIN_TEST_DATA");
  const std::string dir = env && *env ? env : std::string(DLTRAIN_SOURCE_DIR) + "/../shared/data";
  return fs::exists(dir + "/mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite") ? dir : "";
}
#define REQUIRE_SHARED_DATA()                                                                              \
  if (shared_data().empty())                                                                               \
  GTEST_SKIP() << "the MobileNetV2 file and photos are not here (../shared/data, or set DLTRAIN_TEST_DATA)"

std::string mobilenet() { return shared_data() + "/mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite"; }
std::string imprinting(const std::string& name) { return shared_data() + "/images/imprinting/" + name; }

// One import for the whole file (it is read-only here).
ImportedModel& imported() {
  static ImportedModel m = import_tflite(mobilenet());
  return m;
}

std::vector<float> classify(const std::string& image) {
  ImportedModel& m = imported();
  const Tensor img = load_image(image, 224, 224, 3, m.preprocessing.resize);
  return predict(*m.model, img, m.preprocessing);
}

size_t argmax(const std::vector<float>& p) { return size_t(std::max_element(p.begin(), p.end()) - p.begin()); }

// ---- import ------------------------------------------------------------------------------------

TEST(TfliteImport, ParrotIsAMacaw) {
  REQUIRE_SHARED_DATA();
  const std::vector<float> p = classify(shared_data() + "/images/parrot.jpg");
  ASSERT_EQ(p.size(), 1001u);
  EXPECT_EQ(argmax(p), 89u);  // imagenet_labels.txt line 89: macaw
  EXPECT_GT(p[89], 0.9f);
}

TEST(TfliteImport, HotdogsAreHotdogs) {
  REQUIRE_SHARED_DATA();
  for (const char* name : {"hotdog_train_0.bmp", "hotdog_train_1.bmp", "hotdog_test_0.bmp"}) {
    const std::vector<float> p = classify(imprinting(name));
    EXPECT_EQ(argmax(p), 935u) << name;
    EXPECT_GT(p[935], 0.9f) << name;
  }
}

TEST(TfliteImport, GraphAndPreprocessingComeFromTheFile) {
  REQUIRE_SHARED_DATA();
  const ImportedModel& m = imported();
  EXPECT_EQ(m.input_shape, (Shape{224, 224, 3}));
  EXPECT_FLOAT_EQ(m.preprocessing.scale, 1.0f / 128);  // input quantization: scale 1/128, zero point 128
  EXPECT_FLOAT_EQ(m.preprocessing.offset, -1.0f);
  EXPECT_EQ(m.embedding_size, 1280);
  EXPECT_EQ(m.model->size(), 65u);  // 66 operators; the RESHAPE after global pooling needs no layer
  // The labels packed into the file (its appended zip) are the published labels file's lines.
  std::ifstream published(shared_data() + "/mobilenet_v2/imagenet_labels.txt");
  std::vector<std::string> lines;
  for (std::string line; std::getline(published, line);) lines.push_back(line);
  EXPECT_EQ(m.labels, lines);
  EXPECT_NE(m.model->spec.find("res{ conv:144x1x1,relu6 dwconv:3x3,same,relu6 conv:24x1x1 }"), std::string::npos)
      << m.model->spec;
}

// The embedding and logits of a synthetic image against tools/make_tflite_reference.py (NumPy,
// float64, written from the operator definitions, not from this code).
TEST(TfliteImport, EmbeddingMatchesTheNumpyReference) {
  REQUIRE_SHARED_DATA();
  ImportedModel& m = imported();
  Tensor x({1, 224, 224, 3});
  for (int64_t y = 0; y < 224; ++y)
    for (int64_t i = 0; i < 224; ++i)
      for (int64_t c = 0; c < 3; ++c) {
        const int64_t pixel = (3 * i * i + 5 * y + 71 * c + i * y) % 256;
        x.f32()[(y * 224 + i) * 3 + c] = float(pixel) * m.preprocessing.scale + m.preprocessing.offset;
      }
  const Tensor& logits = m.model->forward(x, Context{}, Output::logits);
  const Tensor& embedding = m.model->layer(m.backbone_nodes - 1).output();
  const SafetensorsFile ref = read_safetensors(test::golden("mobilenet_v2_embedding.safetensors"));
  auto check = [](const Tensor& ours, const Tensor& theirs, const char* what) {
    ASSERT_EQ(ours.numel(), theirs.numel()) << what;
    double diff = 0, norm = 0, worst = 0, peak = 0;
    for (int64_t i = 0; i < ours.numel(); ++i) {
      const double d = double(ours.f32()[i]) - theirs.f32()[i];
      diff += d * d, norm += double(theirs.f32()[i]) * theirs.f32()[i];
      worst = std::max(worst, std::abs(d)), peak = std::max(peak, double(std::abs(theirs.f32()[i])));
    }
    std::printf("%s: relative L2 error %.2e, largest error / largest value %.2e\n", what, std::sqrt(diff / norm),
                worst / peak);
    EXPECT_LT(std::sqrt(diff / norm), 1e-3) << what << ": relative L2 error";
    EXPECT_LT(worst / peak, 1e-3) << what << ": largest error relative to the largest value";
  };
  check(embedding, ref.tensors.at("embedding"), "embedding");
  check(logits, ref.tensors.at("logits"), "logits");
}

void expect_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(TfliteImport, MalformedFilesAreClearErrors) {
  REQUIRE_SHARED_DATA();
  test::TempDir dir;
  const std::string bytes = read_file(mobilenet());
  auto write = [&](const std::string& content) {
    std::ofstream(dir / "m.tflite", std::ios::binary) << content;
    return dir / "m.tflite";
  };
  expect_error([&] { import_tflite(write("")); }, "malformed TFLite file");
  expect_error([&] { import_tflite(write(std::string(64, 'x'))); }, "not a TFLite model");
  // (The file ends in a zip of associated files that the model does not use; cut before it.)
  for (const size_t keep : {size_t(8), size_t(4096), bytes.size() / 2, bytes.size() - 40000})
    expect_error([&] { import_tflite(write(bytes.substr(0, keep))); }, "TFLite file");
  // Random byte damage anywhere: an error or a model, never a crash or a hang.
  std::mt19937 rng(7);
  for (int round = 0; round < 25; ++round) {
    std::string damaged = bytes;
    for (int k = 0; k < 8; ++k) damaged[rng() % damaged.size()] = char(rng());
    try {
      import_tflite(write(damaged));
    } catch (const Error&) {
    }
  }
}

// ---- small graphs built here with the flatbuffers builder ----------------------------------------

// A TFLite file from parts: float32 tensors (shape, constant data), operators (code, inputs,
// outputs, options type and fields).
struct TinyTensor {
  std::vector<int32_t> shape;
  std::vector<float> data;  // empty: an activation
  std::vector<int32_t> ints;  // int32 constant (PAD paddings, MEAN axes)
  int64_t buffer = -1;        // >= 0: this buffer index instead of its own (a damaged file)
};
struct TinyOp {
  int32_t code;
  std::vector<int32_t> inputs, outputs;
  uint8_t options_type = 0;
  std::vector<std::pair<int, int32_t>> int_fields = {};  // (field id, value)
  int64_t opcode_index = -1;  // >= 0: this operator-code index instead of its own (a damaged file)
};

std::string tiny_model(const std::vector<TinyTensor>& tensors, const std::vector<TinyOp>& ops, int32_t input,
                       int32_t output) {
  flatbuffers::FlatBufferBuilder b;
  auto slot = [](int id) { return flatbuffers::voffset_t(4 + 2 * id); };
  std::vector<int32_t> codes;
  for (const TinyOp& o : ops)
    if (std::find(codes.begin(), codes.end(), o.code) == codes.end()) codes.push_back(o.code);
  std::vector<flatbuffers::Offset<flatbuffers::Table>> code_tables, buffers, tensor_tables, op_tables;
  for (int32_t c : codes) {
    const auto start = b.StartTable();
    b.AddElement<int8_t>(slot(0), int8_t(std::min(c, 127)), 0);
    b.AddElement<int32_t>(slot(3), c, 0);
    code_tables.push_back(b.EndTable(start));
  }
  buffers.push_back(flatbuffers::Offset<flatbuffers::Table>(b.EndTable(b.StartTable())));  // buffer 0: empty
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TinyTensor& t = tensors[i];
    uint32_t buffer = 0;
    if (!t.data.empty() || !t.ints.empty()) {
      const auto* raw = t.data.empty() ? reinterpret_cast<const uint8_t*>(t.ints.data())
                                       : reinterpret_cast<const uint8_t*>(t.data.data());
      const auto data = b.CreateVector(raw, (t.data.empty() ? t.ints.size() : t.data.size()) * 4);
      const auto start = b.StartTable();
      b.AddOffset(slot(0), data);
      buffers.push_back(b.EndTable(start));
      buffer = uint32_t(buffers.size() - 1);
    }
    if (t.buffer >= 0) buffer = uint32_t(t.buffer);
    const auto shape = b.CreateVector(t.shape);
    const auto name = b.CreateString("t" + std::to_string(i));
    const auto start = b.StartTable();
    b.AddOffset(slot(0), shape);
    b.AddElement<int8_t>(slot(1), t.ints.empty() ? 0 : 2, 0);  // FLOAT32 or INT32
    b.AddElement<uint32_t>(slot(2), buffer, 0);
    b.AddOffset(slot(3), name);
    tensor_tables.push_back(b.EndTable(start));
  }
  for (const TinyOp& o : ops) {
    flatbuffers::Offset<flatbuffers::Table> options;
    if (o.options_type != 0) {
      const auto start = b.StartTable();
      for (const auto& [id, v] : o.int_fields) {
        if (id == 0 || (o.code == 4 && id == 4) || (o.code == 3 && id == 3) || (o.code == 9 && id == 0))
          b.AddElement<int8_t>(slot(id), int8_t(v), -1);  // padding / fused activation are bytes
        else
          b.AddElement<int32_t>(slot(id), v, -1);
      }
      options = b.EndTable(start);
    }
    const auto ins = b.CreateVector(o.inputs), outs = b.CreateVector(o.outputs);
    const auto start = b.StartTable();
    b.AddElement<uint32_t>(slot(0),
                           o.opcode_index >= 0 ? uint32_t(o.opcode_index)
                                               : uint32_t(std::find(codes.begin(), codes.end(), o.code) - codes.begin()),
                           0);
    b.AddOffset(slot(1), ins);
    b.AddOffset(slot(2), outs);
    b.AddElement<uint8_t>(slot(3), o.options_type, 0);
    if (o.options_type != 0) b.AddOffset(slot(4), options);
    op_tables.push_back(b.EndTable(start));
  }
  const auto tv = b.CreateVector(tensor_tables), ov = b.CreateVector(op_tables);
  const auto iv = b.CreateVector(std::vector<int32_t>{input}), outv = b.CreateVector(std::vector<int32_t>{output});
  auto start = b.StartTable();
  b.AddOffset(slot(0), tv);
  b.AddOffset(slot(1), iv);
  b.AddOffset(slot(2), outv);
  b.AddOffset(slot(3), ov);
  const auto graph = flatbuffers::Offset<flatbuffers::Table>(b.EndTable(start));
  const auto cv = b.CreateVector(code_tables), gv = b.CreateVector(std::vector{graph}), bv = b.CreateVector(buffers);
  start = b.StartTable();
  b.AddElement<uint32_t>(slot(0), 3, 0);
  b.AddOffset(slot(1), cv);
  b.AddOffset(slot(2), gv);
  b.AddOffset(slot(4), bv);
  b.Finish(flatbuffers::Offset<flatbuffers::Table>(b.EndTable(start)), "TFL3");
  return {reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize()};
}

std::vector<float> values(size_t n, uint64_t seed) {
  const Tensor t = test::random_tensor({int64_t(n)}, seed);
  return {t.f32(), t.f32() + n};
}

// PAD + VALID conv (stride 2, ReLU6), depthwise SAME, residual ADD, MEAN, FULLY_CONNECTED, SOFTMAX,
// against the same arithmetic written out here with TFLite's layouts (filters OHWI, (1,KH,KW,C),
// FC weights (units, inputs)).
TEST(TfliteImport, SmallGraphMatchesDirectArithmetic) {
  const int64_t H = 6, C = 2, K = 3;
  const std::vector<float> wc = values(K * 3 * 3 * C, 1), bc = values(K, 2), wd = values(3 * 3 * K, 3),
                           bd = values(K, 4), wf = values(4 * K, 5), bf = values(4, 6);
  const std::vector<TinyTensor> tensors = {
      {{1, H, H, C}, {}, {}},                       // 0 input
      {{4, 2}, {}, {0, 0, 0, 1, 0, 1, 0, 0}},        // 1 paddings
      {{1, H + 1, H + 1, C}, {}, {}},               // 2 padded
      {{K, 3, 3, C}, wc, {}},                       // 3 conv filter (OHWI)
      {{K}, bc, {}},                                // 4 conv bias
      {{1, 3, 3, K}, {}, {}},                       // 5 conv out
      {{1, 3, 3, K}, wd, {}},                       // 6 depthwise filter
      {{K}, bd, {}},                                // 7
      {{1, 3, 3, K}, {}, {}},                       // 8 depthwise out
      {{1, 3, 3, K}, {}, {}},                       // 9 sum
      {{2}, {}, {1, 2}},                            // 10 axes
      {{1, K}, {}, {}},                             // 11 mean
      {{4, K}, wf, {}},                             // 12 fc weights
      {{4}, bf, {}},                                // 13
      {{1, 4}, {}, {}},                             // 14 logits
      {{1, 4}, {}, {}},                             // 15 probabilities
  };
  const std::vector<TinyOp> ops = {
      {34, {0, 1}, {2}},
      {3, {2, 3, 4}, {5}, 1, {{0, 1}, {1, 2}, {2, 2}, {3, 3}}},  // VALID, stride 2, RELU6
      {4, {5, 6, 7}, {8}, 2, {{0, 0}, {1, 1}, {2, 1}, {3, 1}, {4, 0}}},
      {0, {5, 8}, {9}},
      {40, {9, 10}, {11}},
      {9, {11, 12, 13}, {14}, 8, {{0, 0}}},
      {25, {14}, {15}},
  };
  test::TempDir dir;
  std::ofstream(dir / "tiny.tflite", std::ios::binary) << tiny_model(tensors, ops, 0, 15);
  ImportedModel m = import_tflite(dir / "tiny.tflite");
  EXPECT_EQ(m.model->spec, "conv:3x3x3,stride=2,same,relu6 res{ dwconv:3x3,same } gap dense:4 softmax");
  const Tensor x = test::random_tensor({1, H, H, C}, 9);
  const Tensor& y = m.model->forward(x, Context{}, Output::logits);

  auto at = [&](int64_t r, int64_t c, int64_t ch) { return (r < H && c < H) ? double(x.f32()[(r * H + c) * C + ch]) : 0.0; };
  double conv[3][3][K], sum[3][3][K];
  for (int oy = 0; oy < 3; ++oy)
    for (int ox = 0; ox < 3; ++ox)
      for (int k = 0; k < K; ++k) {
        double s = bc[size_t(k)];
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx)
            for (int c = 0; c < C; ++c) s += at(oy * 2 + ky, ox * 2 + kx, c) * wc[size_t(((k * 3 + ky) * 3 + kx) * C + c)];
        conv[oy][ox][k] = std::clamp(s, 0.0, 6.0);
      }
  for (int oy = 0; oy < 3; ++oy)
    for (int ox = 0; ox < 3; ++ox)
      for (int k = 0; k < K; ++k) {
        double s = bd[size_t(k)];
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) {
            const int iy = oy + ky - 1, ix = ox + kx - 1;
            if (iy >= 0 && iy < 3 && ix >= 0 && ix < 3) s += conv[iy][ix][k] * wd[size_t((ky * 3 + kx) * K + k)];
          }
        sum[oy][ox][k] = conv[oy][ox][k] + s;
      }
  for (int u = 0; u < 4; ++u) {
    double s = bf[size_t(u)];
    for (int k = 0; k < K; ++k) {
      double mean = 0;
      for (int i = 0; i < 9; ++i) mean += sum[i / 3][i % 3][k] / 9;
      s += mean * wf[size_t(u * K + k)];
    }
    EXPECT_NEAR(y.f32()[u], s, 1e-4) << "logit " << u;
  }
}

TEST(TfliteImport, UnsupportedOperatorsAreNamed) {
  const std::vector<TinyTensor> tensors = {{{1, 4, 4, 3}, {}, {}}, {{1, 4, 4, 3}, {}, {}}};
  test::TempDir dir;
  std::ofstream(dir / "mul.tflite", std::ios::binary) << tiny_model(tensors, {{18, {0, 0}, {1}}}, 0, 1);
  expect_error([&] { import_tflite(dir / "mul.tflite"); }, "operator 0 (MUL)");
  // A PAD that is not the following convolution's SAME padding cannot become `same`.
  const std::vector<TinyTensor> padded = {{{1, 5, 5, 1}, {}, {}}, {{4, 2}, {}, {0, 0, 2, 2, 2, 2, 0, 0}},
                                          {{1, 9, 9, 1}, {}, {}}, {{1, 3, 3, 1}, values(9, 1), {}},
                                          {{1}, {0}, {}}, {{1, 7, 7, 1}, {}, {}}};
  std::ofstream(dir / "pad.tflite", std::ios::binary)
      << tiny_model(padded, {{34, {0, 1}, {2}}, {3, {2, 3, 4}, {5}, 1, {{0, 1}, {1, 1}, {2, 1}, {3, 0}}}}, 0, 5);
  expect_error([&] { import_tflite(dir / "pad.tflite"); }, "PAD");
}

// Every tensor index read from the file is range-checked: an omitted (-1) input that an operator
// needs, an index past the tensor list, a -1 output or model input/output are errors naming the
// file, the part and the index (an omitted FC weight used to read tensors()[-1] and crash summary).
TEST(TfliteImport, TensorIndicesAreRangeChecked) {
  const std::vector<TinyTensor> tensors = {{{1, 2, 2, 1}, {}, {}}, {{3, 4}, values(12, 1), {}}, {{1, 3}, {}, {}}};
  const std::string n = std::to_string(tensors.size()), past = std::to_string(tensors.size() + 4);
  const int32_t past_i = int32_t(tensors.size() + 4);
  const TinyOp fc = {9, {0, 1, -1}, {2}, 8, {{0, 0}}};  // valid: x (1,2,2,1) -> (1,3), no bias
  struct Case {
    std::string name;
    std::vector<TinyOp> ops;
    int32_t input, output;
    std::vector<std::string> expect;
  };
  const std::vector<Case> cases = {
      {"fc_weights_omitted", {{9, {0, -1, -1}, {2}, 8, {{0, 0}}}}, 0, 2,
       {"operator 0 (FULLY_CONNECTED)", "input 1 is missing (tensor index -1)"}},
      {"conv_filter_omitted", {{3, {0, -1}, {2}, 1, {{0, 1}}}}, 0, 2,
       {"operator 0 (CONV_2D)", "input 1 is missing (tensor index -1)"}},
      {"fc_weights_missing_from_the_list", {{9, {0}, {2}, 8, {{0, 0}}}}, 0, 2,
       {"operator 0 (FULLY_CONNECTED)", "input 1 is missing (tensor index absent)"}},
      {"input_past_the_end", {{9, {0, past_i, -1}, {2}, 8, {{0, 0}}}}, 0, 2,
       {"malformed TFLite file", "operator 0 input 1 names tensor " + past, "has " + n + " tensors"}},
      {"input_below_minus_one", {{9, {0, -2, -1}, {2}, 8, {{0, 0}}}}, 0, 2,
       {"malformed TFLite file", "operator 0 input 1 names tensor -2"}},
      {"output_minus_one", {{9, {0, 1, -1}, {-1}, 8, {{0, 0}}}}, 0, 2,
       {"malformed TFLite file", "operator 0 output 0 names tensor -1"}},
      {"no_output", {{22, {0}, {}}}, 0, 2, {"operator 0 (RESHAPE)", "expected one output, the file lists 0"}},
      // Found by fuzzing (UBSan): the importer took a character off the empty text of no layers.
      {"no_operators", {}, 0, 0, {"the graph has no operators"}},
      {"model_input_minus_one", {fc}, -1, 2, {"malformed TFLite file", "the subgraph's input 0 names tensor -1"}},
      {"model_output_past_the_end", {fc}, 0, past_i,
       {"malformed TFLite file", "the subgraph's output 0 names tensor " + past}},
  };
  test::TempDir dir;
  for (const Case& c : cases) {
    const std::string path = dir / (c.name + ".tflite");
    std::ofstream(path, std::ios::binary) << tiny_model(tensors, c.ops, c.input, c.output);
    try {
      import_tflite(path);
      ADD_FAILURE() << c.name << ": no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path + ":"), std::string::npos) << c.name << ": " << e.what();
      for (const std::string& part : c.expect)
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << c.name << ": '" << part << "' in " << e.what();
    }
  }
  // Buffer and operator-code indices past their tables.
  std::vector<TinyTensor> bad_buffer = tensors;
  bad_buffer[1].buffer = 99;
  std::ofstream(dir / "buffer.tflite", std::ios::binary) << tiny_model(bad_buffer, {fc}, 0, 2);
  expect_error([&] { import_tflite(dir / "buffer.tflite"); },
               dir / "buffer.tflite" + ": malformed TFLite file: tensor 1 refers to buffer 99 of ");
  TinyOp bad_code = fc;
  bad_code.opcode_index = 7;
  std::ofstream(dir / "code.tflite", std::ios::binary) << tiny_model(tensors, {bad_code}, 0, 2);
  expect_error([&] { import_tflite(dir / "code.tflite"); },
               dir / "code.tflite" + ": malformed TFLite file: operator 0 uses operator code 7");
  // `dltrain summary` on the file that used to crash it: exit 1 and the message.
  std::ofstream(dir / "summary.tflite", std::ios::binary) << tiny_model(tensors, cases[0].ops, 0, 2);
  std::string output;
  EXPECT_EQ(run_program({DLTRAIN_BINARY, "summary", dir / "summary.tflite"}, output), 1) << output;
  EXPECT_NE(output.find(dir / "summary.tflite" + ": operator 0 (FULLY_CONNECTED): input 1 is missing"), std::string::npos)
      << output;
  // The valid graph the cases damage imports.
  std::ofstream(dir / "fc.tflite", std::ios::binary) << tiny_model(tensors, {fc}, 0, 2);
  EXPECT_EQ(import_tflite(dir / "fc.tflite").model->spec, "flatten dense:3");
}

// A negative dimension, or sizes no layer accepts (a pool window larger than its input), are
// errors that name the file.
TEST(TfliteImport, ShapesFromTheFileAreChecked) {
  test::TempDir dir;
  const std::vector<TinyTensor> negative = {{{1, 4}, {}, {}}, {{3, -4}, {}, {}}, {{1, 3}, {}, {}}};
  std::ofstream(dir / "neg.tflite", std::ios::binary) << tiny_model(negative, {{9, {0, 1, -1}, {2}, 8, {{0, 0}}}}, 0, 2);
  expect_error([&] { import_tflite(dir / "neg.tflite"); },
               dir / "neg.tflite" + ": malformed TFLite file: tensor 1 has a negative dimension (-4)");
  const int32_t window = 8;
  const std::vector<TinyTensor> pool = {{{1, 4, 4, 1}, {}, {}}, {{1, 1, 1, 1}, {}, {}}};
  std::ofstream(dir / "pool.tflite", std::ios::binary)
      << tiny_model(pool, {{17, {0}, {1}, 5, {{0, 1}, {1, 1}, {2, 1}, {3, window}, {4, window}}}}, 0, 1);
  expect_error([&] { import_tflite(dir / "pool.tflite"); },
               dir / "pool.tflite" + ": window " + std::to_string(window) + "x" + std::to_string(window));
}

// ---- images ------------------------------------------------------------------------------------

TEST(Images, BilinearResizeUsesHalfPixelCentres) {
  // 1x2 -> 1x4: sources at -0.25, 0.25, 0.75, 1.25 -> 0, 25, 75, 100 (edges clamp).
  const Image img{1, 2, 1, {0, 100}};
  const Tensor y = resize_image(img, 1, 4, Resize::bilinear);
  EXPECT_EQ(std::vector<int>(y.u8(), y.u8() + 4), (std::vector<int>{0, 25, 75, 100}));
  // 4x4 -> 2x2 samples at 1.5: the mean of each 2x2 quadrant.
  const Image big{4, 4, 1, {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150}};
  const Tensor z = resize_image(big, 2, 2, Resize::bilinear);
  EXPECT_EQ(std::vector<int>(z.u8(), z.u8() + 4), (std::vector<int>{25, 45, 105, 125}));
  // Crop: a 2x4 image to 2x2 keeps the middle columns.
  const Image wide{2, 4, 1, {1, 2, 3, 4, 5, 6, 7, 8}};
  const Tensor c = resize_image(wide, 2, 2, Resize::crop);
  EXPECT_EQ(std::vector<int>(c.u8(), c.u8() + 4), (std::vector<int>{2, 3, 6, 7}));
}

void append(std::string* out, const void* data, int n) { out->append(static_cast<const char*>(data), size_t(n)); }

// A JPEG with an EXIF orientation: stb writes the JPEG, an APP1 segment is inserted after SOI.
std::string jpeg_with_orientation(int w, int h, const std::vector<uint8_t>& rgb, int orientation) {
  std::string jpg;
  stbi_write_jpg_to_func([](void* ctx, void* d, int n) { append(static_cast<std::string*>(ctx), d, n); }, &jpg, w, h,
                         3, rgb.data(), 100);
  std::string tiff = std::string("II*\0", 4) + std::string("\x08\0\0\0", 4) + std::string("\x01\0", 2) +
                     std::string("\x12\x01\x03\0\x01\0\0\0", 8) + char(orientation) + std::string("\0\0\0", 3) +
                     std::string(4, '\0');
  std::string app1 = std::string("Exif\0\0", 6) + tiff;
  const size_t len = app1.size() + 2;
  std::string segment = std::string("\xFF\xE1", 2) + char(len >> 8) + char(len & 0xFF) + app1;
  return jpg.substr(0, 2) + segment + jpg.substr(2);
}

TEST(Images, ExifOrientationTurnsThePicture) {
  // 16x8 picture: left half red, right half blue; orientation 6 = turn 90 degrees clockwise.
  const int w = 16, h = 8;
  std::vector<uint8_t> rgb(size_t(w * h * 3));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      rgb[size_t((y * w + x) * 3)] = x < w / 2 ? 255 : 0;
      rgb[size_t((y * w + x) * 3 + 2)] = x < w / 2 ? 0 : 255;
    }
  test::TempDir dir;
  for (const auto& [o, top_red] : {std::pair{1, false}, std::pair{6, true}, std::pair{8, false}, std::pair{3, false}}) {
    const std::string bytes = jpeg_with_orientation(w, h, rgb, o);
    EXPECT_EQ(jpeg_orientation(bytes), o);
    std::ofstream(dir / "o.jpg", std::ios::binary) << bytes;
    const Image img = decode_image(dir / "o.jpg", 3);
    if (o >= 5) {
      ASSERT_EQ(img.h, w);
      ASSERT_EQ(img.w, h);
      // Turned clockwise, the left (red) half is at the top; counter-clockwise, at the bottom.
      EXPECT_EQ(img.pixels[0] > 128, top_red) << "orientation " << o;
      EXPECT_EQ(img.pixels[size_t(((img.h - 1) * img.w) * 3)] > 128, !top_red) << "orientation " << o;
    } else {
      ASSERT_EQ(img.h, h);
      EXPECT_EQ(img.pixels[0] > 128, o == 1) << "orientation " << o;  // 180 degrees puts blue on the left
    }
  }
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Images, OnlyJpegPngAndBmpByContentWhateverTheName) {
  test::TempDir dir;
  const std::vector<uint8_t> grey(16, 200);
  std::string png, bmp, jpg;
  auto to = [](void* ctx, void* d, int n) { append(static_cast<std::string*>(ctx), d, n); };
  stbi_write_png_to_func(to, &png, 4, 4, 1, grey.data(), 4);
  stbi_write_bmp_to_func(to, &bmp, 4, 4, 1, grey.data());
  stbi_write_jpg_to_func(to, &jpg, 4, 4, 1, grey.data(), 100);
  EXPECT_EQ(image_format(png), "png");
  EXPECT_EQ(image_format(bmp), "bmp");
  EXPECT_EQ(image_format(jpg), "jpeg");
  EXPECT_EQ(image_format(std::string(784, '\0')), "");
  // Names do not matter: a PNG called .bmp and a BMP called .jpg decode as what they are.
  std::ofstream(dir / "png.bmp", std::ios::binary) << png;
  std::ofstream(dir / "bmp.jpg", std::ios::binary) << bmp;
  EXPECT_EQ(decode_image(dir / "png.bmp", 1).pixels, grey);
  EXPECT_EQ(decode_image(dir / "bmp.jpg", 1).pixels, grey);
  // A valid 1x1 GIF (stb_image would decode it) and a PSD header, named .jpg: refused by content.
  const std::string gif("GIF89a\x01\0\x01\0\x80\0\0\xff\xff\xff\0\0\0!\xf9\x04\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02" "D\x01\0;", 43);
  std::ofstream(dir / "gif.jpg", std::ios::binary) << gif;
  std::ofstream(dir / "psd.jpg", std::ios::binary) << "8BPS" << std::string(40, '\x01');
  for (const auto& [name, format] : {std::pair{"gif.jpg", "a gif image"}, std::pair{"psd.jpg", "a psd image"}}) {
    const std::string e = error_of([&] { decode_image(dir / name, 1); });
    EXPECT_NE(e.find(dir / name), std::string::npos) << e;
    EXPECT_NE(e.find(format), std::string::npos) << e;
    EXPECT_NE(e.find("JPEG, PNG and BMP only"), std::string::npos) << e;
  }
  // A PNG whose byte count equals h*w*c is still a PNG, not raw pixels; a raw dump stays raw.
  std::ofstream(dir / "sized.png", std::ios::binary) << png;
  const Tensor as_png = load_image(dir / "sized.png", 1, int64_t(png.size()), 1);
  for (int64_t i = 0; i < as_png.numel(); ++i) ASSERT_EQ(as_png.u8()[i], 200) << "pixel " << i << " read as raw bytes";
  std::string raw(784, '\0');
  raw[5] = 9;
  std::ofstream(dir / "digit.raw", std::ios::binary) << raw;
  EXPECT_EQ(load_image(dir / "digit.raw", 28, 28, 1).u8()[5], 9);
}

TEST(Images, HeaderSizesAreCheckedBeforeDecoding) {
  test::TempDir dir;
  std::vector<uint8_t> rgb(64 * 3, 90);
  std::string jpg;
  stbi_write_jpg_to_func([](void* ctx, void* d, int n) { append(static_cast<std::string*>(ctx), d, n); }, &jpg, 8, 8, 3,
                         rgb.data(), 90);
  // The frame header (SOF0: FF C0, length, precision, height, width) now claims 26000x26000.
  const size_t sof = jpg.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  for (size_t at : {sof + 5, sof + 7}) jpg[at] = char(26000 >> 8), jpg[at + 1] = char(26000 & 0xFF);
  std::ofstream(dir / "huge.jpg", std::ios::binary) << jpg;
  const std::string e = error_of([&] { decode_image(dir / "huge.jpg", 3); });
  EXPECT_NE(e.find(dir / "huge.jpg"), std::string::npos) << e;
  EXPECT_NE(e.find("26000x26000"), std::string::npos) << e;
  EXPECT_NE(e.find("above the limit of " + std::to_string(max_image_pixels())), std::string::npos) << e;
  EXPECT_EQ(max_image_pixels(), int64_t(64) << 20) << "the documented default (README, data.hpp)";
  // The limit can be set: 16 pixels refuses a 5x5 image and takes a 4x4 one.
  const std::vector<uint8_t> px(25, 7);
  ASSERT_TRUE(stbi_write_png((dir / "5.png").c_str(), 5, 5, 1, px.data(), 5));
  ASSERT_TRUE(stbi_write_png((dir / "4.png").c_str(), 4, 4, 1, px.data(), 4));
  ::setenv("DLTRAIN_MAX_IMAGE_PIXELS", "16", 1);
  EXPECT_NE(error_of([&] { decode_image(dir / "5.png", 1); }).find("above the limit of 16"), std::string::npos);
  EXPECT_EQ(decode_image(dir / "4.png", 1).pixels.size(), 16u);
  ::setenv("DLTRAIN_MAX_IMAGE_PIXELS", "lots", 1);
  EXPECT_NE(error_of([&] { decode_image(dir / "4.png", 1); }).find("DLTRAIN_MAX_IMAGE_PIXELS"), std::string::npos);
  ::unsetenv("DLTRAIN_MAX_IMAGE_PIXELS");
  EXPECT_EQ(decode_image(dir / "5.png", 1).pixels.size(), 25u);
}

// stb_image 2.27 writes a Huffman table's symbols into 256-entry arrays without checking their
// count (16 counts of up to 255 each): an out-of-bounds write found by fuzzing the decoder under
// ASan. Such a table is refused before decoding, also when junk bytes hide it from a strict
// parser (stb skips junk between segments).
TEST(Images, OversizedHuffmanTablesAreRefusedBeforeDecoding) {
  test::TempDir dir;
  std::vector<uint8_t> grey(64, 90);
  std::string jpg;
  stbi_write_jpg_to_func([](void* ctx, void* d, int n) { append(static_cast<std::string*>(ctx), d, n); }, &jpg, 8, 8, 1,
                         grey.data(), 90);
  const size_t dht = jpg.find("\xFF\xC4");
  ASSERT_NE(dht, std::string::npos);
  std::string in_place = jpg;
  for (size_t k = 0; k < 16; ++k) in_place[dht + 5 + k] = char(0xFF);
  const std::string bad_table = std::string("\xFF\xC4\x00\x13\x00", 5) + std::string(16, char(0x11)),
                    hidden = jpg.substr(0, dht) + std::string("\x00\x42", 2) + bad_table + jpg.substr(dht);
  for (const auto& [name, bytes] : {std::pair{"in_place.jpg", in_place}, std::pair{"hidden.jpg", hidden}}) {
    std::ofstream(dir / name, std::ios::binary) << bytes;
    const std::string e = error_of([&] { decode_image(dir / name, 1); });
    EXPECT_NE(e.find(dir / name), std::string::npos) << e;
    EXPECT_NE(e.find("the Huffman table at byte"), std::string::npos) << e;
  }
  std::ofstream(dir / "good.jpg", std::ios::binary) << jpg;
  EXPECT_EQ(decode_image(dir / "good.jpg", 1).pixels.size(), 64u);
}

// stb_image took abs() of a BMP's signed height, undefined for -2^31 (found by fuzzing, UBSan).
TEST(Images, BmpSizesMustBeAPicturesSize) {
  test::TempDir dir;
  const std::vector<uint8_t> grey(16, 200);
  std::string bmp;
  stbi_write_bmp_to_func([](void* ctx, void* d, int n) { append(static_cast<std::string*>(ctx), d, n); }, &bmp, 4, 4,
                         1, grey.data());
  ASSERT_EQ(bmp[14], 40) << "BITMAPINFOHEADER: width at byte 18, height at 22";
  for (const auto& [at, value] : {std::pair{22, int32_t(INT32_MIN)}, std::pair{22, 0}, std::pair{18, -4}}) {
    std::string bad = bmp;
    for (int k = 0; k < 4; ++k) bad[size_t(at + k)] = char(uint32_t(value) >> (8 * k));
    std::ofstream(dir / "bad.bmp", std::ios::binary) << bad;
    const std::string e = error_of([&] { decode_image(dir / "bad.bmp", 1); });
    EXPECT_NE(e.find(dir / "bad.bmp"), std::string::npos) << e;
    EXPECT_NE(e.find("is not a picture's"), std::string::npos) << value << ": " << e;
  }
  // Top-down (negative height): a whole one decodes; one claiming more rows than the file holds
  // is refused (stb read zeros past the end: 70 bytes took 13 s as 2 x 16.7 million pixels).
  auto with_height = [&](int32_t h) {
    std::string s = bmp;
    for (int k = 0; k < 4; ++k) s[size_t(22 + k)] = char(uint32_t(h) >> (8 * k));
    return s;
  };
  std::ofstream(dir / "top_down.bmp", std::ios::binary) << with_height(-4);
  EXPECT_EQ(decode_image(dir / "top_down.bmp", 1).pixels, grey);
  std::ofstream(dir / "tall.bmp", std::ios::binary) << with_height(-16711681);
  const std::string e = error_of([&] { decode_image(dir / "tall.bmp", 1); });
  EXPECT_NE(e.find("past the end of the file"), std::string::npos) << e;
  // The pixel limit counts a top-down image's rows too (stb reports its height negative).
  ::setenv("DLTRAIN_MAX_IMAGE_PIXELS", "15", 1);
  EXPECT_NE(error_of([&] { decode_image(dir / "top_down.bmp", 1); }).find("4x4 = 16 pixels, above the limit of 15"),
            std::string::npos);
  ::unsetenv("DLTRAIN_MAX_IMAGE_PIXELS");
}

// stb_image allocates its decoder without clearing it, so a scan that names a Huffman table no DHT
// segment defined decoded with heap garbage (out-of-bounds reads, found by fuzzing under ASan).
TEST(Images, ScansWithUndefinedHuffmanTablesAreRefused) {
  test::TempDir dir;
  std::vector<uint8_t> grey(64, 90);
  std::string jpg;
  stbi_write_jpg_to_func([](void* ctx, void* d, int n) { append(static_cast<std::string*>(ctx), d, n); }, &jpg, 8, 8, 1,
                         grey.data(), 90);
  const size_t sos = jpg.find("\xFF\xDA");
  ASSERT_NE(sos, std::string::npos);
  ASSERT_EQ(jpg[sos + 4], 3) << "three components in the scan (stb_image_write's layout)";
  jpg[sos + 6] = char(0x22);  // the first one: DC and AC table 2; stb_image_write defines 0 and 1
  std::ofstream(dir / "undefined.jpg", std::ios::binary) << jpg;
  const std::string e = error_of([&] { decode_image(dir / "undefined.jpg", 1); });
  EXPECT_NE(e.find(dir / "undefined.jpg"), std::string::npos) << e;
  EXPECT_NE(e.find("Huffman table DC 2, which no DHT segment before it defines"), std::string::npos) << e;
}

// ---- image datasets ----------------------------------------------------------------------------

void touch_png(const std::string& path, uint8_t value = 128) {
  fs::create_directories(fs::path(path).parent_path());
  const std::vector<uint8_t> px(16, value);
  ASSERT_TRUE(stbi_write_png(path.c_str(), 4, 4, 1, px.data(), 4));
}

TEST(ImageDatasets, FolderCsvAndCloudAnnotations) {
  test::TempDir dir;
  for (int i = 0; i < 5; ++i) touch_png(dir / ("folder/cat/" + std::to_string(i) + ".png"));
  for (int i = 0; i < 3; ++i) touch_png(dir / ("folder/dog/" + std::to_string(i) + ".png"));
  ImageSplits f = load_image_dataset(dir / "folder", 0.4, 1);
  EXPECT_EQ(f.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(f.train.size() + f.test.size(), 8);
  EXPECT_EQ(f.test.size(), 2 + 1);  // 40% of 5 and of 3, rounded
  EXPECT_EQ(load_image_dataset(dir / "folder", 0.4, 1).test.paths, f.test.paths);  // seeded

  std::ofstream(dir / "folder/list.csv") << "path,label,split\ncat/0.png,cat,train\n\"dog/0.png\",dog,test\n"
                                            "dog/1.png, dog ,train\ncat/1.png,cat,validation\n";
  const ImageSplits c = load_image_dataset(dir / "folder/list.csv", 0.2, 1);
  EXPECT_EQ(c.train.size(), 2);
  EXPECT_EQ(c.test.size(), 2);
  EXPECT_EQ(c.train.paths[1], (dir / "folder/dog/1.png"));

  std::ofstream(dir / "folder/_annotations.json")
      << R"({"version":"1.0","type":"classification","labels":["cat","dog"],)"
      << R"("annotations":{"cat/0.png":[{"label":"cat"}],"cat/1.png":[{"label":"cat"}],"dog/0.png":[{"label":"dog"}],"dog/1.png":[]}})";
  const ImageSplits a = load_image_dataset(dir / "folder", 0.0, 1);
  EXPECT_EQ(a.train.size(), 3);  // the unlabelled image is left out
  EXPECT_TRUE(is_image_dataset(dir / "folder"));

  std::ofstream(dir / "folder/_annotations.json")
      << R"({"labels":["cat"],"annotations":{"cat/0.png":[{"label":"cat","x":0.1,"y":0.1,"x2":0.5,"y2":0.5}]}})";
  expect_error([&] { load_image_dataset(dir / "folder", 0.2, 1); }, "bounding boxes");
  std::ofstream(dir / "bad.csv") << "cat/9.png,cat\ncat/0.png,dog\n";
  expect_error([&] { load_image_dataset(dir / "bad.csv", 0.2, 1); }, "does not exist");
  std::ofstream(dir / "one.csv") << "folder/cat/0.png,cat\n";
  expect_error([&] { load_image_dataset(dir / "one.csv", 0.2, 1); }, "all images have the label 'cat'");
}

// ---- transfer learning -------------------------------------------------------------------------

// The four *_train_* imprinting photos as a class-folder dataset in `folder`.
void training_photos(const std::string& folder) {
  for (const char* name : {"cat_train_0.bmp", "dog_train_0.bmp", "hotdog_train_0.bmp", "hotdog_train_1.bmp"}) {
    const std::string c = std::string(name).substr(0, std::string(name).find('_'));
    fs::create_directories(folder + "/" + c);
    fs::copy_file(imprinting(name), folder + "/" + c + "/" + name);
  }
}

TrainConfig transfer_config(const std::string& data) {
  TrainConfig c;
  c.model = "mobilenet_v2-transfer";
  c.backbone = mobilenet();
  c.data = data;
  c.optim = "adam:lr=0.01";
  c.head = "";
  c.epochs = 20;
  c.batch = 8;
  return c;
}

// The imprinting photos: a head trained on the four *_train_* images names the three *_test_0.
TEST(Transfer, ImprintingPhotos) {
  REQUIRE_SHARED_DATA();
  test::TempDir dir;
  ::setenv("DLTRAIN_CACHE", (dir / "cache").c_str(), 1);
  for (const std::string c : {"cat", "dog", "hotdog"})
    for (const auto& e : fs::directory_iterator(shared_data() + "/images/imprinting")) {
      const std::string name = e.path().filename().string();
      if (name.rfind(c + "_", 0) != 0) continue;
      const std::string split = name.find("_train_") != std::string::npos ? "train" : "test";
      fs::create_directories(dir / ("photos/" + split + "/" + c));
      fs::copy_file(e.path(), dir / ("photos/" + split + "/" + c + "/" + name));
    }
  const TrainConfig config = transfer_config(dir / "photos");
  const ImageSplits images = load_image_dataset(config.data, config.val_split, config.seed);
  ASSERT_EQ(images.train.size(), 4);
  ASSERT_EQ(images.test.size(), 3);
  Trainer t(config, prepare_transfer(config, images, [](int64_t, int64_t) {}), dir / "run");
  ASSERT_TRUE(t.fit());
  EXPECT_EQ(t.history().back().val_accuracy, 1.0);
  // The saved file is the whole classifier: it works on photos alone.
  LoadedModel m = load_model(dir / "run/model.safetensors");
  EXPECT_EQ(m.info.labels, (std::vector<std::string>{"cat", "dog", "hotdog"}));
  for (size_t i = 0; i < 3; ++i) {
    const Tensor img = load_image(images.test.paths[i], 224, 224, 3, m.info.preprocessing.resize);
    const std::vector<float> p = predict(*m.model, img, m.info.preprocessing);
    EXPECT_EQ(int32_t(argmax(p)), images.test.labels[i]) << images.test.paths[i];
  }
  // The features were cached: a second preparation reads them instead of running the backbone.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / "cache/features"), fs::directory_iterator()), 2);
  ::unsetenv("DLTRAIN_CACHE");
}

// Augmented views are computed once, differ from the plain features, and a run that is resumed
// (features read back from the cache) ends exactly where an uninterrupted one does.
TEST(Transfer, AugmentedViewsAndExactResume) {
  REQUIRE_SHARED_DATA();
  test::TempDir dir;
  ::setenv("DLTRAIN_CACHE", (dir / "cache").c_str(), 1);
  training_photos(dir / "photos");
  TrainConfig config = transfer_config(dir / "photos");
  config.augment = 2;
  config.epochs = 4;
  config.batch = 2;
  config.head = "dense:16,relu dropout:0.5";
  const ImageSplits images = load_image_dataset(config.data, 0.0, config.seed);
  TransferData data = prepare_transfer(config, images, [](int64_t, int64_t) {});
  ASSERT_EQ(data.views, 3);
  const Tensor& f = data.features.train.images;
  ASSERT_EQ(f.shape(), (Shape{12, 1280}));
  EXPECT_FALSE(std::equal(f.f32(), f.f32() + 1280, f.f32() + 4 * 1280));  // image 0 as is vs its first view
  Trainer whole(config, std::move(data), dir / "whole");
  ASSERT_TRUE(whole.fit());

  TrainConfig half = config;
  half.epochs = 2;
  Trainer first(half, prepare_transfer(half, images, [](int64_t, int64_t) {}), dir / "half");
  ASSERT_TRUE(first.fit());
  std::unique_ptr<Trainer> rest = Trainer::resume(dir / "half", 4);
  ASSERT_TRUE(rest->fit());
  const std::vector<Param*> a = whole.model().params(), b = rest->model().params();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(std::equal(a[i]->value.f32(), a[i]->value.f32() + a[i]->value.numel(), b[i]->value.f32())) << i;
  ::unsetenv("DLTRAIN_CACHE");
}

// --unfreeze 1: the top block trains with the head; everything below stays as imported.
TEST(Transfer, UnfreezeTrainsOnlyTheTopBlocks) {
  REQUIRE_SHARED_DATA();
  test::TempDir dir;
  ::setenv("DLTRAIN_CACHE", (dir / "cache").c_str(), 1);
  training_photos(dir / "photos");
  TrainConfig config = transfer_config(dir / "photos");
  config.unfreeze = 1;
  config.epochs = 2;
  config.optim = "adam:lr=0.001";
  const ImageSplits images = load_image_dataset(config.data, 0.0, config.seed);
  TransferData data = prepare_transfer(config, images, [](int64_t, int64_t) {});
  EXPECT_EQ(data.features.train.sample_shape(), (Shape{7, 7, 160}));  // the input of the last block
  Trainer t(config, std::move(data), dir / "run");
  ASSERT_TRUE(t.fit());
  LoadedModel m = load_model(dir / "run/model.safetensors");
  const Model& ref = *imported().model;
  size_t changed = 0;
  for (size_t i = 0; i < imported().backbone_nodes; ++i)
    for (size_t p = 0; p < ref.layer(i).params().size(); ++p) {
      const Tensor& a = ref.layer(i).params()[p].value;
      const Tensor& b = m.model->layer(i).params()[p].value;
      const bool equal = std::equal(a.f32(), a.f32() + a.numel(), b.f32());
      changed += equal ? 0 : 1;
      if (i + 6 < imported().backbone_nodes) {
        EXPECT_TRUE(equal) << "frozen layer " << ref.layer(i).spec() << " changed";
      }
    }
  EXPECT_EQ(changed, 8u);  // expand, depthwise, project, the 1280-channel conv: kernel and bias each
  ::unsetenv("DLTRAIN_CACHE");
}

// Fashion-MNIST as photos: 28x28 grey PNGs, 2,000 for training and 1,000 for testing, resized to
// 224x224 RGB by the loader; the head must reach 80% test accuracy.
TEST(Transfer, FashionMnistAsImages) {
  REQUIRE_SHARED_DATA();
  DLTRAIN_REQUIRE_FASHION_MNIST();
  test::TempDir dir;
  ::setenv("DLTRAIN_CACHE", (dir / "cache").c_str(), 1);
  const DatasetSplits fm = load_idx_folder(test::fashion_mnist_dir());
  for (const auto& [split, data, count] : {std::tuple{"train", &fm.train, 2000}, std::tuple{"test", &fm.test, 1000}})
    for (int64_t i = 0; i < count; ++i) {
      const std::string path = dir / ("fm/" + std::string(split) + "/" + std::to_string(data->labels[size_t(i)]) + "/" +
                                      std::to_string(i) + ".png");
      fs::create_directories(fs::path(path).parent_path());
      ASSERT_TRUE(stbi_write_png(path.c_str(), 28, 28, 1, data->images.u8() + i * 784, 28));
    }
  TrainConfig config = transfer_config(dir / "fm");
  config.head = "dense:128,relu,he_uniform,dropout:0.2";
  config.optim = "adam:lr=0.001";
  config.epochs = 10;
  config.batch = 32;
  const ImageSplits images = load_image_dataset(config.data, config.val_split, config.seed);
  ASSERT_EQ(images.train.size(), 2000);
  ASSERT_EQ(images.test.size(), 1000);
  Trainer t(config, prepare_transfer(config, images, [](int64_t, int64_t) {}), dir / "run");
  ASSERT_TRUE(t.fit());
  std::printf("Fashion-MNIST 2000/1000 through MobileNetV2 features: test accuracy %.4f\n",
              t.history().back().val_accuracy);
  EXPECT_GE(t.history().back().val_accuracy, 0.80);
  ::unsetenv("DLTRAIN_CACHE");
}

}  // namespace
}  // namespace dltrain
