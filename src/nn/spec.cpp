// The text format for networks: parse_model() and its help text.
#include <algorithm>
#include <sstream>
#include <vector>

#include "dltrain/nn.hpp"

namespace dltrain {
namespace {

struct Token {
  std::string text;
  std::string kind, arg;
  std::vector<std::string> options;
};

Token split(const std::string& text) {
  Token t{text, {}, {}, {}};
  std::stringstream ss(text);
  std::string part;
  bool first = true;
  while (std::getline(ss, part, ',')) {
    if (first) {
      const size_t colon = part.find(':');
      t.kind = part.substr(0, colon);
      if (colon != std::string::npos) t.arg = part.substr(colon + 1);
      first = false;
    } else {
      t.options.push_back(part);
    }
  }
  return t;
}

[[noreturn]] void bad(const Token& t, const std::string& why) {
  throw Error("model text: '" + t.text + "': " + why, "see `dltrain summary --help` for the format");
}

int64_t to_int(const Token& t, const std::string& s) {
  try {
    size_t used = 0;
    const long long v = std::stoll(s, &used);
    if (used == s.size() && v > 0 && v < (1 << 24)) return v;
  } catch (const std::exception&) {
  }
  bad(t, "'" + s + "' is not a positive whole number");
}

float to_rate(const Token& t, const std::string& s) {
  try {
    size_t used = 0;
    const float v = std::stof(s, &used);
    if (used == s.size() && v >= 0 && v < 1) return v;
  } catch (const std::exception&) {
  }
  bad(t, "'" + s + "' is not a rate in [0, 1)");
}

// "32x3x3" -> {32, 3, 3}
std::vector<int64_t> dims(const Token& t, const std::string& arg) {
  std::vector<int64_t> n;
  std::stringstream ss(arg);
  std::string part;
  while (std::getline(ss, part, 'x')) n.push_back(to_int(t, part));
  return n;
}

// Options shared by conv, dense and pools.
struct Options {
  Act act = Act::none;
  bool softmax = false;
  Init init = Init::glorot_uniform;
  Padding padding = Padding::valid;
  int64_t stride = 0;
};

Options parse_options(const Token& t, bool weights, bool window) {
  Options o;
  for (const std::string& opt : t.options) {
    if (weights && opt == "relu") o.act = Act::relu;
    else if (weights && opt == "relu6") o.act = Act::relu6;
    else if (weights && opt == "softmax") o.softmax = true;
    else if (weights && opt == "he_uniform") o.init = Init::he_uniform;
    else if (weights && opt == "glorot_uniform") o.init = Init::glorot_uniform;
    else if (window && opt == "same") o.padding = Padding::same;
    else if (window && opt == "valid") o.padding = Padding::valid;
    else if (window && opt.rfind("stride=", 0) == 0) o.stride = to_int(t, opt.substr(7));
    else bad(t, "unknown option '" + opt + "' for " + t.kind);
  }
  return o;
}

class Parser {
 public:
  explicit Parser(Model& m) : m_(m) {}

  // Adds the layers of one token; returns the canonical text for it.
  std::string layer(const Token& t) {
    const bool has_arg = !t.arg.empty();
    auto no_arg = [&] { if (has_arg || !t.options.empty()) bad(t, t.kind + " takes no arguments"); };
    if (t.kind == "conv") {
      const Options o = parse_options(t, true, true);
      if (o.softmax) bad(t, "softmax belongs on the last dense layer");
      const std::vector<int64_t> n = dims(t, t.arg);
      if (n.size() != 2 && n.size() != 3) bad(t, "write conv:FILTERSxKxK (e.g. conv:32x3x3) or conv:FILTERSxK");
      return add(make_conv2d(n[0], n[1], n.size() == 3 ? n[2] : n[1], o.stride ? o.stride : 1, o.padding, o.act,
                             o.init));
    }
    if (t.kind == "dwconv") {
      const Options o = parse_options(t, true, true);
      if (o.softmax || o.init != Init::glorot_uniform) bad(t, "dwconv takes stride=S, same|valid and relu|relu6");
      const std::vector<int64_t> n = dims(t, t.arg.empty() ? "3" : t.arg);
      if (n.size() != 1 && n.size() != 2) bad(t, "write dwconv:KxK (e.g. dwconv:3x3) or dwconv:K");
      return add(make_depthwise_conv2d(n[0], n.size() == 2 ? n[1] : n[0], o.stride ? o.stride : 1, o.padding, o.act));
    }
    if (t.kind == "dense") {
      if (!has_arg) bad(t, "write dense:UNITS");
      const Options o = parse_options(t, true, false);
      std::string s = add(make_dense(to_int(t, t.arg), o.act, o.init));
      if (o.softmax) s += " " + add(make_softmax());
      return s;
    }
    if (t.kind == "maxpool" || t.kind == "avgpool") {
      const Options o = parse_options(t, false, true);
      const int64_t k = has_arg ? to_int(t, t.arg) : 2;
      return add(t.kind == "maxpool" ? make_maxpool(k, o.stride, o.padding) : make_avgpool(k, o.stride, o.padding));
    }
    if (t.kind == "dropout") {
      if (!has_arg || !t.options.empty()) bad(t, "write dropout:RATE (e.g. dropout:0.2)");
      return add(make_dropout(to_rate(t, t.arg)));
    }
    if (t.kind == "gap") return no_arg(), add(make_global_avgpool());
    if (t.kind == "flatten") return no_arg(), add(make_flatten());
    if (t.kind == "relu") return no_arg(), add(make_activation(Act::relu));
    if (t.kind == "relu6") return no_arg(), add(make_activation(Act::relu6));
    if (t.kind == "softmax") return no_arg(), add(make_softmax());
    if (t.kind == "bn") return no_arg(), add(make_batchnorm());
    bad(t, "unknown layer '" + t.kind + "'");
  }

  std::string add(std::unique_ptr<Layer> l) {
    std::string s = l->spec();
    m_.add(std::move(l));
    return s;
  }

  // A residual block closes: add its input (the node before `res{`) to its output.
  std::string close_block(int block_input) {
    DLT_CHECK(m_.last() != block_input, "model text: empty res{ } block");
    m_.add(make_add(), {block_input, m_.last()});
    return "}";
  }

 private:
  Model& m_;
};

}  // namespace

std::unique_ptr<Model> parse_model(const std::string& text, const Shape& input_shape) {
  // Count the layers first (a `}` is an Add, `dense:N,softmax` two layers), so that a text over
  // the limit costs nothing to refuse.
  std::vector<std::string> words;
  size_t n_layers = 0;
  {
    std::stringstream ss(text);
    for (std::string word; ss >> word;) {
      if (word != "res{") {
        const Token t = split(word);
        const bool softmax = t.kind == "dense" && std::find(t.options.begin(), t.options.end(), "softmax") != t.options.end();
        n_layers += softmax ? 2 : 1;
      }
      words.push_back(std::move(word));
      if (n_layers > Model::max_layers)
        throw Error("model text: more than " + std::to_string(Model::max_layers) + " layers (the limit)",
                    "dltrain builds models of at most " + std::to_string(Model::max_layers) + " layers");
    }
  }
  auto model = std::make_unique<Model>(input_shape);
  Parser p(*model);
  std::vector<int> open_blocks;
  std::vector<std::string> canonical;
  for (const std::string& word : words) {
    if (word == "res{") {
      open_blocks.push_back(model->last() < 0 ? Model::input : model->last());
      canonical.push_back(word);
    } else if (word == "}") {
      DLT_CHECK(!open_blocks.empty(), "model text: '}' without a matching 'res{'");
      canonical.push_back(p.close_block(open_blocks.back()));
      open_blocks.pop_back();
    } else {
      canonical.push_back(p.layer(split(word)));
    }
  }
  DLT_CHECK(open_blocks.empty(), "model text: 'res{' is never closed with '}'");
  DLT_CHECK(model->size() > 0, "model text is empty", "e.g. 'flatten dense:128,relu dense:10,softmax'");
  std::string spec;
  for (const std::string& c : canonical) spec += (spec.empty() ? "" : " ") + c;
  model->spec = spec;
  return model;
}

std::string model_format_help() {
  return R"(Networks as text: layers separated by spaces, each KIND[:ARG][,OPTION...].
  conv:FxKxK     Conv2D with F filters of KxK     options: stride=S, same|valid, relu|relu6,
                                                    he_uniform|glorot_uniform (default)
  dwconv:KxK     DepthwiseConv2D (one filter per channel)   options: stride=S, same|valid, relu|relu6
  dense:UNITS    Dense                             options: relu|relu6|softmax, he_uniform|glorot_uniform
  maxpool:K      MaxPooling2D (stride K)           options: stride=S, same|valid
  avgpool:K      AveragePooling2D                  options: stride=S, same|valid
  gap            GlobalAveragePooling2D
  flatten        Flatten
  dropout:RATE   Dropout
  bn             BatchNormalization
  relu relu6 softmax
  res{ ... }     residual block: output = input + block(input)
At most 10,000 layers (dense:N,softmax counts two; the } of a block is an Add layer).
Example (the `cnn` preset):
  conv:32x3x3,relu,he_uniform maxpool:2 flatten dense:100,relu,he_uniform dense:10,softmax)";
}

}  // namespace dltrain
