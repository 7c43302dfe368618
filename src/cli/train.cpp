// `dltrain train`: start a run (preset or custom network, dataset, optimizer, schedule) or resume
// one; shows progress, stops cleanly on Ctrl-C (the last finished epoch stays resumable).
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "dltrain/comm.hpp"
#include "dltrain/io.hpp"
#include "dltrain/models.hpp"
#include "dltrain/report.hpp"
#include "dltrain/train.hpp"
#include "dltrain/path.hpp"
#include "progress.hpp"

namespace dltrain::cli {
namespace {

std::atomic<bool> stop_flag{false};
extern "C" void on_sigint(int) {
  stop_flag = true;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the program at once
}

struct TrainArgs {
  TrainConfig config;
  std::string resume, run_dir, runs_root = "runs", device = "auto";
  bool quiet = false, report = true, tensorboard = false;
  int64_t tensorboard_every = 50;
};

// "features 320/2000" while the backbone runs over the images.
FeatureProgress feature_progress(bool terminal, bool quiet) {
  auto last = std::make_shared<int64_t>(-1);
  return [terminal, quiet, last](int64_t done, int64_t total) {
    if (quiet) return;
    const int64_t pct = total ? done * 100 / total : 100;
    if (terminal) std::printf("\r  features %lld/%lld", (long long)done, (long long)total);
    else if (pct / 25 != *last / 25 || done == total) std::printf("  features %lld/%lld\n", (long long)done, (long long)total);
    if (terminal && done == total) std::printf("\n");
    *last = pct;
    std::fflush(stdout);
  };
}

void run(const TrainArgs& args, const CLI::App& cmd) {
  ops::cpu_kernel_level();  // a DLTRAIN_CPU_ISA that cannot be followed is an error before any work
  // Under mpirun every rank trains; rank 0 alone prints and writes (the Trainer knows it too).
  const Communicator& comm = communicator();
  TrainArgs a = args;
  if (comm.rank() != 0) a.quiet = true, a.report = false;
  const Device device = resolve_device(a.device);  // an unusable GPU is an error before any work
  std::unique_ptr<Trainer> trainer;
  const bool terminal = ::isatty(STDOUT_FILENO);
  if (!a.resume.empty()) {
    // --tensorboard on a resume is saved too: the next resume keeps logging.
    trainer = Trainer::resume(a.resume, cmd.count("--epochs") ? a.config.epochs : 0, feature_progress(terminal, a.quiet),
                              a.tensorboard ? a.tensorboard_every : -1);
  } else {
    TrainConfig config = a.config;
    if (a.tensorboard) config.tensorboard = a.tensorboard_every;
    complete_new_run(config, cmd.count("--model") > 0, cmd.count("--optim") > 0);
    const std::string dir = a.run_dir.empty() ? new_run_dir(a.runs_root, config) : a.run_dir;
    if (!config.backbone.empty() && !a.quiet)
      std::printf("Backbone %s: computing the images' features (cached for later runs)\n",
                  std::filesystem::path(config.backbone).filename().c_str());
    trainer = start_training(config, dir, feature_progress(terminal, a.quiet));
    if (comm.rank() == 0) write_file_atomic(dir + "/command.txt", command_line + "\n");
  }
  trainer->use_device(device);
  const TrainConfig& c = trainer->config();
  if (!a.quiet) {
    std::printf("%s %s (%s parameters) on %s: %s training / %s test images\n",
                a.resume.empty() ? "Training" : "Resuming", trainer->info().title.c_str(),
                thousands(count_params(trainer->model(), true)).c_str(), trainer->data().name.c_str(),
                thousands(trainer->train_images()).c_str(), thousands(trainer->data().test.size()).c_str());
    const std::string batch = c.grad_accum == 1 ? std::to_string(c.batch)
                                                : std::to_string(c.batch * c.grad_accum) + " (" + std::to_string(c.grad_accum) +
                                                      " micro-batches of " + std::to_string(c.batch) + ")";
    std::printf("  %lld epochs (%lld done), batch %s, %s, schedule %s, seed %llu, %d threads\n  run folder: %s\n",
                (long long)c.epochs, (long long)trainer->epochs_done(), batch.c_str(), c.optim.c_str(),
                c.schedule.c_str(), (unsigned long long)c.seed, num_threads(), trainer->run_dir().c_str());
    if (device.is_cuda())
      std::printf("  on GPU %s (the CUDA kernels: tools/gpu-check.sh checks them against the CPU)\n",
                  device_name(device).c_str());
    if (comm.size() > 1)
      std::printf("  data-parallel on %d processes (%s), batch %lld per process\n", comm.size(),
                  comm.describe().c_str(), (long long)(c.batch * c.grad_accum));
    std::fflush(stdout);
  }
  Progress progress(terminal, a.quiet);
  TrainCallbacks cb;
  cb.epoch_begin = [&](int64_t e, int64_t n, int64_t steps) { progress.epoch_begin(e, n, steps); };
  cb.step = [&](const StepStats& s) { progress.step(s); };
  cb.epoch_end = [&](const EpochStats& e) { progress.epoch_end(e); };
  cb.stop_requested = [] { return stop_flag.load(); };
  // TensorBoard: as the run was started (config.json), or asked for now (also on --resume).
  const int64_t tb_every = a.tensorboard ? a.tensorboard_every : c.tensorboard;
  if (tb_every > 0 && comm.rank() == 0) cb = tensorboard_callbacks(trainer->run_dir(), cb, tb_every);
  stop_flag = false;
  std::signal(SIGINT, on_sigint);
  const bool done = trainer->fit(cb);
  std::signal(SIGINT, SIG_DFL);
  if (!done) {
    progress.interrupted();
    throw Interrupted{"Finished epochs: " + std::to_string(trainer->epochs_done()) + ". Continue with: dltrain train --resume " +
                      trainer->run_dir()};
  }
  if (!a.quiet) {
    const auto& h = trainer->history();
    if (comm.size() > 1 && !h.empty())
      std::printf("All-reduce of %s gradients: %.2f ms per step, %.1f%% of the last epoch's training time "
                  "(the exchange %.2f ms, %.1f%%; the rest is waiting for slower ranks).\n",
                  thousands(count_params(trainer->model(), true)).c_str(),
                  1e3 * h.back().comm_seconds / double(std::max<int64_t>(h.back().steps, 1)),
                  100 * h.back().comm_seconds / std::max(h.back().seconds, 1e-9),
                  1e3 * h.back().exchange_seconds / double(std::max<int64_t>(h.back().steps, 1)),
                  100 * h.back().exchange_seconds / std::max(h.back().seconds, 1e-9));
    if (!h.empty() && h.back().validated)
      std::printf("Test accuracy %.4f, loss %.4f after %lld epochs.\n", h.back().val_accuracy, h.back().val_loss,
                  (long long)h.back().epoch);
    std::printf("Model: %s/model.safetensors\n", trainer->run_dir().c_str());
  }
  if (a.report) {
    const std::string dir = trainer->run_dir();
    trainer.reset();  // the report evaluates the saved model; the training's memory goes first
    // The training itself succeeded and is saved: a report that cannot be written is a warning.
    try {
      const std::string page = write_report(dir);
      if (!a.quiet) std::printf("Report: %s\n", page.c_str());
    } catch (const Error& e) {
      std::fflush(stdout);
      std::fprintf(stderr, "dltrain: warning: no report written: %s\n", e.what());
      if (!e.hint().empty()) std::fprintf(stderr, "  hint: %s\n", e.hint().c_str());
      std::fprintf(stderr, "  the run is complete; `dltrain report %s` tries again\n", dir.c_str());
    } catch (const std::exception& e) {  // std::bad_alloc and the like: still only a warning
      std::fflush(stdout);
      std::fprintf(stderr, "dltrain: warning: no report written: %s\n", e.what());
      std::fprintf(stderr, "  the run is complete; `dltrain report %s` tries again\n", dir.c_str());
    }
  }
}

}  // namespace

void add_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Train a model (default: the `cnn` preset on Fashion-MNIST, 5 epochs)");
  std::string presets_help = "preset (";
  for (const Preset& p : presets()) presets_help += p.name + (&p == &presets().back() ? "" : ", ");
  presets_help += ") or a network in the text format (see `dltrain summary --help`)";
  auto* model = cmd->add_option("--model,-m", a->config.model, presets_help)->capture_default_str();
  auto* data = cmd->add_option("--data,-d", a->config.data,
                               "dataset name (" + catalog_names() + "), IDX or CIFAR folder, or with --backbone an image "
                               "dataset: a folder of class folders, a CSV of path,label[,split], or a Cloud "
                               "Annotations _annotations.json")
                   ->capture_default_str();
  auto* backbone = cmd->add_option("--backbone", a->config.backbone,
                                   "transfer learning: a pretrained TFLite classifier (e.g. mobilenet_v2_1.0_224_quant.tflite), "
                                   "frozen, with --head and a softmax trained on top")
                       ->check(CLI::ExistingFile);
  auto* head = cmd->add_option("--head", a->config.head, "layers between the backbone's features and the softmax")
                   ->capture_default_str();
  auto* unfreeze = cmd->add_option("--unfreeze", a->config.unfreeze, "also train the backbone's top N blocks")
                       ->capture_default_str()->check(CLI::NonNegativeNumber);
  auto* val_split = cmd->add_option("--val-split", a->config.val_split,
                                    "share of each class held out for validation when the data has no test split")
                        ->capture_default_str()->check(CLI::Range(0.0, 0.95));
  auto* augment = cmd->add_option("--augment", a->config.augment,
                                  "with --backbone: N randomly cropped and flipped copies of each training image "
                                  "(features computed once; each epoch uses one view per image)")
                      ->capture_default_str()->check(CLI::Range(0, 16));
  auto* resize = cmd->add_option("--resize", a->config.resize,
                                 "with --backbone: bilinear (stretch to the model's size) or crop (shorter side, then "
                                 "centre crop); default bilinear")
                     ->check(CLI::IsMember({"bilinear", "crop"}));
  auto* nocache = cmd->add_flag("--no-feature-cache", [a](int64_t) { a->config.feature_cache = false; },
                                "compute backbone features again instead of reading them from the cache");
  cmd->add_option("--epochs,-e", a->config.epochs, "total epochs")->capture_default_str()->check(CLI::PositiveNumber);
  auto* batch = cmd->add_option("--batch,-b", a->config.batch, "batch size (with --grad-accum: of each micro-batch)")
                    ->capture_default_str()->check(CLI::PositiveNumber);
  auto* accum = cmd->add_option("--grad-accum", a->config.grad_accum,
                                "micro-batches per step: their gradients are summed and averaged over the step's "
                                "images, as one batch of K x --batch (batch-norm statistics stay per micro-batch)")
                    ->capture_default_str()->check(CLI::Range(int64_t(1), max_grad_accum));
  auto* optim = cmd->add_option("--optim", a->config.optim, "optimizer: sgd|adam|adamw[:lr=,momentum=,nesterov=,weight_decay=,beta1=,beta2=,eps=] "
                                                            "(with --backbone: adam:lr=0.001)")
                    ->capture_default_str();
  auto* sched = cmd->add_option("--schedule", a->config.schedule, "learning rate: constant, step:every=E,gamma=G, cosine[:min=M]")
                    ->capture_default_str();
  auto* seed = cmd->add_option("--seed", a->config.seed, "seed for initialisation, shuffling and dropout")->capture_default_str();
  auto* threads = cmd->add_option("--threads,-j", a->config.threads, "threads (0: all cores)")->capture_default_str()
                      ->check(CLI::NonNegativeNumber);
  auto* limit = cmd->add_option("--limit", a->config.train_limit, "train on the first N training images only")
                    ->check(CLI::NonNegativeNumber);
  auto* noval = cmd->add_flag("--no-validation", [a](int64_t) { a->config.validate = false; },
                              "skip the per-epoch evaluation on the test split");
  auto* dir = cmd->add_option("--run-dir", a->run_dir, "run folder (default: runs/<model>-<data>-<time>)");
  auto* root = cmd->add_option("--runs", a->runs_root, "where new run folders go")->capture_default_str();
  cmd->add_option("--resume", a->resume, "continue the run in this folder from its last finished epoch")
      ->check(CLI::ExistingDirectory)
      ->excludes(model, data, batch, accum, optim, sched, seed, threads, limit, noval, dir, root, backbone, head, unfreeze,
                 val_split, nocache, augment, resize);
  cmd->add_flag("--quiet,-q", a->quiet, "print nothing but errors");
  cmd->add_flag("--tensorboard", a->tensorboard,
                "also write TensorBoard event files (events.out.tfevents.*) into the run folder: per-epoch "
                "scalars and step/* every --tensorboard-every steps (`tensorboard --logdir runs`)");
  auto* tensorboard = cmd->get_option("--tensorboard");
  cmd->add_option("--tensorboard-every", a->tensorboard_every, "with --tensorboard: steps between step/* scalars")
      ->capture_default_str()->check(CLI::PositiveNumber)->needs(tensorboard);
  cmd->add_flag("--no-report", [a](int64_t) { a->report = false; },
                "do not write the run's report (report.html, curves, confusion matrix) at the end");
  cmd->add_option("--device", a->device, "where to run: auto (a GPU when this dltrain can run there and doctor's smoke test passes, else the "
                  "CPU), cpu, cuda, cuda:N")->capture_default_str();
  cmd->callback([a, cmd] { run(*a, *cmd); });
}

}  // namespace dltrain::cli
