// optim: optimizers (SGD with momentum/nesterov/weight decay, Adam, AdamW) and learning-rate
// schedules, built from short specs such as "sgd:lr=0.01,momentum=0.9" and "cosine".
// Updates follow PyTorch's torch.optim definitions, so golden tests can compare step for step.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "dltrain/nn.hpp"

namespace dltrain {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Applies one update to every parameter from its grad, at learning rate lr.
  void step(float lr);
  // The same step in parts: begin_step(), then update_ready(params) for parameters whose gradients are
  // final (each at most once; others are ignored), then finish_step() for those not updated yet.
  // Every parameter's update depends only on its own gradient and state, so the result is
  // bit-identical to step().
  void begin_step();
  void update_ready(const std::vector<Param*>& params, float lr);
  void finish_step(float lr);
  float base_lr() const { return base_lr_; }
  int64_t steps() const { return steps_; }
  void set_steps(int64_t s) { steps_ = s; }
  const std::string& spec() const { return spec_; }
  // Per-parameter state tensors for checkpoints, named "<slot>" per parameter index.
  virtual std::vector<std::string> slot_names() const = 0;
  Tensor& slot(size_t param, size_t slot) { return slots_[param][slot]; }
  size_t n_params() const { return params_.size(); }
  // Moves the state tensors to `device` (after the model's parameters went there).
  void to(Device device);

 protected:
  Optimizer(std::vector<Param*> params, float lr, std::string spec, size_t n_slots);
  virtual void update(Param& p, std::vector<Tensor>& slots, float lr) = 0;

 private:
  std::vector<Param*> params_;
  std::vector<std::vector<Tensor>> slots_;
  std::vector<bool> updated_;  // in the current step
  std::unordered_map<const Param*, size_t> index_;
  float base_lr_;
  int64_t steps_ = 0;
  std::string spec_;
};

// "sgd[:lr=,momentum=,nesterov=0|1,weight_decay=]", "adam[:lr=,beta1=,beta2=,eps=,weight_decay=]",
// "adamw[:...]". Unknown names and keys throw with the accepted ones in the hint.
std::unique_ptr<Optimizer> make_optimizer(const std::string& spec, std::vector<Param*> params);

// Learning rate as a function of progress: "constant", "step:every=E,gamma=G" (multiply by G every
// E epochs), "cosine[:min=M]" (per step, from the base rate down to M at the last step).
class Schedule {
 public:
  explicit Schedule(const std::string& spec);
  float lr(float base, int64_t step, int64_t steps_per_epoch, int64_t total_epochs) const;
  const std::string& spec() const { return spec_; }

 private:
  std::string spec_, kind_;
  double every_ = 1, gamma_ = 0.1, min_ = 0;
};

// "name:k=v,k=v" -> name and key/value map (shared by optimizer and schedule specs).
struct KeyValues {
  std::string name;
  std::map<std::string, std::string> values;
  double number(const std::string& key, double fallback) const;
};
KeyValues parse_key_values(const std::string& spec, const std::vector<std::string>& allowed_keys,
                           const char* what);

}  // namespace dltrain
