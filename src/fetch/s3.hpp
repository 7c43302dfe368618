// S3-compatible object storage (AWS, IBM COS with HMAC keys, MinIO): credentials, addressing,
// signed GETs and ListObjectsV2. Internal to fetch/.
#pragma once

#include <string>
#include <vector>

#include "dltrain/fetch.hpp"
#include "transfer.hpp"

namespace dltrain::fetch_detail {

struct S3Object {
  std::string key;
  int64_t size = -1;
  std::string etag;
};

// Throws unless `endpoint` is empty, http://..., https://... or a bare host[:port].
void check_endpoint(const std::string& endpoint);

// One ListObjectsV2 page (encoding-type=url): its objects are appended to `out`. Returns true,
// with `token` set, when the listing continues. `what` starts the error messages. Pure: fuzzed on
// its own.
bool parse_listing(const std::string& page, const std::string& what, std::vector<S3Object>& out, std::string& token);

class S3Client {
 public:
  S3Client(const S3Options& options, const FetchOptions& fetch);
  // Every object under `prefix` (ListObjectsV2 with encoding-type=url, following continuation
  // tokens while the listing is truncated).
  std::vector<S3Object> list(const std::string& bucket, const std::string& prefix) const;
  // A download target for one object; each request is signed when it is made.
  Target target(const std::string& bucket, const std::string& key) const;
  std::string describe() const;  // for messages: endpoint and credential source, never the secret

 private:
  struct Location {
    std::string url, host, path;  // path is decoded; the URL holds it encoded once
  };
  Location locate(const std::string& bucket, const std::string& key) const;
  std::vector<std::string> sign(const Location& where, const std::vector<std::pair<std::string, std::string>>& query) const;

  const FetchOptions& fetch_;
  std::string endpoint_, region_, access_key_, secret_key_, session_token_, credential_source_;
  bool anonymous_ = false;
};

}  // namespace dltrain::fetch_detail
