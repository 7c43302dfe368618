// The flags, rate parsing and progress lines `fetch` and `push` share.
#include "transfer_flags.hpp"

#include <unistd.h>

#include <cstdio>
#include <memory>

#include "dltrain/core.hpp"

namespace dltrain::cli {
namespace {

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

class ProgressPrinter {
 public:
  ProgressPrinter(bool terminal, bool quiet) : terminal_(terminal), quiet_(quiet) {}
  void operator()(const FetchProgress& p) {
    if (quiet_) return;
    const auto now = std::chrono::steady_clock::now();
    if (p.file != file_) file_ = p.file, file_start_ = last_line_ = now;
    const double secs = std::chrono::duration<double>(now - file_start_).count();
    const double rate = secs > 0 ? double(p.done) / secs : 0;
    if (p.finished) {
      std::printf("%s%s: %s in %.1fs (%s/s)%s\n", terminal_ ? "\r" : "", p.file.c_str(), human_bytes(double(p.done)).c_str(),
                  secs, human_bytes(rate).c_str(), terminal_ ? "\033[K" : "");
    } else if (terminal_) {
      const double eta = rate > 0 && p.total > 0 ? double(p.total - p.done) / rate : 0;
      std::printf("\r%s: %s / %s  %s/s  ETA %.0fs%s\033[K", p.file.c_str(), human_bytes(double(p.done)).c_str(),
                  p.total >= 0 ? human_bytes(double(p.total)).c_str() : "?", human_bytes(rate).c_str(), eta,
                  p.all_total > 0 ? ("  total " + std::to_string(100 * p.all_done / p.all_total) + "%").c_str() : "");
    } else if (now - last_line_ > std::chrono::seconds(5)) {
      std::printf("%s: %s / %s (%s/s)\n", p.file.c_str(), human_bytes(double(p.done)).c_str(),
                  p.total >= 0 ? human_bytes(double(p.total)).c_str() : "?", human_bytes(rate).c_str());
      last_line_ = now;
    }
    std::fflush(stdout);
  }

 private:
  bool terminal_, quiet_;
  std::string file_;
  std::chrono::steady_clock::time_point file_start_{}, last_line_{};
};

}  // namespace

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000 && u < 4) bytes /= 1000, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
  return buf;
}

void add_transfer_flags(CLI::App* cmd, FetchOptions& o, std::string& limit_rate, const std::string& part_help, int64_t min_part) {
  cmd->add_option("--endpoint", o.s3.endpoint, "S3-compatible endpoint URL (IBM COS, MinIO, ...)");
  cmd->add_option("--region", o.s3.region, "S3 region (default: AWS_REGION, the profile's, us-east-1)");
  cmd->add_option("--profile", o.s3.profile, "profile in ~/.aws/credentials and ~/.aws/config");
  cmd->add_flag("--insecure", o.insecure, "do not verify TLS certificates (warned about on every use)");
  cmd->add_option("--part-size", o.part_size, part_help)->capture_default_str()
      ->check(CLI::Range(min_part, int64_t(5) << 30));
  cmd->add_option("--concurrency,-j", o.concurrency, "parts in flight")->capture_default_str()->check(CLI::Range(1, 64));
  cmd->add_option("--retries", o.retries, "tries after the first, per request")->capture_default_str()->check(CLI::Range(0, 100));
  cmd->add_option("--limit-rate", limit_rate, "cap the bandwidth, e.g. 5M (bytes per second)");
  cmd->add_option("--stall-timeout", o.stall_seconds, "seconds without data before a connection is retried")
      ->capture_default_str()->check(CLI::Range(1, 3600));
}

void apply_transfer_flags(FetchOptions& o, const std::string& limit_rate, bool quiet) {
  o.limit_rate = parse_rate(limit_rate);
  auto printer = std::make_shared<ProgressPrinter>(::isatty(STDOUT_FILENO), quiet);
  o.progress = [printer](const FetchProgress& p) { (*printer)(p); };
  o.warn = [](const std::string& w) { std::fprintf(stderr, "dltrain: warning: %s\n", w.c_str()); };
}

}  // namespace dltrain::cli
