// safetensors and model files: round trips, files written by another program (the golden
// fixtures come from numpy), and malformed or hostile files that must fail cleanly.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "dltrain/io.hpp"
#include "dltrain/models.hpp"
#include "dltrain/train.hpp"
#include "helpers.hpp"

namespace dltrain {
namespace {
using test::close;
using test::random_tensor;
using test::TempDir;

std::string raw_file(const std::string& header_json, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = header_json.size();
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((n >> (8 * i)) & 0xff);
  return out + header_json + data;
}

std::string error_of(const std::string& path) {
  try {
    read_safetensors(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Safetensors, RoundTripKeepsValuesShapesAndMetadata) {
  TempDir dir;
  Tensor a = random_tensor({3, 4, 5}, 1);
  Tensor b({7}, DType::u8);
  for (int i = 0; i < 7; ++i) b.u8()[i] = uint8_t(i * 30);
  Tensor empty({0, 4});
  write_safetensors(dir / "t.safetensors", {{"a", &a}, {"b", &b}, {"empty", &empty}}, {{"note", "hello"}});
  const SafetensorsFile f = read_safetensors(dir / "t.safetensors");
  EXPECT_EQ(f.metadata.at("note"), "hello");
  EXPECT_TRUE(close(f.tensors.at("a"), a, 0));
  EXPECT_EQ(f.tensors.at("b").u8()[6], 180);
  EXPECT_EQ(f.tensors.at("empty").shape(), (Shape{0, 4}));
  // The header is padded so the data starts 8-byte aligned, as the format recommends.
  const std::string bytes = read_file(dir / "t.safetensors");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);  // no temp files left
}

TEST(Safetensors, ReadsFilesWrittenByNumpy) {
  const SafetensorsFile f = read_safetensors(test::golden("optimizers.safetensors"));
  EXPECT_EQ(f.tensors.at("adam").shape(), (Shape{50}));
  EXPECT_NE(f.metadata.at("made_by").find("torch"), std::string::npos);
}

TEST(Safetensors, MalformedFilesAreRejected) {
  TempDir dir;
  const std::string p = dir / "bad.safetensors";
  const std::string ok_entry = R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  struct Case { std::string bytes, expect; };
  const std::vector<Case> cases = {
      {"abc", "too short"},
      {raw_file("{}", "").substr(0, 7) + "\xff", "impossible"},
      {std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8) + "{}", "impossible"},
      {raw_file("{not json", ""), "not valid JSON"},
      {raw_file("[1,2]", ""), "not a JSON object"},
      {raw_file("{" + ok_entry + "}", "1234"), "outside the file"},
      {raw_file(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')), "does not match"},
      {raw_file(R"({"t":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}})", std::string(8, '\0')), "unsupported dtype"},
      {raw_file(R"({"t":{"dtype":"F32","shape":[2]}})", std::string(8, '\0')), "malformed"},
      {raw_file(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", std::string(8, '\0')), "negative"},
      {raw_file("{" + ok_entry + R"(,"u":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", std::string(8, '\0')),
       "overlap"},
      {raw_file(R"({"__metadata__":{"k":5}})", ""), "not a string"},
      // A float does not fit an int64_t: converting it would be undefined behaviour (CI's fuzzer).
      {raw_file(R"({"t":{"dtype":"F32","shape":[6.02222e103],"data_offsets":[0,8]}})", std::string(8, '\0')),
       "not arrays of integers"},
      {raw_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8.5]}})", std::string(8, '\0')),
       "not arrays of integers"},
      {raw_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", std::string(8, '\0')),
       "outside the file"},
      // 2^62 float32s are 2^64 bytes: the byte count wraps to 0 unless the product is checked.
      {raw_file(R"({"t":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", ""), "limit of 2^40"},
      {raw_file(R"({"t":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", ""),
       "more elements than a 64-bit count"},
  };
  for (const Case& c : cases) {
    std::ofstream(p, std::ios::binary) << c.bytes;
    const std::string e = error_of(p);
    EXPECT_NE(e.find(c.expect), std::string::npos) << "expected '" << c.expect << "', got: " << e;
  }
}

TEST(ModelFile, SaveLoadGivesTheSameModel) {
  TempDir dir;
  auto m = build_model("conv:8x3x3,same,relu bn maxpool:2 flatten dropout:0.2 dense:10,softmax", {12, 12, 1}, 10);
  m->init_params(4);
  ModelInfo info{"custom", "unit-test", {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}, {1 / 128.0f, -1.0f}};
  save_model(dir / "m.safetensors", *m, info);
  LoadedModel back = load_model(dir / "m.safetensors");
  EXPECT_EQ(back.model->spec, m->spec);
  EXPECT_EQ(back.info.labels, info.labels);
  EXPECT_FLOAT_EQ(back.info.preprocessing.offset, -1.0f);
  EXPECT_EQ(back.info.dataset, "unit-test");
  Tensor x = random_tensor({2, 12, 12, 1}, 9);
  EXPECT_TRUE(close(back.model->forward(x, Context{}).clone(), m->forward(x, Context{}).clone(), 0));
}

// config.json: integers round-trip (the seed is any 64-bit pattern); a float or an out-of-range
// number where an integer belongs is an Error, never a conversion (UBSan in the checkpoint fuzz target).
TEST(TrainConfigJson, IntegersRoundTripAndFloatsAreRefused) {
  TrainConfig c;
  c.epochs = 7;
  c.seed = ~uint64_t(0);
  c.threads = 3;
  c.augment = 2;
  const TrainConfig back = TrainConfig::from_json(c.to_json());
  EXPECT_EQ(back.epochs, 7);
  EXPECT_EQ(back.seed, ~uint64_t(0));
  EXPECT_EQ(back.threads, 3);
  EXPECT_EQ(back.augment, 2);
  for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"epochs", 1e300}, {"batch", 2.5}, {"threads", int64_t(1) << 40}, {"train_limit", -1e19},
           {"augment", 1e300}, {"seed", 0.5}, {"epochs", uint64_t(1) << 63}}) {
    nlohmann::json j = nlohmann::json::parse(c.to_json());
    j[key] = value;
    EXPECT_THROW(TrainConfig::from_json(j.dump()), Error) << key << "=" << value.dump();
  }
}

TEST(ModelFile, InconsistentModelFilesAreRejected) {
  TempDir dir;
  auto m = build_model("mlp", {28, 28, 1}, 10);
  ModelInfo info{"mlp", "x", std::vector<std::string>(10, "l"), {}};
  Metadata meta = model_metadata(*m, info);
  std::vector<TensorRef> tensors = model_tensors(*m);
  auto error_loading = [&](const Metadata& md, const std::vector<TensorRef>& ts) {
    write_safetensors(dir / "m.safetensors", ts, md);
    try {
      load_model(dir / "m.safetensors");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("loaded");
  };
  EXPECT_EQ(error_loading(meta, tensors), "loaded");
  Metadata no_format = meta;
  no_format.erase("format");
  EXPECT_NE(error_loading(no_format, tensors).find("not a dltrain model"), std::string::npos);
  Metadata other_arch = meta;
  other_arch["architecture"] = "flatten dense:10,softmax";
  EXPECT_NE(error_loading(other_arch, tensors).find("is (784, 512)"), std::string::npos);
  Metadata bad_labels = meta;
  bad_labels["labels"] = R"(["only one"])";
  EXPECT_NE(error_loading(bad_labels, tensors).find("1 labels for 10 outputs"), std::string::npos);
  std::vector<TensorRef> missing(tensors.begin() + 1, tensors.end());
  EXPECT_NE(error_loading(meta, missing).find("missing"), std::string::npos);
  // Sizes from the file are checked before anything is built, and the errors name the file.
  // ... and floats are refused, not converted (1e300 -> int64 is undefined behaviour; fuzzing).
  for (const char* shape : {"[1152921504606847025,16,1]", "[0,28,1]", "[100000,100000,1]", "[]", "[1,1,1,1,1,1]",
                            "[28.5,28,1]", "[1e300,28,1]", "[18446744073709551615,1,1]", "{\"a\":1}", "28"}) {
    Metadata huge = meta;
    huge["input_shape"] = shape;
    const std::string e = error_loading(huge, tensors);
    EXPECT_NE(e.find(dir / "m.safetensors"), std::string::npos) << e;
    EXPECT_NE(e.find("'input_shape' " + std::string(shape)), std::string::npos) << e;
  }
  Metadata inf_scale = meta;
  inf_scale["preprocessing"] = R"({"scale":1e39,"offset":0})";
  EXPECT_NE(error_loading(inf_scale, tensors).find("not a finite float32"), std::string::npos);
  Metadata bad_arch = meta;
  bad_arch["architecture"] = "flatten wobble dense:10,softmax";
  EXPECT_NE(error_loading(bad_arch, tensors).find(dir / "m.safetensors: metadata 'architecture'"), std::string::npos);
  Tensor extra({1});
  std::vector<TensorRef> more = tensors;
  more.push_back({"stray", &extra});
  EXPECT_NE(error_loading(meta, more).find("unexpected tensor 'stray'"), std::string::npos);
}

TEST(AtomicWrite, FailureLeavesNothingBehind) {
  TempDir dir;
  EXPECT_THROW(write_file_atomic(dir / "no/such/folder/file", "x"), Error);
  write_file_atomic(dir / "f", "old");
  write_file_atomic(dir / "f", "new");
  EXPECT_EQ(read_file(dir / "f"), "new");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

}  // namespace
}  // namespace dltrain
