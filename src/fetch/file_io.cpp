// Whole reads and writes at an offset.
#include "file_io.hpp"

namespace dltrain::fetch_detail {

void pwrite_all(int fd, const char* data, size_t n, int64_t offset) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, data, n, offset);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw Error(std::string("writing the partial download failed: ") + std::strerror(errno), "is the disk full?");
    data += w, n -= size_t(w), offset += w;
  }
}

std::string pread_all(int fd, int64_t offset, int64_t n, const std::string& path) {
  std::string out(size_t(n), '\0');
  for (int64_t got = 0; got < n;) {
    const ssize_t r = ::pread(fd, out.data() + got, size_t(n - got), offset + got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw Error(path + ": " + (r < 0 ? std::strerror(errno) : "the file became shorter while it was read"));
    got += r;
  }
  return out;
}

}  // namespace dltrain::fetch_detail
