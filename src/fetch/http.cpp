// libcurl requests with streaming body, header capture and transport-error classification.
#include "http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

namespace dltrain::fetch_detail {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct State {
  HttpResponse* response;
  const Sink* sink;
  bool stopped = false;
  const HttpRequest* request;
  size_t read = 0;  // bytes of the request body handed to libcurl
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  parse_header_line(*static_cast<State*>(user)->response, std::string(data, size * n));
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* st = static_cast<State*>(user);
  const size_t bytes = size * n;
  const long s = st->response->status;
  if (s >= 200 && s < 300) {
    if (!(*st->sink)(data, bytes, s)) {
      st->stopped = true;
      return 0;  // stops the transfer; reported as CURLE_WRITE_ERROR and treated as success
    }
    return bytes;
  }
  std::string& b = st->response->error_body;
  if (b.size() < 65536) b.append(data, std::min(bytes, 65536 - b.size()));
  return bytes;
}

size_t on_read(char* buffer, size_t size, size_t n, void* user) {
  auto* st = static_cast<State*>(user);
  const std::string_view body = st->request->body;
  const size_t take = std::min(size * n, body.size() - st->read);
  std::memcpy(buffer, body.data() + st->read, take);
  st->read += take;
  if (st->request->sent && take > 0) st->request->sent(int64_t(take));
  return take;
}

// libcurl rewinds the body when it must send it again (a reused connection that was closed).
int on_seek(void* user, curl_off_t offset, int origin) {
  auto* st = static_cast<State*>(user);
  if (origin != SEEK_SET || offset < 0 || size_t(offset) > st->request->body.size()) return CURL_SEEKFUNC_CANTSEEK;
  st->read = size_t(offset);
  return CURL_SEEKFUNC_OK;
}

bool retryable(CURLcode c) {
  switch (c) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_TOO_MANY_REDIRECTS:
      return false;
    default:
      return true;
  }
}

}  // namespace

void parse_header_line(HttpResponse& response, std::string line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect or 100-continue)
    response.headers.clear();
    const size_t sp = line.find(' ');
    response.status = sp == std::string::npos ? 0 : std::strtol(line.c_str() + sp + 1, nullptr, 10);
    return;
  }
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon), value = line.substr(colon + 1);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    value.erase(0, value.find_first_not_of(" \t"));
    response.headers[name] = value;
  }
}

int64_t HttpResponse::content_length() const {
  auto it = headers.find("content-length");
  return it == headers.end() ? -1 : std::strtoll(it->second.c_str(), nullptr, 10);
}

std::string HttpResponse::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

HttpResponse http_request(const HttpRequest& r, const Sink& sink) {
  global_init();
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw TransportError("libcurl could not start a transfer", false);
  HttpResponse response;
  State st{&response, &sink, false, &r};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, r.url.c_str());
  // A signed upload must not follow a redirect: its signature names this host.
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, r.method == "GET" ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");  // neither the URL nor a redirect
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");  // may lead to file:// etc.
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);  // a stalled connection fails after stall_seconds
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, long(r.stall_seconds));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "dltrain/0.1");
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "identity");
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 524288L);  // large reads
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &st);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
  if (r.insecure) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  std::string range;
  if (r.range_begin >= 0) {
    range = std::to_string(r.range_begin) + "-" + (r.range_end >= 0 ? std::to_string(r.range_end) : "");
    curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  }
  if (!r.cookie_jar.empty()) {
    curl_easy_setopt(c, CURLOPT_COOKIEFILE, r.cookie_jar.c_str());
    curl_easy_setopt(c, CURLOPT_COOKIEJAR, r.cookie_jar.c_str());
  }
  curl_slist* list = nullptr;
  if (r.method == "PUT") {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, curl_off_t(r.body.size()));
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &st);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, &st);
    list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  } else if (r.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(r.body.size()));
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, r.body.data());
    list = curl_slist_append(list, "Expect:");
  } else if (r.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
  for (const std::string& h : r.headers) list = curl_slist_append(list, h.c_str());
  if (!r.if_range.empty()) list = curl_slist_append(list, ("If-Range: " + r.if_range).c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(list, curl_slist_free_all);
  if (list) curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  const CURLcode rc = curl_easy_perform(c);
  char* effective = nullptr;
  curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective);
  if (effective) response.effective_url = effective;
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status) response.status = status;
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && st.stopped))
    throw TransportError(redact_url(r.url) + ": " + curl_easy_strerror(rc), retryable(rc), rc == CURLE_PARTIAL_FILE);
  return response;
}

}  // namespace dltrain::fetch_detail
