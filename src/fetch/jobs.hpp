// Parts in flight: the worker pool both directions use for parallel parts. Internal to fetch/.
#pragma once

#include <algorithm>
#include <atomic>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dltrain::fetch_detail {

// Runs job(k, stop) for every k in [0, n) on min(workers, n) threads. After the first exception no
// new job starts and `stop` turns true (a running job may check it to end its transfer early); that
// exception is rethrown once every thread has ended.
inline void run_jobs(size_t n, int workers, const std::function<void(size_t, const std::atomic<bool>& stop)>& job) {
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::exception_ptr first;
  auto work = [&] {
    for (size_t k; !stop && (k = next++) < n;) {
      try {
        job(k, stop);
      } catch (...) {
        std::lock_guard lock(mu);
        if (!first) first = std::current_exception();
        stop = true;
      }
    }
  };
  std::vector<std::thread> threads;
  for (size_t i = 0; i < std::min<size_t>(size_t(std::max(1, workers)), n); ++i) threads.emplace_back(work);
  for (std::thread& t : threads) t.join();
  if (first) std::rethrow_exception(first);
}

}  // namespace dltrain::fetch_detail
