// What the user typed -> a Source: s3://, gdrive://ID and Google Drive share links, http(s)://,
// file:// and paths, or a catalog name.
#include <filesystem>
#include <regex>

#include "dltrain/core.hpp"
#include "dltrain/fetch.hpp"

namespace dltrain {

std::string drive_file_id(const std::string& url) {
  if (url.rfind("gdrive://", 0) == 0) return url.substr(9);
  static const std::regex host(R"(^https?://(drive|docs)\.google\.com/|^https?://drive\.usercontent\.google\.com/)");
  if (!std::regex_search(url, host)) return "";
  std::smatch m;
  static const std::regex path_id(R"(/file/d/([A-Za-z0-9_-]+))"), query_id(R"([?&]id=([A-Za-z0-9_-]+))");
  if (std::regex_search(url, m, path_id) || std::regex_search(url, m, query_id)) return m[1];
  return "";
}

Source parse_source(const std::string& uri) {
  Source s{SourceKind::catalog, uri, {}, {}, {}, {}, {}};
  if (uri.rfind("s3://", 0) == 0) {
    s.kind = SourceKind::s3;
    const std::string rest = uri.substr(5);
    const size_t slash = rest.find('/');
    s.bucket = rest.substr(0, slash);
    s.key = slash == std::string::npos ? "" : rest.substr(slash + 1);
    DLT_CHECK(!s.bucket.empty(), "'" + uri + "' names no bucket", "write s3://bucket/key or s3://bucket/prefix/");
    return s;
  }
  if (const std::string id = drive_file_id(uri); !id.empty()) {
    s.kind = SourceKind::gdrive;
    s.drive_id = id;
    return s;
  }
  if (uri.rfind("https://drive.google.com/", 0) == 0 || uri.rfind("gdrive://", 0) == 0)
    throw Error("'" + uri + "' is a Google Drive link without a file ID",
                "share links look like https://drive.google.com/file/d/ID/view; folders are not supported yet");
  if (uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0) {
    s.kind = SourceKind::http;
    s.url = uri;
    return s;
  }
  if (uri.rfind("file://", 0) == 0 || uri.find('/') != std::string::npos || std::filesystem::exists(uri)) {
    s.kind = SourceKind::local;
    s.path = uri.rfind("file://", 0) == 0 ? uri.substr(7) : uri;
    return s;
  }
  for (const FetchCatalogEntry& e : fetch_catalog())
    if (e.name == uri) return s;
  std::string names;
  for (const FetchCatalogEntry& e : fetch_catalog()) names += (names.empty() ? "" : ", ") + e.name;
  throw Error("'" + uri + "' is not a URL, a path or a known dataset",
              "known datasets: " + names + "; or give https://..., s3://bucket/key, a Google Drive link or a path");
}

}  // namespace dltrain
