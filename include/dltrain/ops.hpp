// ops: the one dispatch surface for math. Each function validates shapes at the boundary, then
// routes to the backend of its tensors' device through the backend table (src/backend/backend.hpp;
// only the CPU backend is built today).
// Layout is NHWC throughout; conv weights are (KH, KW, C, K) and dense weights (IN, OUT), as Keras.
#pragma once

#include <cstdint>
#include <span>

#include "dltrain/core.hpp"

namespace dltrain {

enum class Act : uint8_t { none, relu, relu6 };
enum class Padding : uint8_t { valid, same };

// Geometry of a 2-D window op (conv or pool) over NHWC input.
struct Window {
  int64_t n = 0, h = 0, w = 0, c = 0;   // input
  int64_t kh = 1, kw = 1;               // window
  int64_t sh = 1, sw = 1;               // strides
  int64_t pad_top = 0, pad_left = 0;    // SAME padding puts the extra row/column at the bottom/right
  int64_t oh = 0, ow = 0;               // output
  int64_t k = 0;                        // conv output channels (pools: k == c)
  // Computes padding and output size the way TensorFlow does for VALID and SAME.
  static Window make(const Shape& x_nhwc, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                     Padding padding, int64_t k);
  int64_t cols() const { return kh * kw * c; }  // im2col row length
};

// The same chain as the kernels take it: raw pointers, the first conv's window over x (its output
// is the depthwise conv's input), k output channels.
struct ConvDepthwiseArgs {
  const float *w1, *b1, *w2, *b2, *w3, *b3;
  Act act1, act2, act3;
  Window first;
  int64_t k;
  bool residual;
};

// Result of a fused softmax-cross-entropy over a batch.
struct LossStats {
  double loss_sum = 0;   // summed over rows
  int64_t correct = 0;   // rows whose argmax equals the label
};

namespace ops {

// The CPU kernel level in use ("avx512", "avx2", "sse2"): CPUID's, or DLTRAIN_CPU_ISA's when it
// names a lower one. Throws for a level the CPU lacks or a misspelt one, so callers can check early.
std::string cpu_kernel_level();

// x (N,IN) . w (IN,OUT) + b (OUT) -> y (N,OUT)
void dense_forward(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y);
// dy (N,OUT) -> dw (IN,OUT), db (OUT), and dx (N,IN) unless dx is null
void dense_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor& dw, Tensor& db);

// x (N,H,W,C), w (KH,KW,C,K), b (K) -> y (N,OH,OW,K) = act(conv(x, w) + b)
void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y, const Window& g, Act act = Act::none);
// dy (N,OH,OW,K) -> dw, db, and dx (N,H,W,C) unless dx is null
void conv2d_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor& dw, Tensor& db,
                     const Window& g);

// Depthwise convolution (MobileNet's): channel c is convolved with its own KHxKW filter (depth
// multiplier 1). x (N,H,W,C), w (KH,KW,C), b (C) -> y (N,OH,OW,C); g.k == g.c.
void depthwise_forward(const Tensor& x, const Tensor& w, const Tensor& b, Tensor& y, const Window& g,
                       Act act = Act::none);
void depthwise_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor& dw, Tensor& db,
                        const Window& g);

// MobileNet's blocks, fused for inference: a conv (w1 (KH1,KW1,C,E), b1, act1; stride1 and
// padding1; a 1x1 expansion or the stem), the depthwise conv after it (w2 (KH,KW,E), b2, act2;
// window g over the first conv's output) and optionally the 1x1 projection (w3 (1,1,E,K), b3, act3)
// and the residual add. x (N,H,W,C) -> y (N,OH,OW,E), or (N,OH,OW,K) with the projection. The
// first conv's and the depthwise conv's maps exist a few rows at a time.
struct ConvDepthwiseChain {
  const Tensor *w1, *b1;
  Act act1;
  int64_t stride1;
  Padding padding1;
  const Tensor *w2, *b2;
  Act act2;
  const Tensor *w3 = nullptr, *b3 = nullptr;  // no projection when null
  Act act3 = Act::none;
  bool residual = false;  // add x to the projection (a residual block: same shape in and out)
};
void conv_depthwise_forward(const Tensor& x, const ConvDepthwiseChain& p, Tensor& y, const Window& g);

// x (N,H,W,C) -> y (N,OH,OW,C); backward routes dy to the first maximum of each window.
void maxpool_forward(const Tensor& x, Tensor& y, const Window& g);
void maxpool_backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx, const Window& g);
// Average over the window's elements inside the input (padding is not counted), as TFLite.
void avgpool_forward(const Tensor& x, Tensor& y, const Window& g);
void avgpool_backward(const Tensor& dy, Tensor& dx, const Window& g);

// Fused conv2d -> activation -> max-pool (window `pool`, stride `pool`, VALID) for a convolution
// whose output is only pooled, so its full-resolution map is never stored. g is the conv's window.
// x (N,H,W,C), w (KH,KW,C,K), b (K) -> y (N,OH/pool,OW/pool,K); argmax (same shape, uint8) holds
// the winning window position qy*pool+qx, or 255 where the activation passes no gradient.
void conv2d_pool_forward(const Tensor& x, const Tensor& w, const Tensor& b, Act act, int64_t pool, Tensor& y,
                         Tensor& argmax, const Window& g);
void conv2d_pool_backward(const Tensor& x, const Tensor& w, const Tensor& argmax, const Tensor& dy, int64_t pool,
                          Tensor* dx, Tensor& dw, Tensor& db, const Window& g);
// Whether the backend of `device` has a fast kernel for this fused geometry (layers fuse only then;
// elsewhere the unfused ops are faster than the fused reference). False when none is built.
bool conv2d_pool_is_fast(const Window& g, int64_t pool, Device device = Device::cpu);

// Elementwise activation; y may be x. Backward uses the output: dx = dy * act'(y).
void activation_forward(Act act, const Tensor& x, Tensor& y);
void activation_backward(Act act, const Tensor& y, const Tensor& dy, Tensor& dx);

// Inverted dropout: each element is kept with probability 1-p (decided by hash(key, index)),
// kept elements are scaled by 1/(1-p). The same key reproduces the same mask in backward.
void dropout_forward(const Tensor& x, Tensor& y, float p, uint64_t key);
void dropout_backward(const Tensor& dy, Tensor& dx, float p, uint64_t key);

// Batch norm over all but the last (channel) axis.
// Training: normalises with batch statistics and writes them (mean, invstd: (C)) for backward.
void batchnorm_forward_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y, Tensor& mean,
                             Tensor& invstd, float eps);
void batchnorm_forward_infer(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                             const Tensor& running_var, Tensor& y, float eps);
void batchnorm_backward(const Tensor& x, const Tensor& gamma, const Tensor& mean, const Tensor& invstd,
                        const Tensor& dy, Tensor& dx, Tensor& dgamma, Tensor& dbeta);
// Moving statistics after a training batch of `rows` rows: running = momentum * running +
// (1 - momentum) * batch, with the unbiased batch variance (recovered from invstd and eps).
void batchnorm_update_running(const Tensor& mean, const Tensor& invstd, Tensor& running_mean, Tensor& running_var,
                              float momentum, float eps, int64_t rows);

// y = a + b (same shape); y may alias a or b.
void add(const Tensor& a, const Tensor& b, Tensor& y);
// y += x
void accumulate(const Tensor& x, Tensor& y);

// Row-wise softmax of x (N,K).
void softmax(const Tensor& x, Tensor& y);
// Through a softmax: dx = y * (dy - sum(dy * y)) per row, y = softmax output.
void softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx);
// Fused softmax + cross-entropy: logits (N,K), labels in [0,K). Writes dlogits = (p - onehot) / M
// when dlogits is not null, M = mean_over, or N when 0 (a micro-batch of a larger step passes the
// step's sample count, so the summed gradients are the step's mean).
LossStats softmax_cross_entropy(const Tensor& logits, std::span<const int32_t> labels, Tensor* dlogits,
                                int64_t mean_over = 0);
// The same with the labels as an int32 (N) tensor on the logits' device (a batch's labels already
// uploaded to the GPU). Host labels are range-checked here; on a GPU a label outside [0,K) makes
// the loss NaN.
LossStats softmax_cross_entropy(const Tensor& logits, const Tensor& labels, Tensor* dlogits, int64_t mean_over = 0);

// Optimizer updates, PyTorch's definitions (see optim.hpp).
void sgd_update(Tensor& w, const Tensor& g, Tensor& velocity, float lr, float momentum, float weight_decay,
                bool nesterov);
void adam_update(Tensor& w, const Tensor& g, Tensor& m, Tensor& v, float lr, float beta1, float beta2, float eps,
                 float weight_decay, bool decoupled, int64_t step);

// dst = src * scale + offset, uint8 -> float32.
void u8_to_f32(const Tensor& src, Tensor& dst, float scale, float offset);

}  // namespace ops
}  // namespace dltrain
