// RunLock: one training per run folder. flock on <run_dir>/.lock (released by the kernel when the
// process ends, however it ends); the file holds the holder's pid for the message the next one
// gets. Not a lock between threads: Trainers of one process share it (resume tests, a front end
// that resumes what it just stopped).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

#include "dltrain/train.hpp"

namespace fs = std::filesystem;

namespace dltrain {
namespace {
struct Held {
  int fd = -1;
  int users = 0;
};
std::mutex held_mu;
std::map<std::string, Held>& held() {
  static std::map<std::string, Held> m;
  return m;
}
std::string key_of(int fd) {
  struct stat st{};
  ::fstat(fd, &st);
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}
}  // namespace

RunLock::RunLock(const std::string& run_dir) {
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec) throw Error("cannot create run folder " + run_dir + ": " + ec.message());
  const std::string path = run_dir + "/.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot open " + path + ": " + std::strerror(errno), "check that the run folder is writable");
  const std::string key = key_of(fd);
  std::lock_guard lock(held_mu);
  if (auto it = held().find(key); it != held().end()) {  // this process holds it already
    ::close(fd);
    ++it->second.users;
    fd_ = it->second.fd;
    return;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    std::string pid = n > 0 ? std::string(buf, size_t(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    if (err != EWOULDBLOCK) throw Error("cannot lock " + path + ": " + std::strerror(err));
    throw Error(run_dir + " is in use by another training (pid " + (pid.empty() ? "unknown" : pid) + ")",
                "wait for it to finish, stop it (Ctrl-C keeps its last finished epoch), or choose another --run-dir");
  }
  const std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) != ssize_t(me.size())) {
    // The lock holds without the pid; the message to a second training just cannot name it.
  }
  held()[key] = {fd, 1};
  fd_ = fd;
}

RunLock::~RunLock() {
  std::lock_guard lock(held_mu);
  for (auto it = held().begin(); it != held().end(); ++it)
    if (it->second.fd == fd_) {
      if (--it->second.users == 0) {
        ::close(fd_);  // releases the flock
        held().erase(it);
      }
      return;
    }
}

}  // namespace dltrain
