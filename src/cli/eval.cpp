// `dltrain eval MODEL --data D`: loss, accuracy, per-class accuracy and the confusion matrix on
// the test split.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "dltrain/io.hpp"
#include "dltrain/train.hpp"

namespace dltrain::cli {
namespace {

struct EvalArgs {
  std::string model_path, data, device = "auto";
  int64_t batch = 500;
  int threads = 0;
};

void print_confusion(const EvalResult& r, const std::vector<std::string>& labels) {
  const size_t k = labels.size();
  size_t w = 6;
  for (const auto& row : r.confusion)
    for (int64_t v : row) w = std::max(w, std::to_string(v).size() + 1);
  size_t lw = 5;
  for (const std::string& l : labels) lw = std::max(lw, l.size());
  std::printf("\nConfusion matrix (rows: true class, columns: predicted class)\n%*s", int(lw + 6), "");
  for (size_t j = 0; j < k; ++j) std::printf("%*zu", int(w), j);
  std::printf("  accuracy\n");
  for (size_t i = 0; i < k; ++i) {
    int64_t total = 0;
    for (int64_t v : r.confusion[i]) total += v;
    std::printf("%3zu %-*s  ", i, int(lw), labels[i].c_str());
    for (size_t j = 0; j < k; ++j) std::printf("%*lld", int(w), (long long)r.confusion[i][j]);
    if (total) std::printf("  %.4f\n", double(r.confusion[i][i]) / double(total));
    else std::printf("  -\n");
  }
}

void run(const EvalArgs& a) {
  ops::cpu_kernel_level();  // a DLTRAIN_CPU_ISA that cannot be followed is an error before any work
  const Device device = resolve_device(a.device);
  set_num_threads(a.threads);
  const std::string model_path = model_argument(a.model_path);
  LoadedModel m = load_model(model_path);
  m.model->to(device);
  if (a.data.empty() && m.info.dataset.empty())
    throw Error(a.model_path + ": the model does not say what it was trained on", "pass --data NAME_OR_FOLDER");
  const TestEvaluation e = evaluate_test_split(m, a.data, a.batch);
  const EvalResult& r = e.result;
  std::printf("%s on %s (%s, %s images)\n", a.model_path.c_str(), e.data.c_str(), e.whole ? "all images" : "test split",
              thousands(r.samples).c_str());
  std::printf("loss: %.4f - accuracy: %.4f\n", r.loss, r.accuracy);
  print_confusion(r, m.info.labels);
}

}  // namespace

void add_eval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate a trained model on a dataset's test split");
  cmd->add_option("model", a->model_path, "model file (runs/<run>/model.safetensors), run folder, or a fetched run's name")
      ->required();
  cmd->add_option("--data,-d", a->data,
                  "dataset name (" + catalog_names() + "), IDX or CIFAR folder, or image dataset (class folders, CSV, "
                  "_annotations.json) "
                  "(default: the one the model was trained on)");
  cmd->add_option("--batch,-b", a->batch, "batch size")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--threads,-j", a->threads, "threads (0: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--device", a->device, "where to run: auto (a GPU when this dltrain can run there and doctor's smoke test passes, else the "
                  "CPU), cpu, cuda, cuda:N")->capture_default_str();
  cmd->callback([a] { run(*a); });
}

}  // namespace dltrain::cli
