// Fuzz target: the manifest.json of a pushed folder, as a fetch of its prefix reads it.
#include "dltrain/fetch.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    dltrain::parse_push_manifest(std::string(fuzz::bytes(data, size)), "s3://b/p/manifest.json");
  } catch (const dltrain::Error& e) {
    fuzz::refused(e, "s3://b/p/manifest.json");
  }
  return 0;
}
