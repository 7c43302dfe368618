// The Keras-style model summary.
#include <algorithm>
#include <sstream>

#include "dltrain/nn.hpp"

namespace dltrain {
namespace {
std::string with_commas(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return s;
}
std::string pad(const std::string& s, size_t w) { return s.size() >= w ? s + " " : s + std::string(w - s.size(), ' '); }
}  // namespace

int64_t count_params(const Model& m, bool trainable_only) {
  int64_t n = 0;
  for (size_t i = 0; i < m.size(); ++i)
    for (const Param& p : m.layer(i).params())
      if (!trainable_only || p.trainable) n += p.value.numel();
  return n;
}

std::string summary(const Model& m) {
  bool branched = false;
  for (size_t i = 0; i < m.size(); ++i)
    branched = branched || m.inputs_of(i) != std::vector<int>{int(i) - 1 < 0 ? Model::input : int(i) - 1};
  struct Row { std::string layer, shape, params, from; };
  std::vector<Row> rows;
  for (size_t i = 0; i < m.size(); ++i) {
    const Layer& l = m.layer(i);
    int64_t n = 0;
    for (const Param& p : l.params()) n += p.value.numel();
    std::string from;
    for (int in : m.inputs_of(i)) from += (from.empty() ? "" : ", ") + (in == Model::input ? "input" : m.layer(size_t(in)).name());
    std::string shape = "(None, " + l.output_shape().str().substr(1);
    if (l.output_shape().rank() == 1) shape = "(None, " + std::to_string(l.output_shape()[0]) + ")";
    rows.push_back({l.name() + " (" + l.type() + ")", shape, with_commas(n), from});
  }
  size_t w0 = 28, w1 = 26, w2 = 12;
  for (const Row& r : rows) w0 = std::max(w0, r.layer.size() + 2), w1 = std::max(w1, r.shape.size() + 2);
  const size_t width = w0 + w1 + w2 + (branched ? 24 : 0);
  std::ostringstream o;
  o << "Model: \"" << m.title << "\"\n" << std::string(width, '_') << "\n";
  o << pad("Layer (type)", w0) << pad("Output Shape", w1) << pad("Param #", w2) << (branched ? "Connected to" : "")
    << "\n" << std::string(width, '=') << "\n";
  for (const Row& r : rows) {
    std::string line = pad(r.layer, w0) + pad(r.shape, w1) + (branched ? pad(r.params, w2) + r.from : r.params);
    o << line << "\n";
  }
  const int64_t total = count_params(m, false), trainable = count_params(m, true);
  o << std::string(width, '=') << "\n";
  o << "Total params: " << with_commas(total) << "\n";
  o << "Trainable params: " << with_commas(trainable) << "\n";
  o << "Non-trainable params: " << with_commas(total - trainable) << "\n";
  o << std::string(width, '_') << "\n";
  return o.str();
}

}  // namespace dltrain
