// Trainer: the epoch loop (forward, fused loss, backward, update), validation and the per-epoch
// writes of the run folder.
#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <thread>

#include "dltrain/models.hpp"
#include "dltrain/path.hpp"
#include "dltrain/train.hpp"

namespace fs = std::filesystem;

namespace dltrain {
namespace {
constexpr uint64_t shuffle_stream = 0x5348554646ULL;  // keeps the shuffle stream apart from init

// A run folder opened to continue its run: the checkpoint is there, the lock is taken (by rank 0)
// before any data is loaded, so a second training fails at once, and the run continues on as many
// ranks as it started with (the steps' rows depend on it).
struct OpenedRun {
  std::unique_ptr<RunLock> lock;
  TrainConfig config;
};
OpenedRun open_run(const std::string& run_dir) {
  if (!path_exists(run_dir + "/checkpoint.safetensors"))
    throw Error(run_dir + " has no checkpoint.safetensors to resume from",
                "a run folder gets its checkpoint when its first epoch finishes");
  OpenedRun r{communicator().rank() == 0 ? std::make_unique<RunLock>(run_dir) : nullptr,
              TrainConfig::read(run_dir + "/config.json")};
  const int n = communicator().size();
  if (r.config.ranks != n)
    throw Error(run_dir + " trained on " + std::to_string(r.config.ranks) + " process" +
                    (r.config.ranks == 1 ? "" : "es") + ", this resume runs on " + std::to_string(n),
                r.config.ranks == 1 ? "resume it without mpirun" : "resume it with mpirun -np " + std::to_string(r.config.ranks));
  return r;
}

// This rank's rows of each step: the step's rows (ranks x rows_per_rank, fewer in the last one)
// split over the ranks in rank order, and each step's row count on all ranks together (what the
// loss gradient is averaged over). A last step with fewer rows than ranks is left out.
struct RankShare {
  std::vector<int64_t> order, step_rows;
};
RankShare rank_share(const std::vector<int64_t>& order, int64_t rows_per_rank, int rank, int ranks) {
  RankShare s;
  const auto n = int64_t(order.size()), step = rows_per_rank * ranks;
  for (int64_t lo = 0; lo < n; lo += step) {
    const int64_t len = std::min(step, n - lo);
    if (len < ranks) break;
    s.order.insert(s.order.end(), order.begin() + lo + len * rank / ranks, order.begin() + lo + len * (rank + 1) / ranks);
    s.step_rows.push_back(len);
  }
  return s;
}

// Where a setting came from, for its errors: "--optim", or "run/config.json: 'optim'".
std::string setting(const TrainConfig& c, const std::string& key) {
  return c.source.empty() ? "--" + key : c.source + ": '" + key + "'";
}
}

Trainer::Trainer(TrainConfig config, DatasetSplits data, std::string run_dir, std::unique_ptr<TransferData> transfer,
                 std::unique_ptr<RunLock> lock)
    : config_(std::move(config)), data_(std::move(data)), run_dir_(std::move(run_dir)), lock_(std::move(lock)),
      transfer_(std::move(transfer)), schedule_(naming(setting(config_, "schedule"), [&] { return Schedule(config_.schedule); })), rng_(config_.seed ^ shuffle_stream),
      comm_(communicator()) {
  ops::cpu_kernel_level();  // a bad DLTRAIN_CPU_ISA is refused before the run folder is touched
  DLT_CHECK(config_.epochs >= 1, "epochs must be at least 1");
  DLT_CHECK(config_.batch >= 1, "batch size must be at least 1");
  DLT_CHECK(config_.grad_accum >= 1 && config_.grad_accum <= max_grad_accum,
            "--grad-accum must be from 1 to " + std::to_string(max_grad_accum));
  DLT_CHECK(config_.batch <= (int64_t(1) << 40) / config_.grad_accum, "--batch times --grad-accum is too large");
  DLT_CHECK(config_.train_limit >= 0, "the training-sample limit cannot be negative");
  // Several ranks on one machine share its cores unless told otherwise.
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  set_num_threads(config_.threads == 0 && comm_.local_size() > 1 ? std::max(1, cores / comm_.local_size()) : config_.threads);
  if (transfer_) data_ = std::move(transfer_->features), views_ = transfer_->views;
  DLT_CHECK(config_.train_limit == 0 || views_ == 1, "--limit and --augment cannot be combined");
  if (config_.train_limit > 0) data_.train = data_.train.head(config_.train_limit);
  if (data_.train.size() == 0)
    throw Error(config_.data + ": the training split has no images", "check the dataset folder (or --limit)");
  const std::vector<std::string>& labels = data_.train.class_names;
  const auto classes = int64_t(labels.size());
  info_.dataset = data_.name;
  info_.labels = labels;
  if (transfer_) {
    // What trains: the unfrozen blocks and the head, on the cached features. What is saved: the
    // whole network, whose first frozen_nodes layers never change.
    const std::string head = transfer_head(config_.head) + " dense:" + std::to_string(classes) + ",softmax";
    const std::string top = transfer_->trainable.empty() ? head : transfer_->trainable + " " + head;
    DLT_CHECK(classes >= 2, "a classifier needs at least 2 classes, the data has " + std::to_string(classes));
    model_ = naming(setting(config_, "head"), [&] { return parse_model(top, data_.train.sample_shape()); });
    full_ = parse_model(transfer_->imported.backbone + " " + head, transfer_->imported.input_shape);
    copy_weights(*transfer_->imported.model, 0, *full_, 0, transfer_->imported.backbone_nodes);
    model_->title = full_->title = info_.title = config_.model;
    info_.dataset = config_.data;  // the images' path: `dltrain eval` finds them again
    info_.preprocessing = transfer_->preprocessing;
  } else {
    model_ = naming(setting(config_, "model"), [&] { return build_model(config_.model, data_.train.sample_shape(), classes); });
    // Refused here, not after an epoch: predict, eval and resume could not use such a model.
    const Shape out = model_->output_shape();
    if (out.rank() != 1 || out[0] != classes)
      throw Error("the model '" + config_.model + "' ends in " + out.str() + " outputs, but " + config_.data + " has " +
                      std::to_string(classes) + " classes",
                  "end the network with dense:" + std::to_string(classes) +
                      ",softmax (or dense:{classes},softmax, which takes the data's count)");
    info_.title = model_->title;
    info_.preprocessing = Preprocessing{1.0f / 255.0f, 0.0f};
  }
  optimizer_ = naming(setting(config_, "optim"), [&] { return make_optimizer(config_.optim, model_->trainable_params()); });
  // The gradients live in one buffer from here on, with spare floats after them that several ranks
  // all-reduce with the gradients (see accumulated_step).
  model_->flat_gradients(1 + comm_.size());
  // Locked after every check above (a refused run leaves no folder) and before the run folder is
  // read or written.
  if (!lock_ && lead()) lock_ = std::make_unique<RunLock>(run_dir_);
}

void Trainer::use_device(Device device) {
  if (device == model_->device()) return;
  DLT_CHECK(!device.is_cuda() || comm_.size() == 1, "data-parallel training on GPUs needs NCCL (not used yet)",
            "under mpirun, train on the CPUs (--device cpu)");
  model_->to(device);
  optimizer_->to(device);
  grad_sum_.clear();
  dlogits_ = Tensor();
  model_->flat_gradients(1 + comm_.size());
}

Trainer::Trainer(TrainConfig config, DatasetSplits data, std::string run_dir)
    : Trainer(std::move(config), std::move(data), std::move(run_dir), nullptr) {
  start_new_run();
}

Trainer::Trainer(TrainConfig config, TransferData data, std::string run_dir)
    : Trainer(std::move(config), DatasetSplits{}, std::move(run_dir), std::make_unique<TransferData>(std::move(data))) {
  start_new_run();
}

void Trainer::start_new_run() {
  if (path_exists(run_dir_ + "/checkpoint.safetensors"))
    throw Error(run_dir_ + " already holds a run", "continue it with `dltrain train --resume " + run_dir_ +
                                                       "` or choose another --run-dir");
  model_->init_params(config_.seed);
  if (transfer_) {  // the unfrozen blocks start from the backbone's weights
    const size_t n = transfer_->imported.backbone_nodes - transfer_->frozen_nodes;
    copy_weights(*transfer_->imported.model, transfer_->frozen_nodes, *model_, 0, n);
  }
  config_.ranks = comm_.size();
  if (lead()) write_file_atomic(run_dir_ + "/config.json", config_.to_json() + "\n");
}

Model& Trainer::saved_model() {
  if (!full_) return *model_;
  copy_weights(*model_, 0, *full_, transfer_->frozen_nodes, model_->size());
  return *full_;
}

Trainer::~Trainer() = default;

std::unique_ptr<Trainer> Trainer::resume(const std::string& run_dir, int64_t epochs, const FeatureProgress& progress,
                                         int64_t tensorboard) {
  auto [lock, config] = open_run(run_dir);
  if (config.data == array_data_name)
    throw Error(run_dir + " trained on NumPy arrays, which only the program that has them can pass again",
                "continue it from Python: model.fit(x, y, epochs=N, run_dir=\"" + run_dir + "\", resume=True)");
  if (epochs > 0) config.epochs = epochs;
  if (tensorboard >= 0) config.tensorboard = tensorboard;
  std::unique_ptr<Trainer> t;
  if (config.backbone.empty()) {
    t.reset(new Trainer(config, load_dataset(config.data), run_dir, nullptr, std::move(lock)));
  } else {
    const ImageSplits images = load_image_dataset(config.data, config.val_split, config.seed);
    t.reset(new Trainer(config, DatasetSplits{}, run_dir,
                        std::make_unique<TransferData>(prepare_transfer(config, images, progress)), std::move(lock)));
  }
  t->restore_checkpoint();
  if (t->lead()) write_file_atomic(run_dir + "/config.json", config.to_json() + "\n");
  return t;
}

std::unique_ptr<Trainer> Trainer::resume(const std::string& run_dir, DatasetSplits data, int64_t epochs) {
  auto [lock, config] = open_run(run_dir);
  if (config.data != array_data_name || !config.backbone.empty())
    throw Error(run_dir + " trained on " + config.data + ", not on arrays", "resume it with `dltrain train --resume " + run_dir + "`");
  if (epochs > 0) config.epochs = epochs;
  std::unique_ptr<Trainer> t(new Trainer(config, std::move(data), run_dir, nullptr, std::move(lock)));
  t->restore_checkpoint();
  if (t->lead()) write_file_atomic(run_dir + "/config.json", config.to_json() + "\n");
  return t;
}

void complete_new_run(TrainConfig& config, bool model_given, bool optim_given) {
  const auto is_transfer = [](const std::string& m) { return m == "mobilenet_v2-transfer" || m == "transfer"; };
  if (config.data != array_data_name && path_exists(config.data))
    config.data = fs::absolute(config.data).lexically_normal().string();
  if (!config.backbone.empty()) {
    config.backbone = fs::absolute(config.backbone).lexically_normal().string();
    if (!model_given) config.model = "mobilenet_v2-transfer";
    if (!optim_given) config.optim = "adam:lr=0.001";  // the usual choice for a head on features
    if (!is_transfer(config.model))
      throw Error("--backbone trains a head on a pretrained model: use --model mobilenet_v2-transfer (not '" +
                  config.model + "')");
  } else if (is_transfer(config.model)) {
    throw Error("--model " + config.model + " needs --backbone FILE.tflite",
                "e.g. --backbone mobilenet_v2_1.0_224_quant.tflite --data ./photos");
  }
}

std::unique_ptr<Trainer> start_training(const TrainConfig& config, const std::string& run_dir,
                                        const FeatureProgress& progress) {
  if (config.backbone.empty()) return std::make_unique<Trainer>(config, load_dataset(config.data), run_dir);
  const ImageSplits images = load_image_dataset(config.data, config.val_split, config.seed);
  return std::make_unique<Trainer>(config, prepare_transfer(config, images, progress), run_dir);
}

bool Trainer::fit(const TrainCallbacks& cb) {
  while (epochs_done_ < config_.epochs) {
    bool stopped = false;
    EpochStats e = run_epoch(cb, stopped);
    if (stopped) return false;
    ++epochs_done_;
    history_.push_back(e);
    save_epoch();
    cb.epoch_end(e);
  }
  return true;
}

EpochStats Trainer::run_epoch(const TrainCallbacks& cb, bool& stopped) {
  const auto t0 = std::chrono::steady_clock::now();
  const Dataset& train = data_.train;
  std::vector<int64_t> order = shuffled_order(train.size() / views_, rng_);
  if (views_ > 1)  // each image through one of its views, drawn per (seed, epoch, image)
    for (int64_t& i : order)
      i += int64_t(hash_uniform(config_.seed ^ uint64_t(epochs_done_ + 1) << 32, uint64_t(i)) * double(views_)) *
           (train.size() / views_);
  // A step's batch on this rank: --grad-accum micro-batches of --batch rows each.
  const int64_t rows_per_rank = config_.batch * config_.grad_accum;
  RankShare share = rank_share(order, rows_per_rank, comm_.rank(), comm_.size());
  if (share.order.empty())
    throw Error(config_.data + ": " + std::to_string(order.size()) + " training images cannot be shared by " +
                std::to_string(comm_.size()) + " processes", "use fewer processes");
  const bool together = comm_.size() > 1 || config_.grad_accum > 1;
  BatchLoader loader(train, rows_per_rank, std::move(share.order), info_.preprocessing.scale, info_.preprocessing.offset);
  EpochStats e;
  e.epoch = epochs_done_ + 1;
  e.steps = loader.steps();
  cb.epoch_begin(e.epoch, config_.epochs, e.steps);
  double loss_sum = 0;
  int64_t correct = 0, seen = 0, step = 0;
  comm_seconds_ = exchange_seconds_ = last_comm_ = 0;
  float lr = 0;
  while (const Batch* b = loader.next()) {
    ++step;
    lr = schedule_.lr(optimizer_->base_lr(), global_step_, e.steps, config_.epochs);
    // Several ranks stop together: each one's wish travels with the gradients.
    const bool want_stop = comm_.size() > 1 && cb.stop_requested();
    bool stop = false;
    const LossStats st = together ? accumulated_step(*b, lr, share.step_rows[size_t(step - 1)], want_stop, stop)
                                  : train_step(*b, lr);
    if (!std::isfinite(st.loss_sum))
      throw Error("training diverged: the loss is " + std::to_string(st.loss_sum) + " at epoch " +
                      std::to_string(e.epoch) + ", step " + std::to_string(step),
                  "lower the learning rate (e.g. --optim sgd:lr=0.001); the last finished epoch is saved in " +
                      run_dir_ + "/checkpoint.safetensors");
    ++global_step_;
    loss_sum += st.loss_sum;
    correct += st.correct;
    seen += int64_t(b->labels.size());
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    cb.step(StepStats{e.epoch, config_.epochs, step, e.steps, loss_sum / double(seen), double(correct) / double(seen), secs, lr});
    if (comm_.size() > 1 ? stop : cb.stop_requested()) {
      stopped = true;
      return e;
    }
  }
  double totals[3] = {loss_sum, double(correct), double(seen)};  // over all ranks
  comm_.allreduce_sum(totals, 3);
  e.loss = totals[0] / totals[2];
  e.accuracy = totals[1] / totals[2];
  e.lr = lr;
  e.comm_seconds = comm_seconds_;
  if (comm_.size() > 1) {  // the last step's exchange: no later all-reduce carried it
    double least = last_comm_;
    for (const uint64_t bits : comm_.allgather(std::bit_cast<uint64_t>(last_comm_)))
      least = std::min(least, std::bit_cast<double>(bits));
    e.exchange_seconds = exchange_seconds_ + least;
  }
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (config_.validate && data_.test.size() > 0) {
    const EvalResult v = evaluate(*model_, data_.test, info_.preprocessing);
    e.validated = true;
    e.val_loss = v.loss;
    e.val_accuracy = v.accuracy;
    e.val_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() - e.seconds;
  }
  return e;
}

LossStats Trainer::train_step(const Batch& b, float lr) {
  const Context ctx{Mode::train, config_.seed, uint64_t(global_step_)};
  const Tensor& logits = model_->forward(b.x.on(model_->device(), x_on_device_), ctx, Output::logits);
  dlogits_.ensure_on(logits.device(), logits.shape());
  const LossStats st = ops::softmax_cross_entropy(logits, b.labels, &dlogits_);
  if (!std::isfinite(st.loss_sum)) return st;  // diverged: no update
  // Each layer's parameters are updated as soon as its backward is done, while their values and
  // gradients are still in cache (a whole-model update afterwards read them all back from memory).
  optimizer_->begin_step();
  model_->backward(dlogits_, [&](const std::vector<Param*>& ready) { optimizer_->update_ready(ready, lr); });
  optimizer_->finish_step(lr);
  return st;
}

LossStats Trainer::accumulated_step(const Batch& b, float lr, int64_t step_rows, bool want_stop, bool& stop) {
  // Micro-batches of config.batch rows, each one's loss gradient divided by the whole step's row
  // count (on all ranks), so that the summed gradients are the step's mean; then one update.
  // Dropout draws per micro-batch and rank (key (global_step * K + k) * ranks + rank).
  const int64_t n = int64_t(b.labels.size()), per_row = b.x.numel() / n;
  DLT_CHECK(n >= 1 && step_rows >= n, "a step's rows on all ranks cannot be fewer than this rank's");
  const std::vector<Param*> params = model_->trainable_params();
  if (grad_sum_.size() != params.size()) {
    grad_sum_.clear();
    for (const Param* p : params) grad_sum_.emplace_back(p->grad.shape(), DType::f32, p->grad.device());
  }
  const Tensor& all = b.x.on(model_->device(), x_on_device_);
  const auto keep = std::make_shared<int>(0);  // the rows are all's, which outlives each micro-batch
  LossStats total;
  int64_t k = 0;
  for (int64_t r0 = 0; r0 < n; r0 += config_.batch, ++k) {
    const int64_t m = std::min(config_.batch, n - r0);
    const Tensor x = Tensor::borrow(all.shape().without_batch().with_batch(m), DType::f32,
                                    const_cast<float*>(all.f32()) + r0 * per_row, keep, all.device());
    const Context ctx{Mode::train, config_.seed,
                      uint64_t((global_step_ * config_.grad_accum + k) * comm_.size() + comm_.rank())};
    const Tensor& logits = model_->forward(x, ctx, Output::logits);
    dlogits_.ensure_on(logits.device(), logits.shape());
    const LossStats st = ops::softmax_cross_entropy(
        logits, std::span<const int32_t>(b.labels).subspan(size_t(r0), size_t(m)), &dlogits_, step_rows);
    total.loss_sum += st.loss_sum;
    total.correct += st.correct;
    if (!std::isfinite(st.loss_sum)) return total;
    model_->backward(dlogits_);
    const bool first = k == 0, last = r0 + m >= n;
    for (size_t i = 0; i < params.size(); ++i) {
      if (last) {
        if (!first) ops::accumulate(grad_sum_[i], params[i]->grad);
      } else if (first) {
        grad_sum_[i].copy_from(params[i]->grad);
      } else {
        ops::accumulate(params[i]->grad, grad_sum_[i]);
      }
    }
  }
  if (comm_.size() > 1) {
    // One all-reduce of the flat gradient buffer. Its spare floats carry the stop flag (summed:
    // any rank's wish) and, in rank r's slot, how long rank r's previous all-reduce took, so that
    // every rank learns the least of them (the exchange without waiting; 0 before the first).
    const int ranks = comm_.size();
    const std::span<float> flat = model_->flat_gradients(1 + ranks);
    float* spare = flat.data() + flat.size() - size_t(1 + ranks);
    spare[0] = want_stop ? 1.0f : 0.0f;
    for (int r = 0; r < ranks; ++r) spare[1 + r] = r == comm_.rank() ? float(last_comm_) : 0.0f;
    const auto t0 = std::chrono::steady_clock::now();
    comm_.allreduce_sum(flat.data(), int64_t(flat.size()));
    last_comm_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    comm_seconds_ += last_comm_;
    exchange_seconds_ += double(*std::min_element(spare + 1, spare + 1 + ranks));
    stop = spare[0] > 0;
  }
  optimizer_->step(lr);
  return total;
}

std::string new_run_dir(const std::string& root, const TrainConfig& config) {
  std::string model = config.model.find(' ') == std::string::npos ? config.model : "custom";
  std::string data = fs::path(config.data).filename().string();
  if (data.empty()) data = fs::path(config.data).parent_path().filename().string();
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  const std::string base = root + "/" + model + "-" + data + "-" + stamp;
  std::string dir = base;
  for (int i = 2; path_exists(dir); ++i) dir = base + "-" + std::to_string(i);
  return communicator().broadcast(dir);  // the ranks' clocks may straddle a second
}

}  // namespace dltrain
