// report: a run folder -> pictures and one page people look at (curves, confusion matrix, sample
// grids, per-class table, settings, report.html), comparisons of runs, and TensorBoard event files.
// Library code: it writes files and throws dltrain::Error; it never prints.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dltrain/train.hpp"

namespace dltrain {

// What a run folder holds, read and checked (every error names the file).
struct RunRecord {
  std::string dir, name;          // the folder and its last component
  TrainConfig config;             // config.json
  std::vector<EpochStats> history;  // history.csv (at least one epoch)
  std::string command;            // command.txt ("" when absent)
  std::string model_path;         // model.safetensors
};
RunRecord read_run(const std::string& run_dir);

// Per-class precision, recall, F1 and support from a confusion matrix [true][predicted].
struct ClassMetrics {
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;
};
std::vector<ClassMetrics> class_metrics(const std::vector<std::vector<int64_t>>& confusion);

// The font text in PNGs is drawn with: $DLTRAIN_FONT, else DejaVu Sans from fonts-dejavu-core.
// Throws naming the places looked at when none is found.
std::string report_font_path();

struct ReportOptions {
  int64_t batch = 500;        // evaluation batch
  int64_t sample_grid = 8;    // samples.png: grid x grid test images
  int64_t worst = 16;         // worst.png: this many highest-loss test images
};

// (Re)writes <run>/curves.svg+png, confusion.svg+png, samples.png, worst.png and report.html.
// The confusion matrix, samples and worst images come from evaluating model.safetensors on its
// test split exactly as `dltrain eval` does (evaluate_test_split). Returns report.html's path.
std::string write_report(const std::string& run_dir, const ReportOptions& options = {});

// Several runs: <out_dir>/curves.svg+png (each run's curves overlaid), comparison.html (those and
// a table of the settings that differ). Returns comparison.html's path.
std::string write_comparison(const std::vector<std::string>& run_dirs, const std::string& out_dir);

// A cols x rows grid of a dataset's first images (test split when it has one) with class names,
// as PNG. Image datasets show thumbnails of their files.
void write_dataset_grid(const std::string& data, int64_t cols, int64_t rows, const std::string& png_path);

}  // namespace dltrain
