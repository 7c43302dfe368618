// Storage (aligned host memory or a device block, move-only), Device names and Tensor.
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "device_memory.hpp"
#include "dltrain/core.hpp"

namespace dltrain {

size_t dtype_size(DType t) { return t == DType::u8 ? 1 : 4; }
const char* dtype_name(DType t) { return t == DType::f32 ? "float32" : t == DType::u8 ? "uint8" : "int32"; }
std::string device_name(Device d) { return d.is_cuda() ? "cuda:" + std::to_string(d.index) : "cpu"; }

Device parse_device(std::string_view text) {
  if (text == "cpu") return Device::cpu;
  if (text == "cuda") return Device::cuda;
  int index = -1;
  if (text.starts_with("cuda:")) {
    const char *b = text.data() + 5, *e = text.data() + text.size();
    auto [end, ec] = std::from_chars(b, e, index);
    if (ec != std::errc() || end != e || b == e) index = -1;
  }
  if (index < 0)
    throw Error("unknown device '" + std::string(text) + "'", "use cpu, cuda or cuda:N (N counts GPUs from 0)");
  return Device::gpu(index);
}

namespace {
// Host copies stay memcpy; anything touching a GPU goes through the device's runtime.
void copy_bytes(void* dst, Device to, const void* src, Device from, size_t bytes) {
  if (!to.is_cuda() && !from.is_cuda()) std::memcpy(dst, src, bytes);
  else device_memory::copy(dst, to, src, from, bytes);
}

void free_storage(void* p, Device d) noexcept {
  if (!p) return;
  if (d.is_cuda()) device_memory::release(d, p);
  else std::free(p);
}
}  // namespace

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  if (device.is_cuda()) {
    data_ = device_memory::allocate(device, bytes);
    return;
  }
  size_t rounded = (bytes + 63) / 64 * 64;
  data_ = std::aligned_alloc(64, rounded ? rounded : 64);
  if (!data_) throw Error("out of memory allocating " + std::to_string(bytes) + " bytes");
}

Storage Storage::borrow(void* data, size_t bytes, std::shared_ptr<void> keep_alive, Device device) {
  DLT_CHECK(data != nullptr && keep_alive != nullptr, "borrowed memory needs an address and an owner");
  Storage s;
  s.data_ = data;
  s.bytes_ = bytes;
  s.device_ = device;
  s.borrowed_ = std::move(keep_alive);
  return s;
}

Storage::~Storage() {
  if (!borrowed_) free_storage(data_, device_);
}

Storage::Storage(Storage&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), bytes_(std::exchange(o.bytes_, 0)), device_(o.device_),
      borrowed_(std::move(o.borrowed_)) {}

Storage& Storage::operator=(Storage&& o) noexcept {
  if (this != &o) {
    if (!borrowed_) free_storage(data_, device_);
    data_ = std::exchange(o.data_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
    device_ = o.device_;
    borrowed_ = std::move(o.borrowed_);
  }
  return *this;
}

namespace {
size_t checked_bytes(const Shape& shape, DType dtype) {
  const int64_t n = shape.numel();
  if (n > max_tensor_elements)
    throw Error("a tensor of shape " + shape.str() + " would hold " + std::to_string(n) +
                    " elements, above the limit of 2^40",
                "a size read from a file is damaged, or the model is far larger than dltrain supports");
  return static_cast<size_t>(n) * dtype_size(dtype);
}
}  // namespace

Tensor::Tensor(Shape shape, DType dtype, Device device)
    : shape_(shape), dtype_(dtype), storage_(checked_bytes(shape, dtype), device) {}

Tensor Tensor::zeros(Shape shape, DType dtype) {
  Tensor t(shape, dtype);
  std::memset(t.storage_.data(), 0, t.bytes());
  return t;
}

Tensor Tensor::from_labels(std::span<const int32_t> labels) {
  Tensor t({static_cast<int64_t>(labels.size())}, DType::i32);
  if (!labels.empty()) std::memcpy(t.i32(), labels.data(), labels.size_bytes());
  return t;
}

Tensor Tensor::from(Shape shape, std::span<const float> values) {
  DLT_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "value count does not match shape " + shape.str());
  Tensor t(shape);
  std::memcpy(t.f32(), values.data(), values.size() * sizeof(float));
  return t;
}

Tensor Tensor::borrow(Shape shape, DType dtype, void* data, std::shared_ptr<void> keep_alive, Device device) {
  Tensor t;
  const size_t bytes = checked_bytes(shape, dtype);
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.storage_ = Storage::borrow(data, bytes, std::move(keep_alive), device);
  return t;
}

float* Tensor::f32() {
  DLT_CHECK(dtype_ == DType::f32, "tensor is uint8, expected float32");
  return static_cast<float*>(storage_.data());
}
const float* Tensor::f32() const {
  DLT_CHECK(dtype_ == DType::f32, "tensor is uint8, expected float32");
  return static_cast<const float*>(storage_.data());
}
uint8_t* Tensor::u8() {
  DLT_CHECK(dtype_ == DType::u8, "tensor is float32, expected uint8");
  return static_cast<uint8_t*>(storage_.data());
}
const uint8_t* Tensor::u8() const {
  DLT_CHECK(dtype_ == DType::u8, "tensor is float32, expected uint8");
  return static_cast<const uint8_t*>(storage_.data());
}
int32_t* Tensor::i32() {
  DLT_CHECK(dtype_ == DType::i32, std::string("tensor is ") + dtype_name(dtype_) + ", expected int32");
  return static_cast<int32_t*>(storage_.data());
}
const int32_t* Tensor::i32() const {
  DLT_CHECK(dtype_ == DType::i32, std::string("tensor is ") + dtype_name(dtype_) + ", expected int32");
  return static_cast<const int32_t*>(storage_.data());
}

Tensor Tensor::clone() const { return to(device()); }

Tensor Tensor::to(Device device) const {
  Tensor t(shape_, dtype_, device);
  if (bytes()) copy_bytes(t.storage_.data(), device, storage_.data(), this->device(), bytes());
  return t;
}

const Tensor& Tensor::on(Device device, Tensor& staged) const {
  if (device == this->device()) return *this;
  staged.ensure_on(device, shape_, dtype_);
  staged.copy_from(*this);
  return staged;
}

void Tensor::copy_from(const Tensor& other) {
  DLT_CHECK(other.numel() == numel() && other.dtype_ == dtype_,
            "copy between tensors of " + other.shape_.str() + " and " + shape_.str());
  if (bytes()) copy_bytes(storage_.data(), device(), other.storage_.data(), other.device(), bytes());
}

void Tensor::fill(float v) {
  if (device().is_cuda()) {  // filled on the host, then copied: fills are rare (initialisation)
    Tensor host(shape_, dtype_);
    host.fill(v);
    copy_from(host);
    return;
  }
  float* p = f32();
  for (int64_t i = 0, n = numel(); i < n; ++i) p[i] = v;
}

void Tensor::ensure(const Shape& shape, DType dtype) { ensure_on(device(), shape, dtype); }

void Tensor::ensure_on(Device device, const Shape& shape, DType dtype) {
  size_t need = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
  if (empty() || storage_.bytes() != need || storage_.device() != device) storage_ = Storage(need, device);
  shape_ = shape;
  dtype_ = dtype;
}

void Tensor::reshape(const Shape& shape) {
  DLT_CHECK(shape.numel() == numel(), "cannot reshape " + shape_.str() + " to " + shape.str());
  shape_ = shape;
}

}  // namespace dltrain
