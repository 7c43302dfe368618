// Storage (aligned, move-only) and Tensor.
#include <cstdlib>
#include <cstring>
#include <utility>

#include "dltrain/core.hpp"

namespace dltrain {

size_t dtype_size(DType t) { return t == DType::f32 ? 4 : 1; }
const char* dtype_name(DType t) { return t == DType::f32 ? "float32" : "uint8"; }
const char* device_name(Device d) { return d == Device::cpu ? "cpu" : "cuda"; }

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  DLT_CHECK(device == Device::cpu, "CUDA storage is not built into this dltrain",
            "train on the CPU (the default)");
  size_t rounded = (bytes + 63) / 64 * 64;
  data_ = std::aligned_alloc(64, rounded ? rounded : 64);
  if (!data_) throw Error("out of memory allocating " + std::to_string(bytes) + " bytes");
}

Storage::~Storage() { std::free(data_); }

Storage::Storage(Storage&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), bytes_(std::exchange(o.bytes_, 0)), device_(o.device_) {}

Storage& Storage::operator=(Storage&& o) noexcept {
  if (this != &o) {
    std::free(data_);
    data_ = std::exchange(o.data_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
    device_ = o.device_;
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

Tensor Tensor::from(Shape shape, std::span<const float> values) {
  DLT_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "value count does not match shape " + shape.str());
  Tensor t(shape);
  std::memcpy(t.f32(), values.data(), values.size() * sizeof(float));
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

Tensor Tensor::clone() const {
  Tensor t(shape_, dtype_, device());
  if (bytes()) std::memcpy(t.storage_.data(), storage_.data(), bytes());
  return t;
}

void Tensor::copy_from(const Tensor& other) {
  DLT_CHECK(other.numel() == numel() && other.dtype_ == dtype_,
            "copy between tensors of " + other.shape_.str() + " and " + shape_.str());
  if (bytes()) std::memcpy(storage_.data(), other.storage_.data(), bytes());
}

void Tensor::fill(float v) {
  float* p = f32();
  for (int64_t i = 0, n = numel(); i < n; ++i) p[i] = v;
}

void Tensor::ensure(const Shape& shape, DType dtype) {
  size_t need = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
  if (empty() || storage_.bytes() != need) storage_ = Storage(need, Device::cpu);
  shape_ = shape;
  dtype_ = dtype;
}

void Tensor::reshape(const Shape& shape) {
  DLT_CHECK(shape.numel() == numel(), "cannot reshape " + shape_.str() + " to " + shape.str());
  shape_ = shape;
}

}  // namespace dltrain
