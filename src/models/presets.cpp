// The preset networks. `cnn` is the classic Keras MNIST notebook's model; `lenet5` is LeCun's
// layout with ReLU and max pooling, as most modern tutorials build it.
#include "dltrain/models.hpp"

namespace dltrain {

const std::vector<Preset>& presets() {
  static const std::vector<Preset> all = {
      {"cnn", "Conv2D 32 3x3 ReLU -> MaxPool 2 -> Dense 100 ReLU -> Dense softmax (the Keras MNIST notebook)",
       "conv:32x3x3,relu,he_uniform maxpool:2 flatten dense:100,relu,he_uniform dense:{classes},softmax"},
      {"mlp", "784-512-256-classes multilayer perceptron with ReLU",
       "flatten dense:512,relu,he_uniform dense:256,relu,he_uniform dense:{classes},softmax"},
      {"lenet5", "LeNet-5: conv 6 5x5 same -> pool -> conv 16 5x5 -> pool -> 120 -> 84 -> classes",
       "conv:6x5x5,same,relu maxpool:2 conv:16x5x5,relu maxpool:2 flatten dense:120,relu dense:84,relu "
       "dense:{classes},softmax"},
  };
  return all;
}

std::unique_ptr<Model> build_model(const std::string& preset_or_text, const Shape& input_shape, int64_t n_classes) {
  DLT_CHECK(n_classes >= 2, "a classifier needs at least 2 classes, the data has " + std::to_string(n_classes));
  std::string text = preset_or_text, title = "custom";
  for (const Preset& p : presets())
    if (p.name == preset_or_text) text = p.text, title = p.name;
  if (title == "custom" && text.find_first_of(" :") == std::string::npos && text != "flatten") {
    std::string names;
    for (const Preset& p : presets()) names += (names.empty() ? "" : ", ") + p.name;
    throw Error("unknown model '" + text + "'", "presets: " + names + "; or describe a network in the text format");
  }
  for (size_t at; (at = text.find("{classes}")) != std::string::npos;) text.replace(at, 9, std::to_string(n_classes));
  auto model = parse_model(text, input_shape);
  model->title = title;
  return model;
}

}  // namespace dltrain
