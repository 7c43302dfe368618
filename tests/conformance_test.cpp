// Backend conformance: every kernel of kernels.inc, called through each registered backend table
// (cpu, cpu-reference, cuda) on memory of that backend's device, against the reference kernels on
// the host, on odd shapes. Inputs are made on the host and copied to the device with Tensor::to;
// outputs come back the same way. Each instantiation is one backend: the cuda one (CTest test
// conformance.cuda, label gpu) skips with the reason when the backend is not built or no GPU is
// there. Tolerances (relative, |a-b| <= tol * max(1,|b|)) are stated per kernel below.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "backend/backend.hpp"
#include "backend/cpu/ref/ref.hpp"
#include "core/device_memory.hpp"
#include "helpers.hpp"

namespace dltrain {
namespace {
using test::close;
using test::random_tensor;
namespace ref = cpu::ref;

// Float accumulation (cpu, cuda) against double (reference): sums of up to a few thousand terms.
constexpr double tol_gemm = 2e-4, tol_elementwise = 1e-6, tol_reduction = 1e-4;

class Conformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string name = GetParam();
    if (name == "cpu") be_ = &cpu_backend();
    if (name == "cpu-reference") be_ = &reference_backend();
    if (name == "cuda") {
      be_ = cuda_backend();
      if (!be_) GTEST_SKIP() << "cuda backend: not built into this dltrain (no CUDA toolkit at build time)";
      try {
        device_memory::require(Device::cuda);
      } catch (const Error& e) {
        GTEST_SKIP() << "cuda backend built, but no GPU to run it: " << e.what();
      }
    }
    ASSERT_NE(be_, nullptr) << name;
    device_ = be_->device;
  }
  // A copy of a host tensor on the backend's device, and back.
  Tensor up(const Tensor& host) const { return host.to(device_); }
  Tensor out(const Shape& s, DType t = DType::f32) const { return Tensor(s, t, device_); }
  static Tensor down(const Tensor& t) { return t.to(Device::cpu); }

  const Backend* be_ = nullptr;
  Device device_;
};

// ---- dense -------------------------------------------------------------------------------------
TEST_P(Conformance, Dense) {
  for (const auto [n, in, out_] : {std::array<int64_t, 3>{1, 1, 1}, {3, 7, 5}, {17, 300, 33}, {33, 17, 129}}) {
    Tensor x = random_tensor({n, in}, 1), w = random_tensor({in, out_}, 2), b = random_tensor({out_}, 3);
    Tensor dy = random_tensor({n, out_}, 4);
    Tensor y_ref({n, out_}), dx_ref({n, in}), dw_ref({in, out_}), db_ref({out_});
    ref::dense_forward(x.f32(), w.f32(), b.f32(), y_ref.f32(), n, in, out_);
    ref::dense_backward(x.f32(), w.f32(), dy.f32(), dx_ref.f32(), dw_ref.f32(), db_ref.f32(), n, in, out_);
    Tensor dx_ = up(x), dw_ = up(w), db_ = up(b), ddy = up(dy), y = out({n, out_}), dx = out({n, in}),
           dw = out({in, out_}), db = out({out_});
    be_->dense_forward(dx_.f32(), dw_.f32(), db_.f32(), y.f32(), n, in, out_);
    EXPECT_TRUE(close(down(y), y_ref, tol_gemm)) << n << "x" << in << "x" << out_;
    be_->dense_backward(dx_.f32(), dw_.f32(), ddy.f32(), dx.f32(), dw.f32(), db.f32(), n, in, out_);
    EXPECT_TRUE(close(down(dx), dx_ref, tol_gemm));
    EXPECT_TRUE(close(down(dw), dw_ref, tol_gemm));
    EXPECT_TRUE(close(down(db), db_ref, tol_reduction));
    be_->dense_backward(dx_.f32(), dw_.f32(), ddy.f32(), nullptr, dw.f32(), db.f32(), n, in, out_);
    EXPECT_TRUE(close(down(dw), dw_ref, tol_gemm));
  }
}

// ---- convolutions ------------------------------------------------------------------------------
struct Geometry { int64_t n, h, w, c, k, kh, kw, stride; Padding pad; };
const Geometry conv_cases[] = {{2, 5, 5, 1, 3, 3, 3, 1, Padding::valid}, {2, 6, 7, 3, 4, 3, 3, 2, Padding::same},
                               {1, 8, 8, 5, 7, 1, 1, 1, Padding::valid}, {3, 9, 9, 2, 16, 5, 5, 1, Padding::same},
                               {2, 13, 11, 12, 20, 3, 3, 2, Padding::valid}, {1, 7, 10, 3, 5, 2, 4, 3, Padding::same}};

TEST_P(Conformance, Conv2d) {
  for (const Geometry& p : conv_cases) {
    const Window g = Window::make({p.n, p.h, p.w, p.c}, p.kh, p.kw, p.stride, p.stride, p.pad, p.k);
    Tensor x = random_tensor({p.n, p.h, p.w, p.c}, 1), w = random_tensor({p.kh, p.kw, p.c, p.k}, 2);
    Tensor b = random_tensor({p.k}, 3), dy = random_tensor({g.n, g.oh, g.ow, g.k}, 4);
    Tensor dx_ = up(x), dw_ = up(w), db_ = up(b), ddy = up(dy);
    for (const Act act : {Act::none, Act::relu, Act::relu6}) {
      Tensor y_ref({g.n, g.oh, g.ow, g.k}), y = out(y_ref.shape());
      ref::conv2d_forward(x.f32(), w.f32(), b.f32(), y_ref.f32(), g, act);
      be_->conv2d_forward(dx_.f32(), dw_.f32(), db_.f32(), y.f32(), g, act);
      EXPECT_TRUE(close(down(y), y_ref, tol_gemm)) << "act " << int(act) << " " << p.h << "x" << p.w;
    }
    Tensor dx_ref(x.shape()), dw_ref(w.shape()), db_ref({p.k}), dx = out(x.shape()), dw = out(w.shape()),
           db = out({p.k});
    ref::conv2d_backward(x.f32(), w.f32(), dy.f32(), dx_ref.f32(), dw_ref.f32(), db_ref.f32(), g);
    be_->conv2d_backward(dx_.f32(), dw_.f32(), ddy.f32(), dx.f32(), dw.f32(), db.f32(), g);
    EXPECT_TRUE(close(down(dx), dx_ref, tol_gemm));
    EXPECT_TRUE(close(down(dw), dw_ref, tol_gemm));
    EXPECT_TRUE(close(down(db), db_ref, tol_reduction));
    be_->conv2d_backward(dx_.f32(), dw_.f32(), ddy.f32(), nullptr, dw.f32(), db.f32(), g);
    EXPECT_TRUE(close(down(dw), dw_ref, tol_gemm));
  }
}

TEST_P(Conformance, Depthwise) {
  for (const Geometry& p : conv_cases) {
    const Window g = Window::make({p.n, p.h, p.w, p.c}, p.kh, p.kw, p.stride, p.stride, p.pad, p.c);
    Tensor x = random_tensor({p.n, p.h, p.w, p.c}, 1), w = random_tensor({p.kh, p.kw, p.c}, 2);
    Tensor b = random_tensor({p.c}, 3), dy = random_tensor({g.n, g.oh, g.ow, g.c}, 4);
    Tensor dx_ = up(x), dw_ = up(w), db_ = up(b), ddy = up(dy);
    for (const Act act : {Act::none, Act::relu6}) {
      Tensor y_ref({g.n, g.oh, g.ow, g.c}), y = out(y_ref.shape());
      ref::depthwise_forward(x.f32(), w.f32(), b.f32(), y_ref.f32(), g, act);
      be_->depthwise_forward(dx_.f32(), dw_.f32(), db_.f32(), y.f32(), g, act);
      EXPECT_TRUE(close(down(y), y_ref, tol_gemm));
    }
    Tensor dx_ref(x.shape()), dw_ref(w.shape()), db_ref({p.c}), dx = out(x.shape()), dw = out(w.shape()),
           db = out({p.c});
    ref::depthwise_backward(x.f32(), w.f32(), dy.f32(), dx_ref.f32(), dw_ref.f32(), db_ref.f32(), g);
    be_->depthwise_backward(dx_.f32(), dw_.f32(), ddy.f32(), dx.f32(), dw.f32(), db.f32(), g);
    EXPECT_TRUE(close(down(dx), dx_ref, tol_gemm));
    EXPECT_TRUE(close(down(dw), dw_ref, tol_gemm));
    EXPECT_TRUE(close(down(db), db_ref, tol_reduction));
  }
}

TEST_P(Conformance, ConvDepthwiseChain) {
  for (const int variant : {0, 1, 2}) {  // depthwise output, projected, projected + residual
    const bool project = variant > 0, residual = variant == 2;
    const int64_t n = 2, h = 9, wd = 7, c = residual ? 5 : 3, e = 12, k = residual ? 5 : 7;
    const Window first = Window::make({n, h, wd, c}, 1, 1, 1, 1, Padding::same, e);
    const Window g = Window::make({n, h, wd, e}, 3, 3, 1, 1, Padding::same, e);
    Tensor x = random_tensor({n, h, wd, c}, 1), w1 = random_tensor({1, 1, c, e}, 2), b1 = random_tensor({e}, 3);
    Tensor w2 = random_tensor({3, 3, e}, 4), b2 = random_tensor({e}, 5);
    Tensor w3 = random_tensor({1, 1, e, k}, 6), b3 = random_tensor({k}, 7);
    const int64_t kout = project ? k : e;
    Tensor y_ref({n, g.oh, g.ow, kout}), y = out(y_ref.shape());
    const Act act3 = residual ? Act::none : Act::relu6;
    const ConvDepthwiseArgs host{w1.f32(), b1.f32(), w2.f32(), b2.f32(), project ? w3.f32() : nullptr, b3.f32(),
                                 Act::relu6, Act::relu, act3, first, k, residual};
    ref::conv_depthwise_forward(x.f32(), host, y_ref.f32(), g);
    Tensor dx_ = up(x), d1 = up(w1), e1 = up(b1), d2 = up(w2), e2 = up(b2), d3 = up(w3), e3 = up(b3);
    const ConvDepthwiseArgs dev{d1.f32(), e1.f32(), d2.f32(), e2.f32(), project ? d3.f32() : nullptr, e3.f32(),
                                Act::relu6, Act::relu, act3, first, k, residual};
    be_->conv_depthwise_forward(dx_.f32(), dev, y.f32(), g);
    EXPECT_TRUE(close(down(y), y_ref, tol_gemm)) << "variant " << variant;
  }
}

TEST_P(Conformance, ConvPool) {
  using Case = std::tuple<Geometry, int64_t, Act>;  // conv geometry, pool window, activation
  for (const auto& [p, pool, act] : {Case{{2, 8, 8, 1, 5, 3, 3, 1, Padding::same}, 2, Act::relu},
                                     Case{{3, 11, 9, 2, 4, 3, 3, 1, Padding::valid}, 3, Act::none},
                                     Case{{1, 12, 12, 3, 6, 5, 5, 1, Padding::same}, 2, Act::relu6}}) {
    const Window g = Window::make({p.n, p.h, p.w, p.c}, p.kh, p.kw, p.stride, p.stride, p.pad, p.k);
    const Shape pooled{p.n, g.oh / pool, g.ow / pool, p.k};
    Tensor x = random_tensor({p.n, p.h, p.w, p.c}, 1), w = random_tensor({p.kh, p.kw, p.c, p.k}, 2, -2, 2);
    Tensor b = random_tensor({p.k}, 3), dy = random_tensor(pooled, 4);
    Tensor y_ref(pooled), arg_ref(pooled, DType::u8), y = out(pooled), arg = out(pooled, DType::u8);
    ref::conv2d_pool_forward(x.f32(), w.f32(), b.f32(), act, pool, y_ref.f32(), arg_ref.u8(), g);
    Tensor dx_ = up(x), dw_ = up(w), db_ = up(b), ddy = up(dy);
    be_->conv2d_pool_forward(dx_.f32(), dw_.f32(), db_.f32(), act, pool, y.f32(), arg.u8(), g);
    EXPECT_TRUE(close(down(y), y_ref, tol_gemm));
    Tensor arg_host = down(arg);
    int64_t mismatched = 0;
    for (int64_t i = 0; i < arg_host.numel(); ++i) mismatched += arg_host.u8()[i] != arg_ref.u8()[i];
    EXPECT_EQ(mismatched, 0);
    // Backward from the reference's argmax, so a near-tie cannot make the gradients differ.
    Tensor darg = up(arg_ref);
    Tensor dx_ref(x.shape()), dw_ref(w.shape()), db_ref({p.k}), dx = out(x.shape()), dw = out(w.shape()),
           db = out({p.k});
    ref::conv2d_pool_backward(x.f32(), w.f32(), arg_ref.u8(), dy.f32(), pool, dx_ref.f32(), dw_ref.f32(),
                              db_ref.f32(), g);
    be_->conv2d_pool_backward(dx_.f32(), dw_.f32(), darg.u8(), ddy.f32(), pool, dx.f32(), dw.f32(), db.f32(), g);
    EXPECT_TRUE(close(down(dx), dx_ref, tol_gemm));
    EXPECT_TRUE(close(down(dw), dw_ref, tol_gemm));
    EXPECT_TRUE(close(down(db), db_ref, tol_reduction));
    const bool fast = be_->conv2d_pool_is_fast(g, pool);  // a CPU fact for cpu; the GPU fuses these
    if (device_.is_cuda()) {
      EXPECT_TRUE(fast);
    }
  }
}

// ---- pools -------------------------------------------------------------------------------------
TEST_P(Conformance, Pools) {
  // Non-overlapping, overlapping with SAME padding, stride 1, and one window over the whole map.
  for (const Geometry& p : {Geometry{2, 7, 9, 3, 3, 2, 2, 2, Padding::valid},
                            Geometry{1, 7, 7, 5, 5, 3, 3, 2, Padding::same},
                            Geometry{3, 6, 5, 2, 2, 3, 3, 1, Padding::same},
                            Geometry{1, 7, 7, 4, 4, 7, 7, 1, Padding::valid}}) {
    const Window g = Window::make({p.n, p.h, p.w, p.c}, p.kh, p.kw, p.stride, p.stride, p.pad, p.c);
    Tensor x = random_tensor({p.n, p.h, p.w, p.c}, 1), dy = random_tensor({g.n, g.oh, g.ow, g.c}, 2);
    Tensor dx_ = up(x), ddy = up(dy);
    Tensor y_ref({g.n, g.oh, g.ow, g.c}), dx_ref(x.shape()), y = out(y_ref.shape()), dx = out(x.shape());
    ref::maxpool_forward(x.f32(), y_ref.f32(), g);
    be_->maxpool_forward(dx_.f32(), y.f32(), g);
    EXPECT_TRUE(close(down(y), y_ref, 0));
    Tensor dy_ref = up(y_ref);
    ref::maxpool_backward(x.f32(), y_ref.f32(), dy.f32(), dx_ref.f32(), g);
    be_->maxpool_backward(dx_.f32(), dy_ref.f32(), ddy.f32(), dx.f32(), g);
    EXPECT_TRUE(close(down(dx), dx_ref, tol_elementwise));
    ref::avgpool_forward(x.f32(), y_ref.f32(), g);
    be_->avgpool_forward(dx_.f32(), y.f32(), g);
    EXPECT_TRUE(close(down(y), y_ref, tol_reduction));
    ref::avgpool_backward(dy.f32(), dx_ref.f32(), g);
    be_->avgpool_backward(ddy.f32(), dx.f32(), g);
    EXPECT_TRUE(close(down(dx), dx_ref, tol_reduction));
  }
}

// ---- elementwise -------------------------------------------------------------------------------
TEST_P(Conformance, Elementwise) {
  const int64_t n = 1031;
  Tensor x = random_tensor({n}, 1, -8, 8), dy = random_tensor({n}, 2), b = random_tensor({n}, 3);
  Tensor dx_ = up(x), ddy = up(dy), db_ = up(b), y = out({n}), y_ref({n});
  for (const Act act : {Act::none, Act::relu, Act::relu6}) {
    ref::activation_forward(act, x.f32(), y_ref.f32(), n);
    be_->activation_forward(act, dx_.f32(), y.f32(), n);
    EXPECT_TRUE(close(down(y), y_ref, 0));
    Tensor dy_ref = up(y_ref);
    ref::activation_backward(act, y_ref.f32(), dy.f32(), y_ref.f32(), n);
    be_->activation_backward(act, dy_ref.f32(), ddy.f32(), y.f32(), n);
    EXPECT_TRUE(close(down(y), y_ref, 0));
  }
  // The masks must match exactly (a dropped element is 0, a kept one ~1.4x: any tolerance below
  // that catches a different mask); the scaling may differ by an ulp (x * (1/(1-p)) vs x / (1-p)).
  for (const uint64_t key : {uint64_t(7), uint64_t(0xdeadbeef12345)}) {
    ref::dropout_forward(x.f32(), y_ref.f32(), n, 0.3f, key);
    be_->dropout_forward(dx_.f32(), y.f32(), n, 0.3f, key);
    EXPECT_TRUE(close(down(y), y_ref, tol_elementwise));
    ref::dropout_backward(dy.f32(), y_ref.f32(), n, 0.3f, key);
    be_->dropout_backward(ddy.f32(), y.f32(), n, 0.3f, key);
    EXPECT_TRUE(close(down(y), y_ref, tol_elementwise));
  }
  ref::add(x.f32(), b.f32(), y_ref.f32(), n);
  be_->add(dx_.f32(), db_.f32(), y.f32(), n);
  EXPECT_TRUE(close(down(y), y_ref, 0));
  ref::accumulate(x.f32(), y_ref.f32(), n);
  be_->accumulate(dx_.f32(), y.f32(), n);
  EXPECT_TRUE(close(down(y), y_ref, 0));
  Tensor u({n}, DType::u8);
  for (int64_t i = 0; i < n; ++i) u.u8()[i] = uint8_t(i * 37);
  Tensor du = up(u);
  ref::u8_to_f32(u.u8(), y_ref.f32(), n, 1.0f / 255, -0.5f);
  be_->u8_to_f32(du.u8(), y.f32(), n, 1.0f / 255, -0.5f);
  EXPECT_TRUE(close(down(y), y_ref, tol_elementwise));
}

// ---- batch norm --------------------------------------------------------------------------------
TEST_P(Conformance, BatchNorm) {
  const int64_t rows = 37, c = 11;
  const float eps = 1e-3f;
  Tensor x = random_tensor({rows, c}, 1, -3, 5), gamma = random_tensor({c}, 2), beta = random_tensor({c}, 3);
  Tensor dy = random_tensor({rows, c}, 4), rm = random_tensor({c}, 5), rv = random_tensor({c}, 6, 0.5f, 2);
  Tensor dx_ = up(x), dg = up(gamma), dbt = up(beta), ddy = up(dy), drm = up(rm), drv = up(rv);
  Tensor y_ref({rows, c}), mean_ref({c}), invstd_ref({c}), y = out({rows, c}), mean = out({c}), invstd = out({c});
  ref::batchnorm_forward_train(x.f32(), gamma.f32(), beta.f32(), y_ref.f32(), mean_ref.f32(), invstd_ref.f32(), rows,
                               c, eps);
  be_->batchnorm_forward_train(dx_.f32(), dg.f32(), dbt.f32(), y.f32(), mean.f32(), invstd.f32(), rows, c, eps);
  EXPECT_TRUE(close(down(y), y_ref, tol_reduction));
  EXPECT_TRUE(close(down(mean), mean_ref, tol_reduction));
  EXPECT_TRUE(close(down(invstd), invstd_ref, tol_reduction));
  ref::batchnorm_forward_infer(x.f32(), gamma.f32(), beta.f32(), rm.f32(), rv.f32(), y_ref.f32(), rows, c, eps);
  be_->batchnorm_forward_infer(dx_.f32(), dg.f32(), dbt.f32(), drm.f32(), drv.f32(), y.f32(), rows, c, eps);
  EXPECT_TRUE(close(down(y), y_ref, tol_elementwise * 10));
  Tensor dmean = up(mean_ref), dinvstd = up(invstd_ref);
  Tensor dx_ref({rows, c}), dgamma_ref({c}), dbeta_ref({c}), dx = out({rows, c}), dgamma = out({c}), dbeta = out({c});
  ref::batchnorm_backward(x.f32(), gamma.f32(), mean_ref.f32(), invstd_ref.f32(), dy.f32(), dx_ref.f32(),
                          dgamma_ref.f32(), dbeta_ref.f32(), rows, c);
  be_->batchnorm_backward(dx_.f32(), dg.f32(), dmean.f32(), dinvstd.f32(), ddy.f32(), dx.f32(), dgamma.f32(),
                          dbeta.f32(), rows, c);
  EXPECT_TRUE(close(down(dx), dx_ref, tol_reduction));
  EXPECT_TRUE(close(down(dgamma), dgamma_ref, tol_reduction));
  EXPECT_TRUE(close(down(dbeta), dbeta_ref, tol_reduction));
  ref::batchnorm_update_running(mean_ref.f32(), invstd_ref.f32(), rm.f32(), rv.f32(), c, 0.9f, eps, rows);
  be_->batchnorm_update_running(dmean.f32(), dinvstd.f32(), drm.f32(), drv.f32(), c, 0.9f, eps, rows);
  EXPECT_TRUE(close(down(drm), rm, tol_elementwise * 10));
  EXPECT_TRUE(close(down(drv), rv, tol_reduction));
}

// ---- softmax and the loss ----------------------------------------------------------------------
TEST_P(Conformance, SoftmaxAndCrossEntropy) {
  for (const auto [rows, cols] : {std::array<int64_t, 2>{1, 1}, {7, 10}, {33, 3}, {5, 1001}}) {
    Tensor x = random_tensor({rows, cols}, 1, -10, 10), dy = random_tensor({rows, cols}, 2);
    Tensor dx_ = up(x), ddy = up(dy), y_ref({rows, cols}), y = out({rows, cols});
    ref::softmax(x.f32(), y_ref.f32(), rows, cols);
    be_->softmax(dx_.f32(), y.f32(), rows, cols);
    EXPECT_TRUE(close(down(y), y_ref, tol_elementwise * 10));
    Tensor dsm = up(y_ref), dx_ref({rows, cols}), dx = out({rows, cols});
    ref::softmax_backward(y_ref.f32(), dy.f32(), dx_ref.f32(), rows, cols);
    be_->softmax_backward(dsm.f32(), ddy.f32(), dx.f32(), rows, cols);
    EXPECT_TRUE(close(down(dx), dx_ref, tol_reduction));
    std::vector<int32_t> labels(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) labels[size_t(r)] = int32_t((r * 7 + 3) % cols);
    Tensor dlabels = up(Tensor::from_labels(labels));
    // Averaged over 3x the rows, as a micro-batch of a larger step is.
    const LossStats want = ref::softmax_cross_entropy(x.f32(), labels.data(), dx_ref.f32(), rows, cols, 3 * rows);
    const LossStats got = be_->softmax_cross_entropy(dx_.f32(), dlabels.i32(), dx.f32(), rows, cols, 3 * rows);
    EXPECT_NEAR(got.loss_sum, want.loss_sum, tol_reduction * std::max(1.0, std::abs(want.loss_sum)));
    EXPECT_EQ(got.correct, want.correct);
    EXPECT_TRUE(close(down(dx), dx_ref, tol_reduction));
    const LossStats eval = be_->softmax_cross_entropy(dx_.f32(), dlabels.i32(), nullptr, rows, cols, rows);
    EXPECT_EQ(eval.correct, want.correct);
  }
}

// ---- optimizers --------------------------------------------------------------------------------
TEST_P(Conformance, Optimizers) {
  const int64_t n = 517;
  for (const bool nesterov : {false, true}) {
    Tensor w = random_tensor({n}, 1), g = random_tensor({n}, 2), v = random_tensor({n}, 3);
    Tensor dw_ = up(w), dg = up(g), dv = up(v);
    for (int step = 0; step < 3; ++step) {
      ref::sgd_update(w.f32(), g.f32(), v.f32(), n, 0.1f, 0.9f, 1e-4f, nesterov);
      be_->sgd_update(dw_.f32(), dg.f32(), dv.f32(), n, 0.1f, 0.9f, 1e-4f, nesterov);
    }
    EXPECT_TRUE(close(down(dw_), w, tol_elementwise * 10));
    EXPECT_TRUE(close(down(dv), v, tol_elementwise * 10));
  }
  for (const bool decoupled : {false, true}) {
    Tensor w = random_tensor({n}, 1), g = random_tensor({n}, 2), m = Tensor::zeros({n}), v = Tensor::zeros({n});
    Tensor dw_ = up(w), dg = up(g), dm = up(m), dv = up(v);
    for (int64_t step = 1; step <= 3; ++step) {
      ref::adam_update(w.f32(), g.f32(), m.f32(), v.f32(), n, 1e-3f, 0.9f, 0.999f, 1e-7f, 0.01f, decoupled, step);
      be_->adam_update(dw_.f32(), dg.f32(), dm.f32(), dv.f32(), n, 1e-3f, 0.9f, 0.999f, 1e-7f, 0.01f, decoupled, step);
    }
    EXPECT_TRUE(close(down(dw_), w, tol_elementwise * 10));
    EXPECT_TRUE(close(down(dm), m, tol_elementwise * 10));
    EXPECT_TRUE(close(down(dv), v, tol_elementwise * 10));
  }
}

// Every backend this build registers is exercised above; the names are those CTest shows.
INSTANTIATE_TEST_SUITE_P(host, Conformance, ::testing::Values("cpu", "cpu-reference"),
                         [](const auto& info) { return info.param == "cpu" ? "cpu" : "reference"; });
INSTANTIATE_TEST_SUITE_P(gpu, Conformance, ::testing::Values("cuda"), [](const auto&) { return "cuda"; });

// Explicit copies across devices: a round trip through the GPU (and a GPU-to-GPU clone) returns
// the same bytes, and the caching allocator serves repeated sizes from its bins.
TEST(GpuMemory, RoundTripThroughTheGpu) {
  try {
    device_memory::require(Device::cuda);
  } catch (const Error& e) {
    GTEST_SKIP() << "no GPU: " << e.what();
  }
  Tensor h = random_tensor({3, 333}, 9);
  Tensor d = h.to(Device::cuda);
  EXPECT_EQ(d.device(), Device::cuda);
  Tensor d2 = d.clone();
  Tensor back = d2.to(Device::cpu);
  EXPECT_TRUE(close(back, h, 0));
  d2.fill(2.5f);
  EXPECT_EQ(d2.to(Device::cpu).values()[998], 2.5f);
  { Tensor warm({3, 333}, DType::f32, Device::cuda); }  // d and d2 hold the blocks cached so far
  const AllocatorStats before = device_memory::stats(Device::cuda);
  for (int i = 0; i < 5; ++i) Tensor t({3, 333}, DType::f32, Device::cuda);
  const AllocatorStats after = device_memory::stats(Device::cuda);
  EXPECT_GE(after.hits - before.hits, 5);
  EXPECT_EQ(after.misses, before.misses);
}

}  // namespace
}  // namespace dltrain
