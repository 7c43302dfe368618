// CIFAR-10's binary batches: fixed 3073-byte records (a label, then the red, green and blue 32x32
// planes), turned into NHWC images. Sizes come from the file's length alone: it must be whole
// records, at most max_records of them.
#include <algorithm>
#include <fstream>

#include "dltrain/data.hpp"
#include "dltrain/io.hpp"
#include "dltrain/path.hpp"

namespace dltrain {
namespace {

constexpr int64_t side = 32, plane = side * side, record = 1 + 3 * plane;
constexpr int64_t max_records = 100000;  // CIFAR-10's files hold 10,000 each

// `folder`, or its cifar-10-batches-bin/ (the archive's own folder) when the files are there.
std::string batches_folder(const std::string& folder) {
  const std::string inner = folder + "/cifar-10-batches-bin";
  return is_file(inner + "/data_batch_1.bin") ? inner : folder;
}

void append(Dataset& to, Dataset&& from) {
  if (to.size() == 0) {
    to = std::move(from);
    return;
  }
  Tensor images(Shape{to.size() + from.size(), side, side, 3}, DType::u8);
  std::copy_n(to.images.u8(), to.images.numel(), images.u8());
  std::copy_n(from.images.u8(), from.images.numel(), images.u8() + to.images.numel());
  to.images = std::move(images);
  to.labels.insert(to.labels.end(), from.labels.begin(), from.labels.end());
}

}  // namespace

Dataset read_cifar_batch(const std::string& path, int n_classes) {
  return naming(path, [&] {
    const int64_t bytes = int64_t(file_bytes(path));
    if (bytes == 0 || bytes % record != 0)
      throw Error(path + ": " + std::to_string(bytes) + " bytes is not a whole number of 3073-byte CIFAR records",
                  "the file is cut short or is not a CIFAR-10 binary batch (data_batch_N.bin, test_batch.bin)");
    const int64_t n = bytes / record;
    if (n > max_records)
      throw Error(path + ": " + std::to_string(n) + " records; a CIFAR batch holds at most " + std::to_string(max_records));
    std::ifstream f(path, std::ios::binary);
    std::vector<unsigned char> rec(size_t(record), 0);
    Dataset d;
    d.images = Tensor(Shape{n, side, side, 3}, DType::u8);
    d.labels.resize(size_t(n));
    uint8_t* out = d.images.u8();
    for (int64_t i = 0; i < n; ++i) {
      if (!f.read(reinterpret_cast<char*>(rec.data()), record)) throw Error(path + ": the file ended early");
      if (rec[0] >= n_classes)
        throw Error(path + ": record " + std::to_string(i) + " has label " + std::to_string(rec[0]) + ", and there are " +
                    std::to_string(n_classes) + " classes");
      d.labels[size_t(i)] = rec[0];
      const unsigned char* planes = rec.data() + 1;
      for (int64_t p = 0; p < plane; ++p)
        for (int64_t c = 0; c < 3; ++c) *out++ = planes[c * plane + p];
    }
    return d;
  });
}

DatasetSplits load_cifar_folder(const std::string& folder, std::vector<std::string> class_names) {
  require_folder(folder);
  const std::string dir = batches_folder(folder);
  if (class_names.empty() && is_file(dir + "/batches.meta.txt"))
    for (const std::string& line : text_lines(read_file(dir + "/batches.meta.txt")))
      if (!line.empty()) class_names.push_back(line);
  if (class_names.empty())
    for (int i = 0; i < 10; ++i) class_names.push_back(std::to_string(i));
  const int classes = int(std::min<size_t>(class_names.size(), 256));
  DatasetSplits s;
  s.name = s.folder = folder;
  for (int b = 1; b <= 5; ++b) {
    const std::string path = dir + "/data_batch_" + std::to_string(b) + ".bin";
    if (b > 1 && !path_exists(path)) break;  // fewer batches: a subset
    append(s.train, read_cifar_batch(path, classes));
  }
  s.test = read_cifar_batch(dir + "/test_batch.bin", classes);
  s.train.class_names = s.test.class_names = class_names;
  return s;
}

}  // namespace dltrain
