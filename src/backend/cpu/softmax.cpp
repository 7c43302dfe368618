// Fast softmax and fused softmax-cross-entropy: float math, parallel over rows; the loss is summed
// per thread and combined in thread order.
#include <cmath>
#include <vector>

#include "cpu.hpp"
#include "parallel.hpp"

namespace dltrain::cpu {
namespace {
constexpr int64_t row_grain = 64;
}

void softmax(const float* x, float* y, int64_t rows, int64_t cols) {
  parallel_chunks(rows, row_grain, [&](int64_t r0, int64_t r1, int64_t) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      float m = xr[0], s = 0;
      for (int64_t j = 1; j < cols; ++j) m = std::max(m, xr[j]);
      for (int64_t j = 0; j < cols; ++j) s += (yr[j] = std::exp(xr[j] - m));
      for (int64_t j = 0; j < cols; ++j) yr[j] /= s;
    }
  });
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols) {
  parallel_chunks(rows, row_grain, [&](int64_t r0, int64_t r1, int64_t) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* yr = y + r * cols;
      const float* dyr = dy + r * cols;
      float dot = 0;
      for (int64_t j = 0; j < cols; ++j) dot += dyr[j] * yr[j];
      for (int64_t j = 0; j < cols; ++j) dx[r * cols + j] = yr[j] * (dyr[j] - dot);
    }
  });
}

LossStats softmax_cross_entropy(const float* logits, const int32_t* labels, float* dlogits, int64_t rows,
                                int64_t cols, int64_t mean_over) {
  std::vector<LossStats> part(static_cast<size_t>(chunk_count(rows, row_grain)));
  const float inv_rows = 1.0f / float(mean_over);
  parallel_chunks(rows, row_grain, [&](int64_t r0, int64_t r1, int64_t t) {
    LossStats& st = part[size_t(t)];
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = logits + r * cols;
      int64_t arg = 0;
      for (int64_t j = 1; j < cols; ++j)
        if (xr[j] > xr[arg]) arg = j;
      const float m = xr[arg];
      float s = 0;
      for (int64_t j = 0; j < cols; ++j) s += std::exp(xr[j] - m);
      st.loss_sum += double(std::log(s) - (xr[labels[r]] - m));
      st.correct += arg == labels[r];
      if (!dlogits) continue;
      const float inv_s = inv_rows / s;
      for (int64_t j = 0; j < cols; ++j) dlogits[r * cols + j] = std::exp(xr[j] - m) * inv_s;
      dlogits[r * cols + labels[r]] -= inv_rows;
    }
  });
  LossStats total;
  for (const LossStats& p : part) {
    total.loss_sum += p.loss_sum;
    total.correct += p.correct;
  }
  return total;
}

}  // namespace dltrain::cpu
