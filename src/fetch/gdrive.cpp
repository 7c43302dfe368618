// Google Drive: the uc?export=download flow, the large-file warning form, quota and permission pages.
#include "gdrive.hpp"

#include <fstream>
#include <regex>
#include <sstream>

#include "dltrain/core.hpp"
#include "http.hpp"
#include "transfer.hpp"

namespace dltrain::fetch_detail {
namespace {

std::string html_unescape(std::string s) {
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"&amp;", "&"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&lt;", "<"}, {"&gt;", ">"}})
    for (size_t p; (p = s.find(from)) != std::string::npos;) s.replace(p, from.size(), to);
  return s;
}

std::string attribute(const std::string& tag, const std::string& name) {
  std::smatch m;
  if (std::regex_search(tag, m, std::regex("\\b" + name + "\\s*=\\s*\"([^\"]*)\""))) return html_unescape(m[1]);
  if (std::regex_search(tag, m, std::regex("\\b" + name + "\\s*=\\s*'([^']*)'"))) return html_unescape(m[1]);
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
    p.response = http_get(req, [&](const char* d, size_t n, long) {
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

// A file name from Content-Disposition, reduced to a safe base name.
std::string disposition_name(const std::string& header) {
  std::smatch m;
  std::string name;
  if (std::regex_search(header, m, std::regex(R"re(filename\*\s*=\s*UTF-8''([^;]+))re", std::regex::icase)))
    name = uri_decode(m[1]);
  else if (std::regex_search(header, m, std::regex(R"re(filename\s*=\s*"([^"]*)")re", std::regex::icase)))
    name = m[1];
  else if (std::regex_search(header, m, std::regex(R"re(filename\s*=\s*([^;]+))re", std::regex::icase)))
    name = m[1];
  name = name.substr(name.find_last_of("/\\") == std::string::npos ? 0 : name.find_last_of("/\\") + 1);
  if (name.empty() || name == "." || name == "..") name = "download";
  return name;
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
  std::smatch form;
  if (!std::regex_search(body, form, std::regex(R"re(<form[^>]*id\s*=\s*["']download-form["'][^>]*>([\s\S]*?)</form>)re")))
    return "";
  const std::string form_tag = form[0].str().substr(0, form[0].str().find('>') + 1);
  std::string url = attribute(form_tag, "action");
  if (url.empty()) return "";
  if (url.rfind("http", 0) != 0) url = base + (url.front() == '/' ? "" : "/") + url;
  std::string query;
  const std::string inner = form[1];
  const std::regex input(R"(<input[^>]*>)");
  for (auto it = std::sregex_iterator(inner.begin(), inner.end(), input); it != std::sregex_iterator(); ++it) {
    const std::string tag = it->str();
    if (attribute(tag, "type") != "hidden" || attribute(tag, "name").empty()) continue;
    query += (query.empty() ? "" : "&") + uri_encode(attribute(tag, "name"), false) + "=" +
             uri_encode(attribute(tag, "value"), false);
  }
  return url + (url.find('?') == std::string::npos ? "?" : "&") + query;
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
