// Helpers shared by the fuzz targets in this folder: a private scratch folder per process, files
// written into it, and inputs cut into parts. Not part of the library.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "dltrain/core.hpp"  // dltrain::Error, which every target catches

namespace fuzz {

// A folder of this process's own under $TMPDIR, removed at exit. (The path lives on the heap for
// good: a static std::string would be destroyed before the atexit handler that needs it runs.)
inline const std::string& scratch() {
  static const std::string* dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    auto* path = new std::string(std::string(tmp && *tmp ? tmp : "/tmp") + "/dltrain-fuzz-XXXXXX");
    if (!::mkdtemp(path->data())) std::abort();
    std::atexit([] { std::error_code ec; std::filesystem::remove_all(scratch(), ec); });
    return path;
  }();
  return *dir;
}

// Writes `bytes` to scratch()/name (replacing it) and returns the path.
inline std::string write(const std::string& name, std::string_view bytes) {
  const std::string path = scratch() + "/" + name;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size()));
  return path;
}

// Empties scratch()/name (a folder) and returns its path.
inline std::string fresh_dir(const std::string& name) {
  const std::string path = scratch() + "/" + name;
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  std::filesystem::create_directories(path);
  return path;
}

// A clean refusal names what it is about (issue 16: "every error names the file"): an Error whose
// message lacks `what` (the file's path, or the URI) is a finding, like a crash.
inline void refused(const dltrain::Error& e, const std::string& what) {
  if (std::string_view(e.what()).find(what) != std::string_view::npos) return;
  std::fprintf(stderr, "the error does not name %s: %s\n", what.c_str(), e.what());
  std::abort();
}

inline std::string_view bytes(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The input cut at every "\n--8<--\n" (so a multi-file input stays readable in the corpus);
// always `n` parts, the missing ones empty.
inline std::vector<std::string_view> parts(std::string_view in, size_t n) {
  static constexpr std::string_view cut = "\n--8<--\n";
  std::vector<std::string_view> out;
  while (out.size() + 1 < n) {
    const size_t at = in.find(cut);
    if (at == std::string_view::npos) break;
    out.push_back(in.substr(0, at));
    in.remove_prefix(at + cut.size());
  }
  out.push_back(in);
  out.resize(n);
  return out;
}

}  // namespace fuzz
