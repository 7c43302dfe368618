// Initializers with Keras's definitions (keras.initializers.HeUniform, GlorotUniform).
#include <cmath>

#include "dltrain/nn.hpp"

namespace dltrain {

void initialize(Tensor& t, Init init, int64_t fan_in, int64_t fan_out, Rng& rng) {
  float limit = 0;
  switch (init) {
    case Init::zeros: t.fill(0); return;
    case Init::ones: t.fill(1); return;
    case Init::he_uniform: limit = float(std::sqrt(6.0 / double(fan_in))); break;
    case Init::glorot_uniform: limit = float(std::sqrt(6.0 / double(fan_in + fan_out))); break;
  }
  for (float& v : t.values()) v = rng.uniform(-limit, limit);
}

const char* init_name(Init init) {
  switch (init) {
    case Init::zeros: return "zeros";
    case Init::ones: return "ones";
    case Init::he_uniform: return "he_uniform";
    case Init::glorot_uniform: return "glorot_uniform";
  }
  return "?";
}

}  // namespace dltrain
