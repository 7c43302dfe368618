// Web pages where files were expected: Content-Type and <title>, by plain scanning (no std::regex,
// which recurses per character: issue 16).
#include "web_page.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "dltrain/fetch.hpp"  // redact_url

namespace dltrain::fetch_detail {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

}  // namespace

std::string html_unescape(const std::string& s) {
  static const std::pair<std::string_view, char> entities[] = {
      {"&amp;", '&'}, {"&quot;", '"'}, {"&#39;", '\''}, {"&lt;", '<'}, {"&gt;", '>'}};
  std::string out;
  for (size_t i = 0; i < s.size();) {
    bool done = false;
    for (const auto& [from, to] : entities)
      if (s.compare(i, from.size(), from) == 0) {
        out += to, i += from.size(), done = true;
        break;
      }
    if (!done) out += s[i++];
  }
  return out;
}

bool is_html_type(const std::string& content_type) {
  std::string type = lower(content_type.substr(0, content_type.find(';')));
  type.erase(0, type.find_first_not_of(" \t"));
  type.erase(type.find_last_not_of(" \t") + 1);
  return type == "text/html" || type == "application/xhtml+xml";
}

bool is_html_name(const std::string& name) {
  const std::string n = lower(name);
  return n.ends_with(".html") || n.ends_with(".htm");
}

std::string page_title(const std::string& start) {
  const std::string low = lower(start);
  size_t open = low.find("<title");
  while (open != std::string::npos && open + 6 < low.size() && low[open + 6] != '>' && low[open + 6] != ' ')
    open = low.find("<title", open + 1);  // not <titlebar>
  if (open == std::string::npos) return "";
  const size_t body = low.find('>', open);
  if (body == std::string::npos) return "";
  const size_t close = std::min(low.find("</title", body), low.size());  // a cut-off title is still shown
  std::string text;
  bool in_tag = false;
  for (size_t i = body + 1; i < close; ++i) {
    const char c = start[i];
    if (c == '<') in_tag = true;
    else if (c == '>') in_tag = false;
    else if (!in_tag) text += c;
  }
  text = html_unescape(text);
  std::string out;  // one space for each run of white space and control characters (no terminal escapes)
  for (const char c : text) {
    const bool blank = static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ' ';
    if (!blank) out += c;
    else if (!out.empty() && out.back() != ' ') out += ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  std::string shown;  // a URL in the title (a sign-in page's "continue to ...") loses its secrets
  for (size_t i = 0; i <= out.size();) {
    const size_t end = std::min(out.find(' ', i), out.size());
    const std::string word = out.substr(i, end - i);
    shown += (i ? " " : "") + (word.find("://") != std::string::npos ? redact_url(word) : word);
    i = end + 1;
  }
  out = shown;
  if (out.size() > 100) {
    out.resize(100);
    // Whole UTF-8 characters: drop continuation bytes, then a lead byte whose sequence was cut.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
    out += "...";
  }
  return out;
}

}  // namespace dltrain::fetch_detail
