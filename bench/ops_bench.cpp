// Op micro-benchmarks at the shapes of the `cnn` preset (batch 32) and the MLP, fast kernels
// against their references, and MobileNetV2's inverted-residual blocks on one 224x224 image.
// Run: build/bench/ops_bench [--benchmark_filter=conv]
#include <benchmark/benchmark.h>

#include "backend/cpu/ref/ref.hpp"
#include "dltrain/ops.hpp"

namespace dltrain {
namespace {

Tensor random_tensor(Shape s, uint64_t seed) {
  Tensor t(s);
  Rng rng(seed);
  for (float& v : t.values()) v = rng.uniform(-1, 1);
  return t;
}

const Window conv_window = Window::make({32, 28, 28, 1}, 3, 3, 1, 1, Padding::valid, 32);

void BM_conv_pool_forward(benchmark::State& st) {
  set_num_threads(int(st.range(0)));
  Tensor x = random_tensor({32, 28, 28, 1}, 1), w = random_tensor({3, 3, 1, 32}, 2), b = random_tensor({32}, 3);
  Tensor y({32, 13, 13, 32}), arg({32, 13, 13, 32}, DType::u8);
  for (auto _ : st) ops::conv2d_pool_forward(x, w, b, Act::relu, 2, y, arg, conv_window);
}
BENCHMARK(BM_conv_pool_forward)->Arg(1)->Arg(2);

void BM_conv_pool_backward(benchmark::State& st) {
  set_num_threads(int(st.range(0)));
  Tensor x = random_tensor({32, 28, 28, 1}, 1), w = random_tensor({3, 3, 1, 32}, 2), b = random_tensor({32}, 3);
  Tensor y({32, 13, 13, 32}), arg({32, 13, 13, 32}, DType::u8), dy = random_tensor({32, 13, 13, 32}, 4);
  Tensor dw({3, 3, 1, 32}), db({32});
  ops::conv2d_pool_forward(x, w, b, Act::relu, 2, y, arg, conv_window);
  for (auto _ : st) ops::conv2d_pool_backward(x, w, arg, dy, 2, nullptr, dw, db, conv_window);
}
BENCHMARK(BM_conv_pool_backward)->Arg(1)->Arg(2);

void BM_conv_forward_unfused(benchmark::State& st) {
  set_num_threads(int(st.range(0)));
  Tensor x = random_tensor({32, 28, 28, 1}, 1), w = random_tensor({3, 3, 1, 32}, 2), b = random_tensor({32}, 3);
  Tensor y({32, 26, 26, 32});
  for (auto _ : st) ops::conv2d_forward(x, w, b, y, conv_window);
}
BENCHMARK(BM_conv_forward_unfused)->Arg(1)->Arg(2);

// Dense shapes: (batch, in, out)
void BM_dense_forward(benchmark::State& st) {
  set_num_threads(int(st.range(3)));
  const int64_t n = st.range(0), in = st.range(1), out = st.range(2);
  Tensor x = random_tensor({n, in}, 1), w = random_tensor({in, out}, 2), b = random_tensor({out}, 3), y({n, out});
  for (auto _ : st) ops::dense_forward(x, w, b, y);
  st.counters["GFLOP/s"] = benchmark::Counter(double(2 * n * in * out), benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
}
BENCHMARK(BM_dense_forward)->Args({32, 5408, 100, 1})->Args({32, 5408, 100, 2})->Args({32, 784, 512, 2});

void BM_dense_backward(benchmark::State& st) {
  set_num_threads(int(st.range(3)));
  const int64_t n = st.range(0), in = st.range(1), out = st.range(2);
  Tensor x = random_tensor({n, in}, 1), w = random_tensor({in, out}, 2), dy = random_tensor({n, out}, 3);
  Tensor dx({n, in}), dw({in, out}), db({out});
  for (auto _ : st) ops::dense_backward(x, w, dy, &dx, dw, db);
  st.counters["GFLOP/s"] = benchmark::Counter(double(4 * n * in * out), benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
}
BENCHMARK(BM_dense_backward)->Args({32, 5408, 100, 1})->Args({32, 5408, 100, 2})->Args({32, 784, 512, 2});

void BM_sgd_update(benchmark::State& st) {
  set_num_threads(int(st.range(1)));
  Tensor w = random_tensor({st.range(0)}, 1), g = random_tensor({st.range(0)}, 2), v = random_tensor({st.range(0)}, 3);
  for (auto _ : st) ops::sgd_update(w, g, v, 0.01f, 0.9f, 0.0f, false);
}
BENCHMARK(BM_sgd_update)->Args({540900, 1})->Args({540900, 2});

void BM_softmax_cross_entropy(benchmark::State& st) {
  Tensor logits = random_tensor({32, 10}, 1), d({32, 10});
  std::vector<int32_t> labels(32, 3);
  for (auto _ : st) benchmark::DoNotOptimize(ops::softmax_cross_entropy(logits, labels, &d));
}
BENCHMARK(BM_softmax_cross_entropy);

void BM_reference_conv_pool_forward(benchmark::State& st) {
  Tensor x = random_tensor({32, 28, 28, 1}, 1), w = random_tensor({3, 3, 1, 32}, 2), b = random_tensor({32}, 3);
  Tensor y({32, 13, 13, 32}), arg({32, 13, 13, 32}, DType::u8);
  for (auto _ : st) cpu::ref::conv2d_pool_forward(x.f32(), w.f32(), b.f32(), Act::relu, 2, y.f32(), arg.u8(), conv_window);
}
BENCHMARK(BM_reference_conv_pool_forward);

// One MobileNetV2 block on one image, one thread (as feature extraction runs it): 1x1 expansion
// to e channels (relu6), 3x3 depthwise (relu6, stride s), 1x1 projection to k, residual when the
// shape is kept. Args: input side, c, e, k, stride.
void BM_mobilenet_block(benchmark::State& st) {
  set_num_threads(1);
  const int64_t h = st.range(0), c = st.range(1), e = st.range(2), k = st.range(3), s = st.range(4);
  Tensor x = random_tensor({1, h, h, c}, 1), w1 = random_tensor({1, 1, c, e}, 2), b1 = random_tensor({e}, 3);
  Tensor w2 = random_tensor({3, 3, e}, 4), b2 = random_tensor({e}, 5);
  Tensor w3 = random_tensor({1, 1, e, k}, 6), b3 = random_tensor({k}, 7);
  const Window g = Window::make({1, h, h, e}, 3, 3, s, s, Padding::same, e);
  const ops::ConvDepthwiseChain chain{&w1, &b1, Act::relu6, 1, Padding::valid, &w2, &b2, Act::relu6, &w3, &b3, Act::none,
                                      s == 1 && c == k};
  Tensor y({1, g.oh, g.ow, k});
  for (auto _ : st) ops::conv_depthwise_forward(x, chain, y, g);
  const double flops = 2.0 * (h * h * c * e + g.oh * g.ow * e * (9 + k));
  st.counters["GFLOP/s"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}
BENCHMARK(BM_mobilenet_block)
    ->Args({112, 16, 96, 24, 2})
    ->Args({56, 24, 144, 24, 1})
    ->Args({28, 32, 192, 32, 1})
    ->Args({14, 64, 384, 64, 1})
    ->Args({14, 96, 576, 96, 1})
    ->Args({7, 160, 960, 160, 1})
    ->Args({7, 160, 960, 320, 1});

}  // namespace
}  // namespace dltrain

BENCHMARK_MAIN();
