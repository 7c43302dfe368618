// Lowering a dltrain Model to TFLite operators (see tflite_graph.hpp). dltrain is NHWC like
// TFLite, so no layout conversion is needed; Keras's kernel layouts become TFLite's here.
#include <cmath>
#include <set>
#include <sstream>

#include "tflite_graph.hpp"

namespace dltrain::tflite_export {
namespace {

// The activation a layer's text-format options fuse in (conv and dense).
Act spec_act(const std::string& spec) {
  std::stringstream ss(spec);
  std::string part;
  Act act = Act::none;
  while (std::getline(ss, part, ','))
    if (part == "relu") act = Act::relu;
    else if (part == "relu6") act = Act::relu6;
  return act;
}

// ActivationFunctionType: NONE 0, RELU 1, RELU6 3.
double fused_code(Act a) { return a == Act::relu ? 1 : a == Act::relu6 ? 3 : 0; }
// Padding: SAME 0, VALID 1.
double padding_code(Padding p) { return p == Padding::same ? 0 : 1; }

class Lowering {
 public:
  Lowering(const Model& m, const ModelInfo& info) : m_(m), info_(info), consumers_(m.size(), 0) {
    for (size_t i = 0; i < m.size(); ++i)
      for (int j : m.inputs_of(i))
        if (j != Model::input) ++consumers_[size_t(j)];
    if (m.size()) ++consumers_.back();  // the model's output is read by its caller
  }

  Graph run(bool int8) {
    const Shape in = m_.input_shape();
    DLT_CHECK(in.rank() == 3 || in.rank() == 1,
              "TFLite export: the model's input " + in.str() + " is neither an image (H, W, C) nor a vector");
    DLT_CHECK(m_.output_shape().rank() == 1,
              "TFLite export: the model's output " + m_.output_shape().str() + " is not a class vector");
    TensorDef pixels{.name = "pixels", .shape = batched(in), .type = tflite::UINT8};
    g_.input = g_.add_tensor(pixels);
    // The float graph computes float(pixel) * scale + offset as `dltrain predict` does; the int8
    // graph's input quantization is that same map (quantize() sets it).
    input_ = int8 ? g_.input : preprocess(in);
    g_.tensors[size_t(input_)].source = Model::input;
    values_.assign(m_.size(), -1);
    for (size_t i = 0; i < m_.size(); ++i) {
      if (done_.count(int(i))) continue;
      values_[i] = layer(i);
    }
    int32_t out = values_.back();
    if (!m_.has_softmax_head()) out = softmax(out, "probabilities/softmax", int(m_.size()) - 1);
    g_.output = out;
    g_.tensors[size_t(out)].name = "probabilities";
    return std::move(g_);
  }

 private:
  static std::vector<int32_t> batched(const Shape& s) {
    std::vector<int32_t> d{1};
    for (int64_t x : s.dims()) d.push_back(int32_t(x));
    return d;
  }
  int32_t activation(const std::string& name, const std::vector<int32_t>& shape, int node) {
    TensorDef t{.name = name, .shape = shape};
    t.source = node;
    return g_.add_tensor(std::move(t));
  }
  int32_t constant(const std::string& name, std::vector<int32_t> shape, std::vector<float> values) {
    return g_.add_tensor(TensorDef{.name = name, .shape = std::move(shape), .batched = false, .values = std::move(values),
                                   .constant = true});
  }
  int32_t int_constant(const std::string& name, std::vector<int32_t> values) {
    const auto n = int32_t(values.size());
    return g_.add_tensor(TensorDef{.name = name, .shape = {n}, .batched = false, .type = tflite::INT32,
                                   .ints = std::move(values), .constant = true});
  }
  void op(int32_t code, std::vector<int32_t> inputs, int32_t output, uint8_t options_type = no_options,
          std::vector<Field> options = {}) {
    g_.ops.push_back(OpDef{code, std::move(inputs), {output}, options_type, std::move(options)});
  }
  const std::vector<int32_t>& shape_of(int32_t t) const { return g_.tensors[size_t(t)].shape; }

  int32_t preprocess(const Shape& in) {
    const int32_t f = activation("preprocess/float", batched(in), -2);
    op(tflite::CAST, {g_.input}, f, cast_options, {{Field::i8, 0, tflite::UINT8}, {Field::i8, 1, tflite::FLOAT32}});
    const int32_t scaled = activation("preprocess/scaled", batched(in), -2);
    op(tflite::MUL, {f, constant("preprocess/scale", {}, {info_.preprocessing.scale})}, scaled, mul_options,
       {{Field::i8, 0, 0}});
    const int32_t x = activation("preprocess/x", batched(in), -2);
    op(tflite::ADD, {scaled, constant("preprocess/offset", {}, {info_.preprocessing.offset})}, x, add_options,
       {{Field::i8, 0, 0}});
    return x;
  }

  int32_t value_of(size_t i, size_t k = 0) const {
    const int j = m_.inputs_of(i)[k];
    return j == Model::input ? input_ : values_[size_t(j)];
  }
  // The node that alone reads node i's output, or -1.
  int sole_consumer(size_t i) const {
    if (consumers_[i] != 1 || i + 1 >= m_.size()) return -1;
    for (size_t j = i + 1; j < m_.size(); ++j)
      for (int x : m_.inputs_of(j))
        if (x == int(i)) return int(j);
    return -1;
  }
  // A ReLU/ReLU6 layer that alone reads node i, to be fused into it (its node id, or -1).
  int fusable_activation(size_t i) const {
    const int j = sole_consumer(i);
    return j >= 0 && m_.layer(size_t(j)).type() == std::string("ReLU") ? j : -1;
  }
  Act activation_layer_act(const Layer& l) const { return spec_act("x," + l.spec()); }

  // BatchNorm as y = a * x + b per channel.
  struct Affine {
    std::vector<float> a, b;
  };
  static Affine batchnorm_affine(const Layer& bn) {
    const float eps = bn.batchnorm_eps();
    const auto& p = bn.params();
    const int64_t c = p[0].value.numel();
    Affine f{std::vector<float>(size_t(c)), std::vector<float>(size_t(c))};
    for (int64_t k = 0; k < c; ++k) {
      const double a = double(p[0].value.f32()[k]) / std::sqrt(double(p[3].value.f32()[k]) + double(eps));
      f.a[size_t(k)] = float(a);
      f.b[size_t(k)] = float(double(p[1].value.f32()[k]) - double(p[2].value.f32()[k]) * a);
    }
    return f;
  }

  int32_t layer(size_t i) {
    const Layer& l = m_.layer(i);
    const std::string type = l.type(), name = l.name();
    const int32_t x = value_of(i);
    if (type == "Conv2D" || type == "DepthwiseConv2D" || type == "Dense") return weighted(i);
    if (type == "MaxPooling2D" || type == "AveragePooling2D") {
      const Layer::PoolDesc p = l.pool_desc();
      const int32_t y = activation(name, batched(l.output_shape()), int(i));
      op(type == "MaxPooling2D" ? tflite::MAX_POOL_2D : tflite::AVERAGE_POOL_2D, {x}, y, pool_options,
         {{Field::i8, 0, padding_code(p.padding)}, {Field::i32, 1, double(p.stride)}, {Field::i32, 2, double(p.stride)},
          {Field::i32, 3, double(p.k)}, {Field::i32, 4, double(p.k)}, {Field::i8, 5, 0}});
      return y;
    }
    if (type == "GlobalAveragePooling2D") {
      const int32_t y = activation(name, batched(l.output_shape()), int(i));
      op(tflite::MEAN, {x, int_constant(name + "/axes", {1, 2})}, y, reducer_options, {{Field::i8, 0, 0}});
      return y;
    }
    if (type == "Flatten") {
      if (shape_of(x).size() == 2) return x;
      const auto n = int32_t(l.output_shape()[0]);
      const int32_t y = activation(name, {1, n}, int(i));
      op(tflite::RESHAPE, {x, int_constant(name + "/shape", {-1, n})}, y);
      return y;
    }
    if (type == "ReLU") {
      const int32_t y = activation(name, shape_of(x), int(i));
      op(activation_layer_act(l) == Act::relu6 ? tflite::RELU6 : tflite::RELU, {x}, y);
      return y;
    }
    if (type == "Softmax") return softmax(x, name, int(i));
    if (type == "Dropout") return x;  // inference: the identity
    if (type == "BatchNormalization") return batchnorm(i);
    if (type == "Add") return add(i, {x, value_of(i, 1)});
    throw Error("TFLite export: layer '" + name + "' (" + type + ", `" + l.spec() + "`) cannot be exported",
                "TFLite export knows dense, conv, dwconv, maxpool, avgpool, gap, flatten, dropout, bn, relu, relu6, "
                "res{ } and softmax; no file was written");
  }

  // ADD of two tensors, with a ReLU layer that alone follows node i fused in.
  int32_t add(size_t i, std::vector<int32_t> inputs) {
    int last = int(i);
    Act act = Act::none;
    if (const int r = fusable_activation(i); r >= 0) {
      act = activation_layer_act(m_.layer(size_t(r)));
      done_.insert(r);
      last = r;
    }
    const int32_t y = activation(m_.layer(size_t(last)).name(), shape_of(inputs[0]), last);
    op(tflite::ADD, std::move(inputs), y, add_options, {{Field::i8, 0, fused_code(act)}});
    values_[size_t(last)] = y;
    return y;
  }

  int32_t softmax(int32_t x, const std::string& name, int node) {
    const int32_t y = activation(name, shape_of(x), node);
    op(tflite::SOFTMAX, {x}, y, softmax_options, {{Field::f32, 0, 1.0}});
    return y;
  }

  // A convolution, depthwise convolution or fully connected operator about to be written, its
  // weights in TFLite's layouts: conv (K, KH, KW, C), depthwise (1, KH, KW, C), fully connected (K, C).
  struct Weighted {
    int32_t code = tflite::CONV_2D;
    std::vector<int32_t> shape;
    std::vector<float> w, bias;
    int64_t stride = 1;
    Padding padding = Padding::valid;
    Act act = Act::none;
    int last = 0;  // the last dltrain node it computes
  };
  // Filter f's weights: a strided range of w.
  static float& weight(Weighted& k, int64_t f, int64_t t) {
    const int64_t filters = int64_t(k.bias.size()), taps = int64_t(k.w.size()) / filters;
    return k.code == tflite::DEPTHWISE_CONV_2D ? k.w[size_t(t * filters + f)] : k.w[size_t(f * taps + t)];
  }

  // Conv2D, DepthwiseConv2D or Dense, with a batchnorm that alone follows it folded into its
  // weights and a ReLU layer that alone follows either fused in.
  int32_t weighted(size_t i) {
    const Layer& l = m_.layer(i);
    const std::string type = l.type();
    const bool depthwise = type == "DepthwiseConv2D", dense = type == "Dense";
    const Tensor& kernel = l.params()[0].value;
    const Shape& k = kernel.shape();
    const int64_t kh = dense ? 1 : k[0], kw = dense ? 1 : k[1], c = dense ? k[0] : k[2];
    const int64_t filters = dense ? k[1] : depthwise ? c : k[3];
    Weighted op{.code = dense ? tflite::FULLY_CONNECTED : depthwise ? tflite::DEPTHWISE_CONV_2D : tflite::CONV_2D,
                .shape = dense       ? std::vector<int32_t>{int32_t(filters), int32_t(c)}
                         : depthwise ? std::vector<int32_t>{1, int32_t(kh), int32_t(kw), int32_t(c)}
                                     : std::vector<int32_t>{int32_t(filters), int32_t(kh), int32_t(kw), int32_t(c)},
                .w = std::vector<float>(size_t(kernel.numel())),
                .bias = std::vector<float>(l.params()[1].value.f32(), l.params()[1].value.f32() + filters),
                .last = int(i)};
    if (depthwise) op.stride = l.depthwise_desc().stride, op.padding = l.depthwise_desc().padding, op.act = l.depthwise_desc().act;
    else if (dense) op.act = spec_act(l.spec());
    else op.stride = l.conv_desc().stride, op.padding = l.conv_desc().padding, op.act = l.conv_desc().act;
    // Keras's layouts keep the filter index last: element (tap t, filter f) at t * filters + f.
    const float* src = kernel.f32();
    const int64_t taps = kernel.numel() / filters;
    for (int64_t f = 0; f < filters; ++f)
      for (int64_t t = 0; t < taps; ++t) weight(op, f, t) = src[t * filters + f];
    if (const int j = sole_consumer(i); op.act == Act::none && j >= 0 &&
                                        m_.layer(size_t(j)).type() == std::string("BatchNormalization")) {
      const Affine bn = batchnorm_affine(m_.layer(size_t(j)));
      for (int64_t f = 0; f < filters; ++f) {
        for (int64_t t = 0; t < taps; ++t) weight(op, f, t) *= bn.a[size_t(f)];
        op.bias[size_t(f)] = op.bias[size_t(f)] * bn.a[size_t(f)] + bn.b[size_t(f)];
      }
      done_.insert(j);
      op.last = j;
    }
    return emit(i, std::move(op));
  }

  // A batchnorm that cannot be folded: a 1x1 depthwise convolution over a feature map, a fully
  // connected layer with a diagonal matrix over a vector. Either keeps one int8 scale per channel,
  // which TFLite's MUL (one scale per tensor) would not.
  int32_t batchnorm(size_t i) {
    const Affine f = batchnorm_affine(m_.layer(i));
    const auto c = int32_t(f.a.size());
    Weighted op{.code = tflite::DEPTHWISE_CONV_2D, .shape = {1, 1, 1, c}, .w = f.a, .bias = f.b, .last = int(i)};
    if (shape_of(value_of(i)).size() != 4) {
      op.code = tflite::FULLY_CONNECTED, op.shape = {c, c}, op.w.assign(size_t(c) * size_t(c), 0.0f);
      for (int32_t k = 0; k < c; ++k) op.w[size_t(k) * size_t(c) + size_t(k)] = f.a[size_t(k)];
    }
    return emit(i, std::move(op));
  }

  // Writes the operator for node i, with a ReLU layer that alone follows op.last fused in.
  int32_t emit(size_t i, Weighted op) {
    if (const int r = fusable_activation(size_t(op.last)); op.act == Act::none && r >= 0) {
      op.act = activation_layer_act(m_.layer(size_t(r)));
      done_.insert(r);
      op.last = r;
    }
    const std::string name = m_.layer(i).name();
    const int32_t wt = constant(name + "/kernel", op.shape, std::move(op.w));
    const auto filters = int32_t(op.bias.size());
    const int32_t b = constant(name + "/bias", {filters}, std::move(op.bias));
    const Layer& last = m_.layer(size_t(op.last));
    const int32_t y = activation(last.name(), batched(last.output_shape()), op.last);
    const int32_t x = value_of(i);
    const double pad = padding_code(op.padding), stride = double(op.stride), act = fused_code(op.act);
    if (op.code == tflite::FULLY_CONNECTED) {
      DLT_CHECK(shape_of(x).size() == 2, "TFLite export: layer '" + name + "' (Dense) has a non-flat input");
      this->op(op.code, {x, wt, b}, y, fully_connected_options, {{Field::i8, 0, act}});
    } else if (op.code == tflite::DEPTHWISE_CONV_2D) {
      this->op(op.code, {x, wt, b}, y, depthwise_options,
               {{Field::i8, 0, pad}, {Field::i32, 1, stride}, {Field::i32, 2, stride}, {Field::i32, 3, 1},
                {Field::i8, 4, act}, {Field::i32, 5, 1}, {Field::i32, 6, 1}});
    } else {
      this->op(op.code, {x, wt, b}, y, conv_options,
               {{Field::i8, 0, pad}, {Field::i32, 1, stride}, {Field::i32, 2, stride}, {Field::i8, 3, act},
                {Field::i32, 4, 1}, {Field::i32, 5, 1}});
    }
    values_[size_t(op.last)] = y;
    return y;
  }

  const Model& m_;
  const ModelInfo& info_;
  Graph g_;
  int32_t input_ = -1;
  std::vector<int> consumers_;
  std::vector<int32_t> values_;
  std::set<int> done_;  // nodes folded or fused into an earlier operator
};

}  // namespace

Graph lower(const Model& m, const ModelInfo& info, bool int8) { return Lowering(m, info).run(int8); }

void finish_float(Graph& g) {
  for (TensorDef& t : g.tensors) {
    if (!t.constant) continue;
    if (t.type == tflite::INT32) t.bytes.assign(reinterpret_cast<const char*>(t.ints.data()), t.ints.size() * 4);
    else t.bytes.assign(reinterpret_cast<const char*>(t.values.data()), t.values.size() * 4);  // little-endian
  }
}

}  // namespace dltrain::tflite_export
