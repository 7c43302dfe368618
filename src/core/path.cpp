// Checked file-system queries on user-given paths, and rethrow_naming (include/dltrain/path.hpp).
#include "dltrain/path.hpp"

#include <cerrno>
#include <filesystem>
#include <new>
#include <nlohmann/json.hpp>

namespace dltrain {
namespace fs = std::filesystem;

namespace {
[[noreturn]] void fail(const std::string& path, const std::string& what, const std::error_code& ec) {
  std::string why = ec.message();
  if (ec.value() == ENOTDIR) why = "a part of the path is a file, not a folder";
  throw Error(path + ": " + what + (what.empty() ? "" : ": ") + why, "check the path");
}

PathKind kind_of(const fs::file_status& st) {
  switch (st.type()) {
    case fs::file_type::not_found: return PathKind::none;
    case fs::file_type::regular: return PathKind::file;
    case fs::file_type::directory: return PathKind::directory;
    default: return PathKind::other;
  }
}

void require(const std::string& path, PathKind want) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec && ec.value() != ENOENT) fail(path, "", ec);  // ENOTDIR too: say which part is wrong
  const PathKind kind = kind_of(st);
  if (kind == want) return;
  const std::string wanted = want == PathKind::file ? "file" : "folder";
  switch (kind) {
    case PathKind::none: throw Error(path + ": no such " + wanted, "check the path");
    case PathKind::file: throw Error(path + ": is a file, not a folder", "give the folder that holds it");
    case PathKind::directory: throw Error(path + ": is a folder, not a file", "give a file inside it");
    default: throw Error(path + ": is not a regular " + wanted + " (a device, FIFO or socket)", "check the path");
  }
}
}  // namespace

PathKind path_kind(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec && ec.value() != ENOENT && ec.value() != ENOTDIR) fail(path, "", ec);
  return kind_of(st);
}

void require_file(const std::string& path) { require(path, PathKind::file); }
void require_folder(const std::string& path) { require(path, PathKind::directory); }

uint64_t file_bytes(const std::string& path) {
  std::error_code ec;
  const uintmax_t n = fs::file_size(path, ec);
  if (ec) fail(path, "cannot read its size", ec);
  return n;
}

void make_folders(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) fail(path, "cannot create the folder", ec);
}

std::vector<std::string> folder_entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) out.push_back(it->path().string());
  if (ec) fail(dir, "cannot list the folder", ec);
  return out;
}

void rethrow_naming(const std::string& what) {
  const auto named = [&](const std::string& message) {
    return message.find(what) != std::string::npos ? message : what + ": " + message;
  };
  try {
    throw;
  } catch (const Error& e) {
    if (std::string_view(e.what()).find(what) != std::string_view::npos) throw;
    throw Error(named(e.what()), e.hint(), e.where());
  } catch (const nlohmann::json::exception& e) {
    throw Error(named(std::string("malformed JSON (") + e.what() + ")"), "the file is damaged or hand-edited");
  } catch (const fs::filesystem_error& e) {  // "filesystem error: cannot create directories: Not a directory [x/y]"
    std::string_view m = e.what();
    if (m.starts_with("filesystem error: ")) m.remove_prefix(18);
    throw Error(named(std::string(m)), "check the path");
  } catch (const std::bad_alloc&) {
    throw Error(what + ": out of memory while reading it", "the file asks for more memory than this machine has");
  } catch (const std::exception& e) {
    throw Error(named(e.what()), "the file is damaged, or was not written for dltrain");
  }
}

}  // namespace dltrain
