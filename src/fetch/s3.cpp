// S3 client: credentials from the environment, then ~/.aws/credentials and ~/.aws/config
// profiles, or anonymous; virtual-host addressing on AWS, path style for custom endpoints and
// for bucket names with dots; every request signed with SigV4 (host, x-amz-content-sha256,
// x-amz-date and, with temporary credentials, x-amz-security-token).
#include "s3.hpp"

#include <ctime>
#include <fstream>
#include <pugixml.hpp>

#include "dltrain/io.hpp"
#include "http.hpp"
#include "retry.hpp"

namespace dltrain::fetch_detail {
namespace {

const std::string empty_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// The key=value pairs of one section of an INI-style AWS file ("" when absent).
std::map<std::string, std::string> ini_section(const std::string& path, const std::string& section) {
  std::map<std::string, std::string> out;
  std::ifstream f(path);
  std::string line;
  bool in = false;
  auto trim = [](std::string s) {
    s.erase(0, s.find_first_not_of(" \t\r"));
    s.erase(s.find_last_not_of(" \t\r") + 1);
    return s;
  };
  while (std::getline(f, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      in = trim(line.substr(1, line.find(']') - 1)) == section;
      continue;
    }
    const size_t eq = line.find('=');
    if (in && eq != std::string::npos) out[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return out;
}

std::string amz_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace

void check_endpoint(const std::string& endpoint) {
  // Only HTTP(S): libcurl would otherwise also speak file://, gopher://, ftp:// and more.
  const size_t scheme = endpoint.find("://");
  const bool web = endpoint.rfind("http://", 0) == 0 || endpoint.rfind("https://", 0) == 0;
  if (!endpoint.empty() && (scheme != std::string::npos ? !web : endpoint.find_first_of("/?#@") != std::string::npos))
    throw Error("--endpoint '" + redact_url(endpoint) + "': only http:// and https:// endpoints are supported",
                "write e.g. https://s3.us-south.cloud-object-storage.appdomain.cloud or http://127.0.0.1:9000");
}

S3Client::S3Client(const S3Options& o, const FetchOptions& fetch)
    : fetch_(fetch), endpoint_(o.endpoint), checksum_sha256_(o.checksum_sha256) {
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
  check_endpoint(endpoint_);
  const std::string home = env("HOME");
  const std::string profile = !o.profile.empty() ? o.profile : !env("AWS_PROFILE").empty() ? env("AWS_PROFILE") : "default";
  const std::string cred_file = !env("AWS_SHARED_CREDENTIALS_FILE").empty() ? env("AWS_SHARED_CREDENTIALS_FILE")
                                                                            : home + "/.aws/credentials";
  const std::string config_file = !env("AWS_CONFIG_FILE").empty() ? env("AWS_CONFIG_FILE") : home + "/.aws/config";
  auto config = ini_section(config_file, profile == "default" ? "default" : "profile " + profile);
  region_ = !o.region.empty() ? o.region : !env("AWS_REGION").empty() ? env("AWS_REGION")
          : !env("AWS_DEFAULT_REGION").empty() ? env("AWS_DEFAULT_REGION")
          : !config["region"].empty() ? config["region"] : "us-east-1";
  if (o.no_sign) {
    anonymous_ = true;
    credential_source_ = "anonymous (--no-sign)";
    return;
  }
  if (!env("AWS_ACCESS_KEY_ID").empty() && o.profile.empty()) {
    access_key_ = env("AWS_ACCESS_KEY_ID");
    secret_key_ = env("AWS_SECRET_ACCESS_KEY");
    session_token_ = env("AWS_SESSION_TOKEN");
    credential_source_ = "environment (AWS_ACCESS_KEY_ID)";
  } else {
    auto creds = ini_section(cred_file, profile);
    for (const auto& [k, v] : config)  // keys may also sit in the config file's profile
      if (!creds.contains(k)) creds[k] = v;
    access_key_ = creds["aws_access_key_id"];
    secret_key_ = creds["aws_secret_access_key"];
    session_token_ = creds["aws_session_token"];
    credential_source_ = "profile '" + profile + "'";
  }
  if (access_key_.empty() || secret_key_.empty())
    throw Error("no S3 credentials: none in the environment and no profile '" + profile + "' in " + cred_file,
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pass --profile NAME, or --no-sign for a public bucket");
}

std::string S3Client::describe() const {
  return (endpoint_.empty() ? "AWS S3, region " + region_ : redact_url(endpoint_)) + "; credentials: " + credential_source_;
}

S3Client::Location S3Client::locate(const std::string& bucket, const std::string& key) const {
  Location l;
  std::string scheme = "https://", authority;
  if (!endpoint_.empty()) {  // custom endpoints: path style
    const size_t s = endpoint_.find("://");
    scheme = s == std::string::npos ? "https://" : endpoint_.substr(0, s + 3);
    authority = s == std::string::npos ? endpoint_ : endpoint_.substr(s + 3);
    l.path = "/" + bucket + "/" + key;
  } else if (bucket.find('.') != std::string::npos) {  // dots break the TLS wildcard: path style
    authority = "s3." + region_ + ".amazonaws.com";
    l.path = "/" + bucket + "/" + key;
  } else {
    authority = bucket + ".s3." + region_ + ".amazonaws.com";
    l.path = "/" + key;
  }
  l.host = authority;
  l.url = scheme + authority + uri_encode(l.path, true);
  return l;
}

std::vector<std::string> S3Client::sign(const Location& where, const std::string& method, const Query& query,
                                        const std::string& payload_sha256,
                                        const std::vector<std::pair<std::string, std::string>>& extra) const {
  std::vector<std::string> h;
  for (const auto& [name, value] : extra) h.push_back(name + ": " + value);
  if (anonymous_) return h;
  const std::string date = amz_now();
  SigV4Request r{method, where.path, query, {{"host", where.host}, {"x-amz-content-sha256", payload_sha256},
                                             {"x-amz-date", date}}, payload_sha256};
  for (const auto& [name, value] : extra) r.headers.emplace_back(name, value);
  if (!session_token_.empty()) r.headers.emplace_back("x-amz-security-token", session_token_);
  const SigV4Scope scope{access_key_, secret_key_, region_, "s3", date};
  h.insert(h.end(), {"Host: " + where.host, "x-amz-content-sha256: " + payload_sha256, "x-amz-date: " + date,
                     "Authorization: " + sigv4_authorization(r, scope)});
  if (!session_token_.empty()) h.push_back("x-amz-security-token: " + session_token_);
  return h;
}

Target S3Client::target(const std::string& bucket, const std::string& key) const {
  const Location where = locate(bucket, key);
  Target t;
  t.url = where.url;
  t.label = "s3://" + bucket + "/" + key;
  t.headers = [this, where](int64_t, int64_t) { return sign(where, "GET", {}, empty_sha256); };
  return t;
}

std::string S3Client::send(const Call& c, HttpResponse* response, bool allow_404) const {
  const Location where = locate(c.bucket, c.key);
  std::string q;
  for (const auto& [k, v] : c.query)  // a sub-resource such as ?uploads goes without '=' (it is signed as "uploads=")
    q += (q.empty() ? "?" : "&") + uri_encode(k, false) + (v.empty() && k == "uploads" ? "" : "=" + uri_encode(v, false));
  const std::string payload = c.body.sha256.empty() ? empty_sha256 : c.body.sha256;
  auto headers = c.headers;
  if (!c.body.md5.empty()) headers.emplace_back("content-md5", base64_of_hex(c.body.md5));
  if (checksum_sha256_ && c.method == "PUT" && !c.body.sha256.empty())
    headers.emplace_back("x-amz-checksum-sha256", base64_of_hex(c.body.sha256));
  return with_retries(fetch_, c.what, [&] {
    HttpRequest req;
    req.method = c.method;
    req.url = where.url + q;
    req.headers = sign(where, c.method, c.query, payload, headers);  // signed anew: x-amz-date moves on
    req.body = c.body.data;
    if (c.sent) req.sent = *c.sent;
    req.insecure = fetch_.insecure;
    req.stall_seconds = fetch_.stall_seconds;
    std::string body;
    HttpResponse r = http_request(req, [&](const char* d, size_t n, long) {
      body.append(d, n);
      return body.size() < (64u << 20);
    });
    if (!(allow_404 && r.status == 404)) check_status(r, c.what, describe());
    if (response) *response = std::move(r);
    return body;
  });
}

std::vector<S3Object> S3Client::list(const std::string& bucket, const std::string& prefix) const {
  std::vector<S3Object> out;
  std::string token;
  const std::string what = "listing s3://" + bucket + "/" + prefix;
  for (;;) {
    Call c = Call("GET", bucket, "", what).with_query({{"list-type", "2"}, {"prefix", prefix}, {"encoding-type", "url"}});
    if (!token.empty()) c.query.emplace_back("continuation-token", token);
    if (!parse_listing(send(c), what, out, token)) break;
  }
  return out;
}

bool parse_listing(const std::string& body, const std::string& what, std::vector<S3Object>& out, std::string& token) {
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) throw SourceError(what + ": the server's answer is not XML");
  const pugi::xml_node result = doc.child("ListBucketResult");
  for (pugi::xml_node c : result.children("Contents"))
    out.push_back({uri_decode(c.child_value("Key")), std::strtoll(c.child_value("Size"), nullptr, 10), c.child_value("ETag")});
  if (std::string(result.child_value("IsTruncated")) != "true") return false;
  token = result.child_value("NextContinuationToken");
  if (token.empty()) throw SourceError(what + ": truncated listing without a continuation token");
  return true;
}

}  // namespace dltrain::fetch_detail
