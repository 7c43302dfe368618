// The run folder's per-epoch files and restoring a run from checkpoint.safetensors.
#include <filesystem>

#include "dltrain/train.hpp"

namespace dltrain {
namespace {
// "<layer>/<param>" of each trainable parameter, in the optimizer's order.
std::vector<std::string> trainable_keys(Model& m) {
  std::vector<std::string> keys;
  for (size_t i = 0; i < m.size(); ++i)
    for (const Param& p : m.layer(i).params())
      if (p.trainable) keys.push_back(m.param_key(m.layer(i), p));
  return keys;
}

uint64_t meta_number(const SafetensorsFile& f, const std::string& key, const std::string& path) {
  auto it = f.metadata.find(key);
  if (it == f.metadata.end()) throw Error(path + ": checkpoint metadata '" + key + "' is missing");
  try {
    size_t used = 0;
    const unsigned long long v = std::stoull(it->second, &used);
    if (used == it->second.size()) return v;
  } catch (const std::exception&) {
  }
  throw Error(path + ": checkpoint metadata '" + key + "' is not a number");
}
}  // namespace

namespace {
// FNV-1a over every trainable parameter's bytes: ranks compare it after each epoch. (Batch-norm
// moving statistics are each rank's own; rank 0's are saved.)
uint64_t weights_digest(Model& m) {
  uint64_t h = 1469598103934665603ULL;
  for (const Param* p : m.trainable_params()) {
    Tensor staged;
    const Tensor& host = p->value.on(Device::cpu, staged);
    const auto* bytes = reinterpret_cast<const unsigned char*>(host.f32());
    for (size_t i = 0; i < host.bytes(); ++i) h = (h ^ bytes[i]) * 1099511628211ULL;
  }
  return h;
}
}  // namespace

void Trainer::save_epoch() {
  if (comm_.size() > 1) {
    const std::vector<uint64_t> all = comm_.allgather(weights_digest(*model_));
    for (size_t r = 1; r < all.size(); ++r)
      if (all[r] != all[0])
        throw Error("after epoch " + std::to_string(epochs_done_) + ", rank " + std::to_string(r) +
                        "'s weights differ from rank 0's",
                    "the ranks must run the same dltrain build on the same data; please report this");
  }
  if (!lead()) return;
  std::vector<TensorRef> tensors = model_tensors(*model_);
  const std::vector<std::string> slots = optimizer_->slot_names();
  const std::vector<std::string> keys = trainable_keys(*model_);
  std::vector<std::string> names;  // owns the optimizer tensor names while encoding
  names.reserve(keys.size() * slots.size());
  for (size_t i = 0; i < keys.size(); ++i)
    for (size_t s = 0; s < slots.size(); ++s) {
      names.push_back("optim/" + keys[i] + "/" + slots[s]);
      tensors.push_back({names.back(), &optimizer_->slot(i, s)});
    }
  Metadata meta = model_metadata(*model_, info_);
  meta["epoch"] = std::to_string(epochs_done_);
  meta["global_step"] = std::to_string(global_step_);
  meta["optimizer_steps"] = std::to_string(optimizer_->steps());
  meta["rng_state"] = std::to_string(rng_.state());
  meta["config"] = config_.to_json();
  // The history first, then the checkpoint: a crash between the writes leaves a row the checkpoint
  // does not hold yet (resuming drops it and trains that epoch again), never a finished epoch
  // without its row.
  write_history(run_dir_, history_);
  write_safetensors(run_dir_ + "/checkpoint.safetensors", tensors, meta);
  save_model(run_dir_ + "/model.safetensors", saved_model(), info_);
}

void Trainer::restore_checkpoint() {
  const std::string path = run_dir_ + "/checkpoint.safetensors";
  const SafetensorsFile file = read_safetensors(path);
  LoadedModel saved = model_from(file, path);
  if (saved.model->spec != model_->spec)
    throw Error(path + ": the checkpoint's network differs from config.json's", "the run folder was edited by hand");
  std::vector<Param*> ours = model_->params(), theirs = saved.model->params();
  for (size_t i = 0; i < ours.size(); ++i) ours[i]->value.copy_from(theirs[i]->value);
  const std::vector<std::string> slots = optimizer_->slot_names();
  const std::vector<std::string> keys = trainable_keys(*model_);
  for (size_t i = 0; i < keys.size(); ++i)
    for (size_t s = 0; s < slots.size(); ++s) {
      const std::string name = "optim/" + keys[i] + "/" + slots[s];
      auto it = file.tensors.find(name);
      if (it == file.tensors.end())
        throw Error(path + ": optimizer state " + name + " is missing",
                    "the optimizer in config.json differs from the one the checkpoint was written with");
      DLT_CHECK(it->second.shape() == optimizer_->slot(i, s).shape(), path + ": " + name + " has the wrong shape");
      optimizer_->slot(i, s).copy_from(it->second);
    }
  epochs_done_ = int64_t(meta_number(file, "epoch", path));
  global_step_ = int64_t(meta_number(file, "global_step", path));
  optimizer_->set_steps(int64_t(meta_number(file, "optimizer_steps", path)));
  rng_.set_state(meta_number(file, "rng_state", path));
  history_ = read_history(run_dir_);
  std::erase_if(history_, [&](const EpochStats& e) { return e.epoch > epochs_done_; });
}

}  // namespace dltrain
