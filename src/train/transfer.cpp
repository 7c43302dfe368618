// Transfer learning on a TFLite backbone: the backbone's frozen layers run once per image and
// their outputs (the 1280-d embedding, or with --unfreeze N the input of the top N blocks) are
// cached in memory and on disk, so every epoch after the first costs only the trainable layers.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/stat.h>

#include "dltrain/models.hpp"
#include "dltrain/train.hpp"

namespace dltrain {
namespace fs = std::filesystem;
namespace {

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string w; ss >> w;) out.push_back(w);
  return out;
}

std::string join(const std::vector<std::string>& w, size_t from, size_t to) {
  std::string s;
  for (size_t i = from; i < to; ++i) s += (s.empty() ? "" : " ") + w[i];
  return s;
}

// Token positions after which an inverted-residual block ends: a closing `}` or a linear 1x1
// projection (a conv without activation) outside any residual block.
std::vector<size_t> block_ends(const std::vector<std::string>& w) {
  std::vector<size_t> ends;
  int depth = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] == "res{") ++depth;
    else if (w[i] == "}") --depth;
    const bool linear_conv = w[i].rfind("conv:", 0) == 0 && w[i].find(",relu") == std::string::npos;
    if (depth == 0 && (w[i] == "}" || linear_conv)) ends.push_back(i);
  }
  return ends;
}

// Identifies the inputs of a feature computation: the backbone file, the frozen layers, the
// preprocessing and every image (path, size, modification time).
std::string feature_key(const std::string& backbone_sha, const std::string& frozen, const Preprocessing& pre,
                        const ImageList& images) {
  std::string id = "dltrain-features/1\n" + backbone_sha + "\n" + frozen + "\n" + std::to_string(pre.scale) + " " +
                   std::to_string(pre.offset) + " " + std::to_string(int(pre.resize)) + "\n";
  for (const std::string& p : images.paths) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) throw Error(p + ": cannot read the image");
    id += fs::absolute(p).string() + " " + std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
          std::to_string(st.st_mtim.tv_nsec) + "\n";
  }
  return sha256_hex(id);
}

}  // namespace

Tensor compute_features(Model& frozen, const Preprocessing& pre, const ImageList& images, int64_t batch,
                        const FeatureProgress& progress) {
  const Shape in = frozen.input_shape(), out = frozen.output_shape();
  Tensor features(out.with_batch(images.size()));
  const int64_t per_in = in.numel(), per_out = out.numel();
  Tensor x;
  for (int64_t b0 = 0; b0 < images.size(); b0 += batch) {
    const int64_t n = std::min(batch, images.size() - b0);
    x.ensure(in.with_batch(n));
    std::vector<std::string> errors(static_cast<size_t>(n));
#pragma omp parallel for schedule(dynamic)
    for (int64_t i = 0; i < n; ++i) {
      try {
        const Tensor img = load_image(images.paths[size_t(b0 + i)], in[0], in[1], in[2], pre.resize);
        float* d = x.f32() + i * per_in;
        for (int64_t j = 0; j < per_in; ++j) d[j] = float(img.u8()[j]) * pre.scale + pre.offset;
      } catch (const Error& e) {
        errors[size_t(i)] = e.what();
      }
    }
    for (const std::string& e : errors)
      if (!e.empty()) throw Error(e, "remove or replace the file; the dataset's other images are fine");
    const Tensor& y = frozen.forward(x, Context{}, Output::probabilities);
    std::copy(y.f32(), y.f32() + n * per_out, features.f32() + b0 * per_out);
    progress(b0 + n, images.size());
  }
  return features;
}

TransferData prepare_transfer(const TrainConfig& c, const ImageSplits& images, const FeatureProgress& progress) {
  TransferData t;
  t.imported = import_tflite(c.backbone);
  const ImportedModel& m = t.imported;
  if (m.backbone.empty())
    throw Error(c.backbone + ": the model has no global average pool to take features from",
                "transfer learning needs a classifier such as MobileNet whose last pooling feeds the classes");
  const std::vector<std::string> w = words(m.backbone);
  const std::vector<size_t> ends = block_ends(w);
  DLT_CHECK(c.unfreeze >= 0 && c.unfreeze < int64_t(ends.size()),
            "--unfreeze " + std::to_string(c.unfreeze) + ": this backbone has " + std::to_string(ends.size()) +
                " blocks; unfreeze 0 to " + std::to_string(ends.size() - 1) + " of the top ones");
  const size_t cut = c.unfreeze == 0 ? w.size() : ends[ends.size() - size_t(c.unfreeze) - 1] + 1;
  t.frozen = join(w, 0, cut);
  t.trainable = join(w, cut, w.size());

  std::unique_ptr<Model> frozen = parse_model(t.frozen, m.input_shape);
  t.frozen_nodes = frozen->size();
  copy_weights(*m.model, 0, *frozen, 0, t.frozen_nodes);
  t.preprocessing = m.preprocessing;

  const std::string sha = digest_file(c.backbone).sha256;
  t.features.name = images.name;
  t.features.folder = images.folder;
  for (auto [list, split] : {std::pair{&images.train, &t.features.train}, std::pair{&images.test, &t.features.test}}) {
    split->class_names = images.class_names;
    split->labels = list->labels;
    if (list->size() == 0) {
      split->images = Tensor(frozen->output_shape().with_batch(0));
      continue;
    }
    const std::string dir = cache_dir() + "/features";
    const std::string path = dir + "/" + feature_key(sha, t.frozen, t.preprocessing, *list) + ".safetensors";
    if (c.feature_cache && fs::exists(path)) {
      SafetensorsFile f = read_safetensors(path);
      auto it = f.tensors.find("features");
      if (it != f.tensors.end() && it->second.shape() == frozen->output_shape().with_batch(list->size())) {
        split->images = std::move(it->second);
        progress(list->size(), list->size());
        continue;
      }
    }
    split->images = compute_features(*frozen, t.preprocessing, *list, 32, progress);
    if (c.feature_cache) {
      std::error_code ec;
      fs::create_directories(dir, ec);
      write_safetensors(path, {{"features", &split->images}},
                        {{"backbone", fs::absolute(c.backbone).string()}, {"images", std::to_string(list->size())}});
    }
  }
  return t;
}

std::string transfer_head(const std::string& head) {
  // "dense:128,relu,dropout:0.2" -> "dense:128,relu dropout:0.2" (dropout is its own layer)
  std::string out;
  for (const std::string& word : words(head)) {
    std::string s = word;
    for (size_t at; (at = s.find(",dropout:")) != std::string::npos;) s[at] = ' ';
    out += (out.empty() ? "" : " ") + s;
  }
  return out;
}

}  // namespace dltrain
