// Model: a DAG of layers run in insertion (topological) order; backward in reverse, summing the
// gradients of outputs that feed several nodes and skipping what no trainable parameter needs.
#include <algorithm>
#include <map>
#include <cctype>

#include "dltrain/nn.hpp"

namespace dltrain {
namespace {
// Keras's layer naming: "MaxPooling2D" -> "max_pooling2d", "GlobalAveragePooling2D" ->
// "global_average_pooling2d": an underscore before a capital that starts a word (a lower-case letter
// follows it) or ends a run of lower-case letters.
std::string snake_case(const std::string& type) {
  auto upper = [](char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; };
  auto lower = [](char c) { return std::islower(static_cast<unsigned char>(c)) != 0; };
  std::string s;
  for (size_t i = 0; i < type.size(); ++i) {
    if (i > 0 && upper(type[i]) && ((i + 1 < type.size() && lower(type[i + 1])) || lower(type[i - 1]))) s += '_';
    s += char(std::tolower(static_cast<unsigned char>(type[i])));
  }
  return s;
}
}  // namespace

Model::Model(Shape input_shape) : input_shape_(input_shape) {
  DLT_CHECK(input_shape.numel() > 0, "model input shape " + input_shape.str() + " is empty");
}

int Model::add(std::unique_ptr<Layer> layer) { return add(std::move(layer), {last() < 0 ? input : last()}); }

int Model::add(std::unique_ptr<Layer> layer, std::vector<int> inputs) {
  DLT_CHECK(nodes_.size() < max_layers, "the model would have more than " + std::to_string(max_layers) + " layers",
            "dltrain builds models of at most " + std::to_string(max_layers) + " layers");
  std::vector<Shape> shapes;
  for (int i : inputs) {
    DLT_CHECK(i >= input && i <= last(), "node input " + std::to_string(i) + " does not exist yet");
    shapes.push_back(i == input ? input_shape_ : nodes_[size_t(i)].layer->output_shape());
  }
  const std::string base = snake_case(layer->type());
  const int k = name_counts_.contains(base) ? name_counts_.at(base) : 0;  // counted once per layer added
  layer->set_name(k == 0 ? base : base + "_" + std::to_string(k));
  try {
    layer->build(shapes);
    int64_t total = parameters_;
    for (const Param& p : layer->params()) total += p.value.numel();
    DLT_CHECK(total <= max_model_parameters, "the model would have " + std::to_string(total) +
                                                 " parameters, more than the limit of " +
                                                 std::to_string(max_model_parameters),
              "make the model smaller");
  } catch (const Error& e) {
    throw Error("layer " + std::to_string(nodes_.size() + 1) + " (" + layer->spec() + "): " + e.what(), e.hint());
  }
  for (const Param& p : layer->params()) parameters_ += p.value.numel();
  nodes_.push_back(Node{std::move(layer), std::move(inputs), Tensor(), false});
  ++name_counts_[base];
  plan_.clear();
  return last();
}

void Model::init_params(uint64_t seed) {
  Rng rng(seed);
  for (Node& n : nodes_) n.layer->init_params(rng);
}

void Model::to(Device device) {
  if (device == device_) return;
  for (Param* p : params()) {
    if (!p->value.empty()) p->value = p->value.to(device);
    if (!p->grad.empty()) p->grad = p->grad.to(device);
  }
  for (Node& n : nodes_) n.grad = Tensor(), n.has_grad = false;
  scratch_.clear();
  flat_grads_.reset();
  flat_views_.clear();
  plan_.clear();  // what fuses depends on the device's kernels
  fused_.clear();
  x_ = nullptr;
  device_ = device;
}

bool Model::has_softmax_head() const {
  return !nodes_.empty() && std::string(nodes_.back().layer->type()) == "Softmax";
}

int Model::end_node(Output out) const {
  return out == Output::logits && has_softmax_head() ? last() : last() + 1;
}

void Model::plan() {
  plan_.clear();
  fused_.clear();
  std::vector<int> consumers(nodes_.size(), 0);
  for (const Node& n : nodes_)
    for (int in : n.inputs)
      if (in != input) ++consumers[size_t(in)];
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const bool last_node = i + 1 == nodes_.size();
    // Node j's output feeds only node j + 1.
    auto chains = [&](size_t j) {
      return j + 1 < nodes_.size() && consumers[j] == 1 && nodes_[j + 1].inputs == std::vector<int>{int(j)};
    };
    if (!last_node && chains(i)) {
      if (auto f = nodes_[i].layer->fuse_with(*nodes_[i + 1].layer)) {
        const std::vector<int> inputs = nodes_[i].inputs;
        const int first = int(i);
        ++i;
        // An executor may take in the next layer as well: one fed by it alone, or one that adds
        // the executor's own input to its output (the end of a residual block).
        auto closes_block = [&](size_t j) {
          return j + 1 < nodes_.size() && consumers[j] == 1 && inputs.size() == 1 &&
                 nodes_[j + 1].inputs == std::vector<int>{inputs[0], int(j)};
        };
        while (chains(i) || closes_block(i))
          if (auto longer = f->fuse_with(*nodes_[i + 1].layer)) f = std::move(longer), ++i;
          else break;
        fused_.push_back(std::move(f));
        plan_.push_back(Step{fused_.back().get(), inputs, int(i), first});
        continue;
      }
    }
    plan_.push_back(Step{nodes_[i].layer.get(), nodes_[i].inputs, int(i), int(i)});
  }
  outputs_.assign(nodes_.size(), nullptr);
}

const Tensor& Model::forward(const Tensor& x, const Context& ctx, Output out) {
  DLT_CHECK(!nodes_.empty(), "the model has no layers");
  DLT_CHECK(x.shape().rank() >= 1 && x.shape().without_batch() == input_shape_,
            "model input must be (N, " + input_shape_.str().substr(1) + ", got " + x.shape().str());
  DLT_CHECK(x.device() == device_, "the model input is on " + device_name(x.device()) + ", the model on " +
                                       device_name(device_),
            "copy the batch with Tensor::to(model.device())");
  if (plan_.empty()) plan();
  x_ = &x;
  end_ = end_node(out);
  std::vector<const Tensor*> xs;
  for (const Step& s : plan_) {
    if (s.node >= end_) break;
    xs.clear();
    for (int in : s.inputs) xs.push_back(in == input ? &x : outputs_[size_t(in)]);
    outputs_[size_t(s.node)] = &s.layer->forward(xs, ctx);
  }
  return *outputs_[size_t(end_ - 1)];
}

void Model::backward(const Tensor& dout, const GradsReady& ready) {
  DLT_CHECK(x_ != nullptr, "backward before forward");
  // needs[i]: node i's output gradient leads to some trainable parameter.
  std::vector<bool> needs(nodes_.size(), false);
  for (size_t i = 0; i < size_t(end_); ++i) {
    for (const Param& p : nodes_[i].layer->params()) needs[i] = needs[i] || p.trainable;
    for (int in : nodes_[i].inputs) needs[i] = needs[i] || (in != input && needs[size_t(in)]);
  }
  for (Node& n : nodes_) n.has_grad = false;
  std::vector<Tensor*> dxs;
  std::vector<int> accumulate_into;
  for (auto s = plan_.rbegin(); s != plan_.rend(); ++s) {
    if (s->node >= end_) continue;
    Node& n = nodes_[size_t(s->node)];
    const Tensor* dy = s->node == end_ - 1 ? &dout : n.has_grad ? &n.grad : nullptr;
    if (!dy || !needs[size_t(s->node)]) continue;
    dxs.assign(s->inputs.size(), nullptr);
    accumulate_into.assign(s->inputs.size(), -1);
    for (size_t j = 0; j < s->inputs.size(); ++j) {
      const int in = s->inputs[j];
      if (in == input || !needs[size_t(in)]) continue;
      Node& src = nodes_[size_t(in)];
      const bool taken_here = std::find(s->inputs.begin(), s->inputs.begin() + long(j), in) != s->inputs.begin() + long(j);
      if (!src.has_grad && !taken_here) {
        dxs[j] = &src.grad;
      } else {
        if (scratch_.size() <= j) scratch_.resize(j + 1);
        dxs[j] = &scratch_[j];
        accumulate_into[j] = in;
      }
    }
    if (s->layer->reshapes_only() && dy == &n.grad && dxs[0] && accumulate_into[0] < 0) {
      // The input's node takes its gradient over: the same elements under its own shape.
      const int64_t batch = n.grad.shape()[0];
      std::swap(*dxs[0], n.grad);
      dxs[0]->reshape(nodes_[size_t(s->inputs[0])].layer->output_shape().with_batch(batch));
    } else {
      s->layer->backward(*dy, dxs);
    }
    for (size_t j = 0; j < s->inputs.size(); ++j) {
      if (!dxs[j]) continue;
      if (accumulate_into[j] >= 0) ops::accumulate(scratch_[j], nodes_[size_t(accumulate_into[j])].grad);
      nodes_[size_t(s->inputs[j])].has_grad = true;
    }
    if (ready) {
      ready_.clear();
      for (int i = s->first; i <= s->node; ++i)
        for (Param& p : nodes_[size_t(i)].layer->params())
          if (p.trainable) ready_.push_back(&p);
      if (!ready_.empty()) ready(ready_);
    }
  }
}

Shape Model::output_shape() const { return nodes_.back().layer->output_shape(); }

int64_t Model::n_classes() const {
  const Shape s = output_shape();
  DLT_CHECK(s.rank() == 1, "the model's output " + s.str() + " is not a class vector");
  return s[0];
}

std::vector<Param*> Model::params() {
  std::vector<Param*> out;
  for (Node& n : nodes_)
    for (Param& p : n.layer->params()) out.push_back(&p);
  return out;
}

std::vector<Param*> Model::trainable_params() {
  std::vector<Param*> out;
  for (Param* p : params())
    if (p->trainable) out.push_back(p);
  return out;
}

std::span<float> Model::flat_gradients(int64_t spare) {
  DLT_CHECK(spare >= 0, "flat_gradients: a negative count of spare floats");
  const std::vector<Param*> params = trainable_params();
  bool current = flat_grads_ && flat_spare_ == spare && flat_views_.size() == params.size();
  for (size_t i = 0; current && i < params.size(); ++i) current = params[i]->grad.f32() == flat_views_[i];
  if (!current) {
    constexpr int64_t align = 16;  // floats: 64 bytes, as every tensor's own allocation
    const Device device = params.empty() ? Device::cpu : params[0]->grad.device();
    int64_t total = spare;
    for (const Param* p : params) {
      DLT_CHECK(p->grad.device() == device, "flat_gradients: the gradients are on different devices");
      total += (p->grad.numel() + align - 1) / align * align;
    }
    auto flat = std::make_shared<Tensor>(Shape{std::max<int64_t>(total, 1)}, DType::f32, device);
    flat->fill(0.0f);
    flat_views_.clear();
    int64_t at = 0;
    for (Param* p : params) {
      Tensor view = Tensor::borrow(p->grad.shape(), DType::f32, flat->f32() + at, flat, device);
      view.copy_from(p->grad);
      p->grad = std::move(view);
      flat_views_.push_back(p->grad.f32());
      at += (p->grad.numel() + align - 1) / align * align;
    }
    flat_grads_ = std::move(flat);
    flat_spare_ = spare;
    flat_size_ = total;
  }
  return {flat_grads_->f32(), size_t(flat_size_)};
}

void copy_weights(const Model& src, size_t src_from, Model& dst, size_t dst_from, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    auto& to = dst.layer(dst_from + i).params();
    const auto& from = src.layer(src_from + i).params();
    DLT_CHECK(to.size() == from.size(), "copy_weights: layer " + dst.layer(dst_from + i).spec() + " does not match " +
                                            src.layer(src_from + i).spec());
    for (size_t p = 0; p < to.size(); ++p) to[p].value.copy_from(from[p].value);
  }
}

}  // namespace dltrain
