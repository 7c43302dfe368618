// What the user typed -> a Source: s3://, gdrive://ID and Google Drive share links, http(s)://,
// file:// and paths, or a catalog name; and URLs with their credentials redacted for display.
#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>

#include "dltrain/core.hpp"
#include "dltrain/fetch.hpp"

namespace dltrain {
namespace {

// Whether a query parameter's name says its value is a credential or a signature.
bool secret_parameter(std::string name) {
  name = uri_decode(name);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  // "at" and "confirm": Google Drive's download-confirmation tokens
  static const std::array<const char*, 9> exact = {"sig", "key", "auth", "pwd", "pass", "code", "jwt", "at", "confirm"};
  static const std::array<const char*, 9> parts = {"token",  "secret",  "signature", "password",   "passwd",
                                                   "credential", "apikey", "api_key", "access_key"};
  for (const char* e : exact)
    if (name == e) return true;
  for (const char* p : parts)
    if (name.find(p) != std::string::npos) return true;
  return name.ends_with("key") || name.ends_with("_sig") || name.ends_with("-sig");
}

// "a=1&token=x" -> "a=1&token=***" (also for ';'-separated lists).
std::string redact_parameters(const std::string& params) {
  std::string out;
  size_t start = 0;
  while (start <= params.size()) {
    size_t end = params.find_first_of("&;", start);
    if (end == std::string::npos) end = params.size();
    const std::string item = params.substr(start, end - start);
    const size_t eq = item.find('=');
    out += eq != std::string::npos && secret_parameter(item.substr(0, eq)) ? item.substr(0, eq + 1) + "***" : item;
    if (end < params.size()) out += params[end];
    start = end + 1;
  }
  return out;
}

}  // namespace

std::string redact_url(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t host = scheme == std::string::npos ? 0 : scheme + 3;
  // Userinfo ends at the last '@' before the path: a password may hold an unencoded '?' or '#'.
  size_t at = std::string::npos;
  if (scheme != std::string::npos) {
    const size_t slash = std::min(url.find('/', host), url.size());
    const size_t a = slash > host ? url.rfind('@', slash - 1) : std::string::npos;
    if (a != std::string::npos && a >= host) at = a;
  }
  const size_t path = std::min(url.find_first_of("/?#", at == std::string::npos ? host : at + 1), url.size());
  std::string out = url.substr(0, host);
  if (at != std::string::npos) {
    const size_t colon = url.find(':', host);
    out += (colon < at ? url.substr(host, colon + 1 - host) : std::string()) + "***" + url.substr(at, path - at);
  } else {
    out += url.substr(host, path - host);
  }
  const size_t query = std::min(url.find('?', path), url.size()), fragment = std::min(url.find('#', path), url.size());
  out += url.substr(path, std::min(query, fragment) - path);
  if (query < fragment) out += "?" + redact_parameters(url.substr(query + 1, fragment - query - 1));
  if (fragment < url.size()) out += "#" + redact_parameters(url.substr(fragment + 1));
  return out;
}

// Plain scanning, no std::regex: libstdc++'s regex recurses once per character matched, and a
// Drive link with a 50,000-character ID overflowed the stack (issue 16).
std::string drive_folder_id(const std::string& url) {
  bool drive = false;
  for (const char* scheme : {"https://", "http://"}) drive = drive || url.rfind(std::string(scheme) + "drive.google.com/", 0) == 0;
  const size_t at = url.find("/folders/");
  if (!drive || at == std::string::npos) return "";
  size_t end = at + 9;
  while (end < url.size() && (std::isalnum(static_cast<unsigned char>(url[end])) || url[end] == '_' || url[end] == '-')) ++end;
  return url.substr(at + 9, end - at - 9);
}

std::string drive_file_id(const std::string& url) {
  if (url.rfind("gdrive://", 0) == 0) return url.substr(9);
  bool drive = false;
  for (const char* scheme : {"https://", "http://"})
    for (const char* host : {"drive.google.com/", "docs.google.com/", "drive.usercontent.google.com/"})
      drive = drive || url.rfind(std::string(scheme) + host, 0) == 0;
  if (!drive) return "";
  // The first run of ID characters after "/file/d/", else after the first "?id=" or "&id=".
  auto id_at = [&](size_t i) {
    size_t end = i;
    while (end < url.size() && (std::isalnum(static_cast<unsigned char>(url[end])) || url[end] == '_' || url[end] == '-')) ++end;
    return url.substr(i, end - i);
  };
  for (size_t at = url.find("/file/d/"); at != std::string::npos; at = url.find("/file/d/", at + 1))
    if (std::string id = id_at(at + 8); !id.empty()) return id;
  for (size_t at = url.find("id="); at != std::string::npos; at = url.find("id=", at + 1))
    if (at > 0 && (url[at - 1] == '?' || url[at - 1] == '&'))
      if (std::string id = id_at(at + 3); !id.empty()) return id;
  return "";
}

std::string digest_problem(const std::string& hex, size_t digits, const std::string& what) {
  const bool hex_only = std::all_of(hex.begin(), hex.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
  if (hex.size() == digits && hex_only) return "";
  return what + " '" + (hex.size() > 80 ? hex.substr(0, 80) + "..." : hex) + "' is not " + std::to_string(digits) +
         " hex digits (it has " + std::to_string(hex.size()) + (hex_only ? "" : ", not all of them hex") + ")";
}

DigestFragment split_digest_fragment(const std::string& uri) {
  DigestFragment f{uri, "", "", ""};
  const size_t hash = uri.find('#');
  if ((uri.rfind("http://", 0) != 0 && uri.rfind("https://", 0) != 0) || hash == std::string::npos) return f;
  const std::string fragment = uri.substr(hash + 1);
  for (const auto& [name, digits] : {std::pair<const char*, size_t>{"sha256=", 64}, {"md5=", 32}}) {
    if (fragment.rfind(name, 0) != 0) continue;
    std::string hex = fragment.substr(std::string(name).size());
    std::transform(hex.begin(), hex.end(), hex.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    f.url = uri.substr(0, hash);
    f.problem = digest_problem(hex, digits, "#" + fragment.substr(0, std::string(name).size() - 1));
    (digits == 64 ? f.sha256 : f.md5) = f.problem.empty() ? hex : "";
  }
  return f;
}

Source parse_source(const std::string& uri) {
  Source s{SourceKind::catalog, uri, {}, {}, {}, {}, false, {}, {}, {}};
  if (const DigestFragment f = split_digest_fragment(uri); f.url != uri) {
    if (!f.problem.empty())
      throw Error("'" + redact_url(uri) + "': " + f.problem,
                  "write URL#sha256=<64 hex digits> or URL#md5=<32 hex digits>");
    s = parse_source(f.url);
    s.uri = uri;
    s.sha256 = f.sha256;
    s.md5 = f.md5;
    return s;
  }
  if (uri.rfind("s3://", 0) == 0) {
    s.kind = SourceKind::s3;
    const std::string rest = uri.substr(5);
    const size_t slash = rest.find('/');
    s.bucket = rest.substr(0, slash);
    s.key = slash == std::string::npos ? "" : rest.substr(slash + 1);
    DLT_CHECK(!s.bucket.empty(), "'" + redact_url(uri) + "' names no bucket", "write s3://bucket/key or s3://bucket/prefix/");
    return s;
  }
  if (const std::string id = drive_folder_id(uri); !id.empty()) {
    s.kind = SourceKind::gdrive;
    s.drive_id = id;
    s.drive_folder = true;
    return s;
  }
  if (const std::string id = drive_file_id(uri); !id.empty()) {
    s.kind = SourceKind::gdrive;
    s.drive_id = id;
    return s;
  }
  if (uri.rfind("https://drive.google.com/", 0) == 0 || uri.rfind("gdrive://", 0) == 0)
    throw Error("'" + redact_url(uri) + "' is a Google Drive link without a file ID",
                "share links look like https://drive.google.com/file/d/ID/view or "
                "https://drive.google.com/drive/folders/ID");
  if (uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0) {
    s.kind = SourceKind::http;
    s.url = uri;
    return s;
  }
  std::error_code ec;  // a name the file system refuses (too long) is no local file: no exception
  if (uri.rfind("file://", 0) == 0 || uri.find('/') != std::string::npos || std::filesystem::exists(uri, ec)) {
    s.kind = SourceKind::local;
    s.path = uri.rfind("file://", 0) == 0 ? uri.substr(7) : uri;
    return s;
  }
  for (const CatalogEntry& e : catalog())
    if (e.name == uri) return s;
  throw Error("'" + redact_url(uri) + "' is not a URL, a path or a known dataset",
              "known datasets: " + catalog_names() + "; or give https://..., s3://bucket/key, a Google Drive link or a path");
}

}  // namespace dltrain
