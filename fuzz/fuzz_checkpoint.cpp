// Fuzz target: what resuming reads from a run folder, as three parts of one input (fuzz_util.hpp):
// config.json (TrainConfig::read), history.jsonl (read_history) and checkpoint.safetensors
// (read_safetensors + model_from). Resuming itself also loads a dataset, so it is not run here.
#include "dltrain/train.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto part = fuzz::parts(fuzz::bytes(data, size), 3);
  const std::string run = fuzz::fresh_dir("run");
  const std::string config = fuzz::write("run/config.json", part[0]);
  try {
    dltrain::TrainConfig::read(config);
  } catch (const dltrain::Error& e) {
    fuzz::refused(e, config);
  }
  fuzz::write("run/history.jsonl", part[1]);
  try {
    dltrain::read_history(run);
  } catch (const dltrain::Error& e) {
    fuzz::refused(e, run + "/history.jsonl");
  }
  const std::string path = fuzz::write("run/checkpoint.safetensors", part[2]);
  try {
    dltrain::model_from(dltrain::read_safetensors(path), path);
  } catch (const dltrain::Error& e) {
    fuzz::refused(e, path);
  }
  return 0;
}
