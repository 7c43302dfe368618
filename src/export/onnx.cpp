// ONNX export: a dltrain Model -> an ONNX ModelProto (IR 8, opset 17), written with the C++ that
// protoc generates from Debian's onnx.proto. Float32 only; no graph optimisation beyond what the
// layers say. dltrain is NHWC, ONNX's Conv and pools are NCHW: values carry their layout and a
// Transpose is inserted only where an op needs the other one.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <vector>

#include "dltrain/export.hpp"
#include "onnx.pb.h"

namespace dltrain {
namespace {

enum class Layout : uint8_t { nhwc, nchw, flat };

// A graph value: its name and how its axes are ordered.
struct Value {
  std::string name;
  Layout layout;
};

// A convolution's stride, padding and fused activation; spec_options fills only the activation,
// from a layer's text form (dense and ReLU layers, which have no descriptor).
struct SpecOptions {
  int64_t stride = 1;
  Padding padding = Padding::valid;
  Act act = Act::none;
};

SpecOptions spec_options(const std::string& spec) {
  SpecOptions o;
  std::stringstream ss(spec);
  std::string part;
  std::getline(ss, part, ',');  // the kind and its argument
  while (std::getline(ss, part, ',')) {
    if (part == "relu") o.act = Act::relu;
    else if (part == "relu6") o.act = Act::relu6;
  }
  return o;
}

class OnnxWriter {
 public:
  OnnxWriter(const Model& m, const ModelInfo& info) : m_(m), info_(info) {
    proto_.set_ir_version(onnx_ir_version);
    proto_.set_producer_name("dltrain");
    proto_.set_model_version(1);
    auto* opset = proto_.add_opset_import();
    opset->set_domain("");
    opset->set_version(onnx_opset);
    g_ = proto_.mutable_graph();
    g_->set_name(info.title.empty() ? m.title : info.title);
  }

  std::string encode() {
    const Shape in = m_.input_shape();
    DLT_CHECK(in.rank() == 3 || in.rank() == 1,
              "ONNX export: the model's input " + in.str() + " is neither an image (H, W, C) nor a vector");
    DLT_CHECK(m_.output_shape().rank() == 1,
              "ONNX export: the model's output " + m_.output_shape().str() + " is not a class vector");
    declare("pixels", onnx::TensorProto::UINT8, in, g_->add_input());
    preprocess(in.rank() == 3 ? Layout::nhwc : Layout::flat);
    values_.assign(m_.size(), Value{});
    for (size_t i = 0; i < m_.size(); ++i) values_[i] = layer(i);
    Value out = values_.back();
    if (!m_.has_softmax_head()) {  // predict applies a softmax to such a model's output too
      out = node("Softmax", {flat(out).name}, "probabilities/softmax", Layout::flat);
      attr_int(last_, "axis", -1);
    }
    node("Identity", {out.name}, "", Layout::flat, "probabilities");
    declare("probabilities", onnx::TensorProto::FLOAT, m_.output_shape(), g_->add_output());
    metadata();
    std::string bytes;
    DLT_CHECK(proto_.SerializeToString(&bytes), "ONNX export: protobuf could not serialize the model",
              "a model over 2 GiB cannot be one ONNX file");
    return bytes;
  }

 private:
  // An input or output: element type and (N, dims...) with a symbolic batch dimension N.
  static void declare(const std::string& name, int32_t type, const Shape& s, onnx::ValueInfoProto* v) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(type);
    auto* shape = t->mutable_shape();
    shape->add_dim()->set_dim_param("N");
    for (int64_t d : s.dims()) shape->add_dim()->set_dim_value(d);
  }

  // x = float(pixel) * scale + offset, as ops::u8_to_f32 computes it for `dltrain predict`.
  void preprocess(Layout layout) {
    scalar("preprocess/scale", info_.preprocessing.scale);
    scalar("preprocess/offset", info_.preprocessing.offset);
    auto* cast = g_->add_node();
    cast->set_op_type("Cast");
    cast->set_name("preprocess/cast");
    cast->add_input("pixels");
    cast->add_output("preprocess/float");
    attr_int(cast, "to", onnx::TensorProto::FLOAT);
    node("Mul", {"preprocess/float", "preprocess/scale"}, "preprocess/mul", layout, "preprocess/scaled");
    input_ = node("Add", {"preprocess/scaled", "preprocess/offset"}, "preprocess/add", layout, "preprocess/x");
  }

  const Value& input_of(size_t i, size_t k = 0) const {
    const int j = m_.inputs_of(i)[k];
    return j == Model::input ? input_ : values_[size_t(j)];
  }
  Shape input_shape_of(size_t i, size_t k = 0) const {
    const int j = m_.inputs_of(i)[k];
    return j == Model::input ? m_.input_shape() : m_.layer(size_t(j)).output_shape();
  }

  Value layer(size_t i) {
    const Layer& l = m_.layer(i);
    const std::string type = l.type(), name = l.name();
    const Value x = input_of(i);
    if (type == "Conv2D") return conv(i, false);
    if (type == "DepthwiseConv2D") return conv(i, true);
    if (type == "MaxPooling2D" || type == "AveragePooling2D") {
      const Layer::PoolDesc p = l.pool_desc();
      const Value out = node(type == "MaxPooling2D" ? "MaxPool" : "AveragePool", {nchw(x).name}, name, Layout::nchw);
      const Shape s = input_shape_of(i);
      const Window w = Window::make(s.with_batch(1), p.k, p.k, p.stride, p.stride, p.padding, s[2]);
      attr_ints(last_, "kernel_shape", {p.k, p.k});
      attr_ints(last_, "strides", {p.stride, p.stride});
      attr_ints(last_, "pads", pads(w));
      return out;  // AveragePool's count_include_pad is 0: padding is not counted, as dltrain and TFLite
    }
    if (type == "GlobalAveragePooling2D") {
      const Value pooled = node("GlobalAveragePool", {nchw(x).name}, name + "/pool", Layout::nchw);
      const Value out = node("Flatten", {pooled.name}, name, Layout::flat);
      attr_int(last_, "axis", 1);
      return out;
    }
    if (type == "Flatten") {
      if (x.layout == Layout::flat) return node("Identity", {x.name}, name, Layout::flat);
      const Value out = node("Flatten", {nhwc(x).name}, name, Layout::flat);  // Keras's (H, W, C) order
      attr_int(last_, "axis", 1);
      return out;
    }
    if (type == "Dense") {
      DLT_CHECK(x.layout == Layout::flat, "ONNX export: layer '" + name + "' (Dense) has a non-flat input");
      const Value y = node("Gemm", {x.name, weights(l, 0, {}), weights(l, 1, {})}, name, Layout::flat,
                           activation_output(l));  // kernel (IN, OUT): Gemm's B as it is
      return activate(y, spec_options(l.spec()).act, name);
    }
    if (type == "ReLU") return activate(x, spec_options("x," + l.spec()).act, name, true);
    if (type == "Softmax") {
      const Value out = node("Softmax", {flat(x).name}, name, Layout::flat);
      attr_int(last_, "axis", -1);
      return out;
    }
    if (type == "Dropout") return node("Identity", {x.name}, name, x.layout);  // inference: identity
    if (type == "BatchNormalization") {
      const Value in = x.layout == Layout::nhwc ? nchw(x) : x;
      const Value out = node("BatchNormalization",
                             {in.name, weights(l, 0, {}), weights(l, 1, {}), weights(l, 2, {}), weights(l, 3, {})},
                             name, in.layout);
      attr_float(last_, "epsilon", l.batchnorm_eps());
      return out;
    }
    if (type == "Add") {
      const Value a = x, b0 = input_of(i, 1);
      const Value b = a.layout == b0.layout ? b0 : a.layout == Layout::nchw ? nchw(b0) : nhwc(b0);
      return node("Add", {a.name, b.name}, name, a.layout);
    }
    throw Error("ONNX export: layer '" + name + "' (" + type + ", `" + l.spec() + "`) cannot be exported",
                "ONNX export knows dense, conv, dwconv, maxpool, avgpool, gap, flatten, dropout, bn, relu, relu6, "
                "res{ } and softmax; no file was written");
  }

  // Conv2D (kernel (KH,KW,C,K) -> (K,C,KH,KW)) or DepthwiseConv2D (kernel (KH,KW,C) -> (C,1,KH,KW),
  // group C), then the fused activation.
  Value conv(size_t i, bool depthwise) {
    const Layer& l = m_.layer(i);
    const Shape& k = l.params()[0].value.shape();
    const int64_t kh = k[0], kw = k[1], c = k[2], filters = depthwise ? c : k[3];
    const Layer::ConvDesc conv = l.conv_desc();
    const Layer::DepthwiseDesc dw = l.depthwise_desc();
    const SpecOptions o = depthwise ? SpecOptions{dw.stride, dw.padding, dw.act} : SpecOptions{conv.stride, conv.padding, conv.act};
    // (KH,KW,C,K) row-major: element (y, x, ch, f) at ((y*KW + x)*C + ch)*K + f.
    std::vector<float> w(size_t(filters * c * kh * kw));
    const float* src = l.params()[0].value.f32();
    const int64_t in_per_group = depthwise ? 1 : c;
    for (int64_t f = 0; f < filters; ++f)
      for (int64_t ch = 0; ch < in_per_group; ++ch)
        for (int64_t y = 0; y < kh; ++y)
          for (int64_t x = 0; x < kw; ++x)
            w[size_t(((f * in_per_group + ch) * kh + y) * kw + x)] =
                depthwise ? src[(y * kw + x) * c + f] : src[((y * kw + x) * c + ch) * filters + f];
    const std::string wname = l.name() + "/kernel";
    initializer(wname, {filters, in_per_group, kh, kw}, w.data());
    const Shape s = input_shape_of(i);
    const Window g = Window::make(s.with_batch(1), kh, kw, o.stride, o.stride, o.padding, filters);
    const Value y = node("Conv", {nchw(input_of(i)).name, wname, weights(l, 1, {})}, l.name(), Layout::nchw,
                         activation_output(l));
    attr_ints(last_, "kernel_shape", {kh, kw});
    attr_ints(last_, "strides", {o.stride, o.stride});
    attr_ints(last_, "pads", pads(g));
    if (depthwise) attr_int(last_, "group", c);
    return activate(y, o.act, l.name());
  }

  // ONNX pads: (top, left, bottom, right); TensorFlow's SAME puts the extra row/column at the end.
  static std::vector<int64_t> pads(const Window& g) {
    const int64_t bottom = std::max<int64_t>(0, (g.oh - 1) * g.sh + g.kh - g.h - g.pad_top);
    const int64_t right = std::max<int64_t>(0, (g.ow - 1) * g.sw + g.kw - g.w - g.pad_left);
    return {g.pad_top, g.pad_left, bottom, right};
  }

  // A layer with a fused activation writes its pre-activation value under "<name>/linear".
  static std::string activation_output(const Layer& l) {
    return spec_options(l.spec()).act == Act::none ? l.name() : l.name() + "/linear";
  }

  // Relu, or ReLU6 as Clip(0, 6). `standalone`: the activation is the layer itself.
  Value activate(const Value& x, Act act, const std::string& name, bool standalone = false) {
    if (act == Act::none) return x;
    if (act == Act::relu) return node("Relu", {x.name}, standalone ? name : name + "/relu", x.layout, name);
    if (!clip_bounds_) {
      scalar("relu6/min", 0.0f);
      scalar("relu6/max", 6.0f);
      clip_bounds_ = true;
    }
    return node("Clip", {x.name, "relu6/min", "relu6/max"}, standalone ? name : name + "/relu6", x.layout, name);
  }

  // Layout conversions (each value converted at most once).
  Value nchw(const Value& v) { return v.layout == Layout::nhwc ? transpose(v, Layout::nchw) : v; }
  Value nhwc(const Value& v) { return v.layout == Layout::nchw ? transpose(v, Layout::nhwc) : v; }
  Value flat(const Value& v) {
    DLT_CHECK(v.layout == Layout::flat, "ONNX export: '" + v.name + "' is not a flat vector");
    return v;
  }
  Value transpose(const Value& v, Layout to) {
    const std::string out = v.name + (to == Layout::nchw ? "/nchw" : "/nhwc");
    if (transposed_.insert(out).second) {
      node("Transpose", {v.name}, out, to);
      attr_ints(last_, "perm", to == Layout::nchw ? std::vector<int64_t>{0, 3, 1, 2} : std::vector<int64_t>{0, 2, 3, 1});
    }
    return {out, to};
  }

  Value node(const std::string& op, std::vector<std::string> inputs, const std::string& name, Layout layout,
             const std::string& output = "") {
    last_ = g_->add_node();  // after the inputs' own nodes (a Transpose), so the graph stays sorted
    return emit(last_, op, std::move(inputs), name, layout, output);
  }
  Value emit(onnx::NodeProto* n, const std::string& op, std::vector<std::string> inputs, const std::string& name,
             Layout layout, const std::string& output = "") {
    n->set_op_type(op);
    if (!name.empty()) n->set_name(name);
    for (const std::string& in : inputs) n->add_input(in);
    const std::string out = output.empty() ? name : output;
    n->add_output(out);
    return {out, layout};
  }

  static void attr_int(onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr_float(onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void attr_ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }

  void initializer(const std::string& name, const std::vector<int64_t>& dims, const float* data) {
    auto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    int64_t n = 1;
    for (int64_t d : dims) t->add_dims(d), n *= d;
    t->set_raw_data(std::string(reinterpret_cast<const char*>(data), size_t(n) * sizeof(float)));  // little-endian
  }
  void scalar(const std::string& name, float v) { initializer(name, {}, &v); }
  // A parameter as it is stored ("<layer>/<param>").
  std::string weights(const Layer& l, size_t k, std::vector<int64_t> dims) {
    const Param& p = l.params()[k];
    const std::string name = l.name() + "/" + p.name;
    if (dims.empty())
      for (int64_t d : p.value.shape().dims()) dims.push_back(d);
    initializer(name, dims, p.value.f32());
    return name;
  }

  void metadata() {
    auto prop = [&](const std::string& key, const std::string& value) {
      auto* p = proto_.add_metadata_props();
      p->set_key(key);
      p->set_value(value);
    };
    prop("labels", nlohmann::json(info_.labels).dump());
    prop("preprocessing",
         nlohmann::json{{"input", "pixels: uint8 (N, H, W, C), the image resized to the model's input as dltrain "
                                  "predict does; the graph computes x = pixel * scale + offset"},
                        {"scale", info_.preprocessing.scale},
                        {"offset", info_.preprocessing.offset},
                        {"resize", info_.preprocessing.resize == Resize::crop ? "crop" : "bilinear"}}
             .dump());
    prop("output", "probabilities: float32 (N, classes), softmax as dltrain predict prints it");
    prop("architecture", m_.spec);
    if (!info_.title.empty()) prop("title", info_.title);
    if (!info_.dataset.empty()) prop("dataset", info_.dataset);
  }

  const Model& m_;
  const ModelInfo& info_;
  onnx::ModelProto proto_;
  onnx::GraphProto* g_;
  Value input_;
  std::vector<Value> values_;
  std::set<std::string> transposed_;
  bool clip_bounds_ = false;
  onnx::NodeProto* last_ = nullptr;  // the node node() added last, for its attributes
};

}  // namespace

bool onnx_export_built() { return true; }

std::string encode_onnx(const Model& m, const ModelInfo& info) { return OnnxWriter(m, info).encode(); }

}  // namespace dltrain
