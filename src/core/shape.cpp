// Shape: rank, dimensions and their printing.
#include <algorithm>

#include "dltrain/core.hpp"

namespace dltrain {

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::span<const int64_t>(dims.begin(), dims.size())) {}

Shape::Shape(std::span<const int64_t> dims) {
  DLT_CHECK(dims.size() <= static_cast<size_t>(max_rank), "tensor rank " + std::to_string(dims.size()) + " is above the supported 6");
  for (int64_t d : dims) DLT_CHECK(d >= 0, "negative dimension in shape");
  std::copy(dims.begin(), dims.end(), dims_.begin());
  rank_ = static_cast<int>(dims.size());
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i)
    if (__builtin_mul_overflow(n, dims_[static_cast<size_t>(i)], &n))
      throw Error("shape " + str() + " has more elements than a 64-bit count can hold",
                  "a size read from a file is damaged or hostile");
  return n;
}

Shape Shape::with_batch(int64_t n) const {
  DLT_CHECK(rank_ < max_rank, "cannot add a batch dimension to a rank-6 shape");
  Shape s;
  s.rank_ = rank_ + 1;
  s.dims_[0] = n;
  std::copy(dims_.begin(), dims_.begin() + rank_, s.dims_.begin() + 1);
  return s;
}

Shape Shape::without_batch() const {
  DLT_CHECK(rank_ >= 1, "a scalar has no batch dimension");
  return Shape(dims().subspan(1));
}

std::string Shape::str() const {
  std::string s = "(";
  for (int i = 0; i < rank_; ++i) s += (i ? ", " : "") + std::to_string(dims_[static_cast<size_t>(i)]);
  if (rank_ == 1) s += ",";
  return s + ")";
}

bool Shape::operator==(const Shape& o) const {
  return rank_ == o.rank_ && std::equal(dims_.begin(), dims_.begin() + rank_, o.dims_.begin());
}

}  // namespace dltrain
