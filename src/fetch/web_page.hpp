// Recognising a web page where a file was expected (a login, quota or error page answered with
// 200): its Content-Type, and its <title> to say what it is. Pure text functions, no requests.
// Internal to fetch/.
#pragma once

#include <string>

namespace dltrain::fetch_detail {

// Whether a Content-Type header's media type is text/html or application/xhtml+xml (case and
// parameters such as "; charset=utf-8" ignored).
bool is_html_type(const std::string& content_type);
// Whether a file name ends in .html or .htm (case ignored): then a web page is the file.
bool is_html_name(const std::string& name);
// The text of the first <title> in the first bytes of a page: tags inside it dropped, the common
// entities decoded, runs of white space and control characters made one space, at most 100
// characters ("..." after a cut). "" when the bytes hold no title.
std::string page_title(const std::string& start);
// The five entities HTML pages use most (&amp; &quot; &#39; &lt; &gt;), decoded in one pass.
std::string html_unescape(const std::string& s);

}  // namespace dltrain::fetch_detail
