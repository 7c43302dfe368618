// Safe archive extraction with libarchive: everything is checked before anything is written, and
// an archive with one bad member is refused whole.
#include <archive.h>
#include <archive_entry.h>

#include <filesystem>
#include <memory>

#include "dltrain/core.hpp"
#include "dltrain/fetch.hpp"

namespace fs = std::filesystem;

namespace dltrain {
namespace {

using Archive = std::unique_ptr<archive, int (*)(archive*)>;

Archive open_reader(const std::string& path, bool raw_gzip) {
  Archive a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  if (raw_gzip) archive_read_support_format_raw(a.get());
  else archive_read_support_format_all(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    throw Error(path + ": not a readable archive (" + archive_error_string(a.get()) + ")");
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

}  // namespace

std::vector<std::string> extract_archive(const std::string& path, const std::string& dest) {
  const bool raw_gzip = !is_tar_like(path) && path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  // Pass 1: check every member.
  {
    Archive a = open_reader(path, raw_gzip);
    archive_entry* e = nullptr;
    int rc;
    while ((rc = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
      const std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
      if (raw_gzip) break;
      const fs::path rel = safe_relative(path, name);
      const mode_t type = archive_entry_filetype(e);
      if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
        throw Error(path + ": member '" + name + "' is a device file, FIFO or socket");
      if (const char* target = archive_entry_hardlink(e)) safe_relative(path, target);
      if (type == AE_IFLNK) {
        const std::string target = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
        const fs::path resolved = (rel.parent_path() / target).lexically_normal();
        if (fs::path(target).is_absolute() || resolved.empty() || *resolved.begin() == "..")
          throw Error(path + ": link '" + name + "' points outside the destination ('" + target + "')");
      }
      archive_read_data_skip(a.get());
    }
    if (rc != ARCHIVE_EOF && !raw_gzip) throw Error(path + ": damaged archive (" + archive_error_string(a.get()) + ")");
  }
  // Pass 2: write, with libarchive's own guards on as well.
  std::vector<std::string> out;
  fs::create_directories(dest);
  Archive a = open_reader(path, raw_gzip);
  Archive w(archive_write_disk_new(), archive_write_free);
  // Targets are absolute (dest + a name checked in pass 1), so only these two guards apply.
  archive_write_disk_set_options(w.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                              ARCHIVE_EXTRACT_SECURE_SYMLINKS);
  archive_entry* e = nullptr;
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK) {
    fs::path rel = raw_gzip ? fs::path(path).filename().replace_extension("") : safe_relative(path, archive_entry_pathname(e));
    const fs::path target = fs::path(dest) / rel;
    archive_entry_set_pathname(e, target.c_str());
    if (const char* link = archive_entry_hardlink(e)) archive_entry_set_hardlink(e, (fs::path(dest) / link).c_str());
    if (raw_gzip) archive_entry_set_perm(e, 0644), archive_entry_set_filetype(e, AE_IFREG);
    if (archive_write_header(w.get(), e) != ARCHIVE_OK)
      throw Error(path + ": cannot extract '" + rel.string() + "': " + archive_error_string(w.get()));
    const void* buf;
    size_t size;
    la_int64_t offset;
    int rc;
    while ((rc = archive_read_data_block(a.get(), &buf, &size, &offset)) == ARCHIVE_OK)
      if (archive_write_data_block(w.get(), buf, size, offset) != ARCHIVE_OK)
        throw Error(path + ": writing '" + rel.string() + "' failed: " + archive_error_string(w.get()));
    if (rc != ARCHIVE_EOF) throw Error(path + ": damaged data in '" + rel.string() + "'");
    archive_write_finish_entry(w.get());
    out.push_back(target.string());
  }
  return out;
}

}  // namespace dltrain
