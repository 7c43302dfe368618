// Evaluation (loss, accuracy, confusion matrix) and single-image prediction, in inference mode.
#include <algorithm>
#include <cmath>

#include "dltrain/path.hpp"
#include "dltrain/train.hpp"

namespace dltrain {

EvalResult evaluate(Model& model, const Dataset& data, const Preprocessing& pre, int64_t batch) {
  const int64_t k = model.n_classes();
  DLT_CHECK(data.size() > 0, "cannot evaluate on an empty dataset");
  DLT_CHECK(data.sample_shape() == model.input_shape(),
            "the data's images are " + data.sample_shape().str() + " but the model takes " + model.input_shape().str());
  EvalResult r;
  r.confusion.assign(size_t(k), std::vector<int64_t>(size_t(k), 0));
  BatchLoader loader(data, batch, sequential_order(data.size()), pre.scale, pre.offset);
  const Context ctx{Mode::infer, 0, 0};
  double loss_sum = 0;
  int64_t correct = 0;
  Tensor x_staged, logits_staged;
  while (const Batch* b = loader.next()) {
    const Tensor& logits = model.forward(b->x.on(model.device(), x_staged), ctx, Output::logits);
    const LossStats st = ops::softmax_cross_entropy(logits, b->labels, nullptr);
    loss_sum += st.loss_sum;
    correct += st.correct;
    const float* p = logits.on(Device::cpu, logits_staged).f32();
    for (size_t i = 0; i < b->labels.size(); ++i) {
      const float* row = p + int64_t(i) * k;
      int64_t arg = 0;
      for (int64_t j = 1; j < k; ++j)
        if (row[j] > row[arg]) arg = j;
      ++r.confusion[size_t(b->labels[i])][size_t(arg)];
      double sum = 0;  // softmax of the row, relative to its largest logit
      for (int64_t j = 0; j < k; ++j) sum += std::exp(double(row[j]) - double(row[arg]));
      const int32_t label = b->labels[i];
      r.outcomes.push_back({label, int32_t(arg), float(1.0 / sum), float(std::exp(double(row[label]) - double(row[arg])) / sum)});
    }
    r.samples += int64_t(b->labels.size());
  }
  r.loss = loss_sum / double(r.samples);
  r.accuracy = double(correct) / double(r.samples);
  return r;
}

EvalResult evaluate_images(Model& model, const ImageList& images, const Preprocessing& pre, int64_t batch) {
  const int64_t k = model.n_classes();
  DLT_CHECK(images.size() > 0, "cannot evaluate on an empty dataset");
  DLT_CHECK(model.has_softmax_head(), "evaluate_images needs a model that ends in a softmax");
  const Tensor probs = compute_features(model, pre, images, batch, [](int64_t, int64_t) {});
  EvalResult r;
  r.confusion.assign(size_t(k), std::vector<int64_t>(size_t(k), 0));
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t i = 0; i < images.size(); ++i) {
    const float* p = probs.f32() + i * k;
    const int32_t label = images.labels[size_t(i)];
    DLT_CHECK(label >= 0 && label < k, "label " + std::to_string(label) + " is not one of the model's classes");
    const int64_t arg = std::max_element(p, p + k) - p;
    loss_sum -= std::log(std::max(double(p[label]), 1e-30));
    correct += arg == label;
    ++r.confusion[size_t(label)][size_t(arg)];
    r.outcomes.push_back({label, int32_t(arg), p[arg], p[label]});
  }
  r.samples = images.size();
  r.loss = loss_sum / double(r.samples);
  r.accuracy = double(correct) / double(r.samples);
  return r;
}

TestEvaluation evaluate_test_split(LoadedModel& m, const std::string& data, int64_t batch) {
  TestEvaluation out;
  out.data = data.empty() ? m.info.dataset : data;
  if (out.data.empty()) throw Error("the model does not say what it was trained on", "pass --data NAME_OR_FOLDER");
  if (is_image_dataset(out.data)) {
    ImageSplits s = load_image_dataset(out.data, 0.0, 1);
    out.whole = s.test.size() == 0;
    out.files = std::move(out.whole ? s.train : s.test);
    for (int32_t& label : out.files.labels) {
      const std::string& name = s.class_names[size_t(label)];
      const auto it = std::find(m.info.labels.begin(), m.info.labels.end(), name);
      if (it == m.info.labels.end()) {
        std::string all;
        for (const std::string& l : m.info.labels) all += (all.empty() ? "" : ", ") + l;
        throw Error(out.data + ": class '" + name + "' is not one the model knows", "the model's classes: " + all);
      }
      label = int32_t(it - m.info.labels.begin());
    }
    out.result = evaluate_images(*m.model, out.files, m.info.preprocessing, std::min<int64_t>(batch, 32));
    return out;
  }
  DatasetSplits splits = load_dataset(out.data);
  out.data = splits.name;
  if (int64_t(splits.test.class_names.size()) > m.model->n_classes())
    throw Error(out.data + " has " + std::to_string(splits.test.class_names.size()) + " classes, the model " +
                std::to_string(m.model->n_classes()));
  out.test = std::move(splits.test);
  out.result = evaluate(*m.model, out.test, m.info.preprocessing, batch);
  return out;
}

std::vector<float> predict(Model& model, const Tensor& image_u8, const Preprocessing& pre) {
  DLT_CHECK(image_u8.shape().without_batch() == model.input_shape(),
            "image is " + image_u8.shape().str() + ", the model takes " + model.input_shape().str());
  Tensor x(image_u8.shape());
  ops::u8_to_f32(image_u8, x, pre.scale, pre.offset);
  Tensor x_staged, y_staged;
  const Tensor& y = model.forward(x.on(model.device(), x_staged), Context{}, Output::logits).on(Device::cpu, y_staged);
  Tensor probs(y.shape());
  ops::softmax(y, probs);
  return {probs.f32(), probs.f32() + probs.numel()};
}

Tensor predict_batch(Model& model, const Tensor& images, const Preprocessing& pre, int64_t batch) {
  DLT_CHECK(images.shape().rank() >= 2 && images.shape().without_batch() == model.input_shape(),
            "images are " + images.shape().str() + ", the model takes (N, " + model.input_shape().str().substr(1));
  DLT_CHECK(images.dtype() != DType::i32, "images must be uint8 pixels or float32 values");
  DLT_CHECK(batch >= 1, "batch size must be at least 1");
  const int64_t n = images.shape()[0], k = model.n_classes();
  Tensor out(Shape{n, k});
  if (n == 0) return out;
  Dataset whole;  // BatchLoader reads a Dataset: the images as they are, no copy
  const void* pixels = images.dtype() == DType::u8 ? static_cast<const void*>(images.u8()) : images.f32();
  whole.images = Tensor::borrow(images.shape(), images.dtype(), const_cast<void*>(pixels), std::make_shared<int>(0));
  whole.labels.assign(size_t(n), 0);
  BatchLoader loader(whole, batch, sequential_order(n), pre.scale, pre.offset);
  Tensor probs, x_staged, probs_staged;
  int64_t row = 0;
  while (const Batch* b = loader.next()) {
    const Tensor& x = b->x.on(model.device(), x_staged);
    const Tensor& logits = model.forward(x, Context{Mode::infer, 0, 0}, Output::logits);
    probs.ensure_on(logits.device(), logits.shape());
    ops::softmax(logits, probs);
    std::copy_n(probs.on(Device::cpu, probs_staged).f32(), probs.numel(), out.f32() + row * k);
    row += logits.shape()[0];
  }
  return out;
}

std::string find_model(const std::string& what) {
  const PathKind kind = naming(what, [&] { return path_kind(what); });
  if (kind == PathKind::file) return what;
  const std::string in_folder = what + "/model.safetensors";
  if (kind == PathKind::directory) {
    if (is_file(in_folder)) return in_folder;
    throw Error(what + ": the folder holds no model.safetensors", "give a run folder, or the model file itself");
  }
  const bool plain_name = !what.empty() && what.find('/') == std::string::npos && what != "." && what != "..";
  const std::string fetched = cache_dir() + "/datasets/" + what + "/model.safetensors";
  if (plain_name && is_file(fetched)) return fetched;
  throw Error(what + ": no such model file, folder" + (plain_name ? " or fetched name (" + fetched + ")" : ""),
              "give runs/<run>/model.safetensors, a run folder, or the --name of a fetched run");
}

}  // namespace dltrain
