// The download engine: one remote file -> a verified blob in the cache. Internal to fetch/.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "dltrain/fetch.hpp"
#include "dltrain/io.hpp"
#include "http.hpp"
#include "meter.hpp"
#include "retry.hpp"

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
// <cache>/blobs/<sha256>; throws unless sha256 is 64 lower-case hex digits.
std::string blob_path(const std::string& cache, const std::string& sha256);
bool is_sha256_hex(const std::string& s);
// A relative name that stays inside its folder: not empty, not absolute, no "." or ".." part.
bool is_safe_relative(const std::string& name);

}  // namespace dltrain::fetch_detail
