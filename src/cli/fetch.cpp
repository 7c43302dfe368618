// `dltrain fetch URI...`: datasets from S3-compatible storage, Google Drive, HTTP(S), local disk or
// the catalog, into the cache (and --output). Progress per file and in total; credentials are
// never printed.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "dltrain/core.hpp"
#include "dltrain/fetch.hpp"

namespace dltrain::cli {
namespace {

struct FetchArgs {
  std::vector<std::string> uris;
  FetchOptions options;
  std::string limit_rate, max_extract;
  double max_extract_ratio = 0;
  bool quiet = false;
};

std::string human(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000 && u < 4) bytes /= 1000, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
  return buf;
}

// "5M", "500k", "1.5G" or a plain byte count -> bytes per second.
int64_t parse_rate(const std::string& s) {
  if (s.empty()) return 0;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  const std::string unit = end;
  const double scale = unit.empty() || unit == "B" ? 1 : unit == "k" || unit == "K" ? 1e3 : unit == "M" ? 1e6 : unit == "G" ? 1e9 : -1;
  if (end == s.c_str() || v <= 0 || scale < 0)
    throw Error("--limit-rate " + s + ": not a rate", "write bytes per second, optionally with k, M or G: 5M");
  return int64_t(v * scale);
}

class FetchProgressPrinter {
 public:
  FetchProgressPrinter(bool terminal, bool quiet) : terminal_(terminal), quiet_(quiet) {}
  void operator()(const FetchProgress& p) {
    if (quiet_) return;
    const auto now = std::chrono::steady_clock::now();
    if (p.file != file_) file_ = p.file, file_start_ = last_line_ = now;
    const double secs = std::chrono::duration<double>(now - file_start_).count();
    const double rate = secs > 0 ? double(p.done) / secs : 0;
    if (p.finished) {
      std::printf("%s%s: %s in %.1fs (%s/s)%s\n", terminal_ ? "\r" : "", p.file.c_str(), human(double(p.done)).c_str(),
                  secs, human(rate).c_str(), terminal_ ? "\033[K" : "");
    } else if (terminal_) {
      const double eta = rate > 0 && p.total > 0 ? double(p.total - p.done) / rate : 0;
      std::printf("\r%s: %s / %s  %s/s  ETA %.0fs%s\033[K", p.file.c_str(), human(double(p.done)).c_str(),
                  p.total >= 0 ? human(double(p.total)).c_str() : "?", human(rate).c_str(), eta,
                  p.all_total > 0 ? ("  total " + std::to_string(100 * p.all_done / p.all_total) + "%").c_str() : "");
    } else if (now - last_line_ > std::chrono::seconds(5)) {
      std::printf("%s: %s / %s (%s/s)\n", p.file.c_str(), human(double(p.done)).c_str(),
                  p.total >= 0 ? human(double(p.total)).c_str() : "?", human(rate).c_str());
      last_line_ = now;
    }
    std::fflush(stdout);
  }

 private:
  bool terminal_, quiet_;
  std::string file_;
  std::chrono::steady_clock::time_point file_start_{}, last_line_{};
};

// A digest check for CLI11: the message for a value that is not `digits` hex digits.
CLI::Validator hex_digits(size_t digits) {
  return CLI::Validator([digits](const std::string& v) { return digest_problem(v, digits, "the digest"); },
                        std::to_string(digits) + " HEX DIGITS");
}

void run(FetchArgs& a) {
  // Usage errors (exit 2) before anything is fetched: a digest is one file's, and a URL's digest
  // fragment must be usable.
  if (a.uris.size() > 1 && (!a.options.sha256.empty() || !a.options.md5.empty()))
    throw CLI::ValidationError("--sha256/--md5", "the digest of one file, but " + std::to_string(a.uris.size()) +
                                                     " sources were given (write URL#sha256=HEX for each instead)");
  for (const std::string& uri : a.uris)
    if (const DigestFragment f = split_digest_fragment(uri); !f.problem.empty())
      throw CLI::ValidationError(redact_url(uri), f.problem);
  FetchOptions o = a.options;
  o.limit_rate = parse_rate(a.limit_rate);
  o.extract_limits = ExtractLimits::from_environment();
  if (!a.max_extract.empty()) o.extract_limits.max_bytes = parse_size(a.max_extract, "--max-extract");
  if (a.max_extract_ratio > 0) o.extract_limits.max_ratio = a.max_extract_ratio;
  auto printer = std::make_shared<FetchProgressPrinter>(::isatty(STDOUT_FILENO), a.quiet);
  o.progress = [printer](const FetchProgress& p) { (*printer)(p); };
  o.warn = [](const std::string& w) { std::fprintf(stderr, "dltrain: warning: %s\n", w.c_str()); };
  for (const std::string& uri : a.uris) {
    const FetchResult r = fetch(uri, o);
    if (a.quiet) continue;
    for (const FetchedFile& f : r.files)
      std::printf("%s  %s  %s%s\n", f.sha256.substr(0, 12).c_str(), human(double(f.size)).c_str(), f.path.c_str(),
                  f.from_cache ? "  (cached)" : "");
    std::printf("%s: %zu file(s) in %s\n", redact_url(uri).c_str(), r.files.size(), r.folder.c_str());
  }
}

}  // namespace

void add_fetch(CLI::App& app) {
  auto a = std::make_shared<FetchArgs>();
  CLI::App* cmd = app.add_subcommand("fetch", "Download datasets (catalog names, https://, s3://, Google Drive links, paths)");
  cmd->add_option("uris", a->uris, "mnist | fashion-mnist | kmnist | cifar10 | URL | s3://bucket/key[/] | Drive link | path")
      ->required();
  FetchOptions& o = a->options;
  cmd->add_option("--sha256", o.sha256,
                  "the file's expected SHA-256 (any single-file source; or URL#sha256=HEX): "
                  "a file that differs is deleted, not kept")
      ->check(hex_digits(64));
  cmd->add_option("--md5", o.md5, "the file's expected MD5 (or URL#md5=HEX)")->check(hex_digits(32));
  cmd->add_flag("--allow-html", o.allow_html,
                "keep a web page (Content-Type text/html) where a file was expected; refused by default "
                "unless the name ends in .html/.htm");
  cmd->add_option("--name", o.name, "keep the files under this name (then: dltrain train --data NAME)");
  cmd->add_option("--output,-o", o.output, "also place the files in this folder");
  cmd->add_option("--endpoint", o.s3.endpoint, "S3-compatible endpoint URL (IBM COS, MinIO, ...)");
  cmd->add_option("--region", o.s3.region, "S3 region (default: AWS_REGION, the profile's, us-east-1)");
  cmd->add_option("--profile", o.s3.profile, "profile in ~/.aws/credentials and ~/.aws/config");
  cmd->add_flag("--no-sign", o.s3.no_sign, "anonymous S3 requests (public buckets)");
  cmd->add_option("--mirror", o.mirrors, "catalog datasets: base URL to use instead of the catalog's mirrors (repeatable)");
  cmd->add_flag("--offline", o.offline, "use only the cache; say what is missing");
  cmd->add_flag("--insecure", o.insecure, "do not verify TLS certificates (warned about on every use)");
  cmd->add_flag("--extract", o.extract, "unpack .tar(.gz|.xz) and .zip files after download");
  cmd->add_option("--max-extract", a->max_extract,
                  "--extract: most bytes one archive may unpack to, e.g. 32Gi (default 16Gi, or DLTRAIN_MAX_EXTRACT)");
  cmd->add_option("--max-extract-ratio", a->max_extract_ratio,
                  "--extract: most unpacked bytes per archive byte (default 100, or DLTRAIN_MAX_EXTRACT_RATIO; "
                  "64 MiB always allowed)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--part-size", o.part_size, "bytes per ranged part of large objects")->capture_default_str()
      ->check(CLI::Range(int64_t(1) << 16, int64_t(1) << 34));
  cmd->add_option("--concurrency,-j", o.concurrency, "parts in flight")->capture_default_str()->check(CLI::Range(1, 64));
  cmd->add_option("--retries", o.retries, "tries after the first, per request")->capture_default_str()->check(CLI::Range(0, 100));
  cmd->add_option("--limit-rate", a->limit_rate, "cap the bandwidth, e.g. 5M (bytes per second)");
  cmd->add_option("--stall-timeout", o.stall_seconds, "seconds without data before a connection is retried")
      ->capture_default_str()->check(CLI::Range(1, 3600));
  cmd->add_flag("--quiet,-q", a->quiet, "print nothing but errors and warnings");
  cmd->callback([a] { run(*a); });
}

}  // namespace dltrain::cli
