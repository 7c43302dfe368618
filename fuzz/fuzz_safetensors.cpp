// Fuzz target: safetensors files and the model metadata in them (a model file as `predict` loads
// it): read_safetensors, then model_from (architecture text, input shape, labels, preprocessing).
#include "dltrain/io.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write("model.safetensors", fuzz::bytes(data, size));
  try {
    const dltrain::SafetensorsFile file = dltrain::read_safetensors(path);
    dltrain::model_from(file, path);
  } catch (const dltrain::Error& e) {
    fuzz::refused(e, path);
  }
  return 0;
}
