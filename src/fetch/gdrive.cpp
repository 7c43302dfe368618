// Google Drive: the uc?export=download flow, the large-file warning form, quota and permission pages.
#include "gdrive.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>

#include "dltrain/core.hpp"
#include "http.hpp"
#include "transfer.hpp"
#include "web_page.hpp"

namespace dltrain::fetch_detail {
namespace {

// Plain scanning, no std::regex: libstdc++'s regex recurses once per character matched, so a
// page or header of a few hundred KB overflowed the stack (found by fuzzing, issue 16).
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_word(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
size_t skip_spaces(const std::string& s, size_t i) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}
// Whether `s` at `i` reads `word` (ASCII case ignored).
bool at_word(const std::string& s, size_t i, std::string_view word) {
  if (i > s.size() || s.size() - i < word.size()) return false;
  for (size_t k = 0; k < word.size(); ++k)
    if (std::tolower(static_cast<unsigned char>(s[i + k])) != std::tolower(static_cast<unsigned char>(word[k]))) return false;
  return true;
}

// The value of name="..." (tried first) or name='...' in a tag, entities decoded; "" if absent.
std::string attribute(const std::string& tag, const std::string& name) {
  for (const char quote : {'"', '\''})
    for (size_t at = tag.find(name); at != std::string::npos; at = tag.find(name, at + 1)) {
      if (at > 0 && is_word(tag[at - 1])) continue;
      size_t i = skip_spaces(tag, at + name.size());
      if (i >= tag.size() || tag[i] != '=') continue;
      i = skip_spaces(tag, i + 1);
      if (i >= tag.size() || tag[i] != quote) continue;
      const size_t end = tag.find(quote, i + 1);
      if (end == std::string::npos) continue;
      return html_unescape(tag.substr(i + 1, end - i - 1));
    }
  return "";
}

struct Page {
  HttpResponse response;
  std::string body;  // the start of an HTML answer
};

Page get_page(const std::string& url, const FetchOptions& o, const std::string& cookie_jar) {
  HttpRequest req;
  req.url = url;
  req.insecure = o.insecure;
  req.stall_seconds = o.stall_seconds;
  req.cookie_jar = cookie_jar;
  Page p;
  try {
    p.response = http_request(req, [&](const char* d, size_t n, long) {
      if (!p.response.header("content-disposition").empty()) return false;  // it is the file: stop here
      p.body.append(d, n);
      return p.body.size() < (2u << 20);
    });
  } catch (const TransportError& e) {
    throw SourceError(std::string("Google Drive: ") + e.what());
  }
  return p;
}

void reject_html(const Page& p, const std::string& id) {
  const std::string& b = p.body;
  if (b.find("Too many users have viewed or downloaded this file recently") != std::string::npos ||
      b.find("download quota") != std::string::npos)
    throw SourceError("Google Drive refuses file " + id + " for now: its download quota is exceeded",
                      "try again in a day, or copy the file into your own Drive and share that copy");
  if (p.response.status == 401 || p.response.status == 403 || p.response.status == 404 ||
      b.find("ServiceLogin") != std::string::npos || b.find("You need access") != std::string::npos ||
      b.find("accounts.google.com") != std::string::npos)
    throw SourceError("Google Drive file " + id + " is not shared publicly (or does not exist)",
                      "in Drive, set General access to 'Anyone with the link'");
  throw SourceError("Google Drive answered with a web page, not file " + id + " (HTTP " +
                        std::to_string(p.response.status) + ")",
                    "the share link may be wrong; nothing was saved");
}

}  // namespace

// A file name from Content-Disposition, reduced to a safe base name: filename*=UTF-8''<encoded>
// first, then filename="...", then filename=<up to ';'>.
std::string disposition_name(const std::string& header) {
  // The value after the first `filename<spaces>` + suffix (e.g. "*=UTF-8''") that `read` accepts.
  auto find = [&](std::string_view suffix, auto read) -> std::optional<std::string> {
    for (size_t at = 0; at + 8 <= header.size(); ++at) {
      if (!at_word(header, at, "filename")) continue;
      size_t i = at + 8;
      if (suffix == "*") {
        if (i >= header.size() || header[i] != '*') continue;
        ++i;
      }
      i = skip_spaces(header, i);
      if (i >= header.size() || header[i] != '=') continue;
      if (auto v = read(skip_spaces(header, i + 1))) return v;
    }
    return std::nullopt;
  };
  auto up_to_semicolon = [&](size_t i) -> std::optional<std::string> {
    const size_t end = std::min(header.find(';', i), header.size());
    if (end == i) return std::nullopt;
    return header.substr(i, end - i);
  };
  std::optional<std::string> name = find("*", [&](size_t i) -> std::optional<std::string> {
    if (!at_word(header, i, "UTF-8''")) return std::nullopt;
    auto v = up_to_semicolon(i + 7);
    return v ? std::optional(uri_decode(*v)) : std::nullopt;
  });
  if (!name) name = find("", [&](size_t i) -> std::optional<std::string> {
    if (i >= header.size() || header[i] != '"') return std::nullopt;
    const size_t end = header.find('"', i + 1);
    if (end == std::string::npos) return std::nullopt;
    return header.substr(i + 1, end - i - 1);
  });
  if (!name) name = find("", up_to_semicolon);
  std::string base = name.value_or("");
  const size_t slash = base.find_last_of("/\\");
  if (slash != std::string::npos) base = base.substr(slash + 1);
  if (base.empty() || base == "." || base == "..") base = "download";
  return base;
}

// The session's cookies (a Netscape cookie file, as libcurl writes it) as one Cookie header.
std::string cookie_header(const std::string& jar) {
  std::ifstream f(jar);
  std::string header;
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("#HttpOnly_", 0) == 0) line = line.substr(10);
    else if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::stringstream ss(line);
    for (std::string field; std::getline(ss, field, '\t');) fields.push_back(field);
    if (fields.size() == 7) header += (header.empty() ? "" : "; ") + fields[5] + "=" + fields[6];
  }
  return header.empty() ? "" : "Cookie: " + header;
}

// The large-file warning page's form <form id="download-form" action="..."> with its hidden
// inputs, as the URL to fetch next (relative actions resolved against `base`); "" when the page
// has no such form or the form no action.
std::string download_form_url(const std::string& body, const std::string& base) {
  // The first <form ...> whose tag holds id="download-form" (or '...') and that is closed.
  for (size_t at = body.find("<form"); at != std::string::npos; at = body.find("<form", at + 1)) {
    const size_t tag_end = body.find('>', at);
    if (tag_end == std::string::npos) return "";
    const std::string form_tag = body.substr(at, tag_end - at + 1);
    bool is_download_form = false;
    for (size_t id = form_tag.find("id"); id != std::string::npos && !is_download_form; id = form_tag.find("id", id + 1)) {
      size_t i = skip_spaces(form_tag, id + 2);
      if (i >= form_tag.size() || form_tag[i] != '=') continue;
      i = skip_spaces(form_tag, i + 1);
      is_download_form = i < form_tag.size() && (form_tag[i] == '"' || form_tag[i] == '\'') &&
                         form_tag.compare(i + 1, 13, "download-form") == 0 && i + 14 < form_tag.size() &&
                         (form_tag[i + 14] == '"' || form_tag[i + 14] == '\'');
    }
    if (!is_download_form) continue;
    const size_t close = body.find("</form>", tag_end + 1);
    if (close == std::string::npos) return "";
    std::string url = attribute(form_tag, "action");
    if (url.empty()) return "";
    if (url.rfind("http", 0) != 0) url = base + (url.front() == '/' ? "" : "/") + url;
    std::string query;
    const std::string inner = body.substr(tag_end + 1, close - tag_end - 1);
    for (size_t in = inner.find("<input"); in != std::string::npos; in = inner.find("<input", in + 1)) {
      const size_t end = inner.find('>', in);
      if (end == std::string::npos) break;
      const std::string tag = inner.substr(in, end - in + 1);
      if (attribute(tag, "type") != "hidden" || attribute(tag, "name").empty()) continue;
      query += (query.empty() ? "" : "&") + uri_encode(attribute(tag, "name"), false) + "=" +
               uri_encode(attribute(tag, "value"), false);
    }
    return url + (url.find('?') == std::string::npos ? "?" : "&") + query;
  }
  return "";
}

DriveFile resolve_drive(const std::string& id, const FetchOptions& o, const std::string& cookie_jar) {
  const char* base_env = std::getenv("DLTRAIN_GDRIVE_URL");
  const std::string base = base_env && *base_env ? base_env : "https://drive.google.com";
  const Page first = get_page(base + "/uc?id=" + uri_encode(id, false) + "&export=download", o, cookie_jar);
  if (!first.response.header("content-disposition").empty())
    return {first.response.effective_url, disposition_name(first.response.header("content-disposition")),
            cookie_header(cookie_jar)};
  std::string url = download_form_url(first.body, base);
  if (url.empty()) reject_html(first, id);
  const Page second = get_page(url, o, cookie_jar);
  if (second.response.header("content-disposition").empty()) reject_html(second, id);
  return {second.response.effective_url, disposition_name(second.response.header("content-disposition")),
          cookie_header(cookie_jar)};
}

}  // namespace dltrain::fetch_detail
