// Dispatch for the ops with weights or windows: dense, conv2d, pooling.
#include "../backend/cpu/gemm/gemm.hpp"
#include "dispatch.hpp"

namespace dltrain::ops {
using namespace detail;

std::string cpu_kernel_level() {
  cpu::check_gemm_choice();
  return cpu::isa_name(cpu::gemm_kernels().isa);
}

void dense_forward(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y) {
  const Backend& be = backend("dense_forward", x, w, b, y);
  const int64_t n = x.shape()[0], in = w.shape()[0], out = w.shape()[1];
  require_shape("dense_forward", "x", x, {n, in});
  require_shape("dense_forward", "b", b, {out});
  require_shape("dense_forward", "y", y, {n, out});
  be.dense_forward(x.f32(), w.f32(), b.f32(), y.f32(), n, in, out);
}

void dense_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor& dw, Tensor& db) {
  const Backend& be = backend("dense_backward", x, w, dy, dw, db);
  const int64_t n = x.shape()[0], in = w.shape()[0], out = w.shape()[1];
  require_shape("dense_backward", "dy", dy, {n, out});
  require_shape("dense_backward", "dw", dw, w.shape());
  if (dx) {
    require_on(x.device(), "dense_backward", *dx);
    require_shape("dense_backward", "dx", *dx, x.shape());
  }
  be.dense_backward(x.f32(), w.f32(), dy.f32(), dx ? dx->f32() : nullptr, dw.f32(), db.f32(), n, in, out);
}

void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y, const Window& g, Act act) {
  const Backend& be = backend("conv2d_forward", x, w, b, y);
  require_shape("conv2d_forward", "x", x, {g.n, g.h, g.w, g.c});
  require_shape("conv2d_forward", "w", w, {g.kh, g.kw, g.c, g.k});
  require_shape("conv2d_forward", "b", b, {g.k});
  require_shape("conv2d_forward", "y", y, {g.n, g.oh, g.ow, g.k});
  be.conv2d_forward(x.f32(), w.f32(), b.f32(), y.f32(), g, act);
}

void conv2d_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor& dw, Tensor& db,
                     const Window& g) {
  const Backend& be = backend("conv2d_backward", x, w, dy, dw, db);
  require_shape("conv2d_backward", "dy", dy, {g.n, g.oh, g.ow, g.k});
  require_shape("conv2d_backward", "dw", dw, w.shape());
  if (dx) {
    require_on(x.device(), "conv2d_backward", *dx);
    require_shape("conv2d_backward", "dx", *dx, x.shape());
  }
  be.conv2d_backward(x.f32(), w.f32(), dy.f32(), dx ? dx->f32() : nullptr, dw.f32(), db.f32(), g);
}

void depthwise_forward(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y, const Window& g, Act act) {
  const Backend& be = backend("depthwise_forward", x, w, b, y);
  DLT_CHECK(g.k == g.c, "depthwise_forward: the window must keep the channel count");
  require_shape("depthwise_forward", "x", x, {g.n, g.h, g.w, g.c});
  require_shape("depthwise_forward", "w", w, {g.kh, g.kw, g.c});
  require_shape("depthwise_forward", "b", b, {g.c});
  require_shape("depthwise_forward", "y", y, {g.n, g.oh, g.ow, g.c});
  be.depthwise_forward(x.f32(), w.f32(), b.f32(), y.f32(), g, act);
}

void depthwise_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor& dw, Tensor& db,
                        const Window& g) {
  const Backend& be = backend("depthwise_backward", x, w, dy, dw, db);
  DLT_CHECK(g.k == g.c, "depthwise_backward: the window must keep the channel count");
  require_shape("depthwise_backward", "x", x, {g.n, g.h, g.w, g.c});
  require_shape("depthwise_backward", "dy", dy, {g.n, g.oh, g.ow, g.c});
  require_shape("depthwise_backward", "dw", dw, w.shape());
  require_shape("depthwise_backward", "db", db, {g.c});
  if (dx) {
    require_on(x.device(), "depthwise_backward", *dx);
    require_shape("depthwise_backward", "dx", *dx, x.shape());
  }
  be.depthwise_backward(x.f32(), w.f32(), dy.f32(), dx ? dx->f32() : nullptr, dw.f32(), db.f32(), g);
}

void conv_depthwise_forward(const Tensor& x, const ConvDepthwiseChain& p, Tensor& y, const Window& g) {
  const char* op = "conv_depthwise_forward";
  const Backend& be = backend(op, x, *p.w1, *p.b1, *p.w2, *p.b2, y);
  DLT_CHECK(x.shape().rank() == 4 && p.w1->shape().rank() == 4, std::string(op) + ": x and w1 must be 4-D");
  const Shape& w1 = p.w1->shape();
  const Window first = Window::make(x.shape(), w1[0], w1[1], p.stride1, p.stride1, p.padding1, g.c);
  require_shape(op, "w1", *p.w1, {first.kh, first.kw, first.c, g.c});
  DLT_CHECK(first.n == g.n && first.oh == g.h && first.ow == g.w,
            std::string(op) + ": the depthwise window must cover the first conv's output");
  require_shape(op, "b1", *p.b1, {g.c});
  require_shape(op, "w2", *p.w2, {g.kh, g.kw, g.c});
  require_shape(op, "b2", *p.b2, {g.c});
  int64_t k = g.c;
  if (p.w3) {
    require_on(x.device(), op, *p.w3, *p.b3);
    DLT_CHECK(p.w3->shape().rank() == 4, std::string(op) + ": w3 must be (1, 1, E, K)");
    k = p.w3->shape()[3];
    require_shape(op, "w3", *p.w3, {1, 1, g.c, k});
    require_shape(op, "b3", *p.b3, {k});
  }
  require_shape(op, "y", y, {g.n, g.oh, g.ow, k});
  if (p.residual) require_shape(op, "y (residual: the shape of x)", y, x.shape());
  DLT_CHECK(!p.residual || p.w3, std::string(op) + ": a residual chain needs its projection");
  const ConvDepthwiseArgs args{p.w1->f32(), p.b1->f32(), p.w2->f32(), p.b2->f32(), p.w3 ? p.w3->f32() : nullptr,
                               p.w3 ? p.b3->f32() : nullptr, p.act1, p.act2, p.act3, first, k, p.residual};
  be.conv_depthwise_forward(x.f32(), args, y.f32(), g);
}

void maxpool_forward(const Tensor& x, Tensor& y, const Window& g) {
  const Backend& be = backend("maxpool_forward", x, y);
  require_shape("maxpool_forward", "y", y, {g.n, g.oh, g.ow, g.c});
  be.maxpool_forward(x.f32(), y.f32(), g);
}

void maxpool_backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx, const Window& g) {
  const Backend& be = backend("maxpool_backward", x, y, dy, dx);
  require_shape("maxpool_backward", "dy", dy, y.shape());
  require_shape("maxpool_backward", "dx", dx, x.shape());
  be.maxpool_backward(x.f32(), y.f32(), dy.f32(), dx.f32(), g);
}

void avgpool_forward(const Tensor& x, Tensor& y, const Window& g) {
  const Backend& be = backend("avgpool_forward", x, y);
  require_shape("avgpool_forward", "y", y, {g.n, g.oh, g.ow, g.c});
  be.avgpool_forward(x.f32(), y.f32(), g);
}

void avgpool_backward(const Tensor& dy, Tensor& dx, const Window& g) {
  const Backend& be = backend("avgpool_backward", dy, dx);
  require_shape("avgpool_backward", "dy", dy, {g.n, g.oh, g.ow, g.c});
  require_shape("avgpool_backward", "dx", dx, {g.n, g.h, g.w, g.c});
  be.avgpool_backward(dy.f32(), dx.f32(), g);
}

namespace {
void check_conv_pool(const char* op, const Tensor& x, const Tensor& w, int64_t pool, const Tensor& y,
                     const Tensor& argmax, const Window& g) {
  DLT_CHECK(pool >= 1 && pool * pool <= 255, std::string(op) + ": pool window must be 1..15");
  require_shape(op, "x", x, {g.n, g.h, g.w, g.c});
  require_shape(op, "w", w, {g.kh, g.kw, g.c, g.k});
  const Shape pooled{g.n, g.oh / pool, g.ow / pool, g.k};
  require_shape(op, "y", y, pooled);
  DLT_CHECK(argmax.dtype() == DType::u8 && argmax.shape() == pooled && argmax.device() == x.device(),
            std::string(op) + ": argmax must be uint8 " + pooled.str() + " on " + device_name(x.device()));
}
}  // namespace

bool conv2d_pool_is_fast(const Window& g, int64_t pool, Device device) {
  const Backend* be = backend_for(device);
  return be && be->conv2d_pool_is_fast(g, pool);
}

void conv2d_pool_forward(const Tensor& x, const Tensor& w, const Tensor& b, Act act, int64_t pool, Tensor& y,
                         Tensor& argmax, const Window& g) {
  const Backend& be = backend("conv2d_pool_forward", x, w, b, y);
  check_conv_pool("conv2d_pool_forward", x, w, pool, y, argmax, g);
  be.conv2d_pool_forward(x.f32(), w.f32(), b.f32(), act, pool, y.f32(), argmax.u8(), g);
}

void conv2d_pool_backward(const Tensor& x, const Tensor& w, const Tensor& argmax, const Tensor& dy, int64_t pool,
                          Tensor* dx, Tensor& dw, Tensor& db, const Window& g) {
  const Backend& be = backend("conv2d_pool_backward", x, w, dy, dw, db);
  check_conv_pool("conv2d_pool_backward", x, w, pool, dy, argmax, g);
  require_shape("conv2d_pool_backward", "dw", dw, w.shape());
  if (dx) {
    require_on(x.device(), "conv2d_pool_backward", *dx);
    require_shape("conv2d_pool_backward", "dx", *dx, x.shape());
  }
  be.conv2d_pool_backward(x.f32(), w.f32(), argmax.u8(), dy.f32(), pool, dx ? dx->f32() : nullptr, dw.f32(),
                          db.f32(), g);
}

}  // namespace dltrain::ops
