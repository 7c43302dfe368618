// One HTTP(S) request through libcurl (proxies from the environment, TLS verification on unless the
// caller insists): a GET whose body is streamed to a sink, or a PUT/POST/DELETE with a body from
// memory. Internal to fetch/.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "dltrain/core.hpp"
#include "dltrain/fetch.hpp"  // redact_url

namespace dltrain::fetch_detail {

struct HttpRequest {
  std::string method = "GET";         // GET (redirects followed), PUT, POST, DELETE (not followed)
  std::string url;
  std::vector<std::string> headers;   // "Name: value"
  int64_t range_begin = -1;           // Range: bytes=begin-[end]
  int64_t range_end = -1;
  std::string if_range;               // validator for If-Range
  bool insecure = false;
  int stall_seconds = 30;
  std::string cookie_jar;             // file for the session's cookies (Google Drive), or ""
  std::string_view body;              // PUT/POST: what is sent (must outlive the call)
  std::function<void(int64_t)> sent;  // PUT: called with each piece of the body handed to libcurl
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names, of the final response
  std::string effective_url;
  std::string error_body;  // the first 64 KiB of a non-2xx body (for error messages)
  int64_t content_length() const;
  std::string header(const std::string& name) const;
};

// One header line as libcurl hands it over ("HTTP/1.1 206 ..." starts a new response: status set,
// headers cleared; "Name: value" is stored under the lower-case name). Pure: fuzzed on its own.
void parse_header_line(HttpResponse& response, std::string line);

// A transport-level failure (connect, TLS, reset, stall). `retryable` is false for TLS
// verification and malformed-URL errors.
// `ended_early`: the server closed the connection cleanly before the body it announced was complete.
struct TransportError : Error {
  TransportError(std::string what, bool retry, bool early = false)
      : Error(std::move(what)), retryable(retry), ended_early(early) {}
  bool retryable, ended_early;
};

// Streams a 2xx body to sink(data, n, status) (return false to stop early: no error). Throws
// TransportError. A non-2xx body's start is kept in error_body.
using Sink = std::function<bool(const char*, size_t, long status)>;
HttpResponse http_request(const HttpRequest& request, const Sink& sink);

}  // namespace dltrain::fetch_detail
