// The IDX reader against real Fashion-MNIST and against malformed files: every bad file gets a
// dltrain::Error naming the file and the problem, never a crash or a huge allocation.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "dltrain/data.hpp"
#include "helpers.hpp"

namespace dltrain {
namespace {
using test::TempDir;

std::string header(uint8_t type, std::vector<uint32_t> dims) {
  std::string h = {0, 0, char(type), char(dims.size())};
  for (uint32_t d : dims) h += {char(d >> 24), char(d >> 16), char(d >> 8), char(d)};
  return h;
}

void write(const std::string& path, const std::string& bytes, bool gzip = false) {
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), unsigned(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary) << bytes;
  }
}

std::string error_of(const std::string& path) {
  try {
    read_idx(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Idx, ReadsRawAndGzip) {
  TempDir dir;
  const std::string body = header(0x08, {2, 3, 2}) + std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\xff", 12);
  for (bool gz : {false, true}) {
    const std::string path = dir / (gz ? "a.gz" : "a");
    write(path, body, gz);
    const Tensor t = read_idx(path);
    EXPECT_EQ(t.shape(), (Shape{2, 3, 2}));
    EXPECT_EQ(t.u8()[0], 1);
    EXPECT_EQ(t.u8()[11], 255);
  }
}

TEST(Idx, MalformedFilesAreExplained) {
  TempDir dir;
  const std::string p = dir / "bad";
  struct Case { std::string bytes, expect; bool gz = false; };
  const std::vector<Case> cases = {
      {"", "shorter than the 4-byte IDX header"},
      {"\x1f\x8b\x08\x00garbage", "corrupt gzip data"},
      {std::string("\x00\x01\x08\x01", 4), "bad magic"},
      {header(0x0D, {2}) + std::string(8, '\0'), "element type is float"},
      {header(0x08, {}), "rank 0"},
      {header(0x08, {1, 1, 1, 1, 1}) + "x", "rank 5"},
      {header(0x08, {3, 0}), "dimension 1 is zero"},
      {header(0x08, {4, 4}).substr(0, 9), "truncated inside the header"},
      {header(0x08, {10}) + "abc", "header promises 10 data bytes, file has 3"},
      {header(0x08, {10}) + "abc", "header promises 10 data bytes, file has 3", true},
      {header(0x08, {2}) + "abc", "trailing bytes"},
      {header(0x08, {0x80000000, 2}) + "tiny", "dimension 0 is " + std::to_string(0x80000000u) + ", above the limit"},
      {header(0x08, {0x7FFFFFFF, 0x7FFFFFFF, 0x7FFFFFFF}) + "tiny", "absurd dimensions"},
      {header(0x08, {60000, 28, 28}) + std::string(100, 'x'), "truncated"},  // lies: no 47 MB allocated
  };
  for (const Case& c : cases) {
    write(p, c.bytes, c.gz);
    const std::string e = error_of(p);
    EXPECT_NE(e.find(p), std::string::npos) << e;
    EXPECT_NE(e.find(c.expect), std::string::npos) << "expected '" << c.expect << "', got: " << e;
  }
  EXPECT_NE(error_of(dir / "missing").find("no such file"), std::string::npos);
  // A download cut short: a valid gzip stream truncated in the middle.
  std::string big = header(0x08, {1000, 28, 28});
  Rng rng(1);
  for (int i = 0; i < 1000 * 28 * 28; ++i) big += char(rng.below(256));
  write(p, big, true);
  std::filesystem::resize_file(p, std::filesystem::file_size(p) / 2);
  EXPECT_NE(error_of(p).find("corrupt gzip data"), std::string::npos) << error_of(p);
}

// A gzip IDX is inflated no further than its header's promise: a header promising more than the
// file could inflate to (deflate's 1032:1) is refused before inflating anything, and data beyond
// the promise is refused at its first byte.
TEST(Idx, GzipInflatesOnlyWhatTheHeaderPromises) {
  TempDir dir;
  const std::string p = dir / "bomb.gz";
  const uint32_t n = 2000, h = 1000, w = 1000;  // 2 GB promised, 1 MiB of zeros inside
  write(p, header(0x08, {n, h, w}) + std::string(1 << 20, '\0'), true);
  const std::string e = error_of(p);
  EXPECT_NE(e.find(p + ": header promises " + std::to_string(uint64_t(n) * h * w) + " data bytes, more than a " +
                   std::to_string(std::filesystem::file_size(p)) + "-byte gzip file can inflate to"),
            std::string::npos)
      << e;
  // A plausible promise with far more inside: stops one byte past it.
  write(p, header(0x08, {16, 4}) + std::string(64 << 20, '\0'), true);
  EXPECT_NE(error_of(p).find(p + ": trailing bytes after the " + std::to_string(16 * 4) + " data bytes"),
            std::string::npos)
      << error_of(p);
  // A raw file shorter than its promise is refused from its size, before reading.
  write(dir / "short", header(0x08, {n, h, w}) + "abc");
  EXPECT_NE(error_of(dir / "short").find("header promises " + std::to_string(uint64_t(n) * h * w) +
                                         " data bytes, file has 3"),
            std::string::npos)
      << error_of(dir / "short");
}

TEST(Idx, FolderChecksPairsAndNames) {
  TempDir dir;
  auto images = [](uint32_t n) { return header(0x08, {n, 2, 2}) + std::string(n * 4, '\x07'); };
  auto labels = [](uint32_t n) { return header(0x08, {n}) + std::string(n, '\x01'); };
  write(dir / "train-images-idx3-ubyte", images(5));
  write(dir / "train-labels-idx1-ubyte.gz", labels(5), true);
  write(dir / "t10k-images-idx3-ubyte.gz", images(3), true);
  write(dir / "t10k-labels-idx1-ubyte", labels(4));
  try {
    load_idx_folder(dir.path());
    FAIL() << "a count mismatch was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has 3 images but"), std::string::npos) << e.what();
  }
  write(dir / "t10k-labels-idx1-ubyte", labels(3));
  const DatasetSplits s = load_idx_folder(dir.path());
  EXPECT_EQ(s.train.images.shape(), (Shape{5, 2, 2, 1}));
  EXPECT_EQ(s.test.size(), 3);
  EXPECT_EQ(s.train.class_names.size(), 2u);  // labels 0..1
  std::filesystem::remove(dir / "train-labels-idx1-ubyte.gz");
  EXPECT_THROW(load_idx_folder(dir.path()), Error);
}

TEST(Idx, RealFashionMnist) {
  DLTRAIN_REQUIRE_FASHION_MNIST();
  const DatasetSplits s = load_idx_folder(test::fashion_mnist_dir());
  EXPECT_EQ(s.train.images.shape(), (Shape{60000, 28, 28, 1}));
  EXPECT_EQ(s.test.images.shape(), (Shape{10000, 28, 28, 1}));
  EXPECT_EQ(s.train.labels[0], 9);  // the first training image is an ankle boot
  std::vector<int> counts(10);
  for (int32_t l : s.test.labels) ++counts[size_t(l)];
  for (int c : counts) EXPECT_EQ(c, 1000);  // the test split is balanced
}

TEST(Catalog, MissingDatasetSaysWhereFilesGo) {
  TempDir cache;
  ::setenv("DLTRAIN_CACHE", cache.path().c_str(), 1);
  try {
    load_dataset("mnist");
    FAIL() << "no error for a missing dataset";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(cache.path() + "/datasets/mnist"), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("dltrain fetch mnist"), std::string::npos) << e.hint();
  }
  ::unsetenv("DLTRAIN_CACHE");
  EXPECT_THROW(load_dataset("imagenet-22k"), Error);
}

// ---- CIFAR-10 binary batches ---------------------------------------------------------------------
// A record as CIFAR-10's page describes it: the label byte, then the red, green and blue planes,
// each 32 rows of 32 bytes. Pixel (y, x) of channel c of record i holds (i * 7 + c * 50 + y * 3 + x) % 256.
std::string cifar_records(int first, int count, int label_base) {
  std::string s;
  for (int i = first; i < first + count; ++i) {
    s.push_back(char((i + label_base) % 10));
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) s.push_back(char((i * 7 + c * 50 + y * 3 + x) % 256));
  }
  return s;
}

TEST(Cifar, BatchesBecomeNhwcImagesWithTheirClassNames) {
  TempDir dir;
  const std::string batches = dir / "cifar-10-batches-bin";  // as the archive unpacks
  for (int b = 1; b <= 5; ++b) test::write(batches + "/data_batch_" + std::to_string(b) + ".bin", cifar_records(3 * (b - 1), 3, 0));
  test::write(batches + "/test_batch.bin", cifar_records(100, 2, 4));
  test::write(batches + "/batches.meta.txt", "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n");
  const DatasetSplits s = load_dataset(dir.path());
  ASSERT_EQ(s.train.size(), 15);
  ASSERT_EQ(s.test.size(), 2);
  EXPECT_EQ(s.train.sample_shape(), (Shape{32, 32, 3}));
  EXPECT_EQ(s.train.class_names.size(), 10u);
  EXPECT_EQ(s.train.class_names[9], "truck");
  for (int i : {0, 7, 14}) {
    EXPECT_EQ(s.train.labels[size_t(i)], i % 10);
    for (int y : {0, 5, 31})
      for (int x : {0, 17, 31})
        for (int c = 0; c < 3; ++c)
          ASSERT_EQ(s.train.images.u8()[((i * 32 + y) * 32 + x) * 3 + c], (i * 7 + c * 50 + y * 3 + x) % 256)
              << "record " << i << " y " << y << " x " << x << " channel " << c;
  }
  EXPECT_EQ(s.test.labels[1], (101 + 4) % 10);
}

TEST(Cifar, BrokenBatchesAreExplained) {
  TempDir dir;
  auto refused = [&](const std::string& data, const std::string& expected) {
    test::write(dir / "data_batch_1.bin", data);
    try {
      read_cifar_batch(dir / "data_batch_1.bin", 10);
      ADD_FAILURE() << "accepted: " << expected;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(dir / "data_batch_1.bin"), std::string::npos) << e.what();
    }
  };
  refused(cifar_records(0, 2, 0).substr(0, 3073 + 100), "not a whole number of 3073-byte");
  refused("", "not a whole number");
  std::string bad_label = cifar_records(0, 2, 0);
  bad_label[3073] = char(10);
  refused(bad_label, "record 1 has label 10");
  // A folder without test_batch.bin names the missing file.
  test::write(dir / "data_batch_1.bin", cifar_records(0, 1, 0));
  try {
    load_dataset(dir.path());
    FAIL() << "a folder without test_batch.bin was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("test_batch.bin"), std::string::npos) << e.what();
  }
}

TEST(Catalog, OneCatalogForFetchAndTraining) {
  // Every name can be fetched (files and mirrors) and read (class names); cifar10 comes as the
  // binary archive, unpacked.
  for (const CatalogEntry& e : catalog()) {
    EXPECT_FALSE(e.files.empty()) << e.name;
    EXPECT_FALSE(e.mirrors.empty()) << e.name;
    EXPECT_EQ(e.class_names.size(), 10u) << e.name;
  }
  const auto cifar = std::find_if(catalog().begin(), catalog().end(), [](const CatalogEntry& e) { return e.name == "cifar10"; });
  ASSERT_NE(cifar, catalog().end());
  EXPECT_EQ(cifar->format, DatasetFormat::cifar);
  EXPECT_TRUE(cifar->extract);
  TempDir cache;
  ::setenv("DLTRAIN_CACHE", cache.path().c_str(), 1);
  try {
    load_dataset("cifar10");
    FAIL() << "no error for a missing dataset";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(cache.path() + "/datasets/cifar10"), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("data_batch_1.bin"), std::string::npos) << e.hint();
    EXPECT_NE(e.hint().find("dltrain fetch cifar10"), std::string::npos) << e.hint();
  }
  ::unsetenv("DLTRAIN_CACHE");
}

}  // namespace
}  // namespace dltrain
