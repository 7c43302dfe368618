// `dltrain report RUN_DIR...`: (re)build one run's report, or compare several runs; and
// `dltrain show DATASET --grid CxR -o FILE.png`: a grid of a dataset's images with class names.
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "dltrain/report.hpp"

namespace dltrain::cli {
namespace {

struct ReportArgs {
  std::vector<std::string> runs;
  std::string out = "comparison";
  int threads = 0;
  ReportOptions options;
};

void run_report(const ReportArgs& a) {
  set_num_threads(a.threads);
  if (a.runs.size() == 1) {
    std::printf("Report: %s\n", write_report(a.runs[0], a.options).c_str());
    return;
  }
  std::printf("Comparison of %zu runs: %s\n", a.runs.size(), write_comparison(a.runs, a.out).c_str());
}

struct ShowArgs {
  std::string data, grid = "8x8", out = "grid.png";
};

void run_show(const ShowArgs& a) {
  int64_t cols = 0, rows = 0;
  char extra = 0;
  if (std::sscanf(a.grid.c_str(), "%ldx%ld%c", &cols, &rows, &extra) != 2 || cols < 1 || rows < 1 || cols > 64 || rows > 64)
    throw Error("--grid " + a.grid + " is not COLUMNSxROWS", "e.g. --grid 8x8 (at most 64x64)");
  write_dataset_grid(a.data, cols, rows, a.out);
  std::printf("%s: %ldx%ld images of %s\n", a.out.c_str(), long(cols), long(rows), a.data.c_str());
}

}  // namespace

void add_report(CLI::App& app) {
  auto a = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand("report",
                                     "Write a run's report (curves, confusion matrix, samples, report.html), or compare "
                                     "several runs (overlaid curves, the settings that differ)");
  cmd->add_option("runs", a->runs, "run folders (runs/<run>)")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--out,-o", a->out, "with several runs: the folder for comparison.html and curves.svg/png")
      ->capture_default_str();
  cmd->add_option("--threads,-j", a->threads, "threads for the evaluation (0: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch,-b", a->options.batch, "evaluation batch size")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->callback([a] { run_report(*a); });

  auto s = std::make_shared<ShowArgs>();
  CLI::App* show = app.add_subcommand("show", "Save a grid of a dataset's images with their class names as a PNG");
  show->add_option("data", s->data, "dataset name, IDX folder, or image dataset")->required();
  show->add_option("--grid,-g", s->grid, "COLUMNSxROWS")->capture_default_str();
  show->add_option("--out,-o", s->out, "PNG file to write")->capture_default_str();
  show->callback([s] { run_show(*s); });
}

}  // namespace dltrain::cli
