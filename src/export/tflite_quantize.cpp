// Full-integer quantization of a lowered graph (TFLite's int8 scheme: weights int8 symmetric per
// output channel, biases int32 at input scale x weight scale, activations int8 asymmetric per
// tensor from ranges observed on calibration images; softmax outputs 1/256 with zero point -128).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "dltrain/ops.hpp"
#include "tflite_graph.hpp"

namespace dltrain::tflite_export {
namespace {

struct Range {
  float lo = std::numeric_limits<float>::infinity(), hi = -std::numeric_limits<float>::infinity();
  void add(const float* p, int64_t n) {
    for (int64_t i = 0; i < n; ++i) lo = std::min(lo, p[i]), hi = std::max(hi, p[i]);
  }
};

// What the calibration images make each node's output span.
std::vector<Range> calibrate(Model& m, const Preprocessing& pre, const Tensor& images) {
  std::vector<Range> r(m.size());
  const Shape sample = images.shape().without_batch();
  DLT_CHECK(sample == m.input_shape(), "TFLite export: calibration images are " + sample.str() +
                                           ", the model takes " + m.input_shape().str());
  const int64_t n = images.shape()[0], per = sample.numel(), batch = 64;
  DLT_CHECK(n > 0, "TFLite export: --int8 needs calibration images", "give --calibration DATA");
  const Context ctx{Mode::infer, 0, 0};
  for (int64_t first = 0; first < n; first += batch) {
    const int64_t b = std::min(batch, n - first);
    Tensor u8(sample.with_batch(b), DType::u8);
    std::memcpy(u8.u8(), images.u8() + first * per, size_t(b * per));
    Tensor x(sample.with_batch(b));
    ops::u8_to_f32(u8, x, pre.scale, pre.offset);
    // Node by node, not through Model::forward: its fused kernels skip outputs that are needed here.
    std::vector<const Tensor*> out(m.size());
    for (size_t i = 0; i < m.size(); ++i) {
      std::vector<const Tensor*> xs;
      for (int j : m.inputs_of(i)) xs.push_back(j == Model::input ? &x : out[size_t(j)]);
      Layer& l = m.layer(i);
      out[i] = &l.forward(xs, ctx);
      r[i].add(out[i]->f32(), out[i]->numel());
    }
  }
  return r;
}

// int8 asymmetric parameters covering [lo, hi] and zero.
Quant activation_quant(Range r) {
  const double lo = std::min(0.0, double(r.lo)), hi = std::max(0.0, double(r.hi));
  const double scale = std::max(hi - lo, 1e-6) / 255.0;
  const double zp = std::clamp(std::round(-128.0 - lo / scale), -128.0, 127.0);
  return {{float(scale)}, {int64_t(zp)}, 0};
}

int8_t to_int8(double v) { return int8_t(std::clamp(std::round(v), -128.0, 127.0)); }

// Symmetric int8 with one scale per slice along `axis` (per tensor when axis < 0).
void quantize_weights(TensorDef& t, int axis) {
  const int64_t n = int64_t(t.values.size());
  int64_t channels = 1, inner = 1;
  if (axis >= 0) {
    channels = t.shape[size_t(axis)];
    for (size_t d = size_t(axis) + 1; d < t.shape.size(); ++d) inner *= t.shape[d];
  }
  std::vector<float> top(size_t(channels), 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    const auto ch = size_t((i / inner) % channels);
    top[ch] = std::max(top[ch], std::abs(t.values[size_t(i)]));
  }
  t.quant = {{}, std::vector<int64_t>(size_t(channels), 0), std::max(axis, 0)};
  for (float m : top) t.quant.scale.push_back(m > 0 ? m / 127.0f : 1.0f);
  t.type = tflite::INT8;
  t.bytes.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i)
    t.bytes[size_t(i)] = char(to_int8(double(t.values[size_t(i)]) / t.quant.scale[size_t((i / inner) % channels)]));
}

// int32 at scale input_scale x weight_scale[channel], zero point 0.
void quantize_bias(TensorDef& t, float input_scale, const Quant& w) {
  t.type = tflite::INT32;
  t.quant = {{}, std::vector<int64_t>(t.values.size(), 0), 0};
  t.bytes.resize(t.values.size() * 4);
  for (size_t i = 0; i < t.values.size(); ++i) {
    const double s = double(input_scale) * double(w.scale[w.scale.size() == 1 ? 0 : i]);
    t.quant.scale.push_back(float(s));
    const auto q = int32_t(std::clamp(std::round(double(t.values[i]) / s), -2147483647.0, 2147483647.0));
    std::memcpy(t.bytes.data() + i * 4, &q, 4);
  }
}

void int_bytes(TensorDef& t) { t.bytes.assign(reinterpret_cast<const char*>(t.ints.data()), t.ints.size() * 4); }

}  // namespace

void quantize(Graph& g, Model& m, const ModelInfo& info, const Tensor& images, bool int8_io) {
  const std::vector<Range> ranges = calibrate(m, info.preprocessing, images);
  // The input: pixel p means (p - zp) * scale, which is the preprocessing when -offset/scale is a
  // whole number (it is for 1/255 and 0, and for MobileNet's 1/128 and -1); otherwise the nearest.
  const Preprocessing& pre = info.preprocessing;
  const double zp = std::clamp(std::round(-double(pre.offset) / double(pre.scale)), 0.0, 255.0);
  TensorDef& pixels = g.tensors[size_t(g.input)];
  pixels.quant = {{pre.scale}, {int64_t(zp) - (int8_io ? 128 : 0)}, 0};
  const Quant body_in{{pre.scale}, {int64_t(zp) - 128}, 0};
  if (int8_io) {
    pixels.type = tflite::INT8;
  } else {
    TensorDef in8{.name = "pixels/int8", .shape = pixels.shape, .type = tflite::INT8, .quant = body_in};
    const int32_t q = g.add_tensor(std::move(in8));
    for (OpDef& op : g.ops)
      for (int32_t& x : op.inputs)
        if (x == g.input) x = q;
    g.ops.insert(g.ops.begin(), OpDef{tflite::QUANTIZE, {g.input}, {q}});
  }

  for (OpDef& op : g.ops) {
    if (op.code == tflite::QUANTIZE) continue;
    TensorDef& y = g.tensors[size_t(op.outputs[0])];
    const Quant& in = g.tensors[size_t(op.inputs[0])].quant;
    y.type = tflite::INT8;
    switch (op.code) {
      case tflite::MAX_POOL_2D:
      case tflite::AVERAGE_POOL_2D:
      case tflite::RESHAPE: y.quant = in; break;  // TFLite's int8 kernels keep the input's parameters
      case tflite::SOFTMAX: y.quant = {{1.0f / 256.0f}, {-128}, 0}; break;
      default:
        y.quant = activation_quant(ranges[size_t(y.source)]);
    }
    for (size_t k = 1; k < op.inputs.size(); ++k) {
      TensorDef& c = g.tensors[size_t(op.inputs[k])];
      if (!c.constant) continue;
      if (c.type == tflite::INT32) int_bytes(c);
      else if (op.code == tflite::CONV_2D || op.code == tflite::FULLY_CONNECTED) {
        if (k == 1) quantize_weights(c, 0);
        else quantize_bias(c, in.scale[0], g.tensors[size_t(op.inputs[1])].quant);
      } else if (op.code == tflite::DEPTHWISE_CONV_2D) {
        if (k == 1) quantize_weights(c, 3);
        else quantize_bias(c, in.scale[0], g.tensors[size_t(op.inputs[1])].quant);
      } else {
        throw Error("TFLite export: internal: no int8 form for a constant of " + std::string(tflite::op_name(op.code)));
      }
    }
  }
  if (!int8_io) {
    TensorDef& body = g.tensors[size_t(g.output)];  // the int8 probabilities
    TensorDef out{.name = "probabilities", .shape = body.shape, .type = tflite::UINT8, .quant = {{1.0f / 256.0f}, {0}, 0}};
    body.name = "probabilities/int8";
    const int32_t o = g.add_tensor(std::move(out));
    g.ops.push_back(OpDef{tflite::QUANTIZE, {g.output}, {o}});
    g.output = o;
  }
}

}  // namespace dltrain::tflite_export
