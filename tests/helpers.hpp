// Test helpers: seeded random tensors, comparisons that print the first mismatches and the
// largest difference, temporary folders, and where the test data lives.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "dltrain/core.hpp"
#include "dltrain/io.hpp"

namespace dltrain::test {

inline Tensor random_tensor(Shape s, uint64_t seed, float lo = -1, float hi = 1) {
  Tensor t(s);
  Rng rng(seed);
  for (float& v : t.values()) v = rng.uniform(lo, hi);
  return t;
}

// Passes when |a - b| <= tol * max(1, |b|) elementwise (b is the reference).
inline ::testing::AssertionResult close(std::span<const float> a, std::span<const float> b, double tol) {
  if (a.size() != b.size())
    return ::testing::AssertionFailure() << "sizes differ: " << a.size() << " vs " << b.size();
  double worst = 0;
  size_t worst_at = 0, bad = 0;
  std::string first;
  for (size_t i = 0; i < a.size(); ++i) {
    const double err = std::abs(double(a[i]) - b[i]) / std::max(1.0, std::abs(double(b[i])));
    if (!(err <= tol)) {
      if (++bad <= 5) first += "\n  [" + std::to_string(i) + "] " + std::to_string(a[i]) + " vs " + std::to_string(b[i]);
    }
    if (!(err <= worst)) worst = err, worst_at = i;
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << a.size() << " differ beyond " << tol << "; largest error "
                                       << worst << " at " << worst_at << first;
}
inline ::testing::AssertionResult close(const Tensor& a, const Tensor& b, double tol) {
  if (!(a.shape() == b.shape()))
    return ::testing::AssertionFailure() << "shapes differ: " << a.shape().str() << " vs " << b.shape().str();
  return close(a.values(), b.values(), tol);
}

// A fresh empty folder, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dltrain-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Real Fashion-MNIST IDX files (Debian's dataset-fashion-mnist), or "" when absent.
inline std::string fashion_mnist_dir() {
  const char* env = std::getenv("DLTRAIN_FASHION_MNIST");
  const std::string dir = env && *env ? env : "/usr/share/datasets/fashion-mnist";
  return std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz") ? dir : "";
}

#define DLTRAIN_REQUIRE_FASHION_MNIST()                                                              \
  if (::dltrain::test::fashion_mnist_dir().empty())                                                  \
  GTEST_SKIP() << "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist, or set " \
                  "DLTRAIN_FASHION_MNIST to a folder of its IDX files)"

inline std::string golden(const std::string& name) { return std::string(DLTRAIN_SOURCE_DIR) + "/tests/golden/" + name; }

// `n` seeded random bytes.
inline std::string random_bytes(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = char(rng.below(256));
  return s;
}

// Writes `data` to `path`, creating its folders.
inline void write(const std::string& path, const std::string& data) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

}  // namespace dltrain::test

#include <signal.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace dltrain::test {

// A helper server (one of tests/servers/*.py) running for the life of the object. The first line
// it prints tells how to reach it.
class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> argv) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    char c;
    while (pid_ > 0 && ::read(fds[0], &c, 1) == 1 && c != '\n') first_line_ += c;
    ::close(fds[0]);
  }
  ~ServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  const std::string& first_line() const { return first_line_; }
  bool running() const { return pid_ > 0 && !first_line_.empty(); }

 private:
  pid_t pid_ = -1;
  std::string first_line_;
};

inline std::string servers_dir() { return std::string(DLTRAIN_SOURCE_DIR) + "/tests/servers"; }

struct Result {
  int code = -1;  // exit status, or 128 + the signal that ended it
  std::string out, err;
};

// Runs a program (argv[0] looked up on PATH) with stdout and stderr captured. `env_extra`
// ("NAME=value") is put before the environment, so its entries win; `during(pid)` runs while the
// program does.
inline Result run(std::vector<std::string> args, std::vector<std::string> env_extra = {},
                  const std::function<void(pid_t)>& during = {}) {
  TempDir io;
  const std::string out = io / "out", err = io / "err";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_store = std::move(env_extra);
  for (char** e = environ; *e; ++e) env_store.emplace_back(*e);  // earlier entries win
  std::vector<char*> envp;
  for (std::string& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  Result r;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return r;
  if (during) during(pid);
  int status = 0;
  waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

}  // namespace dltrain::test
