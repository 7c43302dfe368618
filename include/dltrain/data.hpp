// data: files -> in-memory datasets (uint8 images, int32 labels) -> shuffled float batches.
// Readers validate everything they read and name the file in every error.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "dltrain/core.hpp"
#include "dltrain/io.hpp"

namespace dltrain {

// Labelled images kept as uint8 (N,H,W,C), converted to float one batch at a time; or float32
// samples used as they are (features computed by a frozen backbone).
struct Dataset {
  Tensor images;
  std::vector<int32_t> labels;
  std::vector<std::string> class_names;
  int64_t size() const { return int64_t(labels.size()); }
  Shape sample_shape() const { return images.shape().without_batch(); }
  Dataset head(int64_t count) const;  // the first `count` samples, copied
  Dataset view() const;               // the same samples; the images not copied (this must outlive it)
};

struct DatasetSplits {
  std::string name;    // catalog name or the folder given
  std::string folder;
  Dataset train, test;
};

// Reads an IDX file (raw or gzip) of unsigned bytes. Checks magic, element type, rank, dimensions
// and that the data length matches the header exactly; memory grows only with bytes actually read.
Tensor read_idx(const std::string& path);

// Loads the standard train/test IDX pairs (train-images-idx3-ubyte[.gz], t10k-..., also the
// EMNIST-style prefixed names) from a folder. Images become (N,H,W,1).
DatasetSplits load_idx_folder(const std::string& folder, std::vector<std::string> class_names = {});

// The dltrain cache: $DLTRAIN_CACHE, else $XDG_CACHE_HOME/dltrain, else ~/.cache/dltrain.
std::string cache_dir();

// ---- the catalog of named datasets: what `fetch NAME` downloads, `train --data NAME` and `eval`
// read, and `--help` lists ----------------------------------------------------------------------
// One acceptable form of a file: its size (-1: not published) and sha256 and/or md5.
struct FileVariant {
  int64_t size = -1;
  std::string sha256, md5;
};
struct CatalogFile {
  std::string name;
  std::vector<FileVariant> variants;  // e.g. the publisher's gzip and a distribution's recompression
};
enum class DatasetFormat : uint8_t { idx, cifar };
struct CatalogEntry {
  std::string name;
  std::string description;
  std::vector<std::string> class_names;
  std::vector<std::string> system_folders;  // read-only places a distribution installs it
  DatasetFormat format = DatasetFormat::idx;
  std::vector<CatalogFile> files;           // what fetch downloads
  std::vector<std::string> mirrors;         // base URLs; file URL = mirror + name
  bool extract = false;                     // fetch unpacks the files (archives)
};
const std::vector<CatalogEntry>& catalog();
std::string catalog_names();  // "mnist, fashion-mnist, ..." for messages and --help

// CIFAR-10's binary batches (data_batch_1.bin ... data_batch_5.bin, test_batch.bin): records of a
// label byte and 3072 pixel bytes (the red, green and blue 32x32 planes, rows in order), read as
// (N,32,32,3) images. A file must be whole records, at most 100,000 of them, with labels below
// `n_classes`.
Dataset read_cifar_batch(const std::string& path, int n_classes);
// A folder holding those files (directly or in cifar-10-batches-bin/, as the archive unpacks):
// data batches 1-5 train, test_batch tests. Class names from batches.meta.txt when it is there.
DatasetSplits load_cifar_folder(const std::string& folder, std::vector<std::string> class_names = {});

// A catalog name ("mnist", "fashion-mnist", "kmnist", "cifar10") or a folder path (IDX files or
// CIFAR batches) -> loaded splits. A catalog dataset that is not on disk gets an error saying where
// its files are expected and how to fetch them.
DatasetSplits load_dataset(const std::string& name_or_folder);

// One batch: x (B,H,W,C) float32 = pixel * scale + offset, and its labels.
struct Batch {
  Tensor x;
  std::vector<int32_t> labels;
};

// Iterates a dataset in batches (the last one may be smaller), in a seeded random order when
// `order` is given, preparing the next batch on a worker thread while the current one is used.
class BatchLoader {
 public:
  BatchLoader(const Dataset& data, int64_t batch_size, std::vector<int64_t> order, float scale, float offset);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;
  const Batch* next();  // nullptr after the last batch; the previous batch is invalidated
  int64_t steps() const { return steps_; }

 private:
  void produce();
  const Dataset& data_;
  int64_t batch_size_, steps_;
  std::vector<int64_t> order_;
  float scale_, offset_;
  Batch slots_[2];
  bool ready_[2] = {false, false};
  int64_t consumed_ = 0;
  bool stop_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread worker_;
};

// A random permutation of [0, n) drawn from rng (Fisher-Yates).
std::vector<int64_t> shuffled_order(int64_t n, Rng& rng);
std::vector<int64_t> sequential_order(int64_t n);

// Labelled image files (decoded only when used).
struct ImageList {
  std::vector<std::string> paths;
  std::vector<int32_t> labels;
  int64_t size() const { return int64_t(paths.size()); }
};
struct ImageSplits {
  std::string name, folder;
  std::vector<std::string> class_names;  // sorted; index = class id
  ImageList train, test;
};
// Whether `path` is an image dataset: a folder of class sub-folders of images (or train/ and
// test|val|validation/ holding such folders), a .csv of path,label[,split] (paths relative to the
// CSV), or a Cloud Annotations export (_annotations.json or its folder).
bool is_image_dataset(const std::string& path);
// Reads one. Without a test split in the data, `val_split` of each class is held out (seeded),
// always leaving one image of each class for training.
ImageSplits load_image_dataset(const std::string& path, double val_split, uint64_t seed);

// A decoded image: (H, W, C) uint8, upright (EXIF orientation applied).
struct Image {
  int64_t h = 0, w = 0, c = 0;
  std::vector<uint8_t> pixels;
};
// The image format a file's first bytes announce, whatever its name: "jpeg", "png" or "bmp" (the
// formats dltrain decodes), the name of another image format ("gif", "psd", "pic", "hdr", "pnm",
// "tiff", "webp": refused), or "" when the bytes start like no known image.
std::string image_format(std::string_view bytes);
// The most pixels (width x height) an image may have: 64 megapixels, or $DLTRAIN_MAX_IMAGE_PIXELS.
// Checked against the file's header before anything is decoded.
int64_t max_image_pixels();
// Decodes a JPEG, PNG or BMP (detected by content) with `channels` channels (grey is replicated
// to RGB, alpha dropped) and turns it by its EXIF orientation. Other formats, and images above
// max_image_pixels(), are refused with an error naming the file.
Image decode_image(const std::string& path, int64_t channels);
// The EXIF orientation (1..8) of a JPEG file's bytes; 1 when it has none.
int jpeg_orientation(const std::string& bytes);
// The h x w region at (y0, x0), mirrored left to right when `flip`.
Image crop_image(const Image& img, int64_t y0, int64_t x0, int64_t h, int64_t w, bool flip);
// (1, h, w, C) uint8 by bilinear interpolation at half-pixel centres (TFLite's resize), after a
// centre crop to h:w when mode is Resize::crop.
Tensor resize_image(const Image& img, int64_t h, int64_t w, Resize mode);
// Reads an image file resized to h x w with `channels` channels, or a raw file of exactly
// h*w*channels bytes (when its content is not an image: a PNG of that size is still a PNG), as
// uint8 (1,h,w,channels).
Tensor load_image(const std::string& path, int64_t h, int64_t w, int64_t channels, Resize mode = Resize::bilinear);

}  // namespace dltrain
