// Fuzz target: the S3 answers the client reads, each parser given the whole input: a ListObjectsV2
// page (XML, url-encoded keys), and the answers of an upload (CreateMultipartUpload, ListParts,
// ListMultipartUploads, CompleteMultipartUpload).
#include "fetch/s3.hpp"
#include "fuzz_util.hpp"

namespace fd = dltrain::fetch_detail;

template <class F>
void quietly(F&& f) {
  try {
    f();
  } catch (const dltrain::Error&) {
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string answer(fuzz::bytes(data, size));
  std::vector<fd::S3Object> objects;
  std::vector<fd::S3Part> parts;
  std::vector<fd::S3Upload> uploads;
  std::string token, marker, key_marker, id_marker;
  quietly([&] { fd::parse_listing(answer, "listing s3://b/p", objects, token); });
  quietly([&] { fd::parse_parts(answer, "parts", parts, marker); });
  quietly([&] { fd::parse_uploads(answer, "uploads", uploads, key_marker, id_marker); });
  quietly([&] { fd::parse_upload_id(answer, "create"); });
  quietly([&] { fd::check_completion(answer, "complete"); });
  return 0;
}
