// Optimizer base, SGD, Adam/AdamW and the spec parser that builds them.
#include <sstream>

#include "dltrain/optim.hpp"

namespace dltrain {

double KeyValues::number(const std::string& key, double fallback) const {
  auto it = values.find(key);
  if (it == values.end()) return fallback;
  try {
    size_t used = 0;
    double v = std::stod(it->second, &used);
    if (used == it->second.size()) return v;
  } catch (const std::exception&) {
  }
  throw Error(name + ": '" + key + "=" + it->second + "' is not a number");
}

KeyValues parse_key_values(const std::string& spec, const std::vector<std::string>& allowed_keys, const char* what) {
  KeyValues kv;
  const size_t colon = spec.find(':');
  kv.name = spec.substr(0, colon);
  if (colon == std::string::npos) return kv;
  std::stringstream ss(spec.substr(colon + 1));
  std::string item;
  while (std::getline(ss, item, ',')) {
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    bool known = false;
    std::string list;
    for (const std::string& k : allowed_keys) known = known || k == key, list += (list.empty() ? "" : ", ") + k;
    if (eq == std::string::npos || !known)
      throw Error(std::string(what) + " '" + spec + "': unknown setting '" + item + "'",
                  kv.name + " takes " + (list.empty() ? "no settings" : list));
    kv.values[key] = item.substr(eq + 1);
  }
  return kv;
}

Optimizer::Optimizer(std::vector<Param*> params, float lr, std::string spec, size_t n_slots)
    : params_(std::move(params)), base_lr_(lr), spec_(std::move(spec)) {
  DLT_CHECK(lr > 0, "learning rate must be positive");
  for (Param* p : params_) {
    index_.emplace(p, index_.size());
    std::vector<Tensor> s;
    for (size_t i = 0; i < n_slots; ++i) {  // the state lives where the parameter does
      Tensor t(p->value.shape(), DType::f32, p->value.device());
      t.fill(0.0f);
      s.push_back(std::move(t));
    }
    slots_.push_back(std::move(s));
  }
}

void Optimizer::to(Device device) {
  for (std::vector<Tensor>& s : slots_)
    for (Tensor& t : s) t = t.to(device);
}

void Optimizer::step(float lr) {
  begin_step();
  finish_step(lr);
}

void Optimizer::begin_step() {
  ++steps_;
  updated_.assign(params_.size(), false);
}

void Optimizer::update_ready(const std::vector<Param*>& params, float lr) {
  DLT_CHECK(updated_.size() == params_.size(), "Optimizer::update_ready before begin_step");
  for (Param* p : params) {
    const auto it = index_.find(p);
    if (it == index_.end() || updated_[it->second] || !p->trainable) continue;
    update(*p, slots_[it->second], lr);
    updated_[it->second] = true;
  }
}

void Optimizer::finish_step(float lr) {
  DLT_CHECK(updated_.size() == params_.size(), "Optimizer::finish_step before begin_step");
  for (size_t i = 0; i < params_.size(); ++i)
    if (params_[i]->trainable && !updated_[i]) update(*params_[i], slots_[i], lr);
}

namespace {

class Sgd final : public Optimizer {
 public:
  Sgd(std::vector<Param*> params, const KeyValues& kv, const std::string& spec)
      : Optimizer(std::move(params), float(kv.number("lr", 0.01)), spec, 1),
        momentum_(float(kv.number("momentum", 0))),
        weight_decay_(float(kv.number("weight_decay", 0))),
        nesterov_(kv.number("nesterov", 0) != 0) {
    DLT_CHECK(momentum_ >= 0 && momentum_ < 1, "sgd: momentum must be in [0, 1)");
    DLT_CHECK(!nesterov_ || momentum_ > 0, "sgd: nesterov needs momentum > 0");
  }
  std::vector<std::string> slot_names() const override { return {"velocity"}; }

 protected:
  void update(Param& p, std::vector<Tensor>& s, float lr) override {
    ops::sgd_update(p.value, p.grad, s[0], lr, momentum_, weight_decay_, nesterov_);
  }

 private:
  float momentum_, weight_decay_;
  bool nesterov_;
};

class Adam final : public Optimizer {
 public:
  Adam(std::vector<Param*> params, const KeyValues& kv, const std::string& spec, bool decoupled)
      : Optimizer(std::move(params), float(kv.number("lr", 0.001)), spec, 2),
        beta1_(float(kv.number("beta1", 0.9))),
        beta2_(float(kv.number("beta2", 0.999))),
        eps_(float(kv.number("eps", 1e-8))),
        weight_decay_(float(kv.number("weight_decay", decoupled ? 0.01 : 0))),
        decoupled_(decoupled) {
    DLT_CHECK(beta1_ >= 0 && beta1_ < 1 && beta2_ >= 0 && beta2_ < 1, "adam: betas must be in [0, 1)");
  }
  std::vector<std::string> slot_names() const override { return {"m", "v"}; }

 protected:
  void update(Param& p, std::vector<Tensor>& s, float lr) override {
    ops::adam_update(p.value, p.grad, s[0], s[1], lr, beta1_, beta2_, eps_, weight_decay_, decoupled_, steps());
  }

 private:
  float beta1_, beta2_, eps_, weight_decay_;
  bool decoupled_;
};

}  // namespace

std::unique_ptr<Optimizer> make_optimizer(const std::string& spec, std::vector<Param*> params) {
  const std::string name = spec.substr(0, spec.find(':'));
  if (name == "sgd") {
    KeyValues kv = parse_key_values(spec, {"lr", "momentum", "nesterov", "weight_decay"}, "optimizer");
    return std::make_unique<Sgd>(std::move(params), kv, spec);
  }
  if (name == "adam" || name == "adamw") {
    KeyValues kv = parse_key_values(spec, {"lr", "beta1", "beta2", "eps", "weight_decay"}, "optimizer");
    return std::make_unique<Adam>(std::move(params), kv, spec, name == "adamw");
  }
  throw Error("unknown optimizer '" + name + "'", "use sgd, adam or adamw, e.g. sgd:lr=0.01,momentum=0.9");
}

}  // namespace dltrain
