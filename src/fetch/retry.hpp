// What an answer means and how often to ask again: the error classes both directions (fetch and
// push) share, the status check that sorts answers into them, and the retry loop (exponential
// backoff with jitter; a server's Retry-After honoured up to a cap). Internal to fetch/.
#pragma once

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <thread>

#include "dltrain/fetch.hpp"
#include "http.hpp"

namespace dltrain::fetch_detail {

// A response or check that a different mirror might not have (status, size, checksum).
struct SourceError : Error {
  using Error::Error;
};
// An answer that is not the file and that another try would not make one (a web page, sizes that
// disagree): the partial download is deleted, not kept for resuming.
struct RefusedAnswer : SourceError {
  using SourceError::SourceError;
};
// A failure worth another try: transport errors, 429 and 5xx (with the server's Retry-After).
struct Retryable : Error {
  Retryable(std::string what, double after) : Error(std::move(what)), retry_after(after) {}
  double retry_after;
};

// Retry-After in seconds, or -1 when it is not a non-negative number (an HTTP date, garbage).
double parse_retry_after(const std::string& value);

// The <Code> of an S3 error document ("NoSuchKey"), or "" when the body has none.
std::string s3_error_code(const std::string& body);

// Throws for anything but 2xx: Retryable for 429/5xx, SourceError otherwise (with S3's code, and
// a hint about the credentials when the code says they were refused; `credentials` describes them).
void check_status(const HttpResponse& r, const std::string& label, const std::string& credentials = "");

// Seconds to wait before try `i + 1` (0-based): backoff * 2^i, times a jitter in [0.5, 1.5), at most 30 s.
double backoff_seconds(const FetchOptions& o, int i, std::mt19937_64& jitter);

// Calls `attempt` until it returns, retrying TransportErrors that may pass and Retryables up to
// o.retries times; the last failure becomes a SourceError that says how many tries were made.
template <class F>
auto with_retries(const FetchOptions& o, const std::string& label, F&& attempt) {
  std::mt19937_64 jitter(std::random_device{}());
  for (int i = 0;; ++i) {
    try {
      return attempt();
    } catch (const TransportError& e) {
      if (!e.retryable || i >= o.retries) throw SourceError(label + ": " + e.what() + " (after " + std::to_string(i + 1) + " tries)");
      std::this_thread::sleep_for(std::chrono::duration<double>(backoff_seconds(o, i, jitter)));
    } catch (const Retryable& e) {
      if (i >= o.retries) throw SourceError(std::string(e.what()) + " (after " + std::to_string(i + 1) + " tries)", e.hint());
      // The server's Retry-After, but never longer than max_retry_after: a hostile or confused
      // server must not park the transfer for hours.
      const double wait = e.retry_after >= 0 ? std::min(e.retry_after, std::max(0.0, o.max_retry_after))
                                             : backoff_seconds(o, i, jitter);
      std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    }
  }
}

}  // namespace dltrain::fetch_detail
