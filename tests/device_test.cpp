// Devices and device memory on the host: parsing device names, the caching allocator's
// bookkeeping over a fake raw allocator, Tensor::to between host tensors, int32 label tensors, and
// the errors for a GPU this machine or this build lacks. Round trips through real GPU memory are
// in conformance_test (label gpu).
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <vector>

#include "core/caching_allocator.hpp"
#include "core/device_memory.hpp"
#include "dltrain/core.hpp"

namespace dltrain {
namespace {

// Host memory that counts, and can be told to report "out of memory".
class FakeRaw final : public RawAllocator {
 public:
  void* allocate(size_t bytes) override {
    if (fail_next > 0) {
      --fail_next;
      return nullptr;
    }
    if (capacity && used + bytes > capacity) return nullptr;
    ++allocs;
    used += bytes;
    void* p = std::malloc(bytes);
    sizes[p] = bytes;
    return p;
  }
  void release(void* p) noexcept override {
    ++frees;
    used -= sizes[p];
    sizes.erase(p);
    std::free(p);
  }
  int allocs = 0, frees = 0, fail_next = 0;
  size_t used = 0, capacity = 0;
  std::map<void*, size_t> sizes;
};

TEST(Device, ParsesNamesAndPrintsThem) {
  EXPECT_EQ(parse_device("cpu"), Device::cpu);
  EXPECT_EQ(parse_device("cuda"), Device::cuda);
  EXPECT_EQ(parse_device("cuda:3"), Device::gpu(3));
  EXPECT_EQ(device_name(Device::gpu(3)), "cuda:3");
  EXPECT_EQ(device_name(Device::cpu), "cpu");
  for (const char* bad : {"gpu", "cuda:", "cuda:-1", "cuda:1x", "CPU", ""}) {
    try {
      parse_device(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_NE(e.hint().find("cuda:N"), std::string::npos);
    }
  }
}

TEST(CachingAllocator, SizeClassesHaveBoundedSlack) {
  EXPECT_EQ(CachingAllocator::size_class(0), 512u);
  EXPECT_EQ(CachingAllocator::size_class(1), 512u);
  EXPECT_EQ(CachingAllocator::size_class(513), 1024u);
  EXPECT_EQ(CachingAllocator::size_class(1 << 20), size_t(1) << 20);
  for (size_t b : {size_t(1 << 20) + 1, size_t(3) << 20, size_t(12345678), size_t(1) << 33}) {
    const size_t c = CachingAllocator::size_class(b);
    EXPECT_GE(c, b);
    EXPECT_LE(c, b + b / 4) << b;
    EXPECT_EQ(CachingAllocator::size_class(c), c) << "a class is its own class";
  }
}

TEST(CachingAllocator, ReusesFreedBlocksWithoutAskingTheDevice) {
  FakeRaw raw;
  {
    CachingAllocator a(raw);
    // A "training step": the same sizes allocated and freed, three times.
    for (int step = 0; step < 3; ++step) {
      void* x = a.allocate(1000);
      void* y = a.allocate(3 << 20);
      void* z = a.allocate(1000);
      EXPECT_NE(x, z);
      a.free(y);
      a.free(x);
      a.free(z);
    }
    const AllocatorStats s = a.stats();
    EXPECT_EQ(raw.allocs, 3);  // only the first step reached the device
    EXPECT_EQ(s.misses, 3);
    EXPECT_EQ(s.hits, 6);
    EXPECT_EQ(s.bytes_in_use, 0u);
    EXPECT_EQ(s.bytes_reserved, 2 * 1024u + CachingAllocator::size_class(3 << 20));
    EXPECT_EQ(s.peak_in_use, s.bytes_reserved);
    // A request of a nearby size shares the class.
    void* w = a.allocate(900);
    EXPECT_EQ(a.stats().hits, 7);
    EXPECT_EQ(a.stats().bytes_in_use, 1024u);
    a.free(w);
    a.free(nullptr);
    a.release_cached();
    EXPECT_EQ(raw.frees, 3);
    EXPECT_EQ(a.stats().bytes_reserved, 0u);
  }
  EXPECT_EQ(raw.used, 0u);
}

TEST(CachingAllocator, EmptiesTheCacheAndRetriesWhenTheDeviceIsFull) {
  FakeRaw raw;
  raw.capacity = 4096;
  CachingAllocator a(raw);
  a.free(a.allocate(3000));  // 3072 cached
  void* p = a.allocate(2000);  // 2048 does not fit beside the cached block: the cache is emptied
  EXPECT_EQ(raw.frees, 1);
  EXPECT_EQ(a.stats().bytes_reserved, 2048u);
  try {
    a.allocate(8000);
    ADD_FAILURE() << "no room";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("out of GPU memory"), std::string::npos);
    EXPECT_NE(e.hint().find("--batch-size"), std::string::npos);
  }
  EXPECT_EQ(a.stats().bytes_in_use, 2048u);
  a.free(p);
}

TEST(CachingAllocator, RefusesToFreeAForeignBlock) {
  FakeRaw raw;
  CachingAllocator a(raw);
  int local = 0;
  EXPECT_THROW(a.free(&local), Error);
}

TEST(Tensor, ToTheHostIsAnExplicitCopy) {
  Tensor a = Tensor::from({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  Tensor b = a.to(Device::cpu);
  EXPECT_NE(a.f32(), b.f32());
  EXPECT_EQ(b.shape(), a.shape());
  EXPECT_EQ(b.values()[5], 6.0f);
  Tensor labels = Tensor::from_labels(std::vector<int32_t>{7, -1, 3});
  EXPECT_EQ(labels.dtype(), DType::i32);
  EXPECT_EQ(labels.bytes(), 12u);
  EXPECT_EQ(labels.to(Device::cpu).i32()[1], -1);
  EXPECT_THROW(labels.f32(), Error);
}

// Without a GPU (always true on a machine without a driver, or in a build without CUDA), asking
// for GPU memory is an Error with a hint, never a crash.
TEST(Tensor, GpuMemoryWithoutAGpuIsAClearError) {
  if (device_memory::gpu_count() > 0) GTEST_SKIP() << "this machine has a GPU: conformance_test covers it";
  try {
    Tensor t({4}, DType::f32, Device::cuda);
    ADD_FAILURE() << "allocated GPU memory without a GPU";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_TRUE(what.find("no CUDA driver found") != std::string::npos ||
                what.find("built without CUDA") != std::string::npos)
        << what;
    EXPECT_FALSE(e.hint().empty());
  }
  Tensor h = Tensor::zeros({4});
  EXPECT_THROW(h.to(Device::gpu(1)), Error);
}

}  // namespace
}  // namespace dltrain
