// Fuzz target: the fetch cache's index.json, read by an --offline fetch of a fixed URL into a
// scratch cache that holds one blob (the sha256 of "hello\n", 6 bytes) for entries to point at.
#include "dltrain/fetch.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string cache = fuzz::fresh_dir("cache");
  fuzz::write("cache/blobs/5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", "hello\n");
  fuzz::write("cache/index.json", fuzz::bytes(data, size));
  dltrain::FetchOptions o;
  o.cache = cache;
  o.offline = true;
  const std::string uri = "https://example.invalid/data/train.bin";
  try {
    dltrain::fetch(uri, o);
  } catch (const dltrain::Error& e) {
    fuzz::refused(e, uri);
  }
  return 0;
}
