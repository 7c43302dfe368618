// Status classification and backoff for fetch and push.
#include "retry.hpp"

namespace dltrain::fetch_detail {

double parse_retry_after(const std::string& v) {
  char* end = nullptr;
  const double s = std::strtod(v.c_str(), &end);
  return end != v.c_str() && s >= 0 ? s : -1;  // HTTP dates: use our own backoff
}

std::string s3_error_code(const std::string& body) {
  const size_t begin = body.find("<Code>");
  if (begin == std::string::npos) return "";
  const size_t end = body.find("</Code>", begin);
  if (end == std::string::npos) return "";
  return body.substr(begin + 6, std::min<size_t>(end - begin - 6, 64));
}

void check_status(const HttpResponse& r, const std::string& label, const std::string& credentials) {
  if (r.status >= 200 && r.status < 300) return;
  const std::string code = s3_error_code(r.error_body);
  const std::string what = label + ": HTTP " + std::to_string(r.status) + (code.empty() ? "" : " (" + code + ")");
  if (r.status == 429 || r.status >= 500) throw Retryable(what, parse_retry_after(r.header("retry-after")));
  const bool auth = code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "AccessDenied";
  const bool bucket = code == "NoSuchBucket";
  throw SourceError(what, auth && !credentials.empty() ? "check the access key, the secret and what they may do (" + credentials + ")"
                          : bucket                     ? "check the bucket's name and the endpoint (" + credentials + ")"
                                                       : "");
}

double backoff_seconds(const FetchOptions& o, int i, std::mt19937_64& jitter) {
  return std::min(30.0, o.backoff_seconds * double(1 << std::min(i, 10)) * std::uniform_real_distribution<>(0.5, 1.5)(jitter));
}

}  // namespace dltrain::fetch_detail
