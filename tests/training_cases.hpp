// What the GPU training tests share (host_gpu_test: the GPU path emulated on the host;
// gpu_train_test: a real GPU): a small learnable dataset, the run settings, and the networks.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "dltrain/train.hpp"

namespace dltrain::test::training_cases {

// n training and n_test test images of 10x10 whose brightest quadrant is the class (learnable).
inline DatasetSplits quadrants(int64_t n, int64_t n_test) {
  DatasetSplits d;
  d.name = "quadrants";
  Rng rng(11);
  for (auto [split, count] : {std::pair{&d.train, n}, std::pair{&d.test, n_test}}) {
    split->images = Tensor({count, 10, 10, 1}, DType::u8);
    for (int64_t i = 0; i < count; ++i) {
      const auto c = int32_t(rng.below(4));
      for (int64_t p = 0; p < 100; ++p) {
        const bool inside = (p / 10 >= 5) == bool(c & 2) && (p % 10 >= 5) == bool(c & 1);
        split->images.u8()[i * 100 + p] = uint8_t(rng.below(128) + (inside ? 100 : 0));
      }
      split->labels.push_back(c);
    }
    split->class_names = {"nw", "ne", "sw", "se"};
  }
  return d;
}

inline TrainConfig config(const std::string& model, const std::string& optim, int64_t grad_accum = 1) {
  TrainConfig c;
  c.data = array_data_name;  // so that Trainer::resume takes the data again
  c.model = model;
  c.optim = optim;
  c.epochs = 2;
  c.batch = 12;  // 100 images: a last partial batch every epoch
  c.grad_accum = grad_accum;
  c.threads = 1;
  return c;
}

inline std::vector<float> weights(Model& m) {
  std::vector<float> all;
  for (Param* p : m.params()) {
    const Tensor host = p->value.to(Device::cpu);
    all.insert(all.end(), host.values().begin(), host.values().end());
  }
  return all;
}

struct Case {
  const char* name;
  const char* model;
  const char* optim;
  int64_t grad_accum;
};
// The cnn preset's shape (conv+pool fused), dropout, a residual block with batch norm, and an MLP
// trained with AdamW over two micro-batches per step.
const Case cases[] = {
    {"cnn", "conv:8x3x3,relu maxpool:2 flatten dense:16,relu dropout:0.25 dense:{classes},softmax",
     "sgd:lr=0.05,momentum=0.9", 1},
    {"residual_bn",
     "conv:6x3x3,same bn relu res{ conv:6x3x3,same bn relu } gap dense:{classes},softmax",
     "adam:lr=0.01", 1},
    {"mlp_accum", "flatten dense:24,relu dense:{classes},softmax", "adamw:lr=0.01", 2},
};

// 3 epochs straight on the GPU, and 1 epoch then a resume to 3 (on the GPU again), in `dir`:
// the weights and the checkpoint must end bit-identical.
inline void expect_gpu_resume_is_exact(const std::string& dir) {
  TrainConfig c = config(cases[1].model, cases[1].optim);
  c.epochs = 3;
  Trainer straight(c, quadrants(100, 30), dir + "/straight");
  straight.use_device(Device::cuda);
  ASSERT_TRUE(straight.fit());
  c.epochs = 1;
  {
    Trainer first(c, quadrants(100, 30), dir + "/interrupted");
    first.use_device(Device::cuda);
    ASSERT_TRUE(first.fit());
  }
  auto resumed = Trainer::resume(dir + "/interrupted", quadrants(100, 30), 3);
  resumed->use_device(Device::cuda);
  ASSERT_TRUE(resumed->fit());
  EXPECT_EQ(weights(straight.model()), weights(resumed->model()));
  EXPECT_EQ(read_file(dir + "/straight/checkpoint.safetensors"),
            read_file(dir + "/interrupted/checkpoint.safetensors"));
}

}  // namespace dltrain::test::training_cases
