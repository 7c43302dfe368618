// Fuzz target: an HTTP answer's header lines as libcurl hands them over, then what the download
// engine reads from them: status, Content-Length, Content-Range (the probe), ETag/Last-Modified,
// Retry-After and Content-Disposition's file name.
#include "fetch/gdrive.hpp"
#include "fetch/http.hpp"
#include "fetch/transfer.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fd = dltrain::fetch_detail;
  std::string_view in = fuzz::bytes(data, size);
  fd::HttpResponse response;
  try {
    while (!in.empty()) {
      const size_t end = std::min(in.find('\n'), in.size() - 1);
      fd::parse_header_line(response, std::string(in.substr(0, end + 1)));
      in.remove_prefix(end + 1);
    }
    response.content_length();
    fd::probe_from(response);
    fd::parse_retry_after(response.header("retry-after"));
    fd::disposition_name(response.header("content-disposition"));
  } catch (const dltrain::Error&) {
  }
  return 0;
}
