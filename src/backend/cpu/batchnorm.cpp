// Fast batch normalisation over (R,C): per-thread partial statistics over row chunks, combined in
// thread order; the channel axis is innermost and vectorised.
#include <cmath>
#include <vector>

#include "cpu.hpp"
#include "parallel.hpp"
#include "ref/ref.hpp"

namespace dltrain::cpu {
namespace {
constexpr int64_t row_grain = 256;

// out[j] = sum_r f(r, j), summed in double per chunk, chunks in order.
template <class F>
void column_sums(int64_t rows, int64_t c, double* out, F&& f) {
  const int64_t chunks = chunk_count(rows, row_grain);
  std::vector<double> part(size_t(chunks * c), 0.0);
  parallel_chunks(rows, row_grain, [&](int64_t r0, int64_t r1, int64_t t) {
    double* p = part.data() + t * c;
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t j = 0; j < c; ++j) p[j] += f(r, j);
  });
  for (int64_t j = 0; j < c; ++j) out[j] = 0;
  for (int64_t t = 0; t < chunks; ++t)
    for (int64_t j = 0; j < c; ++j) out[j] += part[size_t(t * c + j)];
}

// y[r,j] = x[r,j] * scale[j] + shift[j]
void scale_shift(const float* x, const float* scale, const float* shift, float* y, int64_t rows, int64_t c) {
  parallel_chunks(rows, row_grain, [&](int64_t r0, int64_t r1, int64_t) {
    for (int64_t r = r0; r < r1; ++r)
#pragma omp simd
      for (int64_t j = 0; j < c; ++j) y[r * c + j] = x[r * c + j] * scale[j] + shift[j];
  });
}
}  // namespace

void batchnorm_forward_train(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                             float* invstd, int64_t rows, int64_t c, float eps) {
  std::vector<double> s(static_cast<size_t>(c)), ss(static_cast<size_t>(c));
  column_sums(rows, c, s.data(), [&](int64_t r, int64_t j) { return double(x[r * c + j]); });
  for (int64_t j = 0; j < c; ++j) mean[j] = float(s[size_t(j)] / double(rows));
  column_sums(rows, c, ss.data(), [&](int64_t r, int64_t j) {
    const double d = double(x[r * c + j]) - mean[j];
    return d * d;
  });
  std::vector<float> scale(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
  for (int64_t j = 0; j < c; ++j) {
    invstd[j] = float(1.0 / std::sqrt(ss[size_t(j)] / double(rows) + eps));
    scale[size_t(j)] = gamma[j] * invstd[j];
    shift[size_t(j)] = beta[j] - mean[j] * scale[size_t(j)];
  }
  scale_shift(x, scale.data(), shift.data(), y, rows, c);
}

void batchnorm_forward_infer(const float* x, const float* gamma, const float* beta, const float* running_mean,
                             const float* running_var, float* y, int64_t rows, int64_t c, float eps) {
  std::vector<float> scale(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
  for (int64_t j = 0; j < c; ++j) {
    scale[size_t(j)] = gamma[j] / std::sqrt(running_var[j] + eps);
    shift[size_t(j)] = beta[j] - running_mean[j] * scale[size_t(j)];
  }
  scale_shift(x, scale.data(), shift.data(), y, rows, c);
}

void batchnorm_backward(const float* x, const float* gamma, const float* mean, const float* invstd,
                        const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t c) {
  std::vector<double> sdy(static_cast<size_t>(c)), sdyx(static_cast<size_t>(c));
  column_sums(rows, c, sdy.data(), [&](int64_t r, int64_t j) { return double(dy[r * c + j]); });
  column_sums(rows, c, sdyx.data(), [&](int64_t r, int64_t j) {
    return double(dy[r * c + j]) * (x[r * c + j] - mean[j]) * invstd[j];
  });
  std::vector<float> a(static_cast<size_t>(c)), b(static_cast<size_t>(c)), k(static_cast<size_t>(c));
  for (int64_t j = 0; j < c; ++j) {
    dbeta[j] = float(sdy[size_t(j)]);
    dgamma[j] = float(sdyx[size_t(j)]);
    // dx = gamma*invstd/R * (R*dy - sdy - xhat*sdyx), xhat = (x-mean)*invstd
    const double g = double(gamma[j]) * invstd[j] / double(rows);
    a[size_t(j)] = float(g * double(rows));
    k[size_t(j)] = float(g * sdyx[size_t(j)] * invstd[j]);
    b[size_t(j)] = float(-g * sdy[size_t(j)] + g * sdyx[size_t(j)] * invstd[j] * mean[j]);
  }
  parallel_chunks(rows, row_grain, [&](int64_t r0, int64_t r1, int64_t) {
    for (int64_t r = r0; r < r1; ++r)
#pragma omp simd
      for (int64_t j = 0; j < c; ++j) dx[r * c + j] = a[size_t(j)] * dy[r * c + j] - k[size_t(j)] * x[r * c + j] + b[size_t(j)];
  });
}

// A loop over channels: too little work to split across threads.
void batchnorm_update_running(const float* mean, const float* invstd, float* running_mean, float* running_var,
                              int64_t c, float momentum, float eps, int64_t rows) {
  ref::batchnorm_update_running(mean, invstd, running_mean, running_var, c, momentum, eps, rows);
}

}  // namespace dltrain::cpu
