// Files a user names: checked file-system queries that fail as dltrain::Error (never
// std::filesystem::filesystem_error), and naming the file in errors raised while reading one.
// Part of core; no file formats live here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dltrain/core.hpp"

namespace dltrain {

// What is at `path`. A path that does not exist, or runs through a regular file (ENOTDIR), is
// `none`; any other failure (a name too long, a loop of links, no permission) is an Error naming
// the path and the reason.
enum class PathKind { none, file, directory, other };
PathKind path_kind(const std::string& path);
inline bool is_file(const std::string& path) { return path_kind(path) == PathKind::file; }
inline bool is_folder(const std::string& path) { return path_kind(path) == PathKind::directory; }
inline bool path_exists(const std::string& path) { return path_kind(path) != PathKind::none; }

// Errors naming the path unless it is a regular file (resp. a folder): "no such file", "is a
// folder, not a file", "a part of the path is a file", "File name too long"...
void require_file(const std::string& path);
void require_folder(const std::string& path);

uint64_t file_bytes(const std::string& path);                 // Error naming the path on failure
void make_folders(const std::string& path);                   // create_directories, Error naming it
std::vector<std::string> folder_entries(const std::string& dir);  // full paths, unsorted, Error naming dir

// Inside a catch block: rethrows the exception in flight as an Error whose message starts with
// `what` (a path, or an argument such as "--model"), unless it already names it. A dltrain::Error
// keeps its hint and location; a JSON, file-system, range or allocation error becomes an Error too,
// so readers of user files only ever throw dltrain::Error.
[[noreturn]] void rethrow_naming(const std::string& what);

// Runs f(); any exception leaving it is rethrown by rethrow_naming(what).
template <class F>
auto naming(const std::string& what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (...) {
    rethrow_naming(what);
  }
}

}  // namespace dltrain
