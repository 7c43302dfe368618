// The digest of a one-stream download, computed while it arrives. Internal to fetch/.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "dltrain/io.hpp"

namespace dltrain::fetch_detail {

// Hashes a one-stream download while it arrives, on a helper thread (hashing overlaps receiving),
// so verifying it needs no second read. Bytes that do not continue the hashed prefix (a resumed
// or rewound stream) make it invalid; the file is then hashed from disk at the end.
class RunningDigest {
 public:
  ~RunningDigest() { stop(); }
  void restart(bool md5) {
    stop();
    hasher_ = std::make_unique<Hasher>(md5);
    expected_ = 0;
    valid_ = true;
    done_ = false;
    worker_ = std::thread([this] {
      for (;;) {
        std::vector<char> chunk;
        {
          std::unique_lock lock(mu_);
          cv_.wait(lock, [&] { return done_ || !queue_.empty(); });
          if (queue_.empty()) return;
          chunk = std::move(queue_.front());
          queue_.pop_front();
        }
        cv_.notify_all();
        hasher_->update(chunk.data(), chunk.size());
        chunk.clear();
        std::lock_guard lock(mu_);
        if (spare_.size() < 4) spare_.push_back(std::move(chunk));
      }
    });
  }
  void invalidate() { valid_ = false; }
  // Takes a written buffer at `offset`; returns an empty buffer (one the hasher is done with, when
  // there is one) for the writer to fill next.
  std::vector<char> take(std::vector<char>&& chunk, int64_t offset) {
    std::unique_lock lock(mu_);
    if (!valid_ || offset != expected_) {
      valid_ = false;
      return std::move(chunk);
    }
    expected_ += int64_t(chunk.size());
    cv_.wait(lock, [&] { return queue_.size() < 8; });
    queue_.push_back(std::move(chunk));
    cv_.notify_all();
    if (spare_.empty()) return {};
    std::vector<char> b = std::move(spare_.back());
    spare_.pop_back();
    return b;
  }
  // The digest of everything taken, or nothing when the stream was not one in-order run.
  std::optional<FileDigest> finish() {
    stop();
    if (!valid_ || !hasher_) return std::nullopt;
    return hasher_->finish();
  }

 private:
  void stop() {
    if (!worker_.joinable()) return;
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
  std::unique_ptr<Hasher> hasher_;
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<char>> queue_;
  std::vector<std::vector<char>> spare_;  // hashed buffers, for the writer to reuse
  int64_t expected_ = 0;
  bool valid_ = false, done_ = false;
};

}  // namespace dltrain::fetch_detail
