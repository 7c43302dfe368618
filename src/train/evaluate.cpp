// Evaluation (loss, accuracy, confusion matrix) and single-image prediction, in inference mode.
#include <algorithm>
#include <cmath>

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
  while (const Batch* b = loader.next()) {
    const Tensor& logits = model.forward(b->x, ctx, Output::logits);
    const LossStats st = ops::softmax_cross_entropy(logits, b->labels, nullptr);
    loss_sum += st.loss_sum;
    correct += st.correct;
    const float* p = logits.f32();
    for (size_t i = 0; i < b->labels.size(); ++i) {
      int64_t arg = 0;
      for (int64_t j = 1; j < k; ++j)
        if (p[int64_t(i) * k + j] > p[int64_t(i) * k + arg]) arg = j;
      ++r.confusion[size_t(b->labels[i])][size_t(arg)];
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
  }
  r.samples = images.size();
  r.loss = loss_sum / double(r.samples);
  r.accuracy = double(correct) / double(r.samples);
  return r;
}

std::vector<float> predict(Model& model, const Tensor& image_u8, const Preprocessing& pre) {
  DLT_CHECK(image_u8.shape().without_batch() == model.input_shape(),
            "image is " + image_u8.shape().str() + ", the model takes " + model.input_shape().str());
  Tensor x(image_u8.shape());
  ops::u8_to_f32(image_u8, x, pre.scale, pre.offset);
  const Tensor& y = model.forward(x, Context{}, Output::logits);
  Tensor probs(y.shape());
  ops::softmax(y, probs);
  return {probs.f32(), probs.f32() + probs.numel()};
}

}  // namespace dltrain
