// The download engine: one remote file -> a verified blob in the cache. Internal to fetch/.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "dltrain/fetch.hpp"
#include "dltrain/io.hpp"
#include "http.hpp"

namespace dltrain::fetch_detail {

struct Target {
  std::string url;
  std::string label;                 // what messages call it (never holds credentials)
  std::vector<FileVariant> accept;   // acceptable forms (empty: any; verified by size only)
  int64_t known_size = -1;           // size and validator already known (e.g. from a listing):
  std::string known_validator;       // small objects then skip the probe request
  bool web_page_ok = false;          // an HTML answer is the file (a .html name, or --allow-html)
  std::function<std::vector<std::string>(int64_t range_begin, int64_t range_end)> headers;  // per request
};

// Progress for one fetch (reported at most 5 times a second) and its bandwidth cap: add() sleeps
// the calling connection until all connections together are within --limit-rate. (libcurl's own
// limiter lets short transfers through unthrottled.) The caller sets the totals.
class Meter {
 public:
  explicit Meter(const FetchOptions& o) : options_(o), began_(std::chrono::steady_clock::now()) {}
  void begin_file(const std::string& label, int64_t size);
  void add(int64_t bytes, bool received = true);  // bytes written; `received` ones count against the cap
  void set_file_total(int64_t size);
  void end_file(int64_t size);  // the file is complete (downloaded or already cached)
  void set_all_total(int64_t total) { all_total_ = total; }

 private:
  void emit(bool force);
  const FetchOptions& options_;
  std::mutex mu_;
  std::string file_;
  std::atomic<int64_t> done_{0};
  int64_t file_total_ = -1, all_before_ = 0, all_total_ = -1;
  std::chrono::steady_clock::time_point last_{};
  std::chrono::steady_clock::time_point began_;
  int64_t transferred_ = 0;  // bytes received in this fetch, for the rate cap
};

// A response or check that a different mirror might not have (status, size, checksum).
struct SourceError : Error {
  using Error::Error;
};
// An answer that is not the file and that another try would not make one (a web page, sizes that
// disagree): the partial download is deleted, not kept for resuming.
struct RefusedAnswer : SourceError {
  using SourceError::SourceError;
};

// Downloads (resuming any earlier partial download of the same URL) and verifies; publishes the
// bytes as <cache>/blobs/<sha256> and returns their digest. Nothing unverified is published.
FileDigest download(const Target& t, const FetchOptions& o, const std::string& cache, Meter& meter);

// A local file, copied into the cache, verified and published the same way.
FileDigest import_local(const std::string& path, const Target& expect, const std::string& cache, Meter& meter);

// What a server's answer to the probe (a GET of bytes 0-0) says about the object: its size
// (Content-Range's total on a 206, else Content-Length; -1: unknown), validator (ETag, else
// Last-Modified) and whether it honours ranges. Pure: fuzzed on its own.
struct Probe {
  int64_t size = -1;
  std::string validator;
  bool ranges = false;
};
Probe probe_from(const HttpResponse& response);
// Retry-After in seconds, or -1 when it is not a non-negative number (an HTTP date, garbage).
double parse_retry_after(const std::string& value);

// <cache>/blobs/<sha256>; throws unless sha256 is 64 lower-case hex digits.
std::string blob_path(const std::string& cache, const std::string& sha256);
bool is_sha256_hex(const std::string& s);

}  // namespace dltrain::fetch_detail
