// The download engine. One partial file per URL with a JSON sidecar (URL, validator, size, and
// either the finished parts or the byte offset) under <cache>/partial/, guarded by an exclusive
// lock so concurrent fetches of one file wait for each other. Large objects on servers that
// honour ranges go in parallel parts; others in one resumable stream. Every response to a range
// request must be 206 with the matching Content-Range; a 200 means the server ignored the range,
// and the download restarts from zero rather than appending. Retries back off exponentially with
// jitter and honour Retry-After up to FetchOptions::max_retry_after (30 s by default). The result
// is verified (size, sha256 or md5) before it is renamed into blobs/; a file that fails is deleted.
// Answers that another try would not change are refused at once, their partial deleted: a web page
// where a file was expected, and sizes that disagree (the probe's against a download's
// Content-Length or Content-Range, a body longer than announced, or one that ends early twice at
// the same byte).
#include "transfer.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "dltrain/path.hpp"
#include "file_io.hpp"
#include "http.hpp"
#include "jobs.hpp"
#include "running_digest.hpp"
#include "web_page.hpp"

namespace fs = std::filesystem;

namespace dltrain::fetch_detail {
namespace {

// The server ignored a range request (answered 200): start over in one stream.
struct RangesIgnored {};

// The total of a Content-Range ("bytes 0-99/1234" -> 1234), or -1 when it has none.
int64_t range_total(const std::string& content_range) {
  const size_t slash = content_range.rfind('/');
  if (slash == std::string::npos || slash + 1 >= content_range.size()) return -1;
  int64_t total = -1;
  const char *first = content_range.data() + slash + 1, *last = content_range.data() + content_range.size();
  const auto [end, err] = std::from_chars(first, last, total);
  return err == std::errc{} && end == last ? total : -1;
}

// Two answers of one server that disagree about the file's size: another try would not agree
// either, so this is an error, not a retry.
[[noreturn]] void sizes_disagree(const Target& t, int64_t announced, const std::string& other) {
  throw RefusedAnswer(
      t.label + ": the server's answers disagree about the file's size: " + std::to_string(announced) +
          " bytes at first, " + other,
      "the server (or a proxy) misreports the file; nothing was saved. Try again later, or another mirror");
}

HttpRequest request_for(const Target& t, const FetchOptions& o, int64_t begin, int64_t end) {
  HttpRequest r;
  r.url = t.url;
  if (t.headers) r.headers = t.headers(begin, end);
  r.range_begin = begin;
  r.range_end = end;
  r.insecure = o.insecure;
  r.stall_seconds = o.stall_seconds;
  return r;
}

// Throws when `r` is a web page and the target is not one (a login, quota or error page answered
// with 200): the message quotes the page's <title>, found in `start`, the body's first bytes. A
// probe whose range was honoured brought one byte: then the page's first 4 KiB are asked for.
void refuse_web_page(const HttpResponse& r, std::string start, const Target& t, const FetchOptions& o) {
  const std::string type = r.header("content-type");
  if (t.web_page_ok || !is_html_type(type)) return;
  if (start.size() < 64) {
    try {
      start.clear();
      http_request(request_for(t, o, 0, 4095), [&](const char* d, size_t n, long) {
        start.append(d, std::min(n, 4096 - start.size()));
        return start.size() < 4096;
      });
    } catch (const TransportError&) {  // the title is a courtesy: the page is refused without it
    }
  }
  const std::string title = page_title(start);
  throw RefusedAnswer(t.label + ": the server answered with a web page (" + type.substr(0, type.find(';')) + ", " +
                          (title.empty() ? "no title" : "titled \"" + title + "\"") + "), not the file",
                      "pass --allow-html if you really want this page; nothing was saved");
}

Probe probe(const Target& t, const FetchOptions& o) {
  return with_retries(o, t.label, [&] {
    std::string start;  // the first bytes of the answer (one, when the range was honoured)
    const HttpResponse r = http_request(request_for(t, o, 0, 0), [&](const char* d, size_t n, long) {
      start.assign(d, std::min<size_t>(n, 4096));
      return false;
    });
    check_status(r, t.label);
    refuse_web_page(r, start, t, o);
    return probe_from(r);
  });
}

struct Sidecar {
  std::string url, validator;
  int64_t size = -1, part_size = 0, offset = 0;
  std::vector<bool> done;    // parts mode when not empty
  std::vector<int64_t> got;  // bytes of each unfinished part already on disk
  void save(const std::string& path, bool durable = true) const {
    nlohmann::json j{{"url", url}, {"validator", validator}, {"size", size}, {"part_size", part_size},
                     {"offset", offset}, {"done", done}, {"got", got}};
    write_file_atomic(path, j.dump(), durable);
  }
  static Sidecar load(const std::string& path) {
    Sidecar s;
    try {
      const auto j = nlohmann::json::parse(read_file(path));
      // A float where a count belongs would be converted with undefined behaviour: start over.
      for (const char* key : {"size", "part_size", "offset"})
        if (!j.at(key).is_number_integer()) return Sidecar{};
      for (const auto& g : j.value("got", nlohmann::json::array()))
        if (!g.is_number_integer()) return Sidecar{};
      s.url = j.at("url");
      s.validator = j.at("validator");
      s.size = j.at("size");
      s.part_size = j.at("part_size");
      s.offset = j.at("offset");
      s.done = j.at("done").get<std::vector<bool>>();
      s.got = j.value("got", std::vector<int64_t>{});
      if (s.got.size() != s.done.size()) s.got.assign(s.done.size(), 0);
    } catch (const std::exception&) {
      return Sidecar{};  // unreadable: start over
    }
    return s;
  }
};

void download_parts(const Target& t, const FetchOptions& o, const Probe& p, Sidecar& side, const std::string& side_path,
                    int fd, Meter& meter) {
  const int64_t parts = int64_t(side.done.size());
  side.got.resize(side.done.size(), 0);
  std::vector<int64_t> pending;
  for (int64_t i = 0; i < parts; ++i) {
    if (side.done[size_t(i)]) meter.add(std::min(side.part_size, side.size - i * side.part_size), false);
    else pending.push_back(i), meter.add(side.got[size_t(i)], false);
  }
  std::mutex mu;
  run_jobs(pending.size(), o.concurrency, [&](size_t k, const std::atomic<bool>& failed) {
    const int64_t part = pending[k], begin = part * side.part_size, end = std::min(p.size, begin + side.part_size) - 1;
    // Bytes of this part on disk (from an earlier run, too): a retry asks only for the rest.
    int64_t got = std::clamp<int64_t>(side.got[size_t(part)], 0, end - begin + 1), noted = got;
    int64_t ended_early_at = -1;  // see download_stream
    with_retries(o, t.label, [&] {
      const int64_t from = begin + got;
      WriteBuffer out(fd);
      HttpResponse r;
      try {
        r = http_request(request_for(t, o, from, end), [&](const char* d, size_t n, long s) {
          if (failed || s != 206 || got + int64_t(n) > end - begin + 1) return false;
          out.write(d, n, begin + got);
          got += int64_t(n);
          meter.add(int64_t(n));
          if (got - noted >= (1 << 20)) {  // note progress, so a killed run loses at most 1 MiB per part
            out.flush();
            std::lock_guard lock(mu);
            side.got[size_t(part)] = noted = got;
            side.save(side_path, false);
          }
          return true;
        });
      } catch (const TransportError& e) {
        out.flush();
        {
          std::lock_guard lock(mu);
          side.got[size_t(part)] = noted = got;  // the next try, or the next run, continues here
          side.save(side_path, false);
        }
        if (e.ended_early && begin + got == from && from == ended_early_at)
          sizes_disagree(t, p.size, "yet its data ends at byte " + std::to_string(from) + " (twice)");
        if (e.ended_early) ended_early_at = begin + got;
        throw;
      }
      out.flush();
      check_status(r, t.label);
      if (r.status == 200) throw RangesIgnored{};
      if (failed) return 0;
      const std::string want = "bytes " + std::to_string(from) + "-" + std::to_string(end) + "/" + std::to_string(p.size);
      if (const int64_t total = range_total(r.header("content-range")); total >= 0 && total != p.size)
        sizes_disagree(t, p.size,
                       std::to_string(total) + " bytes in the Content-Range of part " + std::to_string(part));
      if (r.header("content-range") != want) {
        meter.add(-got);  // mislabelled: fetch the whole part again
        got = noted = 0;
        throw Retryable(t.label + ": part " + std::to_string(part) + " came back mislabelled", -1);
      }
      if (got != end - begin + 1)
        throw Retryable(t.label + ": part " + std::to_string(part) + " ended early; resuming it", -1);
      return 0;
    });
    if (failed) return;
    std::lock_guard lock(mu);
    ::fdatasync(fd);  // the sidecar never claims bytes that are not on disk
    side.done[size_t(part)] = true;
    side.got[size_t(part)] = 0;
    side.save(side_path);
  });
}

void download_stream(const Target& t, const FetchOptions& o, Sidecar& side, const std::string& side_path, int fd,
                     Meter& meter, RunningDigest& digest, bool md5) {
  meter.add(side.offset, false);
  digest.restart(md5);
  if (side.offset > 0) digest.invalidate();  // a resumed file is hashed from disk at the end
  // Where the previous try's connection closed before its body was complete.
  int64_t ended_early_at = -1;
  with_retries(o, t.label, [&] {
    const int64_t start = side.offset;
    int64_t since_sync = 0;
    bool first = true, too_long = false;
    HttpRequest req = request_for(t, o, start > 0 ? start : -1, -1);
    if (start > 0) req.if_range = side.validator;
    HttpResponse r;
    WriteBuffer out(fd, [&](std::vector<char>&& b, int64_t at) { return digest.take(std::move(b), at); });
    try {
      r = http_request(req, [&](const char* d, size_t n, long status) {
        if (first && start > 0 && status == 200) {
          // The whole file again, from byte 0 (range ignored, or the file changed): never append it.
          if (::ftruncate(fd, 0) != 0) throw Error(std::string("cannot truncate: ") + std::strerror(errno));
          out.discard();
          meter.add(-side.offset);
          side.offset = 0;
          digest.restart(md5);
          o.warn(t.label + ": the server sent the whole file instead of the rest; starting over");
        }
        first = false;
        if (side.size >= 0 && side.offset + int64_t(n) > side.size) {  // more than the server announced
          too_long = true;
          return false;
        }
        out.write(d, n, side.offset);
        side.offset += int64_t(n);
        since_sync += int64_t(n);
        meter.add(int64_t(n));
        if (since_sync >= (64 << 20)) {
          out.flush();
          ::fdatasync(fd);
          side.save(side_path);
          since_sync = 0;
        }
        return true;
      });
    } catch (const TransportError& e) {
      out.flush();
      ::fdatasync(fd);
      side.save(side_path);
      // Closed early twice at one byte, the second time without a byte: the server announces more
      // than it has, and resuming would ask for the missing bytes forever.
      if (e.ended_early && side.offset == start && start == ended_early_at && side.size >= 0)
        sizes_disagree(t, side.size, "yet its data ends at byte " + std::to_string(start) + " (twice)");
      if (e.ended_early) ended_early_at = side.offset;
      throw;
    }
    out.flush();
    if (r.status == 416 && start > 0 && side.size >= 0)  // "no such range": the file is shorter than announced
      sizes_disagree(t, side.size, "yet it has no byte " + std::to_string(start) + " (HTTP 416)");
    check_status(r, t.label);
    if (!t.web_page_ok && is_html_type(r.header("content-type"))) {
      std::string head(4096, '\0');
      head.resize(size_t(std::max<ssize_t>(0, ::pread(fd, head.data(), head.size(), 0))));
      refuse_web_page(r, head, t, o);
    }
    if (side.size >= 0) {  // this answer's own idea of the size
      const int64_t total = r.status == 206 ? range_total(r.header("content-range")) : r.content_length();
      if (too_long || (total >= 0 && total != side.size))
        sizes_disagree(t, side.size,
                       (total >= 0 ? std::to_string(total) + " bytes in the " +
                                         (r.status == 206 ? "Content-Range" : "Content-Length") + " of the download"
                                   : "a download without a length") +
                           (too_long ? ", which sent more than " + std::to_string(side.size) + " bytes" : ""));
    }
    if (start > 0 && r.status == 206 && r.header("content-range").rfind("bytes " + std::to_string(start) + "-", 0) != 0) {
      meter.add(start - side.offset);
      side.offset = start;
      throw Retryable(t.label + ": the server resumed at the wrong offset (" + r.header("content-range") + ")", -1);
    }
    ::fdatasync(fd);
    side.save(side_path);
    if (side.size >= 0 && side.offset != side.size)
      throw Retryable(t.label + ": the connection ended at byte " + std::to_string(side.offset) + " of " +
                          std::to_string(side.size), -1);
    return 0;
  });
}

bool matches(const FileDigest& d, const std::vector<FileVariant>& accept) {
  for (const FileVariant& v : accept)
    if ((v.size < 0 || v.size == d.size) && (v.sha256.empty() || v.sha256 == d.sha256) && (v.md5.empty() || v.md5 == d.md5) &&
        (!v.sha256.empty() || !v.md5.empty() || v.size >= 0))
      return true;
  return false;
}

std::string describe(const std::vector<FileVariant>& accept) {
  std::string s;
  for (const FileVariant& v : accept)
    s += (s.empty() ? "" : "; ") + (v.size >= 0 ? std::to_string(v.size) + " bytes " : std::string()) +
         (v.sha256.empty() ? "md5 " + v.md5 : "sha256 " + v.sha256);
  return s;
}

// How a file that matched none of `accept` differs: both digests when one form was expected (a
// user's --sha256 or --md5), else the file's size and digests and every known form.
std::string mismatch(const FileDigest& d, const std::vector<FileVariant>& accept) {
  if (accept.size() == 1) {
    const FileVariant& v = accept.front();
    if (v.size >= 0 && v.size != d.size)
      return "expected " + std::to_string(v.size) + " bytes, got " + std::to_string(d.size);
    if (!v.sha256.empty() && v.sha256 != d.sha256) return "expected sha256 " + v.sha256 + ", got " + d.sha256;
    if (!v.md5.empty() && v.md5 != d.md5) return "expected md5 " + v.md5 + ", got " + d.md5;
  }
  return "size " + std::to_string(d.size) + ", sha256 " + d.sha256 + ", md5 " + d.md5 + " match no known form (" +
         describe(accept) + ")";
}

bool wants_md5(const Target& t) {
  for (const FileVariant& v : t.accept)
    if (!v.md5.empty()) return true;
  return false;
}

// Checks the finished partial file and renames it into blobs/; deletes it when it fails.
// `known` is the digest computed while the bytes arrived, if there is one.
FileDigest verify_and_publish(const std::string& partial, const Target& t, const std::string& cache, int64_t server_size,
                              RunningDigest* known = nullptr) {
  std::optional<FileDigest> streamed = known ? known->finish() : std::nullopt;
  const FileDigest d = streamed ? *streamed : digest_file(partial, wants_md5(t));
  std::string problem;
  if (server_size >= 0 && d.size != server_size)
    problem = "size " + std::to_string(d.size) + ", the server announced " + std::to_string(server_size);
  else if (!t.accept.empty() && !matches(d, t.accept))
    problem = mismatch(d, t.accept);
  if (!problem.empty()) {
    std::error_code ec;
    fs::remove(partial, ec);
    throw SourceError(t.label + ": verification failed: " + problem, "the file was deleted, not published");
  }
  const std::string blob = blob_path(cache, d.sha256);
  std::error_code ec;
  fs::create_directories(fs::path(blob).parent_path(), ec);
  if (path_exists(blob)) fs::remove(partial, ec);
  else if (::rename(partial.c_str(), blob.c_str()) != 0)
    throw Error("cannot publish " + blob + ": " + std::strerror(errno));
  return d;
}

}  // namespace

Probe probe_from(const HttpResponse& r) {
  Probe p;
  p.validator = r.header("etag").empty() ? r.header("last-modified") : r.header("etag");
  const std::string cr = r.header("content-range");  // "bytes 0-0/12345"
  if (r.status == 206 && cr.rfind("bytes 0-0/", 0) == 0 && cr.back() != '*') {
    p.ranges = true;
    p.size = std::strtoll(cr.c_str() + 10, nullptr, 10);
  } else {
    p.size = r.content_length();
  }
  return p;
}

bool is_sha256_hex(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_safe_relative(const std::string& name) {
  const fs::path p(name);
  bool bad = name.empty() || p.is_absolute();
  for (const fs::path& part : p) bad = bad || part == ".." || part == ".";
  return !bad;
}

std::string blob_path(const std::string& cache, const std::string& sha256) {
  // Only a digest names a blob, so a path built here cannot leave <cache>/blobs.
  DLT_CHECK(is_sha256_hex(sha256), "'" + sha256 + "' is not a sha256 digest (64 lower-case hex digits)");
  return cache + "/blobs/" + sha256;
}

FileDigest download(const Target& t, const FetchOptions& o, const std::string& cache, Meter& meter) {
  // Named by a digest of the URL; the sidecar holds the URL redacted: no credential reaches the disk.
  const std::string shown_url = redact_url(t.url);
  const std::string dir = cache + "/partial", base = dir + "/" + sha256_hex(t.url);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create " + dir + ": " + ec.message(), "check that the dltrain cache is writable");
  Fd lock(base + ".lock", O_RDWR | O_CREAT);
  if (::flock(lock.get(), LOCK_EX) != 0) throw Error("cannot lock " + base + ".lock: " + std::strerror(errno));
  for (const FileVariant& v : t.accept)  // another process may have finished it while we waited
    if (!v.sha256.empty() && path_exists(blob_path(cache, v.sha256)))
      return {v.sha256, "", int64_t(file_bytes(blob_path(cache, v.sha256)))};
  const Probe p = t.known_size >= 0 && t.known_size <= o.part_size ? Probe{t.known_size, t.known_validator, false}
                                                                      : probe(t, o);
  bool size_known = t.accept.empty() || p.size < 0;
  for (const FileVariant& v : t.accept) size_known = size_known || v.size < 0 || v.size == p.size;
  if (!size_known)
    throw SourceError(t.label + ": the server has " + std::to_string(p.size) + " bytes, which matches no known form (" +
                      describe(t.accept) + ")");
  meter.set_file_total(p.size);
  const std::string partial = base + ".part", side_path = base + ".json";
  Sidecar side = path_exists(side_path) && path_exists(partial) ? Sidecar::load(side_path) : Sidecar{};
  const bool parts = p.ranges && p.size > o.part_size;
  bool same = side.url == shown_url && side.validator == p.validator && side.size == p.size &&
              (parts ? side.part_size == o.part_size && !side.done.empty() : side.done.empty());
  if (same) {
    // Read back from disk, the record must also fit the partial file: one part flag per part and
    // a file of the full size (parts), or a resume offset within the bytes on disk (one stream).
    // Otherwise resuming would leave a hole of zeros that is published when no digest is known.
    std::error_code size_ec;
    const int64_t on_disk = int64_t(fs::file_size(partial, size_ec));
    const bool fits = !size_ec && (parts ? side.part_size > 0 &&
                                               int64_t(side.done.size()) == (side.size + side.part_size - 1) / side.part_size &&
                                               on_disk == side.size
                                         : side.offset >= 0 && side.offset <= on_disk &&
                                               (side.size < 0 || side.offset <= side.size));
    if (!fits) {
      o.warn(t.label + ": " + side_path + " does not match its partial file (" + std::to_string(on_disk) +
             " bytes); starting this download over");
      same = false;
    }
  }
  if (!same) {
    side = Sidecar{shown_url, p.validator, p.size, parts ? o.part_size : 0, 0, {}, {}};
    if (parts) side.done.assign(size_t((p.size + o.part_size - 1) / o.part_size), false);
    Fd fresh(partial, O_WRONLY | O_CREAT | O_TRUNC);
    if (parts && ::ftruncate(fresh.get(), p.size) != 0) throw Error(std::string("cannot size the partial file: ") + std::strerror(errno));
    side.save(side_path);
  }
  RunningDigest digest;
  {
    Fd fd(partial, O_RDWR);
    try {
      try {
        if (parts) download_parts(t, o, p, side, side_path, fd.get(), meter);
        else download_stream(t, o, side, side_path, fd.get(), meter, digest, wants_md5(t));
      } catch (const RangesIgnored&) {
        o.warn(t.label + ": the server ignored range requests; downloading in one stream from the start");
        if (::ftruncate(fd.get(), 0) != 0) throw Error(std::string("cannot truncate: ") + std::strerror(errno));
        meter.begin_file(t.label, p.size);
        side = Sidecar{shown_url, p.validator, p.size, 0, 0, {}, {}};
        side.save(side_path);
        download_stream(t, o, side, side_path, fd.get(), meter, digest, wants_md5(t));
      }
    } catch (const RefusedAnswer&) {  // not the file, and another try would not make it one
      fs::remove(partial, ec);
      fs::remove(side_path, ec);
      throw;
    }
  }
  const FileDigest d = verify_and_publish(partial, t, cache, p.size, parts ? nullptr : &digest);
  fs::remove(side_path, ec);
  return d;
}

namespace {

// The copies a killed import left behind: <prefix><pid>-<n>.part whose process no longer exists
// (kill(pid, 0) says ESRCH). A live process's copy, or a name of another form, is left alone.
void remove_orphaned_copies(const std::string& dir, const std::string& prefix) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0 || !name.ends_with(".part"))
      continue;
    const char *first = name.data() + prefix.size(), *last = name.data() + name.size();
    pid_t pid = 0;
    const auto [rest, err] = std::from_chars(first, last, pid);
    if (err != std::errc{} || pid <= 0 || rest == last || *rest != '-') continue;
    if (::kill(pid, 0) != 0 && errno == ESRCH) {
      std::error_code ignored;
      fs::remove(it->path(), ignored);
    }
  }
}

}  // namespace

FileDigest import_local(const std::string& path, const Target& expect, const std::string& cache, Meter& meter) {
  if (!is_file(path)) throw SourceError(path + ": no such file");
  // One partial file per process and call: two processes importing the same file must not share it
  // (one would publish or delete the copy the other is still writing or hashing).
  static std::atomic<uint64_t> calls{0};
  const std::string dir = cache + "/partial", prefix = sha256_hex("local:" + path) + ".",
                    partial = dir + "/" + prefix + std::to_string(::getpid()) + "-" + std::to_string(calls++) + ".part";
  std::error_code ec;
  fs::create_directories(dir, ec);
  remove_orphaned_copies(dir, prefix);
  struct Remove {  // what verification did not publish or delete
    std::string path;
    ~Remove() {
      std::error_code ec;
      fs::remove(path, ec);
    }
  } remove_partial{partial};
  // A copy, not a hard link: the cache must not change when the user edits the original later.
  // (copy_file uses copy_file_range, which shares blocks on file systems that can.)
  fs::copy_file(path, partial, fs::copy_options::overwrite_existing, ec);
  if (ec) throw Error(path + ": cannot copy it into the cache (" + partial + "): " + ec.message());
  const FileDigest d = verify_and_publish(partial, expect, cache, -1);
  meter.add(d.size, false);
  return d;
}

}  // namespace dltrain::fetch_detail
