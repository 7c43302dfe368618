// Fuzz target: what users type as a fetch source and what is printed of it: parse_source,
// redact_url, drive_file_id, percent-decoding and sizes such as "16Gi".
#include "dltrain/fetch.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s(fuzz::bytes(data, size));
  dltrain::redact_url(s);
  dltrain::drive_file_id(s);
  dltrain::uri_encode(dltrain::uri_decode(s), true);
  try {
    const dltrain::Source src = dltrain::parse_source(s);
    dltrain::redact_url(src.url);
  } catch (const dltrain::Error&) {
  }
  try {
    dltrain::parse_size(s, "--max-extract");
  } catch (const dltrain::Error&) {
  }
  return 0;
}
