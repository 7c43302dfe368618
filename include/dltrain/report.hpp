// report: a run folder -> pictures and one page people look at (curves, confusion matrix, sample
// grids, per-class table, settings, report.html), comparisons of runs, and TensorBoard event files.
// Library code: it writes files and throws dltrain::Error; it never prints.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "dltrain/data.hpp"
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
  // uint8 images to evaluate instead of the run's test split: runs that trained on arrays in
  // memory (Python) have no dataset on disk to read it from.
  const Dataset* test = nullptr;
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

// TensorBoard event files (tensorboard.py: `tensorboard --logdir runs` follows them live).
// TFRecord framing: u64 length, masked CRC32C of the length, the bytes, masked CRC32C of the bytes,
// around tensorboard.Event protos holding scalar summaries. A folder that already holds an
// events.out.tfevents.* file is appended to, after cutting off a truncated or corrupt tail (what a
// killed run leaves).
class TensorBoardWriter {
 public:
  explicit TensorBoardWriter(const std::string& dir);
  void scalar(const std::string& tag, int64_t step, double value);
  void flush();
  // Event{step, session_log (7): SessionLog{status: START}}: TensorBoard then drops the points at `step`
  // and later that an interrupted run wrote before (the TF convention after a restart).
  void session_start(int64_t step);
  const std::string& path() const { return path_; }
  bool appending() const { return appending_; }  // opened an existing file with records in it
  int64_t dropped_bytes() const { return dropped_; }  // cut off a damaged tail when opened

 private:
  void write_record(const std::string& data);
  std::string path_;
  std::ofstream out_;
  int64_t dropped_ = 0;
  bool appending_ = false;
};

// Callbacks that log a training to TensorBoard and then call `inner`: per epoch (step = epoch)
// loss, accuracy, val_loss, val_accuracy and lr; every `every` steps (step = global step)
// step/loss, step/accuracy (running means over the epoch) and step/lr. `every` 0: epochs only.
// Appending to an existing file (a resume), a SessionLog START at the first step of the first epoch.
TrainCallbacks tensorboard_callbacks(const std::string& run_dir, TrainCallbacks inner, int64_t every);

// CRC32C (Castagnoli) and TFRecord's masked form of it.
uint32_t crc32c(const void* data, size_t n);
uint32_t masked_crc32c(const void* data, size_t n);

}  // namespace dltrain
