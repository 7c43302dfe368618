// Dispatch for elementwise ops, batch norm, losses, optimizer updates and conversion.
#include "dispatch.hpp"

namespace dltrain::ops {
using namespace detail;

void activation_forward(Act act, const Tensor& x, Tensor& y) {
  const Backend& be = backend("activation_forward", x, y);
  require_same_numel("activation_forward", x, y);
  be.activation_forward(act, x.f32(), y.f32(), x.numel());
}

void activation_backward(Act act, const Tensor& y, const Tensor& dy, Tensor& dx) {
  const Backend& be = backend("activation_backward", y, dy, dx);
  require_same_numel("activation_backward", y, dy);
  require_same_numel("activation_backward", y, dx);
  be.activation_backward(act, y.f32(), dy.f32(), dx.f32(), y.numel());
}

void dropout_forward(const Tensor& x, Tensor& y, float p, uint64_t key) {
  const Backend& be = backend("dropout_forward", x, y);
  require_same_numel("dropout_forward", x, y);
  DLT_CHECK(p >= 0 && p < 1, "dropout rate must be in [0, 1), got " + std::to_string(p));
  be.dropout_forward(x.f32(), y.f32(), x.numel(), p, key);
}

void dropout_backward(const Tensor& dy, Tensor& dx, float p, uint64_t key) {
  const Backend& be = backend("dropout_backward", dy, dx);
  require_same_numel("dropout_backward", dy, dx);
  be.dropout_backward(dy.f32(), dx.f32(), dy.numel(), p, key);
}

void batchnorm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y, Tensor& mean,
                             Tensor& invstd, float eps) {
  const Backend& be = backend("batchnorm_forward_train", x, gamma, beta, y, mean, invstd);
  const int64_t c = gamma.numel(), rows = x.numel() / c;
  require_same_numel("batchnorm_forward_train", x, y);
  DLT_CHECK(x.shape()[x.shape().rank() - 1] == c && rows > 0, "batchnorm: channel count mismatch");
  be.batchnorm_forward_train(x.f32(), gamma.f32(), beta.f32(), y.f32(), mean.f32(), invstd.f32(), rows, c, eps);
}

void batchnorm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                             const Tensor& running_var, Tensor& y, float eps) {
  const Backend& be = backend("batchnorm_forward_infer", x, gamma, beta, running_mean, running_var, y);
  const int64_t c = gamma.numel();
  require_same_numel("batchnorm_forward_infer", x, y);
  DLT_CHECK(x.shape()[x.shape().rank() - 1] == c, "batchnorm: channel count mismatch");
  be.batchnorm_forward_infer(x.f32(), gamma.f32(), beta.f32(), running_mean.f32(), running_var.f32(), y.f32(),
                             x.numel() / c, c, eps);
}

void batchnorm_backward(const Tensor& x, const Tensor& gamma, const Tensor& mean, const Tensor& invstd,
                        const Tensor& dy, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  const Backend& be = backend("batchnorm_backward", x, gamma, mean, invstd, dy, dx, dgamma, dbeta);
  require_same_numel("batchnorm_backward", x, dy);
  require_same_numel("batchnorm_backward", x, dx);
  const int64_t c = gamma.numel();
  be.batchnorm_backward(x.f32(), gamma.f32(), mean.f32(), invstd.f32(), dy.f32(), dx.f32(), dgamma.f32(),
                        dbeta.f32(), x.numel() / c, c);
}

void batchnorm_update_running(const Tensor& mean, const Tensor& invstd, Tensor& running_mean, Tensor& running_var,
                              float momentum, float eps, int64_t rows) {
  const Backend& be = backend("batchnorm_update_running", mean, invstd, running_mean, running_var);
  require_shape("batchnorm_update_running", "invstd", invstd, mean.shape());
  require_shape("batchnorm_update_running", "running_mean", running_mean, mean.shape());
  require_shape("batchnorm_update_running", "running_var", running_var, mean.shape());
  be.batchnorm_update_running(mean.f32(), invstd.f32(), running_mean.f32(), running_var.f32(), mean.numel(),
                              momentum, eps, rows);
}

void add(const Tensor& a, const Tensor& b, Tensor& y) {
  const Backend& be = backend("add", a, b, y);
  require_shape("add", "b", b, a.shape());
  require_same_numel("add", a, y);
  be.add(a.f32(), b.f32(), y.f32(), a.numel());
}

void accumulate(const Tensor& x, Tensor& y) {
  const Backend& be = backend("accumulate", x, y);
  require_same_numel("accumulate", x, y);
  be.accumulate(x.f32(), y.f32(), x.numel());
}

void softmax(const Tensor& x, Tensor& y) {
  const Backend& be = backend("softmax", x, y);
  DLT_CHECK(x.shape().rank() == 2, "softmax takes (N,K), got " + x.shape().str());
  require_shape("softmax", "y", y, x.shape());
  be.softmax(x.f32(), y.f32(), x.shape()[0], x.shape()[1]);
}

void softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx) {
  const Backend& be = backend("softmax_backward", y, dy, dx);
  DLT_CHECK(y.shape().rank() == 2, "softmax_backward takes (N,K), got " + y.shape().str());
  require_shape("softmax_backward", "dy", dy, y.shape());
  require_shape("softmax_backward", "dx", dx, y.shape());
  be.softmax_backward(y.f32(), dy.f32(), dx.f32(), y.shape()[0], y.shape()[1]);
}

LossStats softmax_cross_entropy(const Tensor& logits, std::span<const int32_t> labels, Tensor* dlogits,
                                int64_t mean_over) {
  const Backend& be = backend("softmax_cross_entropy", logits);
  DLT_CHECK(logits.shape().rank() == 2, "cross-entropy takes logits (N,K), got " + logits.shape().str());
  const int64_t rows = logits.shape()[0], cols = logits.shape()[1];
  DLT_CHECK(int64_t(labels.size()) == rows, "cross-entropy: " + std::to_string(labels.size()) + " labels for " +
                                                std::to_string(rows) + " rows");
  for (int32_t l : labels)
    DLT_CHECK(l >= 0 && l < cols, "label " + std::to_string(l) + " is outside the model's " + std::to_string(cols) +
                                      " classes",
              "the dataset has more classes than the model's last layer");
  if (dlogits) require_shape("softmax_cross_entropy", "dlogits", *dlogits, logits.shape());
  if (logits.device().is_cuda())  // the kernels read labels where the logits are
    return softmax_cross_entropy(logits, Tensor::from_labels(labels).to(logits.device()), dlogits, mean_over);
  DLT_CHECK(mean_over >= 0, "cross-entropy: the count to average over cannot be negative");
  return be.softmax_cross_entropy(logits.f32(), labels.data(), dlogits ? dlogits->f32() : nullptr, rows, cols,
                                  mean_over ? mean_over : std::max<int64_t>(rows, 1));
}

LossStats softmax_cross_entropy(const Tensor& logits, const Tensor& labels, Tensor* dlogits, int64_t mean_over) {
  if (!labels.device().is_cuda() && labels.dtype() == DType::i32)
    return softmax_cross_entropy(logits, std::span<const int32_t>(labels.i32(), size_t(labels.numel())), dlogits,
                                 mean_over);
  const Backend& be = backend("softmax_cross_entropy", logits);
  DLT_CHECK(logits.shape().rank() == 2, "cross-entropy takes logits (N,K), got " + logits.shape().str());
  const int64_t rows = logits.shape()[0], cols = logits.shape()[1];
  DLT_CHECK(labels.dtype() == DType::i32 && labels.numel() == rows && labels.device() == logits.device(),
            "cross-entropy: labels must be " + std::to_string(rows) + " int32 values on " +
                device_name(logits.device()));
  if (dlogits) {
    require_on(logits.device(), "softmax_cross_entropy", *dlogits);
    require_shape("softmax_cross_entropy", "dlogits", *dlogits, logits.shape());
  }
  DLT_CHECK(mean_over >= 0, "cross-entropy: the count to average over cannot be negative");
  return be.softmax_cross_entropy(logits.f32(), labels.i32(), dlogits ? dlogits->f32() : nullptr, rows, cols,
                                  mean_over ? mean_over : std::max<int64_t>(rows, 1));
}

void sgd_update(Tensor& w, const Tensor& g, Tensor& velocity, float lr, float momentum, float weight_decay,
                bool nesterov) {
  const Backend& be = backend("sgd_update", w, g);
  require_same_numel("sgd_update", w, g);
  float* v = nullptr;
  if (momentum != 0) {
    require_on(w.device(), "sgd_update", velocity);
    require_same_numel("sgd_update", w, velocity);
    v = velocity.f32();
  }
  be.sgd_update(w.f32(), g.f32(), v, w.numel(), lr, momentum, weight_decay, nesterov);
}

void adam_update(Tensor& w, const Tensor& g, Tensor& m, Tensor& v, float lr, float beta1, float beta2, float eps,
                 float weight_decay, bool decoupled, int64_t step) {
  const Backend& be = backend("adam_update", w, g, m, v);
  require_same_numel("adam_update", w, g);
  require_same_numel("adam_update", w, m);
  require_same_numel("adam_update", w, v);
  DLT_CHECK(step >= 1, "adam step counts from 1");
  be.adam_update(w.f32(), g.f32(), m.f32(), v.f32(), w.numel(), lr, beta1, beta2, eps, weight_decay, decoupled,
                 step);
}

void u8_to_f32(const Tensor& src, Tensor& dst, float scale, float offset) {
  DLT_CHECK(src.dtype() == DType::u8 && dst.dtype() == DType::f32, "u8_to_f32 converts uint8 to float32");
  require_same_numel("u8_to_f32", src, dst);
  const Backend& be = backend("u8_to_f32", dst);
  DLT_CHECK(src.device() == dst.device() && !src.empty(), "u8_to_f32: src and dst must be on one device");
  be.u8_to_f32(src.u8(), dst.f32(), src.numel(), scale, offset);
}

}  // namespace dltrain::ops
