// Transfer learning on a TFLite backbone: the backbone's frozen layers run once per image and
// their outputs (the 1280-d embedding, or with --unfreeze N the input of the top N blocks) are
// cached in memory and on disk, so every epoch after the first costs only the trainable layers.
#include <filesystem>
#include <sstream>
#include <sys/stat.h>

#include "dltrain/models.hpp"
#include "dltrain/train.hpp"
#include "dltrain/path.hpp"

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

namespace {
// One image as the frozen model's input, randomly cropped and flipped when augment_key != 0.
Tensor input_image(const std::string& path, const Shape& in, const Preprocessing& pre, uint64_t augment_key,
                   int64_t index) {
  if (augment_key == 0) return load_image(path, in[0], in[1], in[2], pre.resize);
  const Image img = decode_image(path, in[2]);
  Rng rng(augment_key ^ (uint64_t(index) * 0x9E3779B97F4A7C15ULL));
  const int64_t h = std::max<int64_t>(1, int64_t(double(img.h) * rng.uniform(0.8f, 1.0f)));
  const int64_t w = std::max<int64_t>(1, int64_t(double(img.w) * rng.uniform(0.8f, 1.0f)));
  const int64_t y0 = int64_t(rng.below(uint64_t(img.h - h + 1))), x0 = int64_t(rng.below(uint64_t(img.w - w + 1)));
  return resize_image(crop_image(img, y0, x0, h, w, rng.uniform() < 0.5), in[0], in[1], pre.resize);
}
}  // namespace

Tensor compute_features(Model& frozen, const Preprocessing& pre, const ImageList& images, int64_t batch,
                        const FeatureProgress& progress, uint64_t augment_key) {
  const Shape in = frozen.input_shape(), out = frozen.output_shape();
  Tensor features(out.with_batch(images.size()));
  const int64_t per_in = in.numel(), per_out = out.numel();
  ParallelInference replicas(frozen);  // decoding runs on the replicas' threads too
  const auto input = [&](int64_t i, float* x) {
    Tensor img;
    try {
      img = input_image(images.paths[size_t(i)], in, pre, augment_key, i);
    } catch (const Error& e) {
      throw Error(e.what(), "remove or replace the file; the dataset's other images are fine");
    }
    for (int64_t j = 0; j < per_in; ++j) x[j] = float(img.u8()[j]) * pre.scale + pre.offset;
  };
  for (int64_t b0 = 0; b0 < images.size(); b0 += batch) {
    const int64_t n = std::min(batch, images.size() - b0);
    replicas.run(b0, b0 + n, input, features.f32() + b0 * per_out);
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
  if (!c.resize.empty()) {
    DLT_CHECK(c.resize == "bilinear" || c.resize == "crop", "--resize takes bilinear or crop, not '" + c.resize + "'");
    t.preprocessing.resize = c.resize == "crop" ? Resize::crop : Resize::bilinear;
  }
  DLT_CHECK(c.augment >= 0 && c.augment <= 16, "--augment takes 0 to 16 views");
  t.views = 1 + c.augment;

  const std::string sha = digest_file(c.backbone).sha256;
  t.features.name = images.name;
  t.features.folder = images.folder;
  const std::string dir = cache_dir() + "/features";
  // The features of `list` seen through view v (0: as they are), from the cache or computed.
  auto features_of = [&](const ImageList& list, int64_t view) {
    const uint64_t key = view == 0 ? 0 : (c.seed + 1) * 0x5851F42D4C957F2DULL + uint64_t(view);
    const std::string path = dir + "/" + feature_key(sha, t.frozen + " view " + std::to_string(key), t.preprocessing,
                                                     list) + ".safetensors";
    const Shape shape = frozen->output_shape().with_batch(list.size());
    if (c.feature_cache && path_exists(path)) {
      SafetensorsFile f = read_safetensors(path);
      auto it = f.tensors.find("features");
      if (it != f.tensors.end() && it->second.shape() == shape) {
        progress(list.size(), list.size());
        return std::move(it->second);
      }
    }
    Tensor out = compute_features(*frozen, t.preprocessing, list, 32, progress, key);
    if (c.feature_cache) {
      std::error_code ec;
      fs::create_directories(dir, ec);
      write_safetensors(path, {{"features", &out}},
                        {{"backbone", fs::absolute(c.backbone).string()}, {"images", std::to_string(list.size())}});
    }
    return out;
  };
  for (auto [list, split, views] : {std::tuple{&images.train, &t.features.train, t.views},
                                    std::tuple{&images.test, &t.features.test, int64_t(1)}}) {
    split->class_names = images.class_names;
    const Shape one = frozen->output_shape();
    split->images = Tensor(one.with_batch(list->size() * views));
    for (int64_t v = 0; v < views; ++v) {
      split->labels.insert(split->labels.end(), list->labels.begin(), list->labels.end());
      if (list->size() == 0) continue;
      const Tensor f = features_of(*list, v);
      std::copy_n(f.f32(), f.numel(), split->images.f32() + v * f.numel());
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
