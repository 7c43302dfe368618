// Transfer-learning speed: MobileNetV2 feature extraction (images/s through the frozen backbone,
// 224x224, batch B) and a 10-epoch head training run on 2,000 cached 1280-d features.
//   build/bench/features_bench MODEL.tflite [batch=32] [batches=6]
// Prints one JSON object (bench/transfer_vs_litert.py reads it).
#include <chrono>
#include <cstdio>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "dltrain/models.hpp"
#include "dltrain/train.hpp"

using namespace dltrain;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: features_bench MODEL.tflite [batch] [batches]\n");
    return 2;
  }
  const int64_t batch = argc > 2 ? std::stoll(argv[2]) : 32, batches = argc > 3 ? std::stoll(argv[3]) : 6;
  set_num_threads(0);
  ImportedModel m = import_tflite(argv[1]);
  std::unique_ptr<Model> backbone = parse_model(m.backbone, m.input_shape);
  copy_weights(*m.model, 0, *backbone, 0, m.backbone_nodes);
  Rng rng(1);
  Tensor x(m.input_shape.with_batch(batch));
  for (float& v : x.values()) v = float(rng.uniform()) * 2 - 1;
  // As compute_features runs it: a model replica per thread, up to 4 images per forward pass.
  ParallelInference replicas(*backbone);
  const int64_t per_in = m.input_shape.numel();
  const auto input = [&](int64_t i, float* d) {
    std::copy_n(x.f32() + (i % batch) * per_in, per_in, d);
  };
  Tensor y(Shape{batch * batches, m.embedding_size});
  replicas.run(0, batch, input, y.f32());  // warm-up: allocations, page faults
  const auto t0 = Clock::now();
  replicas.run(0, batch * batches, input, y.f32());
  const double extract = std::chrono::duration<double>(Clock::now() - t0).count();
  // The same images as whole batches through one model (every op split over the threads).
  backbone->forward(x, Context{}, Output::probabilities);
  const auto tb = Clock::now();
  for (int64_t i = 0; i < batches; ++i) backbone->forward(x, Context{}, Output::probabilities);
  const double batched = std::chrono::duration<double>(Clock::now() - tb).count();

  // 2,000 cached features, 10 classes (labels from a fixed random linear map), default head.
  DatasetSplits data;
  data.name = "features";
  for (auto [split, n] : {std::pair{&data.train, 2000}, std::pair{&data.test, 500}}) {
    split->images = Tensor({n, m.embedding_size});
    for (float& v : split->images.values()) v = float(rng.uniform()) * 6;
    for (int64_t i = 0; i < n; ++i) {
      const float* f = split->images.f32() + i * m.embedding_size;
      split->labels.push_back(int32_t(int64_t(f[0] * 10 + f[1] * 7 + f[2] * 3) % 10));
    }
    for (int c = 0; c < 10; ++c) split->class_names.push_back(std::to_string(c));
  }
  TransferData t;
  t.imported = std::move(m);
  t.frozen = t.imported.backbone;
  t.frozen_nodes = t.imported.backbone_nodes;
  t.features = std::move(data);
  TrainConfig c;
  c.model = "mobilenet_v2-transfer";
  c.optim = "adam:lr=0.001";
  c.epochs = 10;
  c.batch = 32;
  const std::string dir = std::filesystem::temp_directory_path() / ("features_bench." + std::to_string(::getpid()));
  const auto t1 = Clock::now();
  {
    Trainer trainer(c, std::move(t), dir);
    trainer.fit();
  }
  const double head = std::chrono::duration<double>(Clock::now() - t1).count();
  std::filesystem::remove_all(dir);
  std::printf("{\"threads\": %d, \"batch\": %lld, \"images_per_s\": %.2f, \"batched_images_per_s\": %.2f, "
              "\"head_10_epochs_s\": %.3f}\n", num_threads(), (long long)batch, double(batch * batches) / extract,
              double(batch * batches) / batched, head);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "features_bench: %s\n", e.what());
  return 1;
}
