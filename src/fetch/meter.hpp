// Progress for one fetch or push (reported at most 5 times a second) and its bandwidth cap: add()
// sleeps the calling connection until all connections together are within --limit-rate.
// (libcurl's own limiter lets short transfers through unthrottled.) The caller sets the totals.
// Internal to fetch/.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "dltrain/fetch.hpp"

namespace dltrain::fetch_detail {

class Meter {
 public:
  explicit Meter(const FetchOptions& o) : options_(o), began_(std::chrono::steady_clock::now()) {}
  void begin_file(const std::string& label, int64_t size);
  // Bytes done; `moved` ones crossed the network now (received or sent) and count against the cap,
  // others (found on disk, already on the server) only advance the progress.
  void add(int64_t bytes, bool moved = true);
  void set_file_total(int64_t size);
  void end_file(int64_t size);  // the file is complete (transferred, cached or already there)
  void set_all_total(int64_t total) { all_total_ = total; }

 private:
  void emit(bool force);
  const FetchOptions& options_;
  std::mutex mu_;
  std::string file_;
  std::atomic<int64_t> done_{0};
  int64_t file_total_ = -1, all_before_ = 0, all_total_ = -1;
  std::chrono::steady_clock::time_point last_{};
  std::chrono::steady_clock::time_point began_;
  int64_t transferred_ = 0;  // bytes moved in this fetch or push, for the rate cap
};

}  // namespace dltrain::fetch_detail
