// core: errors, shapes, tensors with move-only storage, the seeded RNG and thread settings.
// Everything else in dltrain builds on these types. No math lives here (see ops.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <source_location>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace dltrain {

// The one exception type of the library: what went wrong, plus a hint for the user.
class Error : public std::runtime_error {
 public:
  Error(std::string message, std::string hint = {},
        std::source_location where = std::source_location::current());
  const std::string& hint() const { return hint_; }
  const std::source_location& where() const { return where_; }

 private:
  std::string hint_;
  std::source_location where_;
};

// DLT_CHECK(cond, message[, hint]): throws dltrain::Error naming the failed condition.
#define DLT_CHECK(cond, ...)                                            \
  do {                                                                  \
    if (!(cond)) ::dltrain::detail::check_failed(#cond, __VA_ARGS__);   \
  } while (0)

namespace detail {
[[noreturn]] void check_failed(const char* condition, const std::string& message,
                               const std::string& hint = {},
                               std::source_location where = std::source_location::current());
}

enum class DType : uint8_t { f32, u8, i32 };

// Where a tensor's memory lives: the host, or CUDA GPU `index`. `Device::cpu` and `Device::cuda`
// (GPU 0) name the common ones; parse_device reads "cpu", "cuda", "cuda:N".
struct Device {
  enum class Kind : uint8_t { cpu, cuda };
  Kind kind = Kind::cpu;
  int index = 0;
  static const Device cpu;
  static const Device cuda;
  static constexpr Device gpu(int i) { return Device{Kind::cuda, i}; }
  constexpr bool is_cuda() const { return kind == Kind::cuda; }
  constexpr bool operator==(const Device&) const = default;
};
inline constexpr Device Device::cpu{Device::Kind::cpu, 0};
inline constexpr Device Device::cuda{Device::Kind::cuda, 0};

size_t dtype_size(DType t);
const char* dtype_name(DType t);
std::string device_name(Device d);  // "cpu", "cuda:0"
Device parse_device(std::string_view text);  // throws Error with a hint for anything else

// The most elements one tensor may hold: 2^40 (4 TiB of float32). Tensor's constructor checks it,
// so a size read from a file cannot ask for more; Shape::numel checks its product for overflow.
constexpr int64_t max_tensor_elements = int64_t(1) << 40;

// A tensor shape of rank 0..6. By convention the first dimension is the batch.
class Shape {
 public:
  static constexpr int max_rank = 6;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(std::span<const int64_t> dims);

  int rank() const { return rank_; }
  int64_t operator[](int i) const { return dims_[static_cast<size_t>(i)]; }
  int64_t& operator[](int i) { return dims_[static_cast<size_t>(i)]; }
  int64_t numel() const;  // throws Error naming the shape when the product overflows int64
  std::span<const int64_t> dims() const { return {dims_.data(), static_cast<size_t>(rank_)}; }
  Shape with_batch(int64_t n) const;  // prepend a batch dimension
  Shape without_batch() const;        // drop the first dimension
  std::string str() const;            // "(32, 26, 26, 32)"
  bool operator==(const Shape& o) const;

 private:
  std::array<int64_t, max_rank> dims_{};
  int rank_ = 0;
};

// Owns one aligned allocation on one device (host memory from aligned_alloc, GPU memory from the
// device's caching allocator), or borrows memory another owner keeps alive (a NumPy array in the
// Python module, a slice of a model's flat gradient buffer). Move-only: copies are explicit
// (Tensor::clone, Tensor::to).
class Storage {
 public:
  Storage() = default;
  Storage(size_t bytes, Device device);
  // Memory on `device` that this storage does not own: never freed here; `keep_alive` is
  // released instead.
  static Storage borrow(void* data, size_t bytes, std::shared_ptr<void> keep_alive, Device device = Device::cpu);
  ~Storage();
  Storage(Storage&& o) noexcept;
  Storage& operator=(Storage&& o) noexcept;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_ = Device::cpu;
  std::shared_ptr<void> borrowed_;  // set when the memory is someone else's
};

// A dense row-major tensor. Move-only; `clone()` copies, `copy_from()` copies into existing memory.
class Tensor {
 public:
  Tensor() = default;
  Tensor(Shape shape, DType dtype = DType::f32, Device device = Device::cpu);
  static Tensor zeros(Shape shape, DType dtype = DType::f32);
  static Tensor from(Shape shape, std::span<const float> values);
  // A tensor over memory owned elsewhere, without a copy (see Storage::borrow). The memory must
  // hold shape.numel() elements of dtype, contiguous and row-major, on `device`.
  static Tensor borrow(Shape shape, DType dtype, void* data, std::shared_ptr<void> keep_alive,
                       Device device = Device::cpu);

  const Shape& shape() const { return shape_; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_.device(); }
  int64_t numel() const { return shape_.numel(); }
  bool empty() const { return storage_.data() == nullptr; }
  size_t bytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }

  float* f32();
  const float* f32() const;
  uint8_t* u8();
  const uint8_t* u8() const;
  int32_t* i32();
  const int32_t* i32() const;
  std::span<float> values() { return {f32(), static_cast<size_t>(numel())}; }
  std::span<const float> values() const { return {f32(), static_cast<size_t>(numel())}; }

  Tensor clone() const;  // on the same device
  // A copy on `device` (an explicit host <-> GPU transfer; a plain clone when already there).
  Tensor to(Device device) const;
  // This tensor when it is on `device` already, else its copy there in `staged` (whose memory is
  // reused from call to call): how batches reach a GPU model and results come back to the host.
  const Tensor& on(Device device, Tensor& staged) const;
  static Tensor from_labels(std::span<const int32_t> labels);  // (N) int32 on the host
  // Same numel and dtype; shape may differ; the devices may differ (the copy is explicit here).
  void copy_from(const Tensor& other);
  void fill(float v);
  // Reuses the allocation when the size is unchanged: activations are allocated once per shape.
  // The tensor stays on its device (the host for an empty tensor); ensure_on names one.
  void ensure(const Shape& shape, DType dtype = DType::f32);
  void ensure_on(Device device, const Shape& shape, DType dtype = DType::f32);
  // Same elements, new shape (numel must match).
  void reshape(const Shape& shape);

 private:
  Shape shape_;
  DType dtype_ = DType::f32;
  Storage storage_;
};

// Counter-based, portable RNG (splitmix64 stream). Its whole state is one integer, so it is
// saved in checkpoints and gives the same numbers on every platform and thread count.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : state_(seed) {}
  uint64_t next_u64();
  double uniform();                    // [0, 1)
  float uniform(float lo, float hi);   // [lo, hi)
  uint64_t below(uint64_t n);          // [0, n), unbiased
  uint64_t state() const { return state_; }
  void set_state(uint64_t s) { state_ = s; }

 private:
  uint64_t state_;
};
// A stateless hash of (key, index) to [0, 1): for per-element randomness computed in parallel.
double hash_uniform(uint64_t key, uint64_t index);

// Threads used by kernels (OpenMP); 0 means all hardware threads.
void set_num_threads(int n);
int num_threads();

}  // namespace dltrain
