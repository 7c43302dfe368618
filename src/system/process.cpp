// run_program: posix_spawnp with an argument vector (never a shell), optionally capturing output.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dltrain/core.hpp"
#include "dltrain/system.hpp"

extern char** environ;

namespace dltrain {
namespace {

int spawn_and_wait(const std::vector<std::string>& argv, int out_fd) {
  DLT_CHECK(!argv.empty(), "no program to run");
  std::vector<std::string> args = argv;
  std::vector<char*> ptrs;
  for (std::string& a : args) ptrs.push_back(a.data());
  ptrs.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (out_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
  }
  pid_t pid = 0;
  const int err = posix_spawnp(&pid, ptrs[0], &fa, nullptr, ptrs.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) throw Error("cannot run " + argv[0] + ": " + std::strerror(err));
  if (out_fd >= 0) ::close(out_fd);
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw Error(std::string("waiting for a child process failed: ") + std::strerror(errno));
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

int run_program(const std::vector<std::string>& argv) { return wait_for(spawn_and_wait(argv, -1)); }

int run_program(const std::vector<std::string>& argv, std::string& output) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(std::string("pipe failed: ") + std::strerror(errno));
  pid_t pid = 0;
  try {
    pid = spawn_and_wait(argv, fds[1]);
  } catch (...) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw;
  }
  output.clear();
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    output.append(buf, size_t(n));
  }
  ::close(fds[0]);
  return wait_for(pid);
}

}  // namespace dltrain
