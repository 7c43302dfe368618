// Atomic file writes (temp file + fsync + rename) and whole-file reads.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dltrain/io.hpp"
#include "dltrain/path.hpp"

namespace dltrain {

void write_file_atomic(const std::string& path, std::string_view content, bool durable) {
  // pid and a per-process count: two threads writing the same file never share a temporary.
  static std::atomic<uint64_t> writes{0};
  const std::filesystem::path target(path);
  const std::string tmp = (target.parent_path() / ("." + target.filename().string() + ".tmp." +
                                                   std::to_string(::getpid()) + "." + std::to_string(++writes))).string();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot write " + path + ": " + std::strerror(errno), "check that the folder exists and is writable");
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error("cannot write " + path + ": " + why, "is the disk full?");
    }
    done += size_t(n);
  }
  if ((durable && ::fsync(fd) != 0) || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw Error("cannot write " + path + ": " + why);
  }
}

std::string read_file(const std::string& path) {
  require_file(path);
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open for reading");
  std::ostringstream s;
  s << f.rdbuf();
  if (!f.good() && !f.eof()) throw Error(path + ": read failed");
  return s.str();
}

std::vector<std::string> text_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

}  // namespace dltrain
