// S3-compatible object storage (AWS, IBM COS with HMAC keys, MinIO): credentials, addressing,
// signed requests, ListObjectsV2, and the calls of an upload (PutObject, the multipart calls,
// DeleteObject). Internal to fetch/.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dltrain/fetch.hpp"
#include "transfer.hpp"

namespace dltrain::fetch_detail {

struct S3Object {
  std::string key;
  int64_t size = -1;
  std::string etag;
};

// A part the server holds for a multipart upload (ListParts).
struct S3Part {
  int number = 0;
  int64_t size = -1;
  std::string etag;    // without quotes: the part's MD5 in hex
  std::string sha256;  // hex, sent as ChecksumSHA256 when S3Options::checksum_sha256
};
// An unfinished multipart upload (ListMultipartUploads).
struct S3Upload {
  std::string key, upload_id;
};

// Throws unless `endpoint` is empty, http://..., https://... or a bare host[:port].
void check_endpoint(const std::string& endpoint);

// One ListObjectsV2 page (encoding-type=url): its objects are appended to `out`. Returns true,
// with `token` set, when the listing continues. `what` starts the error messages. Pure: fuzzed on
// its own.
bool parse_listing(const std::string& page, const std::string& what, std::vector<S3Object>& out, std::string& token);
// The answers of the upload calls, pure and fuzzed like parse_listing. Each throws SourceError for
// an answer that is not the expected document.
std::string parse_upload_id(const std::string& answer, const std::string& what);  // CreateMultipartUpload
// One ListParts page: parts appended to `out`; true, with `marker` set, when the listing continues.
bool parse_parts(const std::string& page, const std::string& what, std::vector<S3Part>& out, std::string& marker);
// One ListMultipartUploads page; true, with both markers set, when it continues.
bool parse_uploads(const std::string& page, const std::string& what, std::vector<S3Upload>& out, std::string& key_marker,
                   std::string& id_marker);
// CompleteMultipartUpload may answer 200 with an <Error> document: Retryable for the codes S3
// documents as transient (InternalError, SlowDown, ServiceUnavailable), SourceError otherwise.
void check_completion(const std::string& answer, const std::string& what);

// The base64 form of a hex digest (Content-MD5 wants the MD5's bytes in base64).
std::string base64_of_hex(const std::string& hex);

class S3Client {
 public:
  S3Client(const S3Options& options, const FetchOptions& fetch);
  // Every object under `prefix` (ListObjectsV2 with encoding-type=url, following continuation
  // tokens while the listing is truncated).
  std::vector<S3Object> list(const std::string& bucket, const std::string& prefix) const;
  // A download target for one object; each request is signed when it is made.
  Target target(const std::string& bucket, const std::string& key) const;
  std::string describe() const;  // for messages: endpoint and credential source, never the secret

  // Uploads. Each request is signed with the SHA-256 of its body and sends Content-MD5 where S3
  // takes it; each is retried like a download (FetchOptions: retries, backoff, Retry-After), and
  // `sent` sees the bytes of a body as libcurl takes them (progress, rate cap). Errors are SourceErrors.
  using Sent = std::function<void(int64_t)>;
  struct Body {
    std::string_view data;
    std::string sha256, md5;  // hex digests of `data`
  };
  std::string put_object(const std::string& bucket, const std::string& key, const Body& body, const Sent& sent) const;  // ETag
  void delete_object(const std::string& bucket, const std::string& key) const;
  std::string create_upload(const std::string& bucket, const std::string& key) const;  // the upload id
  std::string upload_part(const std::string& bucket, const std::string& key, const std::string& upload_id, int number,
                          const Body& body, const Sent& sent) const;  // ETag
  // The parts the server holds, or nothing when it knows no such upload (aborted, completed, expired).
  std::optional<std::vector<S3Part>> list_parts(const std::string& bucket, const std::string& key,
                                                const std::string& upload_id) const;
  void complete_upload(const std::string& bucket, const std::string& key, const std::string& upload_id,
                       const std::vector<S3Part>& parts) const;
  void abort_upload(const std::string& bucket, const std::string& key, const std::string& upload_id) const;
  std::vector<S3Upload> list_uploads(const std::string& bucket, const std::string& prefix) const;

 private:
  struct Location {
    std::string url, host, path;  // path is decoded; the URL holds it encoded once
  };
  using Query = std::vector<std::pair<std::string, std::string>>;
  struct Call {
    Call(std::string m, std::string b, std::string k, std::string w)
        : method(std::move(m)), bucket(std::move(b)), key(std::move(k)), what(std::move(w)) {}
    std::string method, bucket, key;
    Query query;
    Body body;                                                // empty for GET/DELETE
    std::vector<std::pair<std::string, std::string>> headers;  // more headers (signed too)
    const Sent* sent = nullptr;
    std::string what;  // for messages
    Call& with_query(Query q) { return query = std::move(q), *this; }
    Call& with_body(const Body& b, const Sent* s) { return body = b, sent = s, *this; }
    Call& with_headers(std::vector<std::pair<std::string, std::string>> h) { return headers = std::move(h), *this; }
  };
  Location locate(const std::string& bucket, const std::string& key) const;
  std::vector<std::string> sign(const Location& where, const std::string& method, const Query& query,
                                const std::string& payload_sha256,
                                const std::vector<std::pair<std::string, std::string>>& extra = {}) const;
  // Makes the request with retries; returns the 2xx answer's body (up to 64 MiB) and its headers.
  // A 404 comes back as a response instead of an error when `allow_404`.
  std::string send(const Call& call, HttpResponse* response = nullptr, bool allow_404 = false) const;

  const FetchOptions& fetch_;
  std::string endpoint_, region_, access_key_, secret_key_, session_token_, credential_source_;
  bool anonymous_ = false, checksum_sha256_ = false;
};

}  // namespace dltrain::fetch_detail
