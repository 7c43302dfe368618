// Google Drive folders: the listing in a shared folder's public page (window['_DRIVE_ivd'], a
// JavaScript string holding JSON), the embedded folder view for folders larger than that page
// shows, and the walk through sub-folders. Files are then fetched one by one (gdrive.cpp).
#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>
#include <set>
#include <nlohmann/json.hpp>

#include "gdrive.hpp"
#include "http.hpp"
#include "retry.hpp"
#include "web_page.hpp"

namespace dltrain::fetch_detail {
namespace {

constexpr const char* folder_mime = "application/vnd.google-apps.folder";
constexpr int max_depth = 20;
constexpr size_t max_files = 100000;
constexpr size_t max_page = size_t(16) << 20;

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6)), out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xE0 | (cp >> 12)), out += char(0x80 | ((cp >> 6) & 0x3F)), out += char(0x80 | (cp & 0x3F));
  }
}

// The JavaScript string literal that starts at s[i] (a quote), its escapes undone: \xNN gives the
// byte NN (Drive escapes each byte of a UTF-8 name so), \uNNNN the character, \n \t \r \b \f and
// any other escaped character itself. Throws when the literal does not end.
std::string js_string(const std::string& s, size_t i, const std::string& what) {
  const char quote = s[i];
  std::string out;
  auto hex = [&](size_t at, size_t digits) -> std::optional<uint32_t> {
    if (at + digits > s.size()) return std::nullopt;
    uint32_t v = 0;
    for (size_t k = 0; k < digits; ++k) {
      const char c = s[at + k];
      if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
      v = v * 16 + uint32_t(std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10));
    }
    return v;
  };
  for (++i; i < s.size(); ++i) {
    const char c = s[i];
    if (c == quote) return out;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= s.size()) break;
    const char e = s[i];
    if (e == 'x' && hex(i + 1, 2)) out += char(*hex(i + 1, 2)), i += 2;
    else if (e == 'u' && hex(i + 1, 4)) append_utf8(out, *hex(i + 1, 4)), i += 4;
    else out += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'b' ? '\b' : e == 'f' ? '\f' : e;
  }
  throw SourceError(what + ": the folder's listing is cut short");
}

// Drive IDs are letters, digits, '-' and '_'.
std::string checked_id(const std::string& id) {
  const bool ok = !id.empty() && id.size() <= 256 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_';
  });
  if (!ok) throw SourceError("Google Drive: the folder's listing holds an entry whose ID is not a Drive ID");
  return id;
}

std::string base_url() {
  const char* base_env = std::getenv("DLTRAIN_GDRIVE_URL");
  return base_env && *base_env ? base_env : "https://drive.google.com";
}

std::string get_listing(const std::string& url, const FetchOptions& o, const std::string& what) {
  return with_retries(o, what, [&] {
    HttpRequest req;
    req.url = url;
    req.insecure = o.insecure;
    req.stall_seconds = o.stall_seconds;
    std::string body;
    const HttpResponse r = http_request(req, [&](const char* d, size_t n, long) {
      body.append(d, std::min(n, max_page - body.size()));
      return body.size() < max_page;
    });
    if (r.status == 401 || r.status == 403 || r.status == 404)
      throw SourceError(what + " is not shared publicly (or does not exist): HTTP " + std::to_string(r.status),
                        "in Drive, set the folder's General access to 'Anyone with the link'");
    check_status(r, what);
    return body;
  });
}

void walk(const std::string& id, const std::string& prefix, int depth, const FetchOptions& o,
          std::vector<DriveListedFile>& out, std::string* root_name) {
  const std::string what = "Google Drive folder " + id;
  if (depth > max_depth) throw SourceError(what + ": sub-folders nest more than 20 deep");
  std::string name;
  std::vector<DriveEntry> entries =
      folder_page_entries(get_listing(base_url() + "/drive/folders/" + uri_encode(id, false) + "?hl=en", o, what), name);
  if (entries.size() >= drive_page_entries) {  // the page may have cut the list: ask the embedded view
    std::vector<DriveEntry> all =
        embedded_view_entries(get_listing(base_url() + "/embeddedfolderview?id=" + uri_encode(id, false), o, what));
    if (all.size() > entries.size()) entries = std::move(all);
  }
  if (root_name) *root_name = name;
  std::set<std::string> seen;
  for (const DriveEntry& e : entries) {
    const std::string path = prefix + drive_path_part(e.name);
    if (!seen.insert(path).second)
      throw SourceError(what + " holds two entries named '" + e.name + "'",
                        "Drive allows that, a file system does not: rename one of them in Drive");
    if (e.folder) {
      walk(e.id, path + "/", depth + 1, o, out, nullptr);
    } else {
      out.push_back({e.id, path});
      if (out.size() > max_files) throw SourceError(what + ": more than 100,000 files");
    }
  }
}

}  // namespace

std::vector<DriveEntry> folder_page_entries(const std::string& page, std::string& folder_name) {
  const std::string title = page_title(page.substr(0, 65536));
  for (const char* suffix : {" - Google Drive", " \xE2\x80\x93 Google Drive"})  // hyphen or en dash
    if (title.size() > std::strlen(suffix) && title.ends_with(suffix)) folder_name = title.substr(0, title.size() - std::strlen(suffix));
  const size_t key = page.find("_DRIVE_ivd");
  const size_t open = key == std::string::npos ? key : page.find_first_of("'\"", page.find('=', key));
  if (key == std::string::npos || open == std::string::npos || page.find('=', key) == std::string::npos)
    throw SourceError("the page lists no folder (it is not shared, or not a Drive folder page)",
                      "in Drive, set the folder's General access to 'Anyone with the link'");
  nlohmann::json data;
  try {
    data = nlohmann::json::parse(js_string(page, open, "Google Drive"));
  } catch (const nlohmann::json::exception& e) {
    throw SourceError(std::string("Google Drive: the folder's listing is not JSON (") + e.what() + ")");
  }
  std::vector<DriveEntry> out;
  if (!data.is_array() || data.empty() || data[0].is_null()) return out;
  if (!data[0].is_array()) throw SourceError("Google Drive: the folder's listing is not a list of entries");
  for (const nlohmann::json& e : data[0]) {
    if (!e.is_array() || e.size() < 4 || !e[0].is_string() || !e[2].is_string() || !e[3].is_string())
      throw SourceError("Google Drive: an entry of the folder's listing lacks its ID, name or type");
    out.push_back({checked_id(e[0].get<std::string>()), e[2].get<std::string>(), e[3].get<std::string>() == folder_mime});
  }
  return out;
}

std::vector<DriveEntry> embedded_view_entries(const std::string& page) {
  std::vector<DriveEntry> out;
  const std::string entry = "id=\"entry-", title = "flip-entry-title\">";
  for (size_t at = page.find(entry); at != std::string::npos;) {
    const size_t id_begin = at + entry.size(), id_end = page.find('"', id_begin);
    if (id_end == std::string::npos) break;
    const size_t next = page.find(entry, id_end);
    const std::string block = page.substr(id_end, (next == std::string::npos ? page.size() : next) - id_end);
    const size_t t = block.find(title);
    const size_t t_end = t == std::string::npos ? t : block.find('<', t + title.size());
    if (t_end != std::string::npos) {
      const size_t href = block.find("href=\"");
      const bool folder = href != std::string::npos && href < t && block.find("/drive/folders/", href) < block.find('"', href + 6);
      out.push_back({checked_id(page.substr(id_begin, id_end - id_begin)), html_unescape(block.substr(t + title.size(), t_end - t - title.size())),
                     folder});
    }
    at = next;
  }
  return out;
}

std::string drive_path_part(const std::string& name) {
  std::string s = name;
  for (char& c : s)
    if (c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '_';
  if (s.empty() || s == "." || s == "..") throw SourceError("Google Drive: refusing the entry name '" + name + "'");
  return s;
}

std::vector<DriveListedFile> list_drive_folder(const std::string& id, const FetchOptions& o, std::string& folder_name) {
  std::vector<DriveListedFile> out;
  walk(id, "", 0, o, out, &folder_name);
  return out;
}

}  // namespace dltrain::fetch_detail
