// Fuzz target: IDX files, raw or gzip (read_idx detects gzip by content), through the public reader.
#include "dltrain/data.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write("train-images-idx3-ubyte", fuzz::bytes(data, size));
  try {
    dltrain::read_idx(path);
  } catch (const dltrain::Error& e) {
    fuzz::refused(e, path);
  }
  return 0;
}
