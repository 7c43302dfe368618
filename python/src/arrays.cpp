// NumPy arrays <-> dltrain tensors, without copies where the layout allows.
#include <string>
#include <vector>

#include "bindings.hpp"

namespace dltrain::python {
namespace {
std::string shape_text(const HostArray& a) {
  std::string s = "(";
  for (size_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

bool c_contiguous(const HostArray& a) {
  for (size_t i = 0; i < a.ndim(); ++i)
    if (a.shape(i) == 0) return true;  // no elements: any strides will do
  int64_t expected = 1;
  for (size_t i = a.ndim(); i-- > 0;) {
    if (a.shape(i) != 1 && a.stride(i) != expected) return false;
    expected *= int64_t(a.shape(i));
  }
  return true;
}
}  // namespace

Tensor image_tensor(const HostArray& a, const char* what) {
  const bool u8 = a.dtype() == nb::dtype<uint8_t>(), f32 = a.dtype() == nb::dtype<float>();
  if (!u8 && !f32) throw Error(std::string(what) + " must be uint8 or float32", "convert with x.astype(np.float32)");
  if (a.ndim() != 3 && a.ndim() != 4)
    throw Error(std::string(what) + " must be (N, H, W) or (N, H, W, C) images, not " + shape_text(a));
  if (!c_contiguous(a)) throw Error(std::string(what) + " must be C-contiguous", "np.ascontiguousarray(x)");
  Shape shape{int64_t(a.shape(0)), int64_t(a.shape(1)), int64_t(a.shape(2)), a.ndim() == 4 ? int64_t(a.shape(3)) : 1};
  for (int i = 1; i < 4; ++i)
    if (shape[i] < 1) throw Error(std::string(what) + " has an empty image dimension: " + shape_text(a));
  // A no-op owner: the caller holds the array while the tensor lives.
  return Tensor::borrow(shape, u8 ? DType::u8 : DType::f32, const_cast<void*>(a.data()), std::make_shared<int>(0));
}

std::vector<int32_t> labels_vector(const HostArray& a, const char* what, int64_t classes) {
  if (a.ndim() != 1) throw Error(std::string(what) + " must be one class id per image (N,), not " + shape_text(a));
  std::vector<int32_t> out(a.shape(0));
  const auto copy = [&]<typename T>(T) {
    const auto* p = static_cast<const char*>(a.data());
    for (size_t i = 0; i < out.size(); ++i) {
      const auto v = int64_t(*reinterpret_cast<const T*>(p + int64_t(i) * a.stride(0) * int64_t(sizeof(T))));
      if (v < 0 || (classes > 0 && v >= classes) || v > INT32_MAX)
        throw Error(std::string(what) + "[" + std::to_string(i) + "] is " + std::to_string(v) +
                        ", not a class id" + (classes > 0 ? " in [0, " + std::to_string(classes) + ")" : ""),
                    "labels are class indices 0..classes-1");
      out[i] = int32_t(v);
    }
  };
  const nb::dlpack::dtype t = a.dtype();
  if (t == nb::dtype<uint8_t>()) copy(uint8_t{});
  else if (t == nb::dtype<int8_t>()) copy(int8_t{});
  else if (t == nb::dtype<int16_t>()) copy(int16_t{});
  else if (t == nb::dtype<uint16_t>()) copy(uint16_t{});
  else if (t == nb::dtype<int32_t>()) copy(int32_t{});
  else if (t == nb::dtype<uint32_t>()) copy(uint32_t{});
  else if (t == nb::dtype<int64_t>()) copy(int64_t{});
  else throw Error(std::string(what) + " must hold integer class ids", "e.g. y.astype(np.int64)");
  return out;
}

nb::object to_numpy(Tensor tensor) {
  auto* owned = new Tensor(std::move(tensor));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<Tensor*>(p); });
  std::vector<size_t> shape;
  for (int64_t d : owned->shape().dims()) shape.push_back(size_t(d));
  void* data = owned->dtype() == DType::u8 ? static_cast<void*>(owned->u8())
               : owned->dtype() == DType::i32 ? static_cast<void*>(owned->i32())
                                               : static_cast<void*>(owned->f32());
  const nb::dlpack::dtype t = owned->dtype() == DType::u8    ? nb::dtype<uint8_t>()
                              : owned->dtype() == DType::i32 ? nb::dtype<int32_t>()
                                                             : nb::dtype<float>();
  return nb::ndarray<nb::numpy>(data, shape.size(), shape.data(), owner, nullptr, t).cast();
}

}  // namespace dltrain::python
