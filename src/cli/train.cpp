// `dltrain train`: start a run (preset or custom network, dataset, optimizer, schedule) or resume
// one; shows progress, stops cleanly on Ctrl-C (the last finished epoch stays resumable).
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "dltrain/io.hpp"
#include "dltrain/models.hpp"
#include "dltrain/train.hpp"
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
  std::string resume, run_dir, runs_root = "runs";
  bool quiet = false;
};

void run(const TrainArgs& a, const CLI::App& cmd) {
  std::unique_ptr<Trainer> trainer;
  if (!a.resume.empty()) {
    trainer = Trainer::resume(a.resume, cmd.count("--epochs") ? a.config.epochs : 0);
  } else {
    TrainConfig config = a.config;
    // A folder is saved absolute so that `--resume` works from any directory.
    if (std::filesystem::is_directory(config.data)) config.data = std::filesystem::absolute(config.data).lexically_normal().string();
    DatasetSplits data = load_dataset(config.data);
    const std::string dir = a.run_dir.empty() ? new_run_dir(a.runs_root, config) : a.run_dir;
    trainer = std::make_unique<Trainer>(config, std::move(data), dir);
    write_file_atomic(dir + "/command.txt", command_line + "\n");
  }
  const TrainConfig& c = trainer->config();
  const bool terminal = ::isatty(STDOUT_FILENO);
  if (!a.quiet) {
    std::printf("%s %s (%s parameters) on %s: %s training / %s test images\n",
                a.resume.empty() ? "Training" : "Resuming", trainer->info().title.c_str(),
                thousands(count_params(trainer->model(), true)).c_str(), trainer->data().name.c_str(),
                thousands(trainer->data().train.size()).c_str(), thousands(trainer->data().test.size()).c_str());
    std::printf("  %lld epochs (%lld done), batch %lld, %s, schedule %s, seed %llu, %d threads\n  run folder: %s\n",
                (long long)c.epochs, (long long)trainer->epochs_done(), (long long)c.batch, c.optim.c_str(),
                c.schedule.c_str(), (unsigned long long)c.seed, num_threads(), trainer->run_dir().c_str());
    std::fflush(stdout);
  }
  Progress progress(terminal, a.quiet);
  TrainCallbacks cb;
  cb.epoch_begin = [&](int64_t e, int64_t n, int64_t steps) { progress.epoch_begin(e, n, steps); };
  cb.step = [&](const StepStats& s) { progress.step(s); };
  cb.epoch_end = [&](const EpochStats& e) { progress.epoch_end(e); };
  cb.stop_requested = [] { return stop_flag.load(); };
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
    if (!h.empty() && h.back().validated)
      std::printf("Test accuracy %.4f, loss %.4f after %lld epochs.\n", h.back().val_accuracy, h.back().val_loss,
                  (long long)h.back().epoch);
    std::printf("Model: %s/model.safetensors\n", trainer->run_dir().c_str());
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
  auto* data = cmd->add_option("--data,-d", a->config.data, "dataset name (mnist, fashion-mnist, kmnist) or IDX folder")
                   ->capture_default_str();
  cmd->add_option("--epochs,-e", a->config.epochs, "total epochs")->capture_default_str()->check(CLI::PositiveNumber);
  auto* batch = cmd->add_option("--batch,-b", a->config.batch, "batch size")->capture_default_str()->check(CLI::PositiveNumber);
  auto* optim = cmd->add_option("--optim", a->config.optim, "optimizer: sgd|adam|adamw[:lr=,momentum=,nesterov=,weight_decay=,beta1=,beta2=,eps=]")
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
      ->excludes(model, data, batch, optim, sched, seed, threads, limit, noval, dir, root);
  cmd->add_flag("--quiet,-q", a->quiet, "print nothing but errors");
  cmd->callback([a, cmd] { run(*a, *cmd); });
}

}  // namespace dltrain::cli
