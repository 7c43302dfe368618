// Model files: safetensors weights with the architecture, labels and preprocessing as metadata.
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "dltrain/io.hpp"
#include "dltrain/path.hpp"

namespace dltrain {

Metadata model_metadata(const Model& m, const ModelInfo& info) {
  const auto dims = m.input_shape().dims();
  return {
      {"format", "dltrain-model/1"},
      {"architecture", m.spec},
      {"input_shape", nlohmann::json(std::vector<int64_t>(dims.begin(), dims.end())).dump()},
      {"labels", nlohmann::json(info.labels).dump()},
      {"preprocessing", nlohmann::json{{"scale", info.preprocessing.scale},
                                       {"offset", info.preprocessing.offset},
                                       {"resize", info.preprocessing.resize == Resize::crop ? "crop" : "bilinear"},
                                       {"layout", "NHWC"}}.dump()},
      {"title", info.title},
      {"dataset", info.dataset},
  };
}

std::vector<TensorRef> model_tensors(Model& m) {
  std::vector<TensorRef> out;
  for (size_t i = 0; i < m.size(); ++i)
    for (Param& p : m.layer(i).params()) out.push_back({m.param_key(m.layer(i), p), &p.value});
  return out;
}

void save_model(const std::string& path, Model& m, const ModelInfo& info) {
  write_safetensors(path, model_tensors(m), model_metadata(m, info));
}

namespace {
LoadedModel model_from_unnamed(const SafetensorsFile& file, const std::string& path) {
  auto meta = [&](const std::string& key) -> const std::string& {
    auto it = file.metadata.find(key);
    if (it == file.metadata.end())
      throw Error(path + ": not a dltrain model (metadata '" + key + "' is missing)",
                  "model files are written by `dltrain train` as runs/<run>/model.safetensors");
    return it->second;
  };
  if (meta("format") != "dltrain-model/1") throw Error(path + ": unsupported model format '" + meta("format") + "'");
  LoadedModel out;
  try {
    const auto shape = nlohmann::json::parse(meta("input_shape"));
    std::vector<int64_t> dims;  // a float (1e300) is refused here, before any conversion
    for (const auto& d : shape.is_array() ? shape : nlohmann::json::array({nullptr}))
      dims.push_back(!d.is_number_integer()                                                ? -1
                     : d.is_number_unsigned() && d.get<uint64_t>() > uint64_t(max_model_input_elements) ? -1
                                                                                                       : d.get<int64_t>());
    out.info.labels = nlohmann::json::parse(meta("labels")).get<std::vector<std::string>>();
    const auto pre = nlohmann::json::parse(meta("preprocessing"));
    const double scale = pre.at("scale").get<double>(), offset = pre.at("offset").get<double>();
    if (!(std::abs(scale) <= std::numeric_limits<float>::max()) || !(std::abs(offset) <= std::numeric_limits<float>::max()))
      throw Error(path + ": metadata 'preprocessing' has a scale or offset that is not a finite float32 (" +
                  meta("preprocessing") + ")", "the file is damaged");
    out.info.preprocessing.scale = float(scale);
    out.info.preprocessing.offset = float(offset);
    out.info.preprocessing.resize = pre.value("resize", "bilinear") == "crop" ? Resize::crop : Resize::bilinear;
    out.info.title = meta("title");
    out.info.dataset = meta("dataset");
    // One input sample: rank 1..5, every dimension >= 1, at most max_model_input_elements in all.
    bool sane = !dims.empty() && dims.size() < size_t(Shape::max_rank);
    int64_t n = 1;
    for (int64_t d : dims) sane = sane && d >= 1 && d <= max_model_input_elements && !__builtin_mul_overflow(n, d, &n);
    if (!sane || n > max_model_input_elements)
      throw Error(path + ": metadata 'input_shape' " + meta("input_shape") + " is not a supported input (rank 1 to 5, " +
                      "every dimension at least 1, at most " + std::to_string(max_model_input_elements) +
                      " elements per sample)",
                  "the file is damaged, or was not written by dltrain");
    try {
      out.model = parse_model(meta("architecture"), Shape(std::span<const int64_t>(dims)));
    } catch (const Error& e) {
      throw Error(path + ": metadata 'architecture': " + e.what(), e.hint());
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": malformed model metadata (" + e.what() + ")");
  }
  out.model->title = out.info.title;
  std::set<std::string> known;
  for (size_t i = 0; i < out.model->size(); ++i)
    for (Param& p : out.model->layer(i).params()) {
      const std::string key = out.model->param_key(out.model->layer(i), p);
      auto it = file.tensors.find(key);
      if (it == file.tensors.end()) throw Error(path + ": weights for " + key + " are missing");
      if (!(it->second.shape() == p.value.shape()) || it->second.dtype() != DType::f32)
        throw Error(path + ": " + key + " is " + it->second.shape().str() + ", the architecture needs " +
                    p.value.shape().str());
      p.value.copy_from(it->second);
      known.insert(key);
    }
  for (const auto& [name, tensor] : file.tensors)
    if (name.rfind("optim/", 0) != 0 && !known.contains(name)) throw Error(path + ": unexpected tensor '" + name + "'");
  if (out.model->n_classes() != int64_t(out.info.labels.size()))
    throw Error(path + ": " + std::to_string(out.info.labels.size()) + " labels for " +
                std::to_string(out.model->n_classes()) + " outputs");
  return out;
}
}  // namespace

LoadedModel model_from(const SafetensorsFile& file, const std::string& path) {
  return naming(path, [&] { return model_from_unnamed(file, path); });
}

LoadedModel load_model(const std::string& path) { return model_from(read_safetensors(path), path); }

}  // namespace dltrain
