// `dltrain fetch URI...`: datasets from S3-compatible storage, Google Drive, HTTP(S), local disk or
// the catalog, into the cache (and --output). Progress per file and in total; credentials are
// never printed.
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "dltrain/core.hpp"
#include "dltrain/fetch.hpp"
#include "transfer_flags.hpp"

namespace dltrain::cli {
namespace {

struct FetchArgs {
  std::vector<std::string> uris;
  FetchOptions options;
  std::string limit_rate, max_extract;
  double max_extract_ratio = 0;
  bool quiet = false;
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
  apply_transfer_flags(o, a.limit_rate, a.quiet);
  o.extract_limits = ExtractLimits::from_environment();
  if (!a.max_extract.empty()) o.extract_limits.max_bytes = parse_size(a.max_extract, "--max-extract");
  if (a.max_extract_ratio > 0) o.extract_limits.max_ratio = a.max_extract_ratio;
  for (const std::string& uri : a.uris) {
    const FetchResult r = fetch(uri, o);
    if (a.quiet) continue;
    for (const FetchedFile& f : r.files)
      std::printf("%s  %s  %s%s\n", f.sha256.substr(0, 12).c_str(), human_bytes(double(f.size)).c_str(), f.path.c_str(),
                  f.from_cache ? "  (cached)" : "");
    std::printf("%s: %zu file(s) in %s\n", redact_url(uri).c_str(), r.files.size(), r.folder.c_str());
  }
}

}  // namespace

void add_fetch(CLI::App& app) {
  auto a = std::make_shared<FetchArgs>();
  CLI::App* cmd = app.add_subcommand("fetch", "Download datasets (catalog names, https://, s3://, Google Drive links, paths)");
  cmd->add_option("uris", a->uris, "a dataset name (" + catalog_names() + "), URL, s3://bucket/key[/], Google Drive "
                                   "file or folder link, or path")
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
  cmd->add_flag("--no-sign", o.s3.no_sign, "anonymous S3 requests (public buckets)");
  cmd->add_option("--mirror", o.mirrors, "catalog datasets: base URL to use instead of the catalog's mirrors (repeatable)");
  cmd->add_flag("--offline", o.offline, "use only the cache; say what is missing");
  cmd->add_flag("--extract", o.extract, "unpack .tar(.gz|.xz) and .zip files after download");
  cmd->add_option("--max-extract", a->max_extract,
                  "--extract: most bytes one archive may unpack to, e.g. 32Gi (default 16Gi, or DLTRAIN_MAX_EXTRACT)");
  cmd->add_option("--max-extract-ratio", a->max_extract_ratio,
                  "--extract: most unpacked bytes per archive byte (default 100, or DLTRAIN_MAX_EXTRACT_RATIO; "
                  "64 MiB always allowed)")
      ->check(CLI::PositiveNumber);
  add_transfer_flags(cmd, o, a->limit_rate, "bytes per ranged part of large objects", int64_t(1) << 16);
  cmd->add_flag("--quiet,-q", a->quiet, "print nothing but errors and warnings");
  cmd->callback([a] { run(*a); });
}

}  // namespace dltrain::cli
