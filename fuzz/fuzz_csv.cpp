// Fuzz target: a CSV image list (path,label[,split]) through load_image_dataset; the images it
// names are not read (they are decoded only when used).
#include "dltrain/data.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::fresh_dir("csv");
  const std::string path = fuzz::write("csv/list.csv", fuzz::bytes(data, size));
  try {
    dltrain::is_image_dataset(path);
    dltrain::load_image_dataset(path, 0.25, 7);
  } catch (const dltrain::Error& e) {
    fuzz::refused(e, path);
  }
  return 0;
}
