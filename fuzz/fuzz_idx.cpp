// Fuzz target: IDX files, raw or gzip (read_idx detects gzip by content), and the same bytes as a
// CIFAR-10 binary batch, through the public readers.
#include "dltrain/data.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write("train-images-idx3-ubyte", fuzz::bytes(data, size));
  try {
    dltrain::read_idx(path);
  } catch (const dltrain::Error& e) {
    fuzz::refused(e, path);
  }
  const std::string batch = fuzz::write("data_batch_1.bin", fuzz::bytes(data, size));
  try {
    dltrain::read_cifar_batch(batch, 10);
  } catch (const dltrain::Error& e) {
    fuzz::refused(e, batch);
  }
  return 0;
}
