// Fuzz target: one S3 ListObjectsV2 answer (XML, url-encoded keys) as the S3 client reads it.
#include "fetch/s3.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<dltrain::fetch_detail::S3Object> objects;
  std::string token;
  try {
    dltrain::fetch_detail::parse_listing(std::string(fuzz::bytes(data, size)), "listing s3://b/p", objects, token);
  } catch (const dltrain::Error&) {
  }
  return 0;
}
