// Fuzz target: a Cloud Annotations export (_annotations.json) through load_image_dataset, given
// as its folder.
#include "dltrain/data.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string dir = fuzz::fresh_dir("annotations");
  fuzz::write("annotations/_annotations.json", fuzz::bytes(data, size));
  try {
    dltrain::is_image_dataset(dir);
    dltrain::load_image_dataset(dir, 0.25, 7);
  } catch (const dltrain::Error& e) {
    fuzz::refused(e, dir);
  }
  return 0;
}
