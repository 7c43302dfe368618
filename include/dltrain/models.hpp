// models: named presets in the text format (see nn.hpp), sized to a dataset's input and classes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dltrain/nn.hpp"

namespace dltrain {

struct Preset {
  std::string name;
  std::string description;
  std::string text;  // "{classes}" stands for the dataset's class count
};
const std::vector<Preset>& presets();

// A preset name or a network in the text format -> a built (not yet initialised) model.
std::unique_ptr<Model> build_model(const std::string& preset_or_text, const Shape& input_shape, int64_t n_classes);

}  // namespace dltrain
