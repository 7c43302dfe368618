// Conformance: every op of every built backend against the CPU reference kernels, on shapes that
// include odd sizes, padding and strides; plus forward cases computed by hand for dense and conv.
#include <gtest/gtest.h>

#include "backend/backend.hpp"
#include "backend/cpu/ref/ref.hpp"
#include "dltrain/ops.hpp"
#include "helpers.hpp"

namespace dltrain {
namespace {
using test::close;
using test::random_tensor;

constexpr double tol = 1e-4;

TEST(Shapes, NumelOverflowAndHugeTensorsAreErrorsNamingTheShape) {
  const Shape fits{1 << 20, 1 << 20, 1 << 20};  // 2^60 elements: countable, too many to allocate
  EXPECT_EQ(fits.numel(), int64_t(1) << 60);
  const Shape wraps{1152921504606847025, 16, 1};  // 2^60 + 1 times 16 passes 2^63
  try {
    (void)wraps.numel();
    FAIL() << "the product wrapped silently";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(wraps.str()), std::string::npos) << e.what();
  }
  try {
    Tensor t(fits);
    FAIL() << "a tensor of 2^60 elements was allocated";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("limit of 2^40"), std::string::npos) << e.what();
  }
}

// A backend that is not built is reported, never silently dropped. The tests below run the CPU
// table (through ops::, which dispatches through it) against the reference kernels;
// conformance_test runs every table, the CUDA one included, on its own device.
TEST(OpsConformance, CudaBackendIsReported) {
  if (!cuda_backend())
    GTEST_SKIP() << "cuda backend: not built into this dltrain (no CUDA toolkit at build time); "
                    "only the cpu backend is checked here";
  EXPECT_EQ(cuda_backend()->device, Device::cuda);
}

// ---- dense -------------------------------------------------------------------------------------
struct DenseCase { int64_t n, in, out; };
class Dense : public ::testing::TestWithParam<DenseCase> {};

TEST_P(Dense, ForwardAndBackwardMatchReference) {
  const auto [n, in, out] = GetParam();
  Tensor x = random_tensor({n, in}, 1), w = random_tensor({in, out}, 2), b = random_tensor({out}, 3);
  Tensor y({n, out}), y_ref({n, out});
  ops::dense_forward(x, w, b, y);
  cpu::ref::dense_forward(x.f32(), w.f32(), b.f32(), y_ref.f32(), n, in, out);
  EXPECT_TRUE(close(y, y_ref, tol));
  Tensor dy = random_tensor({n, out}, 4);
  Tensor dx({n, in}), dw({in, out}), db({out}), dx_ref({n, in}), dw_ref({in, out}), db_ref({out});
  ops::dense_backward(x, w, dy, &dx, dw, db);
  cpu::ref::dense_backward(x.f32(), w.f32(), dy.f32(), dx_ref.f32(), dw_ref.f32(), db_ref.f32(), n, in, out);
  EXPECT_TRUE(close(dx, dx_ref, tol));
  EXPECT_TRUE(close(dw, dw_ref, tol));
  EXPECT_TRUE(close(db, db_ref, tol));
  ops::dense_backward(x, w, dy, nullptr, dw, db);  // no input gradient wanted
  EXPECT_TRUE(close(dw, dw_ref, tol));
}
INSTANTIATE_TEST_SUITE_P(Shapes, Dense,
                         ::testing::Values(DenseCase{1, 1, 1}, DenseCase{3, 7, 5}, DenseCase{32, 100, 10},
                                           DenseCase{17, 300, 33}, DenseCase{32, 5408, 100}));

TEST(DenseByHand, Forward) {
  // [1 2] . [[1 2 3] [4 5 6]] + [0.5 0 -1] = [9.5 12 14]
  Tensor x = Tensor::from({1, 2}, std::vector<float>{1, 2});
  Tensor w = Tensor::from({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  Tensor b = Tensor::from({3}, std::vector<float>{0.5f, 0, -1});
  Tensor y({1, 3});
  ops::dense_forward(x, w, b, y);
  EXPECT_TRUE(close(y.values(), std::vector<float>{9.5f, 12, 14}, 0));
}

// ---- conv2d ------------------------------------------------------------------------------------
struct ConvCase { int64_t n, h, w, c, k, kh, kw, stride; Padding pad; };
class Conv : public ::testing::TestWithParam<ConvCase> {};

TEST_P(Conv, ForwardAndBackwardMatchReference) {
  const ConvCase p = GetParam();
  const Window g = Window::make({p.n, p.h, p.w, p.c}, p.kh, p.kw, p.stride, p.stride, p.pad, p.k);
  Tensor x = random_tensor({p.n, p.h, p.w, p.c}, 1), w = random_tensor({p.kh, p.kw, p.c, p.k}, 2);
  Tensor b = random_tensor({p.k}, 3), y({g.n, g.oh, g.ow, g.k}), y_ref({g.n, g.oh, g.ow, g.k});
  for (const Act act : {Act::relu, Act::relu6, Act::none}) {  // the fused activation too
    ops::conv2d_forward(x, w, b, y, g, act);
    cpu::ref::conv2d_forward(x.f32(), w.f32(), b.f32(), y_ref.f32(), g, act);
    EXPECT_TRUE(close(y, y_ref, tol)) << "activation " << int(act);
  }
  Tensor dy = random_tensor(y.shape(), 4);
  Tensor dx(x.shape()), dw(w.shape()), db({p.k}), dx_ref(x.shape()), dw_ref(w.shape()), db_ref({p.k});
  ops::conv2d_backward(x, w, dy, &dx, dw, db, g);
  cpu::ref::conv2d_backward(x.f32(), w.f32(), dy.f32(), dx_ref.f32(), dw_ref.f32(), db_ref.f32(), g);
  EXPECT_TRUE(close(dx, dx_ref, tol));
  EXPECT_TRUE(close(dw, dw_ref, tol));
  EXPECT_TRUE(close(db, db_ref, tol));
}
INSTANTIATE_TEST_SUITE_P(
    Shapes, Conv,
    ::testing::Values(ConvCase{2, 5, 5, 1, 3, 3, 3, 1, Padding::valid}, ConvCase{2, 6, 7, 3, 4, 3, 3, 2, Padding::same},
                      ConvCase{1, 8, 8, 5, 7, 1, 1, 1, Padding::valid}, ConvCase{3, 9, 9, 2, 16, 5, 5, 1, Padding::same},
                      ConvCase{2, 28, 28, 1, 32, 3, 3, 1, Padding::valid},
                      ConvCase{2, 13, 11, 12, 20, 3, 3, 2, Padding::valid},
                      ConvCase{2, 9, 7, 24, 144, 1, 1, 1, Padding::valid}, ConvCase{1, 10, 10, 3, 32, 3, 3, 2, Padding::same}));

// ---- depthwise conv2d --------------------------------------------------------------------------
struct DepthwiseCase { int64_t n, h, w, c, kh, kw, stride; Padding pad; };
class Depthwise : public ::testing::TestWithParam<DepthwiseCase> {};

TEST_P(Depthwise, ForwardAndBackwardMatchReference) {
  const DepthwiseCase p = GetParam();
  const Window g = Window::make({p.n, p.h, p.w, p.c}, p.kh, p.kw, p.stride, p.stride, p.pad, p.c);
  Tensor x = random_tensor({p.n, p.h, p.w, p.c}, 1), w = random_tensor({p.kh, p.kw, p.c}, 2);
  Tensor b = random_tensor({p.c}, 3), y({g.n, g.oh, g.ow, g.c}), y_ref({g.n, g.oh, g.ow, g.c});
  for (const Act act : {Act::relu, Act::relu6, Act::none}) {
    ops::depthwise_forward(x, w, b, y, g, act);
    cpu::ref::depthwise_forward(x.f32(), w.f32(), b.f32(), y_ref.f32(), g, act);
    EXPECT_TRUE(close(y, y_ref, tol)) << "activation " << int(act);
  }
  Tensor dy = random_tensor(y.shape(), 4);
  Tensor dx(x.shape()), dw(w.shape()), db({p.c}), dx_ref(x.shape()), dw_ref(w.shape()), db_ref({p.c});
  ops::depthwise_backward(x, w, dy, &dx, dw, db, g);
  cpu::ref::depthwise_backward(x.f32(), w.f32(), dy.f32(), dx_ref.f32(), dw_ref.f32(), db_ref.f32(), g);
  EXPECT_TRUE(close(dx, dx_ref, tol));
  EXPECT_TRUE(close(dw, dw_ref, tol));
  EXPECT_TRUE(close(db, db_ref, tol));
}
INSTANTIATE_TEST_SUITE_P(
    Shapes, Depthwise,
    ::testing::Values(DepthwiseCase{2, 5, 5, 1, 3, 3, 1, Padding::valid}, DepthwiseCase{3, 6, 5, 2, 3, 3, 1, Padding::valid}, DepthwiseCase{2, 8, 8, 32, 3, 3, 2, Padding::same},
                      DepthwiseCase{3, 7, 6, 5, 3, 3, 2, Padding::same}, DepthwiseCase{1, 9, 11, 17, 3, 3, 1, Padding::same},
                      DepthwiseCase{2, 6, 7, 3, 5, 5, 2, Padding::valid}, DepthwiseCase{1, 14, 14, 96, 3, 3, 2, Padding::same}));

// The fused conv -> depthwise [-> 1x1 [+ x]] inference op against the reference ops, with a 1x1
// first conv and a stem-like 3x3 stride-2 one, on whole batches and on single images (split into
// row bands across threads). p describes the depthwise conv over the first conv's output.
TEST(ConvDepthwise, MatchesReference) {
  for (const bool stem : {false, true})
    for (const int variant : {0, 1, 2})  // depthwise output, projected, projected + residual
      for (const DepthwiseCase p : {DepthwiseCase{2, 9, 7, 16, 3, 3, 2, Padding::same}, DepthwiseCase{1, 8, 8, 24, 3, 3, 1, Padding::same},
                                    DepthwiseCase{3, 5, 6, 40, 3, 3, 1, Padding::valid}, DepthwiseCase{1, 12, 12, 17, 5, 5, 2, Padding::same},
                                    DepthwiseCase{2, 14, 14, 48, 3, 3, 1, Padding::same},
                                    // several 7x7 images per work item, and a last item with fewer
                                    DepthwiseCase{11, 7, 7, 24, 3, 3, 1, Padding::same},
                                    DepthwiseCase{7, 6, 6, 16, 3, 3, 2, Padding::valid}}) {
        const bool project = variant > 0, residual = variant == 2;
        if (residual && (stem || p.stride != 1 || p.pad != Padding::same)) continue;  // residuals keep the shape
        const int64_t c = residual ? 7 : stem ? 3 : 5, k = project ? 7 : p.c, k1 = stem ? 3 : 1, s1 = stem ? 2 : 1;
        const Shape xs{p.n, stem ? 2 * p.h : p.h, stem ? 2 * p.w : p.w, c};  // SAME, stride 2: back to (h, w)
        const Window first = Window::make(xs, k1, k1, s1, s1, Padding::same, p.c);
        const Window g = Window::make({p.n, p.h, p.w, p.c}, p.kh, p.kw, p.stride, p.stride, p.pad, p.c);
        Tensor x = random_tensor(xs, 1), w1 = random_tensor({k1, k1, c, p.c}, 2), b1 = random_tensor({p.c}, 3);
        Tensor w2 = random_tensor({p.kh, p.kw, p.c}, 4), b2 = random_tensor({p.c}, 5);
        Tensor w3 = random_tensor({1, 1, p.c, k}, 6), b3 = random_tensor({k}, 7);
        Tensor y({g.n, g.oh, g.ow, k}), y_ref({g.n, g.oh, g.ow, k});
        const Act act3 = residual ? Act::none : Act::relu6;
        const ops::ConvDepthwiseChain chain{&w1, &b1, Act::relu6, s1, Padding::same, &w2, &b2, Act::relu,
                                           project ? &w3 : nullptr, project ? &b3 : nullptr, act3, residual};
        ops::conv_depthwise_forward(x, chain, y, g);
        const ConvDepthwiseArgs args{w1.f32(), b1.f32(), w2.f32(), b2.f32(), project ? w3.f32() : nullptr, b3.f32(),
                                     Act::relu6, Act::relu, act3, first, k, residual};
        cpu::ref::conv_depthwise_forward(x.f32(), args, y_ref.f32(), g);
        EXPECT_TRUE(close(y, y_ref, tol)) << p.n << "x" << p.h << "x" << p.w << "x" << p.c << " variant " << variant
                                          << (stem ? " stem" : "");
      }
}

// A 2x2 input, one channel, 3x3 SAME filter of ones: each output is the sum of its neighbourhood.
TEST(DepthwiseByHand, SamePaddingSumsNeighbours) {
  Tensor x = Tensor::from({1, 2, 2, 2}, std::vector<float>{1, 10, 2, 20, 3, 30, 4, 40});
  Tensor w({3, 3, 2});
  w.fill(1);
  Tensor b = Tensor::from({2}, std::vector<float>{0.5f, 0});
  const Window g = Window::make(x.shape(), 3, 3, 1, 1, Padding::same, 2);
  Tensor y({1, 2, 2, 2});
  ops::depthwise_forward(x, w, b, y, g);
  for (int64_t i = 0; i < 4; ++i) {
    EXPECT_FLOAT_EQ(y.f32()[i * 2], 10.5f);    // 1 + 2 + 3 + 4 + bias
    EXPECT_FLOAT_EQ(y.f32()[i * 2 + 1], 100);  // channels stay apart
  }
}

TEST(ConvByHand, ValidAndSamePadding) {
  // 3x3 input 1..9, 2x2 kernel [[1 2] [3 4]], bias 1.
  Tensor x = Tensor::from({1, 3, 3, 1}, std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor w = Tensor::from({2, 2, 1, 1}, std::vector<float>{1, 2, 3, 4});
  Tensor b = Tensor::from({1}, std::vector<float>{1});
  const Window valid = Window::make(x.shape(), 2, 2, 1, 1, Padding::valid, 1);
  Tensor y({1, 2, 2, 1});
  ops::conv2d_forward(x, w, b, y, valid);
  EXPECT_TRUE(close(y.values(), std::vector<float>{38, 48, 68, 78}, 0));
  // SAME pads the extra row and column at the bottom and right (TensorFlow's rule).
  const Window same = Window::make(x.shape(), 2, 2, 1, 1, Padding::same, 1);
  ASSERT_EQ(same.pad_top, 0);
  Tensor ys({1, 3, 3, 1});
  ops::conv2d_forward(x, w, b, ys, same);
  EXPECT_TRUE(close(ys.values(), std::vector<float>{38, 48, 22, 68, 78, 34, 24, 27, 10}, 0));
}

// ---- fused conv + activation + max-pool -------------------------------------------------------
struct ConvPoolCase { int64_t n, h, w, c, k, kh, stride; Padding pad; int64_t pool; Act act; };
class ConvPool : public ::testing::TestWithParam<ConvPoolCase> {};

TEST_P(ConvPool, ForwardAndBackwardMatchReference) {
  const ConvPoolCase p = GetParam();
  const Window g = Window::make({p.n, p.h, p.w, p.c}, p.kh, p.kh, p.stride, p.stride, p.pad, p.k);
  const Shape pooled{p.n, g.oh / p.pool, g.ow / p.pool, p.k};
  Tensor x = random_tensor({p.n, p.h, p.w, p.c}, 1), w = random_tensor({p.kh, p.kh, p.c, p.k}, 2, -2, 2);
  Tensor b = random_tensor({p.k}, 3);
  Tensor y(pooled), y_ref(pooled), arg(pooled, DType::u8), arg_ref(pooled, DType::u8);
  ops::conv2d_pool_forward(x, w, b, p.act, p.pool, y, arg, g);
  cpu::ref::conv2d_pool_forward(x.f32(), w.f32(), b.f32(), p.act, p.pool, y_ref.f32(), arg_ref.u8(), g);
  EXPECT_TRUE(close(y, y_ref, tol));
  int64_t arg_mismatch = 0;
  for (int64_t i = 0; i < arg.numel(); ++i) arg_mismatch += arg.u8()[i] != arg_ref.u8()[i];
  EXPECT_EQ(arg_mismatch, 0);
  Tensor dy = random_tensor(pooled, 4);
  for (Tensor* dxp : {static_cast<Tensor*>(nullptr), &y}) {  // without and with an input gradient
    Tensor dx(x.shape()), dw(w.shape()), db({p.k}), dx_ref(x.shape()), dw_ref(w.shape()), db_ref({p.k});
    ops::conv2d_pool_backward(x, w, arg_ref, dy, p.pool, dxp ? &dx : nullptr, dw, db, g);
    cpu::ref::conv2d_pool_backward(x.f32(), w.f32(), arg_ref.u8(), dy.f32(), p.pool, dx_ref.f32(), dw_ref.f32(),
                                   db_ref.f32(), g);
    if (dxp) {
      EXPECT_TRUE(close(dx, dx_ref, tol));
    }
    EXPECT_TRUE(close(dw, dw_ref, tol));
    EXPECT_TRUE(close(db, db_ref, tol));
  }
}
INSTANTIATE_TEST_SUITE_P(
    Shapes, ConvPool,
    ::testing::Values(ConvPoolCase{3, 28, 28, 1, 32, 3, 1, Padding::valid, 2, Act::relu},   // the cnn preset
                      ConvPoolCase{2, 9, 9, 1, 16, 3, 1, Padding::same, 3, Act::relu6},
                      ConvPoolCase{2, 10, 10, 3, 16, 3, 1, Padding::valid, 2, Act::none},  // 27 taps
                      ConvPoolCase{2, 12, 12, 1, 64, 5, 1, Padding::same, 2, Act::relu},
                      ConvPoolCase{2, 8, 8, 2, 16, 3, 1, Padding::valid, 2, Act::relu},    // generic path
                      ConvPoolCase{2, 11, 11, 1, 16, 3, 2, Padding::valid, 2, Act::relu},  // strided conv
                      ConvPoolCase{1, 7, 7, 1, 5, 3, 1, Padding::valid, 2, Act::relu},     // K not 16n: padded: padded
                      ConvPoolCase{2, 28, 28, 1, 6, 5, 1, Padding::same, 2, Act::relu},    // lenet5: padded K
                      ConvPoolCase{2, 8, 8, 2, 20, 3, 1, Padding::valid, 2, Act::none}));  // padded, generic

// ---- pooling -----------------------------------------------------------------------------------
struct PoolCase { int64_t n, h, w, c, k, stride; Padding pad; };
class Pool : public ::testing::TestWithParam<PoolCase> {};

TEST_P(Pool, MaxAndAverageMatchReference) {
  const PoolCase p = GetParam();
  const Window g = Window::make({p.n, p.h, p.w, p.c}, p.k, p.k, p.stride, p.stride, p.pad, p.c);
  Tensor x = random_tensor({p.n, p.h, p.w, p.c}, 1), dy = random_tensor({g.n, g.oh, g.ow, g.c}, 2);
  Tensor y(dy.shape()), y_ref(dy.shape()), dx(x.shape()), dx_ref(x.shape());
  ops::maxpool_forward(x, y, g);
  cpu::ref::maxpool_forward(x.f32(), y_ref.f32(), g);
  EXPECT_TRUE(close(y, y_ref, 0));
  ops::maxpool_backward(x, y, dy, dx, g);
  cpu::ref::maxpool_backward(x.f32(), y_ref.f32(), dy.f32(), dx_ref.f32(), g);
  EXPECT_TRUE(close(dx, dx_ref, tol));
  ops::avgpool_forward(x, y, g);
  cpu::ref::avgpool_forward(x.f32(), y_ref.f32(), g);
  EXPECT_TRUE(close(y, y_ref, tol));
  ops::avgpool_backward(dy, dx, g);
  cpu::ref::avgpool_backward(dy.f32(), dx_ref.f32(), g);
  EXPECT_TRUE(close(dx, dx_ref, tol));
}
INSTANTIATE_TEST_SUITE_P(Shapes, Pool,
                         ::testing::Values(PoolCase{2, 6, 6, 3, 2, 2, Padding::valid},
                                           PoolCase{2, 7, 7, 4, 3, 2, Padding::same},
                                           PoolCase{1, 5, 5, 2, 3, 1, Padding::valid},
                                           PoolCase{3, 7, 7, 32, 7, 7, Padding::valid}));

// ---- elementwise, normalisation, losses, optimizers ----------------------------------------------
TEST(Elementwise, ActivationsMatchReference) {
  Tensor x = random_tensor({1000, 7}, 1, -8, 8), dy = random_tensor({1000, 7}, 2);
  for (Act act : {Act::none, Act::relu, Act::relu6}) {
    Tensor y(x.shape()), y_ref(x.shape()), dx(x.shape()), dx_ref(x.shape());
    ops::activation_forward(act, x, y);
    cpu::ref::activation_forward(act, x.f32(), y_ref.f32(), x.numel());
    EXPECT_TRUE(close(y, y_ref, 0));
    ops::activation_backward(act, y, dy, dx);
    cpu::ref::activation_backward(act, y_ref.f32(), dy.f32(), dx_ref.f32(), x.numel());
    EXPECT_TRUE(close(dx, dx_ref, 0));
  }
}

TEST(Elementwise, DropoutMatchesReferenceAndKeepsTheRightShare) {
  Tensor x = random_tensor({100000}, 1, 0.5f, 1.5f), y(x.shape()), y_ref(x.shape());
  ops::dropout_forward(x, y, 0.3f, 42);
  cpu::ref::dropout_forward(x.f32(), y_ref.f32(), x.numel(), 0.3f, 42);
  EXPECT_TRUE(close(y, y_ref, 1e-6));
  int64_t kept = 0;
  for (int64_t i = 0; i < x.numel(); ++i)
    if (y.f32()[i] != 0) {
      ++kept;
      ASSERT_NEAR(y.f32()[i], x.f32()[i] / 0.7f, 1e-5);
    }
  EXPECT_NEAR(double(kept) / double(x.numel()), 0.7, 0.01);
  Tensor dx(x.shape()), dx_ref(x.shape());
  ops::dropout_backward(x, dx, 0.3f, 42);
  cpu::ref::dropout_backward(x.f32(), dx_ref.f32(), x.numel(), 0.3f, 42);
  EXPECT_TRUE(close(dx, dx_ref, 1e-6));
}

TEST(Elementwise, AddAccumulateAndConversion) {
  Tensor a = random_tensor({333}, 1), b = random_tensor({333}, 2), y({333}), y_ref({333});
  ops::add(a, b, y);
  cpu::ref::add(a.f32(), b.f32(), y_ref.f32(), 333);
  EXPECT_TRUE(close(y, y_ref, 0));
  ops::accumulate(a, y);
  cpu::ref::accumulate(a.f32(), y_ref.f32(), 333);
  EXPECT_TRUE(close(y, y_ref, 0));
  Tensor u({256}, DType::u8);
  for (int i = 0; i < 256; ++i) u.u8()[i] = uint8_t(i);
  Tensor f({256}), f_ref({256});
  ops::u8_to_f32(u, f, 1 / 128.0f, -1);
  cpu::ref::u8_to_f32(u.u8(), f_ref.f32(), 256, 1 / 128.0f, -1);
  EXPECT_TRUE(close(f, f_ref, 0));
  EXPECT_EQ(f.f32()[128], 0.0f);
}

TEST(Normalisation, BatchNormMatchesReference) {
  const int64_t rows = 37, c = 5;
  Tensor x = random_tensor({rows, c}, 1, -3, 5), gamma = random_tensor({c}, 2), beta = random_tensor({c}, 3);
  Tensor y({rows, c}), y_ref({rows, c}), mean({c}), mean_ref({c}), inv({c}), inv_ref({c});
  ops::batchnorm_forward_train(x, gamma, beta, y, mean, inv, 1e-3f);
  cpu::ref::batchnorm_forward_train(x.f32(), gamma.f32(), beta.f32(), y_ref.f32(), mean_ref.f32(), inv_ref.f32(),
                                    rows, c, 1e-3f);
  EXPECT_TRUE(close(y, y_ref, tol));
  EXPECT_TRUE(close(mean, mean_ref, tol));
  EXPECT_TRUE(close(inv, inv_ref, tol));
  Tensor dy = random_tensor({rows, c}, 4), dx({rows, c}), dx_ref({rows, c});
  Tensor dg({c}), db({c}), dg_ref({c}), db_ref({c});
  ops::batchnorm_backward(x, gamma, mean, inv, dy, dx, dg, db);
  cpu::ref::batchnorm_backward(x.f32(), gamma.f32(), mean.f32(), inv.f32(), dy.f32(), dx_ref.f32(), dg_ref.f32(),
                               db_ref.f32(), rows, c);
  EXPECT_TRUE(close(dx, dx_ref, tol));
  EXPECT_TRUE(close(dg, dg_ref, tol));
  EXPECT_TRUE(close(db, db_ref, tol));
  Tensor rm = random_tensor({c}, 5), rv = random_tensor({c}, 6, 0.5f, 2);
  Tensor rm2 = rm.clone(), rv2 = rv.clone();
  ops::batchnorm_update_running(mean, inv, rm2, rv2, 0.9f, 1e-3f, rows);
  Tensor rm_ref = rm.clone(), rv_ref = rv.clone();
  cpu::ref::batchnorm_update_running(mean.f32(), inv.f32(), rm_ref.f32(), rv_ref.f32(), c, 0.9f, 1e-3f, rows);
  EXPECT_TRUE(close(rm2, rm_ref, tol));
  EXPECT_TRUE(close(rv2, rv_ref, tol));
  ops::batchnorm_forward_infer(x, gamma, beta, rm, rv, y, 1e-3f);
  cpu::ref::batchnorm_forward_infer(x.f32(), gamma.f32(), beta.f32(), rm.f32(), rv.f32(), y_ref.f32(), rows, c, 1e-3f);
  EXPECT_TRUE(close(y, y_ref, tol));
}

TEST(Loss, SoftmaxAndCrossEntropyMatchReference) {
  const int64_t rows = 150, cols = 10;
  Tensor logits = random_tensor({rows, cols}, 1, -20, 20), p({rows, cols}), p_ref({rows, cols});
  ops::softmax(logits, p);
  cpu::ref::softmax(logits.f32(), p_ref.f32(), rows, cols);
  EXPECT_TRUE(close(p, p_ref, 1e-5));
  std::vector<int32_t> labels(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) labels[size_t(i)] = int32_t(i * 7 % cols);
  Tensor d({rows, cols}), d_ref({rows, cols});
  const LossStats s = ops::softmax_cross_entropy(logits, labels, &d);
  const LossStats s_ref = cpu::ref::softmax_cross_entropy(logits.f32(), labels.data(), d_ref.f32(), rows, cols, rows);
  EXPECT_NEAR(s.loss_sum, s_ref.loss_sum, 1e-4 * s_ref.loss_sum);
  EXPECT_EQ(s.correct, s_ref.correct);
  EXPECT_TRUE(close(d, d_ref, 1e-5));
  // A micro-batch of a 4x larger step: the same loss, a quarter of the gradient.
  Tensor quarter({rows, cols});
  const LossStats s4 = ops::softmax_cross_entropy(logits, labels, &quarter, 4 * rows);
  EXPECT_EQ(s4.loss_sum, s.loss_sum);
  for (int64_t i = 0; i < rows * cols; ++i) ASSERT_NEAR(quarter.f32()[i] * 4, d.f32()[i], 1e-7) << i;
  EXPECT_THROW(ops::softmax_cross_entropy(logits, std::vector<int32_t>(size_t(rows), 10), nullptr), Error);
  Tensor dy = random_tensor({rows, cols}, 2), dx({rows, cols}), dx_ref({rows, cols});
  ops::softmax_backward(p, dy, dx);
  cpu::ref::softmax_backward(p.f32(), dy.f32(), dx_ref.f32(), rows, cols);
  EXPECT_TRUE(close(dx, dx_ref, 1e-5));
}

TEST(Optimizers, UpdatesMatchReference) {
  const int64_t n = 70001;
  for (int variant = 0; variant < 6; ++variant) {
    Tensor w = random_tensor({n}, 1), g = random_tensor({n}, 2), m = random_tensor({n}, 3), v = random_tensor({n}, 4, 0, 1);
    Tensor w_ref = w.clone(), m_ref = m.clone(), v_ref = v.clone();
    if (variant < 4) {
      const float momentum = variant == 0 ? 0.0f : 0.9f, wd = variant == 2 ? 0.01f : 0.0f;
      const bool nesterov = variant == 3;
      ops::sgd_update(w, g, m, 0.05f, momentum, wd, nesterov);
      cpu::ref::sgd_update(w_ref.f32(), g.f32(), m_ref.f32(), n, 0.05f, momentum, wd, nesterov);
    } else {
      const bool decoupled = variant == 5;
      ops::adam_update(w, g, m, v, 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, decoupled, 3);
      cpu::ref::adam_update(w_ref.f32(), g.f32(), m_ref.f32(), v_ref.f32(), n, 0.01f, 0.9f, 0.999f, 1e-8f, 0.01f,
                            decoupled, 3);
    }
    EXPECT_TRUE(close(w, w_ref, 1e-5)) << "variant " << variant;
    EXPECT_TRUE(close(m, m_ref, 1e-5)) << "variant " << variant;
  }
}

TEST(Dispatch, ShapeMistakesAreErrorsNotCrashes) {
  Tensor x = random_tensor({2, 3}, 1), w = random_tensor({4, 5}, 2), b = random_tensor({5}, 3), y({2, 5});
  EXPECT_THROW(ops::dense_forward(x, w, b, y), Error);
  Tensor u({2, 3}, DType::u8);
  EXPECT_THROW(ops::activation_forward(Act::relu, u, y), Error);
  EXPECT_THROW(Window::make({1, 2, 2, 1}, 3, 3, 1, 1, Padding::valid, 1), Error);
}

}  // namespace
}  // namespace dltrain
