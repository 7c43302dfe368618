// Files of a transfer: an owned descriptor, whole reads and writes at an offset, and the 1 MiB
// write buffer a download streams into. Internal to fetch/.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "dltrain/core.hpp"

namespace dltrain::fetch_detail {

class Fd {
 public:
  Fd(const std::string& path, int flags) : fd_(::open(path.c_str(), flags | O_CLOEXEC, 0644)) {
    if (fd_ < 0) throw Error("cannot open " + path + ": " + std::strerror(errno));
  }
  ~Fd() { ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};


// Writes all `n` bytes at `offset` (retrying short writes); throws Error ("is the disk full?").
void pwrite_all(int fd, const char* data, size_t n, int64_t offset);
// Reads exactly `n` bytes at `offset`; throws Error naming `path` when the file is shorter.
std::string pread_all(int fd, int64_t offset, int64_t n, const std::string& path);

// Gathers libcurl's pieces into 1 MiB writes, and starts the disk writing each one at once
// (sync_file_range, which does not wait), so the fdatasync that makes the file durable before it
// is published has little left to do. flush() before anything relies on the disk.
class WriteBuffer {
 public:
  // `sink`, when set, takes each written buffer (and its file offset) and returns an empty one to
  // fill next: the one-stream download hands its bytes to the hashing thread without a copy.
  using Sink = std::function<std::vector<char>(std::vector<char>&&, int64_t)>;
  explicit WriteBuffer(int fd, Sink sink = {}) : fd_(fd), sink_(std::move(sink)) { buf_.reserve(1 << 20); }
  void write(const char* d, size_t n, int64_t offset) {
    if (!buf_.empty() && offset != start_ + int64_t(buf_.size())) flush();
    if (buf_.empty()) start_ = offset;
    buf_.insert(buf_.end(), d, d + n);
    if (buf_.size() >= (1 << 20)) flush();
  }
  void flush() {
    if (!buf_.empty()) {
      pwrite_all(fd_, buf_.data(), buf_.size(), start_);
      ::sync_file_range(fd_, start_, off64_t(buf_.size()), SYNC_FILE_RANGE_WRITE);  // a hint; errors show at fdatasync
      if (sink_) buf_ = sink_(std::move(buf_), start_);
    }
    buf_.clear();
    buf_.reserve(1 << 20);
  }
  void discard() { buf_.clear(); }

 private:
  int fd_;
  Sink sink_;
  int64_t start_ = 0;
  std::vector<char> buf_;
};

}  // namespace dltrain::fetch_detail
