// BatchLoader: gathers and converts the next batch on a worker thread (two slots, one in use by
// the trainer, one being filled), plus the seeded orders it iterates in.
#include <algorithm>
#include <numeric>

#include "dltrain/data.hpp"

namespace dltrain {

std::vector<int64_t> sequential_order(int64_t n) {
  std::vector<int64_t> o(static_cast<size_t>(n));
  std::iota(o.begin(), o.end(), 0);
  return o;
}

std::vector<int64_t> shuffled_order(int64_t n, Rng& rng) {
  std::vector<int64_t> o = sequential_order(n);
  for (int64_t i = n - 1; i > 0; --i) std::swap(o[size_t(i)], o[size_t(rng.below(uint64_t(i) + 1))]);
  return o;
}

BatchLoader::BatchLoader(const Dataset& data, int64_t batch_size, std::vector<int64_t> order, float scale,
                         float offset)
    : data_(data), batch_size_(batch_size), order_(std::move(order)), scale_(scale), offset_(offset) {
  DLT_CHECK(batch_size > 0, "batch size must be positive");
  DLT_CHECK(int64_t(order_.size()) <= data.size(), "batch order is longer than the dataset");
  steps_ = (int64_t(order_.size()) + batch_size - 1) / batch_size;
  worker_ = std::thread([this] { produce(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void BatchLoader::produce() {
  const Shape sample = data_.sample_shape();
  const int64_t per = sample.numel();
  for (int64_t step = 0; step < steps_; ++step) {
    Batch& b = slots_[step % 2];
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !ready_[step % 2]; });
      if (stop_) return;
    }
    const int64_t begin = step * batch_size_, n = std::min(batch_size_, int64_t(order_.size()) - begin);
    b.x.ensure(sample.with_batch(n));
    b.labels.resize(size_t(n));
    // Plain loops, not ops::u8_to_f32: this thread must not start OpenMP teams of its own.
    for (int64_t i = 0; i < n; ++i) {
      const int64_t src = order_[size_t(begin + i)];
      float* d = b.x.f32() + i * per;
      if (data_.images.dtype() == DType::f32) {  // precomputed features: used as they are
        std::copy_n(data_.images.f32() + src * per, per, d);
      } else {
        const uint8_t* s = data_.images.u8() + src * per;
        for (int64_t j = 0; j < per; ++j) d[j] = float(s[j]) * scale_ + offset_;
      }
      b.labels[size_t(i)] = data_.labels[size_t(src)];
    }
    {
      std::lock_guard lock(mu_);
      ready_[step % 2] = true;
    }
    cv_.notify_all();
  }
}

const Batch* BatchLoader::next() {
  std::unique_lock lock(mu_);
  if (consumed_ > 0) ready_[(consumed_ - 1) % 2] = false;  // hand the previous slot back
  cv_.notify_all();
  if (consumed_ == steps_) return nullptr;
  cv_.wait(lock, [&] { return ready_[consumed_ % 2]; });
  return &slots_[consumed_++ % 2];
}

}  // namespace dltrain
