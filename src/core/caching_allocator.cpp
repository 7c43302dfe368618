// The caching allocator's bookkeeping (see caching_allocator.hpp).
#include "caching_allocator.hpp"

#include <algorithm>
#include <bit>
#include <string>

#include "dltrain/core.hpp"

namespace dltrain {

size_t CachingAllocator::size_class(size_t bytes) {
  constexpr size_t small = 512, large = size_t(1) << 20;
  if (bytes <= large) return std::max<size_t>(small, (bytes + small - 1) / small * small);
  const size_t step = std::bit_floor(bytes - 1) / 4;  // four classes per power of two
  return (bytes + step - 1) / step * step;
}

CachingAllocator::~CachingAllocator() { release_cached_locked(); }

void* CachingAllocator::allocate(size_t bytes) {
  const size_t cls = size_class(bytes);
  std::lock_guard lock(mutex_);
  void* p = nullptr;
  if (auto it = bins_.find(cls); it != bins_.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    ++stats_.hits;
  } else {
    p = raw_.allocate(cls);
    if (!p) {  // out of memory: give the cache back and try once more
      release_cached_locked();
      p = raw_.allocate(cls);
    }
    if (!p)
      throw Error("out of GPU memory allocating " + std::to_string(bytes) + " bytes (" +
                      std::to_string(stats_.bytes_in_use) + " bytes in use)",
                  "use a smaller --batch-size or model, or free the GPU from other programs (nvidia-smi)");
    ++stats_.misses;
    stats_.bytes_reserved += cls;
  }
  live_.emplace(p, cls);
  stats_.bytes_in_use += cls;
  stats_.peak_in_use = std::max(stats_.peak_in_use, stats_.bytes_in_use);
  return p;
}

void CachingAllocator::free(void* p) {
  if (!p) return;
  std::lock_guard lock(mutex_);
  auto it = live_.find(p);
  DLT_CHECK(it != live_.end(), "freeing a block this allocator did not hand out",
            "a bug in dltrain: please report it");
  bins_[it->second].push_back(p);
  stats_.bytes_in_use -= it->second;
  live_.erase(it);
}

void CachingAllocator::release_cached() {
  std::lock_guard lock(mutex_);
  release_cached_locked();
}

void CachingAllocator::release_cached_locked() {
  for (auto& [cls, blocks] : bins_) {
    for (void* p : blocks) {
      raw_.release(p);
      stats_.bytes_reserved -= cls;
      ++stats_.raw_frees;
    }
    blocks.clear();
  }
  bins_.clear();
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace dltrain
