// IDX folders and the dataset catalog: names -> folders -> train/test splits.
#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "dltrain/data.hpp"
#include "dltrain/path.hpp"

namespace fs = std::filesystem;

namespace dltrain {
namespace {

// The one file in `folder` whose name contains `part` and `kind` ("images-idx3" / "labels-idx1").
std::string find_idx(const std::string& folder, const std::vector<std::string>& parts, const std::string& kind) {
  std::vector<std::string> hits;
  for (const std::string& e : folder_entries(folder)) {
    const std::string n = fs::path(e).filename().string();
    for (const std::string& p : parts)
      if (n.find(p + "-" + kind + "-ubyte") != std::string::npos && is_file(e)) hits.push_back(e);
  }
  if (hits.empty())
    throw Error("no " + parts[0] + "-" + kind + "-ubyte[.gz] file in " + folder,
                "an IDX folder holds train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
                "t10k-labels-idx1-ubyte (each optionally .gz)");
  std::sort(hits.begin(), hits.end());
  // The same file both raw and gzipped is fine: prefer the raw one.
  if (hits.size() == 2 && hits[1] == hits[0] + ".gz") return hits[0];
  if (hits.size() > 1) throw Error("several " + parts[0] + "-" + kind + " files in " + folder + ": " + hits[0] + ", " + hits[1],
                                   "keep one dataset per folder");
  return hits[0];
}

Dataset load_split(const std::string& folder, const std::vector<std::string>& parts) {
  const std::string ip = find_idx(folder, parts, "images-idx3"), lp = find_idx(folder, parts, "labels-idx1");
  Dataset d;
  Tensor images = read_idx(ip);
  Tensor labels = read_idx(lp);
  if (images.shape().rank() != 3) throw Error(ip + ": expected 3 dimensions (count, rows, columns), got " + images.shape().str());
  if (labels.shape().rank() != 1) throw Error(lp + ": expected 1 dimension (count), got " + labels.shape().str());
  if (images.shape()[0] != labels.shape()[0])
    throw Error(ip + " has " + std::to_string(images.shape()[0]) + " images but " + lp + " has " +
                std::to_string(labels.shape()[0]) + " labels", "the two files come from different datasets or downloads");
  images.reshape({images.shape()[0], images.shape()[1], images.shape()[2], 1});
  d.images = std::move(images);
  d.labels.assign(labels.u8(), labels.u8() + labels.numel());
  return d;
}

bool has_cifar_files(const std::string& folder) {
  return is_file(folder + "/data_batch_1.bin") || is_file(folder + "/cifar-10-batches-bin/data_batch_1.bin");
}

bool has_idx_files(const std::string& folder) {
  if (!is_folder(folder)) return false;
  for (const std::string& e : folder_entries(folder))
    if (fs::path(e).filename().string().find("train-images-idx3-ubyte") != std::string::npos) return true;
  return false;
}

// IDX files, or else CIFAR batches.
DatasetSplits load_folder(const std::string& folder, std::vector<std::string> class_names) {
  if (!has_idx_files(folder) && has_cifar_files(folder)) return load_cifar_folder(folder, std::move(class_names));
  return load_idx_folder(folder, std::move(class_names));
}

}  // namespace

Dataset Dataset::head(int64_t count) const {
  count = std::min(count, size());
  Dataset d;
  d.images = Tensor(sample_shape().with_batch(count), images.dtype());
  if (images.dtype() == DType::u8) std::copy_n(images.u8(), d.images.numel(), d.images.u8());
  else std::copy_n(images.f32(), d.images.numel(), d.images.f32());
  d.labels.assign(labels.begin(), labels.begin() + count);
  d.class_names = class_names;
  return d;
}

Dataset Dataset::view() const {
  Dataset d;
  const void* pixels = images.dtype() == DType::u8 ? static_cast<const void*>(images.u8()) : images.f32();
  d.images = Tensor::borrow(images.shape(), images.dtype(), const_cast<void*>(pixels), std::make_shared<int>(0));
  d.labels = labels;
  d.class_names = class_names;
  return d;
}

DatasetSplits load_idx_folder(const std::string& folder, std::vector<std::string> class_names) {
  require_folder(folder);
  DatasetSplits s;
  s.name = s.folder = folder;
  s.train = load_split(folder, {"train"});
  s.test = load_split(folder, {"t10k", "test"});
  if (s.train.sample_shape() != s.test.sample_shape())
    throw Error(folder + ": train images are " + s.train.sample_shape().str() + " but test images are " +
                s.test.sample_shape().str());
  int32_t max_label = 0;
  for (int32_t l : s.train.labels) max_label = std::max(max_label, l);
  for (int32_t l : s.test.labels) max_label = std::max(max_label, l);
  if (class_names.empty())
    for (int32_t i = 0; i <= max_label; ++i) class_names.push_back(std::to_string(i));
  if (max_label >= int32_t(class_names.size()))
    throw Error(folder + ": label " + std::to_string(max_label) + " is outside the " +
                std::to_string(class_names.size()) + " classes this dataset has");
  s.train.class_names = s.test.class_names = class_names;
  return s;
}

std::string cache_dir() {
  if (const char* c = std::getenv("DLTRAIN_CACHE"); c && *c) return c;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/dltrain";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.cache/dltrain";
}

// The catalog. Digests are the publishers' (MD5 where that is all they publish); the Debian
// package dataset-fashion-mnist recompresses Fashion-MNIST, so its forms are listed too. CIFAR-10
// is its binary version (the python one is pickled NumPy): 170,052,171 bytes, MD5 from its page.
const std::vector<CatalogEntry>& catalog() {
  static const std::vector<CatalogEntry> entries = {
      {"mnist", "handwritten digits, 28x28 grayscale, 60,000 + 10,000",
       {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, {}, DatasetFormat::idx,
       {{"train-images-idx3-ubyte.gz", {{9912422, "", "f68b3c2dcbeaaa9fbdd348bbdeb94873"}}},
        {"train-labels-idx1-ubyte.gz", {{28881, "", "d53e105ee54ea40749a09fcbcd1e9432"}}},
        {"t10k-images-idx3-ubyte.gz", {{1648877, "", "9fb629c4189551a2d022fa330f9573f3"}}},
        {"t10k-labels-idx1-ubyte.gz", {{4542, "", "ec29112dd5afa0611ce80d1b7f02629c"}}}},
       {"https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://yann.lecun.com/exdb/mnist/"},
       false},
      {"fashion-mnist", "Zalando clothing photos, 28x28 grayscale, 60,000 + 10,000",
       {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
       {"/usr/share/datasets/fashion-mnist"}, DatasetFormat::idx,
       {{"train-images-idx3-ubyte.gz",
         {{-1, "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc", ""},
          {26421856, "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7", ""}}},
        {"train-labels-idx1-ubyte.gz",
         {{-1, "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc", ""},
          {29491, "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056", ""}}},
        {"t10k-images-idx3-ubyte.gz",
         {{-1, "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229", ""},
          {4422079, "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa", ""}}},
        {"t10k-labels-idx1-ubyte.gz",
         {{-1, "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf", ""},
          {5125, "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05", ""}}}},
       {"file:///usr/share/datasets/fashion-mnist/", "https://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"},
       false},
      {"kmnist", "Kuzushiji (cursive Japanese) characters, 28x28 grayscale, 60,000 + 10,000",
       {"o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"}, {}, DatasetFormat::idx,
       {{"train-images-idx3-ubyte.gz", {{-1, "", "bdb82020997e1d708af4cf47b453dcf7"}}},
        {"train-labels-idx1-ubyte.gz", {{-1, "", "e144d726b3acfaa3e44228e80efcd344"}}},
        {"t10k-images-idx3-ubyte.gz", {{-1, "", "5c965bf0a639b31b8f53240b1b52f4d7"}}},
        {"t10k-labels-idx1-ubyte.gz", {{-1, "", "7320c461ea6c1c855c0b718fb2a4b134"}}}},
       {"https://codh.rois.ac.jp/kmnist/dataset/kmnist/", "http://codh.rois.ac.jp/kmnist/dataset/kmnist/"},
       false},
      {"cifar10", "small photos of 10 kinds of objects, 32x32 colour, 50,000 + 10,000",
       {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}, {},
       DatasetFormat::cifar,
       {{"cifar-10-binary.tar.gz", {{170052171, "", "c32a1d4ab5d03f1284b67883e8d87530"}}}},
       {"https://www.cs.toronto.edu/~kriz/"},
       true},
  };
  return entries;
}

std::string catalog_names() {
  std::string names;
  for (const CatalogEntry& e : catalog()) names += (names.empty() ? "" : ", ") + e.name;
  return names;
}

DatasetSplits load_dataset(const std::string& name_or_folder) {
  for (const CatalogEntry& e : catalog()) {
    if (e.name != name_or_folder) continue;
    std::vector<std::string> places = e.system_folders;
    places.push_back(cache_dir() + "/datasets/" + e.name);
    for (const std::string& f : places)
      if (e.format == DatasetFormat::cifar ? has_cifar_files(f) : has_idx_files(f)) {
        DatasetSplits s = load_folder(f, e.class_names);
        s.name = e.name;
        return s;
      }
    std::string where;
    for (const std::string& f : places) where += (where.empty() ? "" : " or ") + f;
    const std::string files = e.format == DatasetFormat::cifar
                                  ? "data_batch_1.bin ... data_batch_5.bin and test_batch.bin"
                                  : "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz "
                                    "and t10k-labels-idx1-ubyte.gz";
    throw Error("dataset '" + e.name + "' is not on this machine: its files are expected in " + where,
                "run `dltrain fetch " + e.name + "`, or put " + files + " there, or pass --data /path/to/folder" +
                    (e.name == "fashion-mnist" ? " (Debian: apt-get install dataset-fashion-mnist)" : ""));
  }
  const std::string fetched = cache_dir() + "/datasets/" + name_or_folder;
  if (name_or_folder.find('/') == std::string::npos && (has_idx_files(fetched) || has_cifar_files(fetched))) {
    DatasetSplits s = load_folder(fetched, {});  // fetched under this name
    s.name = name_or_folder;
    return s;
  }
  if (is_folder(name_or_folder)) {
    // A catalog dataset's own folder given by path still gets its class names.
    std::error_code ec;
    for (const CatalogEntry& e : catalog())
      for (const std::string& f : e.system_folders)
        if (fs::equivalent(f, name_or_folder, ec)) return load_folder(name_or_folder, e.class_names);
    return load_folder(name_or_folder, {});
  }
  if (path_kind(name_or_folder) != PathKind::none) require_folder(name_or_folder);  // a file: say so
  throw Error("'" + name_or_folder + "' is neither a known dataset nor a folder", "known datasets: " + catalog_names());
}

}  // namespace dltrain
