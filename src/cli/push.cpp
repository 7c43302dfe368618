// `dltrain push PATH s3://bucket/prefix/`: a run folder (or any folder or file) to S3-compatible
// storage, resumable, with a manifest written last; `--abort` gives up an unfinished push.
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "dltrain/fetch.hpp"
#include "dltrain/path.hpp"
#include "dltrain/train.hpp"
#include "transfer_flags.hpp"

namespace dltrain::cli {
namespace {

struct PushArgs {
  std::string path, destination, limit_rate;
  PushOptions options;
  bool abort = false, quiet = false;
};

void run(PushArgs& a) {
  PushOptions o = a.options;
  apply_transfer_flags(o.transfer, a.limit_rate, a.quiet);
  if (a.abort) {
    const int n = abort_push(a.path, a.destination, o);
    std::printf("%d unfinished upload(s) aborted under %s\n", n, redact_url(a.destination).c_str());
    return;
  }
  // A run folder that a training is still writing is not pushed: its lock says so.
  std::unique_ptr<RunLock> run_lock;
  if (is_folder(a.path) && path_exists(a.path + "/.lock")) {
    run_lock = std::make_unique<RunLock>(a.path);
    o.skip.push_back(".lock");
  }
  if (o.transfer.insecure)
    o.transfer.warn("--insecure: TLS certificates are NOT checked for this push; anyone on the network path could "
                    "read or change the files");
  const PushResult r = push(a.path, a.destination, o);
  if (a.quiet) return;
  int64_t total = 0;
  for (const PushedFile& f : r.files) {
    total += f.size;
    std::printf("%s  %s  %s%s\n", f.sha256.substr(0, 12).c_str(), human_bytes(double(f.size)).c_str(), f.name.c_str(),
                f.parts ? ("  (" + std::to_string(f.parts) + " parts)").c_str() : f.already_there ? "  (already there)" : "");
  }
  std::printf("%s: %zu file(s), %s, %s sent\n", redact_url(r.destination).c_str(), r.files.size(),
              human_bytes(double(total)).c_str(), human_bytes(double(r.sent)).c_str());
}

}  // namespace

void add_push(CLI::App& app) {
  auto a = std::make_shared<PushArgs>();
  CLI::App* cmd = app.add_subcommand(
      "push", "Upload a run folder (or any folder or file) to S3-compatible storage: resumable, verified, manifest last");
  cmd->add_option("path", a->path, "run folder, folder or file")->required();
  cmd->add_option("destination", a->destination, "s3://bucket/prefix/ (a file: s3://bucket/key)")->required();
  a->options.transfer.part_size = int64_t(8) << 20;
  a->options.transfer.concurrency = 8;  // uploads gain more from parallel parts than downloads (AWS CLI: 10)
  add_transfer_flags(cmd, a->options.transfer, a->limit_rate,
                     "bytes per part of a multipart upload (larger files go in parts; grown so that no file needs "
                     "more than 10,000)",
                     int64_t(5) << 20);
  cmd->add_flag("--checksum-sha256", a->options.transfer.s3.checksum_sha256,
                "also send S3's newer x-amz-checksum-sha256 headers (off by default: some S3-compatible stores "
                "reject them; Content-MD5 and the signed SHA-256 are always sent)");
  cmd->add_flag("--abort", a->abort, "abort the unfinished uploads of an earlier push to this destination, and forget it");
  cmd->add_flag("--quiet,-q", a->quiet, "print nothing but errors and warnings");
  cmd->callback([a] { run(*a); });
}

}  // namespace dltrain::cli
