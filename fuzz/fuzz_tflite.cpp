// Fuzz target: TFLite model files through the importer (FlatBuffer verification, tensors,
// operators, quantization, the graph translation, associated label files).
#include "dltrain/models.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write("model.tflite", fuzz::bytes(data, size));
  try {
    dltrain::import_tflite(path);
  } catch (const dltrain::Error& e) {
    fuzz::refused(e, path);
  }
  return 0;
}
