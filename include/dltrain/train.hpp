// train: the Trainer (epochs, metrics, run folder, checkpoints, exact resume), evaluation and
// prediction. It reports progress through callbacks and never prints.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dltrain/comm.hpp"
#include "dltrain/data.hpp"
#include "dltrain/io.hpp"
#include "dltrain/models.hpp"
#include "dltrain/optim.hpp"

namespace dltrain {

// --device: "auto" (a GPU when this dltrain has the CUDA backend, auto_picks_gpu() and
// doctor's smoke test passes on GPU 0; else the CPU), "cpu", "cuda" or "cuda:N". A named GPU that
// cannot be used (no CUDA build, no driver, no such GPU) is an Error with doctor's hint.
Device resolve_device(std::string_view request);
// Whether --device auto may choose a GPU for the Trainer, evaluate and predict. They run on one
// when asked (--device cuda); auto waits until the GPU path has passed tools/gpu-check.sh.
bool auto_picks_gpu();

// --grad-accum: at most this many micro-batches per step.
constexpr int64_t max_grad_accum = 4096;

struct TrainConfig {
  std::string model = "cnn";                       // preset name or text format
  std::string data = "fashion-mnist";              // catalog name or IDX folder
  int64_t epochs = 5;
  int64_t batch = 32;
  int64_t grad_accum = 1;                          // micro-batches of `batch` per optimizer step
  int64_t ranks = 1;                               // processes training together (mpirun -np N)
  std::string optim = "sgd:lr=0.01,momentum=0.9";
  std::string schedule = "constant";
  uint64_t seed = 1;
  int threads = 0;                                 // 0: all cores
  bool validate = true;                            // evaluate on the test split after each epoch
  int64_t train_limit = 0;                         // use only the first N training samples (0: all)
  // Transfer learning (when `backbone` names a .tflite file; `data` is then an image dataset).
  std::string backbone;
  std::string head = "dense:128,relu,he_uniform dropout:0.2";  // layers between features and softmax
  int64_t unfreeze = 0;                            // top backbone blocks trained with the head
  double val_split = 0.2;                          // held out per class when the data has no test split
  bool feature_cache = true;                       // keep computed features in <cache>/features
  int64_t augment = 0;                             // extra random crop/flip views per training image
  std::string resize = "";                         // "bilinear" or "crop"; empty: the backbone's default
  int64_t tensorboard = 0;                         // TensorBoard events in the run folder: 0 none; N: per
                                                   // epoch and every N steps (the front end adds them)
  // Not saved: where these settings come from, for errors ("" = the command line, else config.json).
  std::string source;
  std::string to_json() const;
  static TrainConfig from_json(const std::string& json);
  static TrainConfig read(const std::string& path);  // from_json of a file; every error names it
};

struct EpochStats {
  int64_t epoch = 0;  // 1-based
  int64_t steps = 0;
  double loss = 0, accuracy = 0;
  bool validated = false;
  double val_loss = 0, val_accuracy = 0;
  double lr = 0;
  double seconds = 0;      // training steps only
  double val_seconds = 0;  // the evaluation after the epoch
  double comm_seconds = 0; // of `seconds`, spent in the gradient all-reduce (several ranks)
  // Of that, the exchange itself: at each step the least any rank spent in the all-reduce (the
  // rank that arrives last waits for no one); the rest is waiting for slower ranks.
  double exchange_seconds = 0;
};

struct StepStats {
  int64_t epoch = 0, epochs = 0;
  int64_t step = 0, steps = 0;       // step is 1-based within the epoch
  double loss = 0, accuracy = 0;     // running means over the epoch so far
  double seconds = 0;                // since the epoch began
  double lr = 0;                     // the learning rate of this step
};

// How the caller follows (and may stop) training.
struct TrainCallbacks {
  std::function<void(int64_t epoch, int64_t epochs, int64_t steps)> epoch_begin = [](int64_t, int64_t, int64_t) {};
  std::function<void(const StepStats&)> step = [](const StepStats&) {};
  std::function<void(const EpochStats&)> epoch_end = [](const EpochStats&) {};
  std::function<bool()> stop_requested = [] { return false; };
};

// One evaluated sample: its class, the predicted class and their probabilities.
struct SampleOutcome {
  int32_t label = 0, predicted = 0;
  float p_predicted = 0, p_label = 0;
};

struct EvalResult {
  double loss = 0, accuracy = 0;
  int64_t samples = 0;
  std::vector<std::vector<int64_t>> confusion;  // [true class][predicted class]
  std::vector<SampleOutcome> outcomes;          // one per sample, in the data's order
};

// Loss, accuracy and confusion matrix of a model over a dataset (inference mode).
EvalResult evaluate(Model& model, const Dataset& data, const Preprocessing& pre, int64_t batch = 500);
// The same over image files (decoded and resized as `pre` says); labels must be the model's class ids.
EvalResult evaluate_images(Model& model, const ImageList& images, const Preprocessing& pre, int64_t batch = 32);
// What `dltrain eval` and reports measure: a model on a dataset's test split (`data`, or the one the
// model was trained on when empty). An image dataset without a test split is evaluated whole; its
// classes are matched to the model's by name.
struct TestEvaluation {
  EvalResult result;
  std::string data;      // the dataset's name or folder
  bool whole = false;    // an image dataset without a test split: all of its images
  Dataset test;          // IDX datasets: the images evaluated
  ImageList files;       // image datasets: the files evaluated (labels are the model's class ids)
};
TestEvaluation evaluate_test_split(LoadedModel& m, const std::string& data = "", int64_t batch = 500);
// The model file a user means: a file as given; a folder (a run folder, or one `fetch` filled)
// holding model.safetensors; or the name of a fetched folder in the cache (`dltrain fetch
// s3://bucket/runs/x/ --name x`, then `x`). Throws naming what was looked for.
std::string find_model(const std::string& file_folder_or_name);

// Class probabilities for one uint8 image (1,H,W,C).
std::vector<float> predict(Model& model, const Tensor& image_u8, const Preprocessing& pre);
// Class probabilities (N, classes) for images (N,H,W,C), `batch` at a time: uint8 pixels are
// preprocessed as `pre` says, float32 values are the model's input as they are.
Tensor predict_batch(Model& model, const Tensor& images, const Preprocessing& pre, int64_t batch = 500);

// Transfer learning (train/transfer.cpp). The backbone's frozen layers run once per image; their
// outputs become the float32 samples the trainable layers (unfrozen blocks + head) train on.
using FeatureProgress = std::function<void(int64_t done, int64_t total)>;
struct TransferData {
  ImportedModel imported;
  std::string frozen, trainable;  // the backbone's text, split at the top `unfreeze` blocks
  size_t frozen_nodes = 0;
  Preprocessing preprocessing;
  // features.train holds `views` copies of the training set one after another: the images as
  // they are, then config.augment randomly cropped and flipped versions of each.
  DatasetSplits features;
  int64_t views = 1;
};
// Imports config.backbone and computes (or reads from the feature cache) every image's features.
TransferData prepare_transfer(const TrainConfig& config, const ImageSplits& images, const FeatureProgress& progress);
// The frozen model's output for each image, decoded and preprocessed as the model wants. With
// augment_key != 0 each image is first randomly cropped (80-100% of each side) and flipped
// (half the time), drawn from (augment_key, image index).
Tensor compute_features(Model& frozen, const Preprocessing& pre, const ImageList& images, int64_t batch,
                        const FeatureProgress& progress, uint64_t augment_key = 0);
// --head text: "dense:128,relu,dropout:0.2" -> "dense:128,relu dropout:0.2".
std::string transfer_head(const std::string& head);

// An exclusive lock on a run folder while a training uses it: flock on <run_dir>/.lock, which
// holds the holder's pid. The kernel releases it when the process ends, however it ends. Creates
// the folder; throws at once, naming the pid, when another process holds it.
class RunLock {
 public:
  explicit RunLock(const std::string& run_dir);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

// A training run bound to its folder. Under mpirun the ranks train one model data-parallel: each
// step's rows are split over the ranks in rank order, gradients are all-reduced (communicator())
// before the update so every rank holds the same weights (checked after every epoch), and only
// rank 0 locks and writes the folder. Each finished epoch atomically rewrites
// model.safetensors, checkpoint.safetensors (weights, optimizer state, epoch, RNG) and
// history.csv/.jsonl; resuming from the checkpoint reproduces an uninterrupted run bit for bit
// (same seed and thread count). The folder is locked (RunLock) while the Trainer exists. The model's
// outputs must match the data's classes, and the training split must not be empty.
class Trainer {
 public:
  // Starts a new run in `run_dir` (created; must not hold a run already).
  Trainer(TrainConfig config, DatasetSplits data, std::string run_dir);
  // A transfer-learning run: trains the unfrozen layers and the head on `data.features`; the
  // saved model is the whole network (backbone, head, labels, preprocessing) in one file.
  Trainer(TrainConfig config, TransferData data, std::string run_dir);
  // Continues the run in `run_dir`; `epochs` > 0 changes the total number of epochs, `tensorboard`
  // >= 0 the TensorBoard setting (saved in config.json, so later resumes keep it).
  static std::unique_ptr<Trainer> resume(const std::string& run_dir, int64_t epochs = 0,
                                         const FeatureProgress& progress = [](int64_t, int64_t) {},
                                         int64_t tensorboard = -1);
  // The same for a run that trained on data given in memory (named array_data_name): the caller
  // passes that data again.
  static std::unique_ptr<Trainer> resume(const std::string& run_dir, DatasetSplits data, int64_t epochs);
  ~Trainer();

  // Moves the training to `device` (the model, the optimizer state and the gradient buffer; each
  // batch is copied there as it trains), before fit. Not saved in the run: a run may resume on
  // another device. Several ranks on GPUs are refused (their all-reduce needs NCCL, not built).
  void use_device(Device device);
  Device device() const { return model_->device(); }

  // Trains until config.epochs are done. Returns false when stopped by the callbacks (the last
  // finished epoch's checkpoint stays on disk), true when complete.
  bool fit(const TrainCallbacks& cb = {});

  const TrainConfig& config() const { return config_; }
  const std::string& run_dir() const { return run_dir_; }
  int64_t epochs_done() const { return epochs_done_; }
  Model& model() { return *model_; }
  const ModelInfo& info() const { return info_; }
  const std::vector<EpochStats>& history() const { return history_; }
  const DatasetSplits& data() const { return data_; }
  int64_t train_images() const { return data_.train.size() / views_; }

 private:
  Trainer(TrainConfig config, DatasetSplits data, std::string run_dir, std::unique_ptr<TransferData> transfer,
          std::unique_ptr<RunLock> lock = nullptr);
  void start_new_run();
  Model& saved_model();
  EpochStats run_epoch(const TrainCallbacks& cb, bool& stopped);
  bool lead() const { return comm_.rank() == 0; }       // the rank that writes the run folder
  LossStats train_step(const Batch& b, float lr);        // one batch, one update
  // --grad-accum micro-batches and/or several ranks: gradients summed over both, one update.
  // `step_rows`: the step's rows on all ranks. `stop` becomes whether any rank wanted to stop.
  LossStats accumulated_step(const Batch& b, float lr, int64_t step_rows, bool want_stop, bool& stop);
  void save_epoch();
  void restore_checkpoint();

  TrainConfig config_;
  DatasetSplits data_;
  std::string run_dir_;
  std::unique_ptr<RunLock> lock_;
  std::unique_ptr<Model> model_;       // what trains
  std::unique_ptr<TransferData> transfer_;
  std::unique_ptr<Model> full_;        // transfer learning: backbone + head, what model.safetensors holds
  int64_t views_ = 1;                  // training-set copies in data_.train (augmented views)
  std::unique_ptr<Optimizer> optimizer_;
  Schedule schedule_;
  ModelInfo info_;
  Rng rng_;
  int64_t epochs_done_ = 0;
  int64_t global_step_ = 0;
  std::vector<EpochStats> history_;
  Tensor dlogits_;
  Tensor x_on_device_;                 // the batch, copied to the model's device when that is a GPU
  std::vector<Tensor> grad_sum_;       // --grad-accum: the earlier micro-batches' gradients
  Communicator& comm_;
  double comm_seconds_ = 0;            // in the all-reduce, this epoch
  double exchange_seconds_ = 0;        // the least over ranks, step by step (EpochStats)
  double last_comm_ = 0;               // this rank's previous all-reduce, sent with the next one
};

// The dataset name of runs whose data was given in memory (NumPy arrays from Python): such a run
// resumes only with its data passed again (Trainer::resume(run_dir, data, epochs)).
inline constexpr const char* array_data_name = "arrays";

// A new run's settings as both front ends complete them: the data and backbone paths made absolute
// (so a resume works from any folder); with a backbone, the transfer model and adam:lr=0.001 unless
// given. A transfer model without a backbone, or a backbone under another model, is refused.
void complete_new_run(TrainConfig& config, bool model_given, bool optim_given);
// Starts the run `config` describes in `run_dir`, loading its data: a catalog name or IDX/CIFAR
// folder, or with a backbone an image dataset whose features are computed (or read from the cache).
std::unique_ptr<Trainer> start_training(const TrainConfig& config, const std::string& run_dir,
                                        const FeatureProgress& progress = [](int64_t, int64_t) {});

// runs/<model>-<data>-<YYYYmmdd-HHMMSS>[-N]: a fresh run folder name under `root` (rank 0's, on
// every rank of a data-parallel run).
std::string new_run_dir(const std::string& root, const TrainConfig& config);

// history.csv and history.jsonl from epoch stats (written atomically), and reading them back.
void write_history(const std::string& run_dir, const std::vector<EpochStats>& history);
std::vector<EpochStats> read_history(const std::string& run_dir);

}  // namespace dltrain
