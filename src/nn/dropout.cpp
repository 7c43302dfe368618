// Dropout: identity at inference; in training each element is dropped with probability `rate`
// from a mask keyed by (run seed, layer, step), so backward and resumed runs see the same mask.
#include <functional>

#include "dltrain/nn.hpp"

namespace dltrain {
namespace {

class Dropout final : public Layer {
 public:
  explicit Dropout(float rate) : rate_(rate) {
    DLT_CHECK(rate >= 0 && rate < 1, "dropout rate must be in [0, 1), got " + std::to_string(rate));
  }
  const char* type() const override { return "Dropout"; }
  std::string spec() const override {
    std::string r = std::to_string(rate_);
    r.erase(r.find_last_not_of('0') + 1);
    if (r.back() == '.') r.pop_back();
    return "dropout:" + r;
  }

 protected:
  Shape build_impl(std::span<const Shape> in) override { return in[0]; }
  void forward_impl(std::span<const Tensor* const> xs, const Context& ctx, Tensor& y) override {
    train_ = ctx.mode == Mode::train && rate_ > 0;
    if (!train_) {
      y.copy_from(*xs[0]);
      return;
    }
    key_ = ctx.seed ^ (ctx.step * 0x9e3779b97f4a7c15ULL) ^ std::hash<std::string>{}(name());
    ops::dropout_forward(*xs[0], y, rate_, key_);
  }
  void backward_impl(std::span<const Tensor* const>, const Tensor&, const Tensor& dy,
                     std::span<Tensor* const> dxs) override {
    if (!dxs[0]) return;
    if (train_) ops::dropout_backward(dy, *dxs[0], rate_, key_);
    else dxs[0]->copy_from(dy);
  }

 private:
  float rate_;
  bool train_ = false;
  uint64_t key_ = 0;
};

}  // namespace

std::unique_ptr<Layer> make_dropout(float rate) { return std::make_unique<Dropout>(rate); }

}  // namespace dltrain
