// Safe archive extraction with libarchive: every member is checked before anything is written,
// everything is written into a fresh folder next to the destination and moved into it only when
// the whole archive succeeded, and the bytes written are capped (ExtractLimits). It does not
// decide which files are archives: fetch() does.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include "dltrain/core.hpp"
#include "dltrain/fetch.hpp"
#include "dltrain/path.hpp"

namespace fs = std::filesystem;

namespace dltrain {
namespace {

using Archive = std::unique_ptr<archive, int (*)(archive*)>;

// libarchive's message for the last error; it has none for some failures (a damaged zip's
// central directory), and a null char* in a string concatenation crashed (found by fuzzing).
std::string error_text(struct archive* a) {
  const char* e = archive_error_string(a);
  return e ? e : "libarchive gave no reason";
}

Archive open_reader(const std::string& path, bool raw_gzip) {
  Archive a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  if (raw_gzip) archive_read_support_format_raw(a.get());
  else archive_read_support_format_all(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    throw Error(path + ": not a readable archive (" + error_text(a.get()) + ")");
  return a;
}

// A member name reduced to a safe relative path, or an error naming what is wrong.
fs::path safe_relative(const std::string& archive_path, const std::string& name) {
  const fs::path p(name);
  if (p.is_absolute() || name.rfind('/', 0) == 0) throw Error(archive_path + ": member '" + name + "' has an absolute path");
  for (const fs::path& part : p)
    if (part == "..") throw Error(archive_path + ": member '" + name + "' climbs out with '..'");
  return p.lexically_normal();
}

bool is_tar_like(const std::string& path) {
  for (const char* ext : {".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".zip"})
    if (path.size() >= std::string(ext).size() && path.compare(path.size() - std::string(ext).size(), std::string::npos, ext) == 0)
      return true;
  return false;
}

std::string gib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", double(bytes) / double(int64_t(1) << 30));
  return buf;
}

// The most bytes this archive may extract to: min(max_bytes, max(floor, max_ratio * its size)).
int64_t allowed_bytes(const std::string& path, const ExtractLimits& limits) {
  const double by_ratio = limits.max_ratio * double(file_bytes(path));
  const double allowed = std::min(double(limits.max_bytes), std::max(double(limits.ratio_floor), by_ratio));
  return int64_t(allowed);
}

[[noreturn]] void too_large(const std::string& path, int64_t extracted, int64_t allowed, const ExtractLimits& limits) {
  throw Error(path + ": extracts to more than " + std::to_string(allowed) + " bytes (" + gib(allowed) + "; " +
                  std::to_string(extracted) + " bytes reached), over the limit for this archive",
              "the limit is the smaller of " + std::to_string(limits.max_bytes) + " bytes and " +
                  std::to_string(limits.max_ratio) + " times the archive's size (at least " +
                  std::to_string(limits.ratio_floor) + " bytes); raise it with --max-extract SIZE and "
                  "--max-extract-ratio R (or DLTRAIN_MAX_EXTRACT, DLTRAIN_MAX_EXTRACT_RATIO) if the archive is trusted");
}

// Pass 1: every member's name, type, link target and declared size, before anything is written.
void check_members(const std::string& path, int64_t allowed, const ExtractLimits& limits) {
  Archive a = open_reader(path, false);
  std::set<fs::path> files, links;  // regular files (and hard links to them), symbolic links so far
  std::vector<std::pair<fs::path, std::string>> symlinks;
  int64_t declared = 0;
  archive_entry* e = nullptr;
  int rc;
  while ((rc = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
    const std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    if (name.empty()) throw Error(path + ": a member has no name", "the archive is damaged or hand-made");
    const fs::path rel = safe_relative(path, name);
    const mode_t type = archive_entry_filetype(e);
    // Only a folder may be the destination itself ("./" in a tar); a file named "" or "." would
    // replace the staging folder (found by fuzzing).
    if ((rel.empty() || rel == ".") && type != AE_IFDIR) throw Error(path + ": member '" + name + "' has no name");
    if (const char* target = archive_entry_hardlink(e)) {
      // A hard link is another name for an earlier regular file of this archive, nothing else.
      const fs::path to = safe_relative(path, target);
      if (!files.contains(to))
        throw Error(path + ": hard link '" + name + "' points to '" + target +
                    "', which is not an earlier regular file of the archive");
      files.insert(rel);
    } else if (type == AE_IFREG) {
      files.insert(rel);
    } else if (type == AE_IFLNK) {
      const std::string target = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
      const fs::path resolved = (rel.parent_path() / target).lexically_normal();
      if (fs::path(target).is_absolute() || resolved.empty() || *resolved.begin() == "..")
        throw Error(path + ": link '" + name + "' points outside the destination ('" + target + "')");
      links.insert(rel);
      symlinks.emplace_back(rel, target);
    } else if (type != AE_IFDIR) {
      throw Error(path + ": member '" + name + "' is a device file, FIFO or socket");
    }
    // Every member costs at least a file system block, so millions of empty members (inodes, not
    // bytes) run into the same limit as large ones.
    constexpr int64_t member_cost = 4096;
    declared += member_cost + (archive_entry_size_is_set(e) ? std::max<int64_t>(archive_entry_size(e), 0) : 0);
    if (declared > allowed) too_large(path, declared, allowed, limits);
    archive_read_data_skip(a.get());
  }
  if (rc != ARCHIVE_EOF) throw Error(path + ": damaged archive (" + error_text(a.get()) + ")");
  // Checked lexically above, a link could still leave through another link ("a" -> "..", then
  // "b" -> "x/../a/.."): no link's target may pass through a link of the archive.
  for (const auto& [rel, target] : symlinks) {
    fs::path at = rel.parent_path();
    for (const fs::path& part : fs::path(target)) {
      if (part == "." || part.empty()) continue;
      at = part == ".." ? at.parent_path() : at / part;
      if (links.contains(at.lexically_normal()))
        throw Error(path + ": link '" + rel.string() + "' points through another link ('" + at.string() + "')");
    }
  }
}

}  // namespace

ExtractLimits ExtractLimits::from_environment() {
  ExtractLimits l;
  if (const char* v = std::getenv("DLTRAIN_MAX_EXTRACT"); v && *v) l.max_bytes = parse_size(v, "DLTRAIN_MAX_EXTRACT");
  if (const char* v = std::getenv("DLTRAIN_MAX_EXTRACT_RATIO"); v && *v) {
    char* end = nullptr;
    l.max_ratio = std::strtod(v, &end);
    if (end == v || *end || !(l.max_ratio > 0))
      throw Error(std::string("DLTRAIN_MAX_EXTRACT_RATIO=") + v + ": not a positive number", "e.g. 500");
  }
  return l;
}

int64_t parse_size(const std::string& s, const std::string& what) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  const std::string unit = end;
  const double scale = unit.empty() || unit == "B" ? 1
                       : unit == "k" || unit == "K" ? 1e3
                       : unit == "M"                ? 1e6
                       : unit == "G"                ? 1e9
                       : unit == "T"                ? 1e12
                       : unit == "Ki"               ? 1024.0
                       : unit == "Mi"               ? 1024.0 * 1024
                       : unit == "Gi"               ? 1024.0 * 1024 * 1024
                       : unit == "Ti"               ? 1024.0 * 1024 * 1024 * 1024
                                                    : -1;
  if (end == s.c_str() || !(v > 0) || scale < 0 || v * scale > 9e18)
    throw Error(what + " " + s + ": not a size", "write bytes, optionally with k, M, G, T (powers of 1000) or Ki, Mi, Gi, Ti: 16Gi");
  return int64_t(v * scale);
}

namespace {
std::vector<std::string> extract_unnamed(const std::string& path, const std::string& dest, const ExtractLimits& limits) {
  require_file(path);
  const bool raw_gzip = !is_tar_like(path) && path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  const int64_t allowed = allowed_bytes(path, limits);
  if (!raw_gzip) check_members(path, allowed, limits);

  // Pass 2: write into a fresh folder beside dest, with libarchive's own guards on as well. One
  // extraction into dest at a time (two fetches of one archive would replace each other's folders).
  make_folders(dest);
  fs::path final_dir = fs::absolute(dest).lexically_normal();
  if (final_dir.filename().empty()) final_dir = final_dir.parent_path();  // "out/" names "out"
  const std::string lock_path = (final_dir.parent_path() / ("." + final_dir.filename().string() + ".extract.lock")).string();
  struct Lock {
    int fd;
    ~Lock() {
      if (fd >= 0) ::close(fd);
    }
  } lock{::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)};
  if (lock.fd < 0 || ::flock(lock.fd, LOCK_EX) != 0)
    throw Error("cannot lock " + lock_path + ": " + std::strerror(errno), "check that the folder is writable");
  const fs::path staging = final_dir.parent_path() /
                           ("." + final_dir.filename().string() + ".extracting-" + std::to_string(::getpid()));
  fs::remove_all(staging);
  fs::create_directories(staging);
  struct Cleanup {  // a refused or failed archive leaves nothing of itself
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{staging};

  std::vector<fs::path> written;
  Archive a = open_reader(path, raw_gzip);
  Archive w(archive_write_disk_new(), archive_write_free);
  // Targets are absolute (staging + a name checked in pass 1), so only these two guards apply.
  archive_write_disk_set_options(w.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                              ARCHIVE_EXTRACT_SECURE_SYMLINKS);
  int64_t extracted = 0;
  archive_entry* e = nullptr;
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK) {
    const char* name = archive_entry_pathname(e);
    fs::path rel = raw_gzip ? fs::path(path).filename().replace_extension("") : safe_relative(path, name ? name : "");
    if (rel.empty() || rel == ".") {  // the destination folder itself: it exists (pass 1 refused anything else)
      if (archive_entry_filetype(e) != AE_IFDIR) throw Error(path + ": member '" + (name ? name : "") + "' has no name");
      archive_read_data_skip(a.get());
      continue;
    }
    const fs::path target = staging / rel;
    archive_entry_set_pathname(e, target.c_str());
    if (const char* link = archive_entry_hardlink(e)) archive_entry_set_hardlink(e, (staging / safe_relative(path, link)).c_str());
    if (raw_gzip) archive_entry_set_perm(e, 0644), archive_entry_set_filetype(e, AE_IFREG);
    if (archive_write_header(w.get(), e) != ARCHIVE_OK)
      throw Error(path + ": cannot extract '" + rel.string() + "': " + error_text(w.get()));
    const void* buf;
    size_t size;
    la_int64_t offset;
    int rc;
    int64_t end = 0;  // the member's logical size so far (sparse holes count)
    while ((rc = archive_read_data_block(a.get(), &buf, &size, &offset)) == ARCHIVE_OK) {
      if (offset + int64_t(size) > end) {
        extracted += offset + int64_t(size) - end;
        end = offset + int64_t(size);
      }
      if (extracted > allowed) too_large(path, extracted, allowed, limits);
      if (archive_write_data_block(w.get(), buf, size, offset) != ARCHIVE_OK)
        throw Error(path + ": writing '" + rel.string() + "' failed: " + error_text(w.get()));
    }
    if (rc != ARCHIVE_EOF) throw Error(path + ": damaged data in '" + rel.string() + "'");
    if (archive_write_finish_entry(w.get()) != ARCHIVE_OK)
      throw Error(path + ": cannot finish '" + rel.string() + "': " + error_text(w.get()));
    written.push_back(rel);
  }
  if (archive_write_close(w.get()) != ARCHIVE_OK)  // applies directory times and modes
    throw Error(path + ": cannot finish extracting: " + error_text(w.get()));

  // Everything is there: move each top-level entry into dest, replacing what an earlier
  // extraction of it left (rename replaces names, never writes into a file the cache links to).
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(staging)) {
    const fs::path to = final_dir / entry.path().filename();
    std::error_code ec;
    if (fs::exists(fs::symlink_status(to, ec))) fs::remove_all(to);  // a link: only the link goes
    fs::rename(entry.path(), to, ec);
    if (ec == std::errc::cross_device_link) {  // dest is a mount point: copy, then drop the staged copy
      fs::copy(entry.path(), to, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
      ec.clear();
    }
    if (ec) throw Error(path + ": cannot move '" + entry.path().filename().string() + "' into " + final_dir.string() + ": " +
                        ec.message());
  }
  for (const fs::path& rel : written) out.push_back((final_dir / rel).string());
  return out;
}
}  // namespace

// Every error names the archive, a file-system failure in pass 2 (a full disk, a file where the
// destination folder should be) included.
std::vector<std::string> extract_archive(const std::string& path, const std::string& dest, const ExtractLimits& limits) {
  return naming(path, [&] { return extract_unnamed(path, dest, limits); });
}

}  // namespace dltrain
