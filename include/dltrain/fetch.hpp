// fetch: URIs -> verified files in the dltrain cache. HTTP(S) through libcurl, S3 (and IBM COS,
// MinIO) signed with our own AWS Signature Version 4, Google Drive share links, local files, and
// a catalog of named datasets with checksums and mirrors. Downloads resume across runs, retry with
// backoff, run in parallel ranged parts, are verified before they are published, and never print
// credentials.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "dltrain/data.hpp"  // the catalog of named datasets

namespace dltrain {

// ---- AWS Signature Version 4 (pure functions; checked against AWS's test suite) ----------------
struct SigV4Request {
  std::string method;
  std::string path;  // decoded; encoded once when signed (S3 does not normalise or double-encode)
  std::vector<std::pair<std::string, std::string>> query;    // decoded names and values
  std::vector<std::pair<std::string, std::string>> headers;  // every header is signed
  std::string payload_sha256;                                // hex
};
struct SigV4Scope {
  std::string access_key, secret_key;
  std::string region, service;
  std::string amz_date;  // "20150830T123600Z"
};
std::string uri_encode(const std::string& s, bool keep_slash);
std::string uri_decode(const std::string& s);
std::string sigv4_canonical_request(const SigV4Request& r);
std::string sigv4_string_to_sign(const std::string& canonical_request, const SigV4Scope& s);
std::string sigv4_signature(const std::string& string_to_sign, const SigV4Scope& s);  // hex
std::string sigv4_authorization(const SigV4Request& r, const SigV4Scope& s);           // header value

// ---- sources ----------------------------------------------------------------------------------
enum class SourceKind { http, s3, gdrive, local, catalog };
struct Source {
  SourceKind kind;
  std::string uri;       // as given
  std::string url;       // http(s): the URL
  std::string bucket, key;  // s3 (key ends with '/' for a prefix)
  std::string drive_id;  // gdrive: a file's ID, or a folder's when drive_folder
  bool drive_folder = false;
  std::string path;      // local
  std::string sha256, md5;  // the expected digest a URL's fragment carries (lower case), or ""
};
// `url` as it may be shown or stored: the password of a userinfo part becomes "***" (a userinfo
// without a password, often a token, becomes "***" whole), and so does the value of every query or
// fragment parameter that carries a credential or a signature (X-Amz-Signature, X-Amz-Credential,
// X-Amz-Security-Token, Signature, sig, token, access_token, key, password, secret, ... compared
// without regard to case). Every URL that dltrain prints, logs, puts in an error message or stores
// (index.json, mirrors.json, download sidecars) goes through this; requests use the real URL.
std::string redact_url(const std::string& url);

// Classifies what the user typed. Throws on forms it cannot read (also on a digest fragment that
// split_digest_fragment finds unusable).
Source parse_source(const std::string& uri);

// An http(s) URL's expected digest in its fragment, as pip writes it (URL#sha256=HEX or
// URL#md5=HEX), and the URL without that fragment (it never reaches a server). Other fragments,
// and other URIs, are returned unchanged with no digest. `problem` says why a digest fragment
// cannot be used (not 64 resp. 32 hex digits), else it is "".
struct DigestFragment {
  std::string url, sha256, md5, problem;
};
DigestFragment split_digest_fragment(const std::string& uri);
// Why `hex` is not a digest of `digits` hex digits (either case), naming it `what`; "" if it is one.
std::string digest_problem(const std::string& hex, size_t digits, const std::string& what);
// The file ID in any common Google Drive link form, or "" when `url` is not a Drive link.
std::string drive_file_id(const std::string& url);
// The folder ID of a Drive folder link (https://drive.google.com/drive/folders/ID, also
// .../drive/u/N/folders/ID, with or without ?usp=...), or "".
std::string drive_folder_id(const std::string& url);

// ---- options and progress ---------------------------------------------------------------------
struct FetchProgress {
  std::string file;           // what is being fetched (no credentials)
  int64_t done = 0, total = -1;              // this file, bytes (-1: unknown)
  int64_t all_done = 0, all_total = -1;      // every file of this fetch
  bool finished = false;
};

struct S3Options {
  std::string endpoint;  // custom endpoint: http://host[:port] or https://... (path-style
                         // addressing), or a bare host[:port] (https); other schemes are refused
                         // (empty: AWS)
  std::string region;    // empty: from environment/profile, else us-east-1
  std::string profile;   // empty: $AWS_PROFILE or "default"
  bool no_sign = false;  // anonymous requests (public buckets)
  // push: also send S3's newer x-amz-checksum-sha256 on every upload (and ChecksumSHA256 per part
  // in CompleteMultipartUpload). Off by default: some S3-compatible stores reject these headers.
  bool checksum_sha256 = false;
};

// How much one archive may extract to: min(max_bytes, max(ratio_floor, max_ratio * its size)).
// A member's logical size counts (sparse holes included).
struct ExtractLimits {
  int64_t max_bytes = int64_t(16) << 30;   // 16 GiB
  double max_ratio = 100;                  // extracted bytes per archive byte
  int64_t ratio_floor = int64_t(64) << 20;  // small archives may always extract 64 MiB
  // The defaults, changed by DLTRAIN_MAX_EXTRACT (a size: 32Gi, 40G) and DLTRAIN_MAX_EXTRACT_RATIO.
  static ExtractLimits from_environment();
};
// "16Gi", "40G", "500M", "1024": bytes (k/M/G/T powers of 1000, Ki/Mi/Gi/Ti of 1024); `what`
// names the option or variable in the error.
int64_t parse_size(const std::string& s, const std::string& what);

struct FetchOptions {
  std::string cache;                 // empty: cache_dir()
  std::string output;                // also place the files here (hard link or copy); empty: no
  std::string name;                  // name under which a fetched URL/folder is kept
  std::vector<std::string> mirrors;  // catalog datasets: base URLs to use instead of the catalog's
  bool offline = false;              // use only what the cache has
  bool insecure = false;             // skip TLS verification (warned about on every use)
  bool extract = false;              // unpack .tar(.gz|.xz), .zip, .gz after download
  ExtractLimits extract_limits;      // for --extract (the CLI: flags, else the environment)
  int retries = 5;                   // per request, on connection errors, 429 and 5xx
  double backoff_seconds = 0.5;      // first retry's wait; doubles each time, plus jitter
  double max_retry_after = 30;       // a server's Retry-After is honoured up to this many seconds
  int64_t part_size = 8 << 20;       // ranged parts of large objects
  int concurrency = 4;               // parts in flight
  int64_t limit_rate = 0;            // bytes/s over all connections; 0: unlimited
  int stall_seconds = 30;            // a connection moving no bytes this long is retried
  // The expected digest of a single-file source (hex; or from the URL's #sha256= / #md5=
  // fragment). A file that differs is deleted, never published; a cached copy must match too.
  std::string sha256, md5;
  bool allow_html = false;  // keep an HTML answer for a file not named .html/.htm (else refused)
  S3Options s3;
  std::function<void(const FetchProgress&)> progress = [](const FetchProgress&) {};
  std::function<void(const std::string&)> warn = [](const std::string&) {};
};

struct FetchedFile {
  std::string name;   // relative name (dataset file, object key below the prefix, file name)
  std::string path;   // where it is now (in the cache, or under --output)
  std::string sha256;
  int64_t size = 0;
  bool from_cache = false;
};
struct FetchResult {
  std::string folder;  // the folder holding the named files
  std::vector<FetchedFile> files;
};

// Fetches `uri` (see parse_source) into the cache and returns what it holds.
FetchResult fetch(const std::string& uri, const FetchOptions& options);

// ---- push: files back to object storage --------------------------------------------------------
// `dltrain push FOLDER s3://bucket/prefix/`: every file under FOLDER goes to prefix + its relative
// name (a single file to the key, or to prefix + its name when the URI ends in '/'). Objects up to
// `part_size` go in one PUT, larger ones as multipart uploads (parts in parallel; the part size
// grows so that no object needs more than 10,000 parts). Every request is signed with its body's
// SHA-256 and sends Content-MD5. An interrupted push resumes: <cache>/push/<id>.json records each
// file's upload, and the next push asks the server which parts it holds (ListParts), checks their
// ETags against the local bytes, and sends only the rest. A push first deletes the prefix's old
// manifest.json and writes the new one last (files, sizes, SHA-256), so a reader that goes by the
// manifest (`fetch` of the prefix does) never takes a half-pushed folder for a whole one.
struct PushOptions {
  FetchOptions transfer;  // cache (resume records), S3 options, retries, concurrency, part_size,
                          // limit_rate, stall_seconds, insecure, progress and warn
  std::vector<std::string> skip;  // relative names not to push (e.g. a run folder's .lock)
};
struct PushedFile {
  std::string name, key, sha256;
  int64_t size = 0;
  int parts = 0;           // 0: one PUT
  int64_t sent = 0;        // bytes of this file sent by this push (less when resumed)
  bool already_there = false;  // an interrupted push had finished it
};
struct PushResult {
  std::string destination;  // s3://bucket/prefix/ (for a folder) or s3://bucket/key
  std::vector<PushedFile> files;
  int64_t sent = 0;         // bytes sent in all, manifest included
};
inline const char* push_manifest_name = "manifest.json";
PushResult push(const std::string& path, const std::string& destination, const PushOptions& options);
// Aborts the unfinished multipart uploads of pushes of `path` to `destination` (those its resume
// record names, and any other under the destination) and forgets the record. Returns how many.
int abort_push(const std::string& path, const std::string& destination, const PushOptions& options);

// What a pushed folder's manifest.json says: relative name -> size and SHA-256. Throws Error for a
// manifest that is not one (bad JSON, unsafe names, sizes that are not counts, bad digests; at most
// 1,000,000 files). Pure: fuzzed on its own.
struct ManifestEntry {
  int64_t size = 0;
  std::string sha256;
};
std::map<std::string, ManifestEntry> parse_push_manifest(const std::string& text, const std::string& what);

// ---- archives -----------------------------------------------------------------------------------
// Unpacks a .tar, .tar.gz, .tar.xz, .zip or .gz into `dest` with libarchive. Refuses absolute
// paths, "..", symbolic links that point outside `dest` (or through another link), hard links to
// anything but an earlier regular file of the archive, device files and FIFOs, and archives over
// `limits`: such an archive is rejected as a whole. Members are written into a fresh folder beside
// `dest` and moved into it only when all succeeded, so a refused archive leaves nothing in `dest`.
// Returns the extracted paths.
std::vector<std::string> extract_archive(const std::string& archive, const std::string& dest,
                                         const ExtractLimits& limits = {});

}  // namespace dltrain
