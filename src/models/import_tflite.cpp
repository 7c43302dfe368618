// TFLite -> dltrain: translates the first subgraph of a .tflite file into the text format (one
// layer per operator; ADDs that close a residual block become `res{ ... }`), builds it with
// parse_model, and loads the dequantized weights. The built model is compared with the file's
// graph node by node, so a graph the text format cannot express is an error, never a wrong model.
#include <algorithm>
#include <cmath>
#include <array>
#include <map>
#include <optional>

#include "dltrain/models.hpp"
#include "dltrain/path.hpp"
#include "io/tflite.hpp"

namespace dltrain {
namespace {
using tflite::OpInfo;

struct Node {
  std::string token;        // "}" for the Add that closes a residual block
  std::vector<int> inputs;  // node ids, Model::input for the model input
  std::vector<std::vector<float>> params;
  Shape shape;              // per-sample output
  int block_input = -2;     // for a closing Add: the node before `res{`
};

// What a TFLite tensor is on our side: a node's output, possibly with an explicit PAD pending.
struct Value {
  int node = Model::input;
  Shape shape;
  std::optional<std::array<int64_t, 4>> pad;  // top, bottom, left, right
};

class Importer {
 public:
  explicit Importer(const tflite::File& f) : f_(f) {}

  ImportedModel run() {
    DLT_CHECK(f_.inputs().size() == 1, f_.path() + ": the model has " + std::to_string(f_.inputs().size()) +
                                           " inputs; dltrain imports single-image classifiers");
    const tflite::TensorInfo& in = f_.tensors()[size_t(f_.inputs()[0])];
    DLT_CHECK(in.shape.size() == 4 && in.shape[1] >= 1 && in.shape[2] >= 1 && in.shape[3] >= 1 && in.shape[3] <= 4,
              f_.path() + ": the input tensor '" + in.name + "' is not an image batch (N, H, W, C)");
    ImportedModel out;
    out.input_shape = Shape{in.shape[1], in.shape[2], in.shape[3]};
    pre_ = preprocessing(in);
    values_[f_.inputs()[0]] = Value{Model::input, out.input_shape, std::nullopt};
    for (const OpInfo& op : f_.ops()) translate(op);
    out.preprocessing = pre_;
    if (nodes_.empty())
      throw Error(f_.path() + ": the graph has no operators: nothing to import", "give a TFLite image classifier");

    std::string text;
    std::vector<int> opens(nodes_.size() + 1, 0);
    for (const Node& n : nodes_)
      if (n.token == "}") ++opens[size_t(n.block_input + 1)];
    int gap = -1;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      for (int k = 0; k < opens[i]; ++k) text += "res{ ";
      text += nodes_[i].token + " ";
      if (nodes_[i].token == "gap") gap = int(i), out.backbone = text;
    }
    text.pop_back();
    if (gap >= 0) {
      out.backbone.pop_back();
      out.backbone_nodes = size_t(gap) + 1;
      out.embedding_size = nodes_[size_t(gap)].shape[0];
      for (size_t i = size_t(gap) + 1; i < nodes_.size(); ++i)
        if (nodes_[i].token == "}" && nodes_[i].block_input < gap)
          out.backbone.clear(), out.backbone_nodes = 0;  // the pool sits inside a block: no clean cut
    }
    out.model = parse_model(text, out.input_shape);
    out.model->title = "tflite";
    check_and_load(*out.model);
    out.labels = packed_labels(out.model->output_shape());
    return out;
  }

 private:
  [[noreturn]] void unsupported(const OpInfo& op, const std::string& why) const {
    throw Error(f_.path() + ": operator " + std::to_string(op.index) + " (" + tflite::op_name(op.code) + "): " + why,
                "dltrain imports image classifiers built from CONV_2D, DEPTHWISE_CONV_2D, ADD, AVERAGE_POOL_2D, "
                "MAX_POOL_2D, MEAN, FULLY_CONNECTED, RESHAPE, PAD, RELU, RELU6, SOFTMAX, and MUL, ADD and CAST as dltrain "
                "exports them (MobileNet V1/V2 style)");
  }

  // A text file packed with the model that has one line per class (TFLite metadata's label file).
  std::vector<std::string> packed_labels(const Shape& out) const {
    if (out.rank() != 1) return {};
    for (const auto& [name, text] : tflite::associated_files(f_.path())) {
      if (!name.ends_with(".txt")) continue;
      std::vector<std::string> lines = text_lines(text);
      if (int64_t(lines.size()) == out[0]) return lines;
    }
    return {};
  }

  static Preprocessing preprocessing(const tflite::TensorInfo& in) {
    Preprocessing p;
    if (in.type == tflite::UINT8 && in.quant.scale.size() == 1) {
      // The model sees (q - zero_point) * scale for pixel value q.
      const double zp = in.quant.zero_point.empty() ? 0.0 : double(in.quant.zero_point[0]);
      p.scale = in.quant.scale[0];
      p.offset = float(-zp * in.quant.scale[0]);
    } else if (in.type == tflite::INT8 && in.quant.scale.size() == 1) {
      const double zp = in.quant.zero_point.empty() ? 0.0 : double(in.quant.zero_point[0]);
      p.scale = in.quant.scale[0];
      p.offset = float((-128 - zp) * in.quant.scale[0]);
    } else {
      p.scale = 1.0f / 127.5f;  // float models of this family take [-1, 1]
      p.offset = -1.0f;
    }
    p.resize = Resize::bilinear;
    return p;
  }

  // Tensor ids were range-checked when the file was read; an input may still be absent (-1) or
  // missing from the list, and every operator handled here has exactly one output.
  int32_t input_id(const OpInfo& op, size_t i) const {
    if (i >= op.inputs.size() || op.inputs[i] < 0)
      unsupported(op, "input " + std::to_string(i) + " is missing (tensor index " +
                          (i < op.inputs.size() ? std::to_string(op.inputs[i]) : std::string("absent")) + ")");
    return op.inputs[i];
  }
  int32_t output_id(const OpInfo& op) const {
    if (op.outputs.size() != 1 || op.outputs[0] < 0)
      unsupported(op, "expected one output, the file lists " + std::to_string(op.outputs.size()));
    return op.outputs[0];
  }
  const Value& value(const OpInfo& op, size_t i) const {
    const auto it = values_.find(input_id(op, i));
    if (it == values_.end()) unsupported(op, "input " + std::to_string(i) + " ('" + tensor(op, i).name +
                                                 "') is not computed by an earlier operator");
    return it->second;
  }
  const tflite::TensorInfo& tensor(const OpInfo& op, size_t i) const {
    return f_.tensors()[size_t(input_id(op, i))];
  }
  std::vector<float> constant(const OpInfo& op, size_t i) const {
    if (i >= op.inputs.size() || op.inputs[i] < 0) return {};
    if (tensor(op, i).data.empty()) unsupported(op, "input " + std::to_string(i) + " is not a constant");
    return f_.dequantize(input_id(op, i));
  }
  void produce(const OpInfo& op, int node, const Shape& shape) {
    values_[output_id(op)] = Value{node, shape, std::nullopt};
  }
  int add(const OpInfo& op, std::string token, std::vector<int> inputs, std::vector<std::vector<float>> params,
          const Shape& shape) {
    nodes_.push_back(Node{std::move(token), std::move(inputs), std::move(params), shape});
    const int id = int(nodes_.size()) - 1;
    produce(op, id, shape);
    return id;
  }

  std::string activation(const OpInfo& op, int field) const {
    switch (op.options.i8(field, 0)) {
      case 0: return "";
      case 1: return ",relu";
      case 3: return ",relu6";
      default: unsupported(op, "fused activation " + std::to_string(op.options.i8(field, 0)) + " (only RELU, RELU6)");
    }
  }

  // Stride and padding of conv/depthwise/pool. An explicit PAD before a VALID op is accepted when
  // it equals that op's SAME padding.
  struct Win {
    int64_t stride = 1;
    bool same = false;
    bool pointwise = false;  // 1x1 with stride 1: SAME and VALID are the same, written as neither
    std::string suffix(int64_t default_stride = 1) const {
      return (stride != default_stride ? ",stride=" + std::to_string(stride) : "") + (same && !pointwise ? ",same" : "");
    }
  };
  Win window(const OpInfo& op, const Value& x, int64_t kh, int64_t kw) const {
    const int32_t sw = op.options.i32(1, 1), sh = op.options.i32(2, 1);  // stride_w, stride_h in every options table
    if (sw != sh) unsupported(op, "strides " + std::to_string(sh) + "x" + std::to_string(sw) + " differ");
    if (sw < 1) unsupported(op, "stride " + std::to_string(sw));
    if (x.shape.rank() != 3) unsupported(op, "expects an (H, W, C) input, got " + x.shape.str());
    Win w{sw, op.options.i8(0, 0) == 0, kh == 1 && kw == 1 && sw == 1};
    if (x.pad) {
      const Window g = Window::make(x.shape.with_batch(1), kh, kw, sh, sw, Padding::same, 1);
      const int64_t bottom = std::max<int64_t>((g.oh - 1) * sh + kh - x.shape[0], 0) - g.pad_top;
      const int64_t right = std::max<int64_t>((g.ow - 1) * sw + kw - x.shape[1], 0) - g.pad_left;
      if (w.same || *x.pad != std::array<int64_t, 4>{g.pad_top, bottom, g.pad_left, right})
        unsupported(op, "follows a PAD that is not this operator's SAME padding");
      w.same = true;
    }
    return w;
  }
  static Shape window_shape(const Value& x, int64_t kh, int64_t kw, const Win& w, int64_t k) {
    const Window g = Window::make(x.shape.with_batch(1), kh, kw, w.stride, w.stride,
                                  w.same ? Padding::same : Padding::valid, k);
    return {g.oh, g.ow, k};
  }

  void translate(const OpInfo& op) {
    using namespace tflite;
    switch (op.code) {
      case CONV_2D: return conv(op);
      case DEPTHWISE_CONV_2D: return depthwise(op);
      case FULLY_CONNECTED: return dense(op, value(op, 0), tensor(op, 1).shape, constant(op, 1), 0);
      case AVERAGE_POOL_2D:
      case MAX_POOL_2D: return pool(op);
      case MEAN: return mean(op);
      case ADD:
        if (!preprocessing_step(op)) residual(op);
        return;
      case MUL:
        if (!preprocessing_step(op)) unsupported(op, "only the scaling of the input image is supported");
        return;
      case CAST: {  // uint8 pixels to float32: the preprocessing starts from the raw values
        const Value& x = value(op, 0);
        if (x.node != Model::input || !nodes_.empty() || tensor(op, 0).type != UINT8)
          unsupported(op, "only a cast of the uint8 input image is supported");
        pre_ = Preprocessing{1.0f, 0.0f, Resize::bilinear};
        values_[output_id(op)] = x;
        return;
      }
      case RELU:
      case RELU6: {
        const Value x = value(op, 0);
        add(op, op.code == RELU ? "relu" : "relu6", {x.node}, {}, x.shape);
        return;
      }
      case SOFTMAX: {
        const Value x = value(op, 0);
        if (x.shape.rank() != 1) unsupported(op, "softmax over " + x.shape.str() + " (only over classes)");
        if (std::abs(op.options.f32(0, 1.0f) - 1.0f) > 1e-6f) unsupported(op, "beta other than 1");
        add(op, "softmax", {x.node}, {}, x.shape);
        return;
      }
      case RESHAPE: return reshape(op);
      case PAD: return pad(op);
      case QUANTIZE:
      case DEQUANTIZE: values_[output_id(op)] = value(op, 0); return;  // identity in float
      default: unsupported(op, "this operator is not supported");
    }
  }

  void conv(const OpInfo& op) {
    const Value x = value(op, 0);
    const std::vector<int32_t>& ws = tensor(op, 1).shape;  // (K, KH, KW, C)
    if (ws.size() != 4) unsupported(op, "filter is not (K, KH, KW, C)");
    if (op.options.i32(4, 1) != 1 || op.options.i32(5, 1) != 1) unsupported(op, "dilated convolution");
    const int64_t k = ws[0], kh = ws[1], kw = ws[2], c = ws[3];
    const std::vector<float> w = constant(op, 1);
    if (x.shape.rank() == 1 && kh == 1 && kw == 1)  // a 1x1 convolution after global pooling is a dense layer
      return dense(op, x, {int32_t(k), int32_t(c)}, w, 3);
    if (x.shape.rank() != 3 || x.shape[2] != c) unsupported(op, "filter channels do not match input " + x.shape.str());
    const Win win = window(op, x, kh, kw);
    std::vector<float> hwck(w.size());  // (K,KH,KW,C) -> (KH,KW,C,K)
    for (int64_t o = 0; o < k; ++o)
      for (int64_t i = 0; i < kh * kw * c; ++i) hwck[size_t(i * k + o)] = w[size_t(o * kh * kw * c + i)];
    add(op, "conv:" + std::to_string(k) + "x" + std::to_string(kh) + "x" + std::to_string(kw) + win.suffix() +
                activation(op, 3),
        {x.node}, {std::move(hwck), bias(op, k)}, window_shape(x, kh, kw, win, k));
  }

  void depthwise(const OpInfo& op) {
    const Value x = value(op, 0);
    const std::vector<int32_t>& ws = tensor(op, 1).shape;  // (1, KH, KW, C*M)
    if (ws.size() != 4 || ws[0] != 1) unsupported(op, "filter is not (1, KH, KW, C)");
    if (x.shape.rank() != 3 || ws[3] != x.shape[2] || op.options.i32(3, 1) != 1)
      unsupported(op, "depth multiplier other than 1");
    if (op.options.i32(5, 1) != 1 || op.options.i32(6, 1) != 1) unsupported(op, "dilated convolution");
    const int64_t kh = ws[1], kw = ws[2], c = ws[3];
    const Win win = window(op, x, kh, kw);
    add(op, "dwconv:" + std::to_string(kh) + "x" + std::to_string(kw) + win.suffix() + activation(op, 4), {x.node},
        {constant(op, 1), bias(op, c)}, window_shape(x, kh, kw, win, c));
  }

  std::vector<float> bias(const OpInfo& op, int64_t k) const {
    std::vector<float> b = constant(op, 2);
    if (b.empty()) b.assign(size_t(k), 0.0f);
    if (int64_t(b.size()) != k) unsupported(op, "bias has " + std::to_string(b.size()) + " values, expected " +
                                                    std::to_string(k));
    return b;
  }

  // w is (K, C) as TFLite stores it; the dense kernel is (C, K).
  void dense(const OpInfo& op, Value x, const std::vector<int32_t>& ws, const std::vector<float>& w, int act_field) {
    if (ws.size() != 2) unsupported(op, "weights are not (units, inputs)");
    const int64_t k = ws[0], c = ws[1];
    if (x.shape.rank() != 1) {
      nodes_.push_back(Node{"flatten", {x.node}, {}, Shape{x.shape.numel()}});
      x = Value{int(nodes_.size()) - 1, Shape{x.shape.numel()}, std::nullopt};
    }
    if (x.shape[0] != c) unsupported(op, "weights expect " + std::to_string(c) + " inputs, got " + x.shape.str());
    std::vector<float> ck(w.size());
    for (int64_t o = 0; o < k; ++o)
      for (int64_t i = 0; i < c; ++i) ck[size_t(i * k + o)] = w[size_t(o * c + i)];
    add(op, "dense:" + std::to_string(k) + activation(op, act_field), {x.node}, {std::move(ck), bias(op, k)},
        Shape{k});
  }

  void pool(const OpInfo& op) {
    const Value x = value(op, 0);
    const int32_t fw = op.options.i32(3, 1), fh = op.options.i32(4, 1);
    if (!activation(op, 5).empty()) unsupported(op, "fused activation on a pool");
    const bool avg = op.code == tflite::AVERAGE_POOL_2D;
    if (x.shape.rank() != 3) unsupported(op, "expects an (H, W, C) input, got " + x.shape.str());
    if (avg && !x.pad && fh == x.shape[0] && fw == x.shape[1] && op.options.i8(0, 0) == 1) {
      add(op, "gap", {x.node}, {}, Shape{x.shape[2]});  // the whole map: global average pooling
      return;
    }
    if (fw != fh) unsupported(op, "non-square pool window");
    const Win win = window(op, x, fh, fw);
    add(op, (avg ? "avgpool:" : "maxpool:") + std::to_string(fh) + win.suffix(fh), {x.node}, {},
        window_shape(x, fh, fw, win, x.shape[2]));
  }

  void mean(const OpInfo& op) {
    const Value x = value(op, 0);
    std::vector<float> axes = constant(op, 1);
    std::sort(axes.begin(), axes.end());
    if (x.shape.rank() != 3 || axes != std::vector<float>{1, 2}) unsupported(op, "MEAN over other axes than H and W");
    add(op, "gap", {x.node}, {}, Shape{x.shape[2]});
  }

  // The preprocessing as dltrain's float export writes it: x * scale, then + offset, on the input
  // image right after its CAST, by scalar constants.
  bool preprocessing_step(const OpInfo& op) {
    if (op.inputs.size() < 2 || tensor(op, 1).data.empty() || !activation(op, 0).empty()) return false;
    const Value x = value(op, 0);
    const std::vector<float> c = constant(op, 1);
    if (x.node != Model::input || !nodes_.empty() || c.size() != 1) return false;
    if (op.code == tflite::MUL) pre_.scale *= c[0], pre_.offset *= c[0];
    else pre_.offset += c[0];
    values_[output_id(op)] = x;
    return true;
  }

  void residual(const OpInfo& op) {
    Value a = value(op, 0), b = value(op, 1);
    if (!(a.shape == b.shape)) unsupported(op, "adds " + a.shape.str() + " and " + b.shape.str());
    if (a.node > b.node) std::swap(a, b);
    const int last = int(nodes_.size()) - 1;
    bool chain = b.node == last && a.node < b.node;
    for (int j = a.node + 1; chain && j <= b.node; ++j) {
      const Node& n = nodes_[size_t(j)];
      chain = n.token == "}" ? n.block_input >= a.node && n.inputs[1] == j - 1
                             : n.inputs.size() == 1 && n.inputs[0] == (j == a.node + 1 ? a.node : j - 1);
    }
    if (!chain) unsupported(op, "the two inputs do not form a residual block (input + chain of layers)");
    nodes_.push_back(Node{"}", {a.node, b.node}, {}, a.shape, a.node});
    produce(op, int(nodes_.size()) - 1, a.shape);
    if (const std::string act = activation(op, 0); !act.empty()) {
      const Value y = values_[output_id(op)];
      add(op, act.substr(1), {y.node}, {}, y.shape);
    }
  }

  void reshape(const OpInfo& op) {
    const Value x = value(op, 0);
    const auto& out = f_.tensors()[size_t(output_id(op))].shape;
    if (out.size() != 2 || out[1] != x.shape.numel()) unsupported(op, "reshapes to anything but (batch, features)");
    const int64_t n = out[1];
    if (x.shape.rank() == 1) values_[output_id(op)] = x;  // already flat
    else add(op, "flatten", {x.node}, {}, Shape{n});
  }

  void pad(const OpInfo& op) {
    Value x = value(op, 0);
    const std::vector<float> p = constant(op, 1);
    if (x.shape.rank() != 3 || p.size() != 8 || p[0] != 0 || p[1] != 0 || p[6] != 0 || p[7] != 0 || x.pad)
      unsupported(op, "padding other than height and width");
    // The consumer sees the unpadded map and pads it itself (SAME), which window() checks.
    x.pad = std::array<int64_t, 4>{int64_t(p[2]), int64_t(p[3]), int64_t(p[4]), int64_t(p[5])};
    values_[output_id(op)] = x;
  }

  // The model parse_model built must be the graph we translated, node by node.
  void check_and_load(Model& m) const {
    DLT_CHECK(m.size() == nodes_.size(), f_.path() + ": internal: built " + std::to_string(m.size()) +
                                             " layers for " + std::to_string(nodes_.size()) + " nodes");
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const Node& n = nodes_[i];
      Layer& l = m.layer(i);
      DLT_CHECK(m.inputs_of(i) == n.inputs && l.output_shape() == n.shape,
                f_.path() + ": internal: layer " + std::to_string(i) + " (" + l.spec() + ") does not match the graph");
      DLT_CHECK(l.params().size() == n.params.size(), f_.path() + ": internal: parameter count of " + l.spec());
      for (size_t p = 0; p < n.params.size(); ++p) {
        Tensor& t = l.params()[p].value;
        DLT_CHECK(size_t(t.numel()) == n.params[p].size(), f_.path() + ": internal: weights of " + l.spec());
        std::copy(n.params[p].begin(), n.params[p].end(), t.f32());
      }
    }
  }

  const tflite::File& f_;
  Preprocessing pre_;
  std::vector<Node> nodes_;
  std::map<int32_t, Value> values_;
};

}  // namespace

ImportedModel import_tflite(const std::string& path) {
  // Sizes from the file that a layer or the text format refuses, allocations: name the file too.
  return naming(path, [&] {
    const std::unique_ptr<tflite::File> f = tflite::File::read(path);
    return Importer(*f).run();
  });
}

}  // namespace dltrain
