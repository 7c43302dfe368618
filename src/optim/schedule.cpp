// Learning-rate schedules: constant, step decay per epoch, cosine per step.
#include <cmath>
#include <numbers>

#include "dltrain/optim.hpp"

namespace dltrain {

Schedule::Schedule(const std::string& spec) : spec_(spec) {
  KeyValues kv;
  kind_ = spec.substr(0, spec.find(':'));
  if (kind_ == "constant") {
    kv = parse_key_values(spec, {}, "schedule");
  } else if (kind_ == "step") {
    kv = parse_key_values(spec, {"every", "gamma"}, "schedule");
    every_ = kv.number("every", 1);
    gamma_ = kv.number("gamma", 0.1);
    DLT_CHECK(every_ >= 1, "schedule step: every must be at least 1 epoch");
  } else if (kind_ == "cosine") {
    kv = parse_key_values(spec, {"min"}, "schedule");
    min_ = kv.number("min", 0);
  } else {
    throw Error("unknown schedule '" + kind_ + "'", "use constant, step:every=2,gamma=0.5 or cosine[:min=1e-5]");
  }
}

float Schedule::lr(float base, int64_t step, int64_t steps_per_epoch, int64_t total_epochs) const {
  if (kind_ == "step") {
    const int64_t epoch = step / std::max<int64_t>(steps_per_epoch, 1);
    return float(base * std::pow(gamma_, std::floor(double(epoch) / every_)));
  }
  if (kind_ == "cosine") {
    const double total = double(std::max<int64_t>(steps_per_epoch * total_epochs, 1));
    const double t = std::min(double(step), total) / total;
    return float(min_ + 0.5 * (base - min_) * (1 + std::cos(std::numbers::pi * t)));
  }
  return base;
}

}  // namespace dltrain
