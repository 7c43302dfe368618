// A caching allocator for device memory: freed blocks go back into bins by size class and are
// handed out again, so a training step asks the device for memory only until its working set is
// cached (no cudaMalloc/cudaFree per step). The bookkeeping is plain C++ over a RawAllocator, so it
// is tested on the host with a fake; src/backend/cuda/memory.cpp plugs in cudaMalloc/cudaFree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace dltrain {

// Where the caching allocator gets memory from when its bins are empty.
class RawAllocator {
 public:
  virtual ~RawAllocator() = default;
  // Returns nullptr when the device is out of memory (the cache is then emptied and it is asked
  // once more); throws dltrain::Error for anything else.
  virtual void* allocate(size_t bytes) = 0;
  virtual void release(void* p) noexcept = 0;
};

struct AllocatorStats {
  size_t bytes_in_use = 0;    // size classes of the blocks handed out
  size_t bytes_reserved = 0;  // everything taken from the raw allocator and not yet given back
  size_t peak_in_use = 0;
  int64_t hits = 0;           // allocations served from a bin
  int64_t misses = 0;         // allocations that went to the raw allocator
  int64_t raw_frees = 0;      // blocks given back to the raw allocator
};

class CachingAllocator {
 public:
  explicit CachingAllocator(RawAllocator& raw) : raw_(raw) {}
  ~CachingAllocator();  // gives every cached block back (blocks still in use are the owners' leak)
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // A block of at least `bytes` (its size class). Throws dltrain::Error when the device has no room
  // even after the cache was emptied.
  void* allocate(size_t bytes);
  // Returns a block from allocate() to its bin; nullptr is ignored.
  void free(void* p);
  // Gives every cached (free) block back to the raw allocator.
  void release_cached();
  AllocatorStats stats() const;

  // The size class of a request: multiples of 512 bytes up to 1 MiB, then four steps per power
  // of two (at most 25% slack), so a bin serves the same layer's tensors step after step.
  static size_t size_class(size_t bytes);

 private:
  void release_cached_locked();
  RawAllocator& raw_;
  mutable std::mutex mutex_;
  std::map<size_t, std::vector<void*>> bins_;  // size class -> free blocks
  std::unordered_map<void*, size_t> live_;     // block -> size class
  AllocatorStats stats_;
};

}  // namespace dltrain
