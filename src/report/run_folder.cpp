// Reading a run folder for a report (config.json, history.csv, command.txt, model.safetensors),
// with errors that name the file; and per-class metrics from a confusion matrix.
#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>

#include "dltrain/csv.hpp"
#include "dltrain/path.hpp"
#include "dltrain/report.hpp"

namespace fs = std::filesystem;

namespace dltrain {
namespace {

// A finite number (std::stod alone also takes inf, nan and hex floats, which then break the charts).
// `lo`/`hi` bound it: accuracies lie in [0, 1], losses, rates and times are not negative.
double parse_number(const std::string& s, const std::string& path, int line, const std::string& column,
                    double lo = 0, double hi = std::numeric_limits<double>::max()) {
  double v = 0;
  bool ok = false;
  try {
    size_t used = 0;
    const bool hex = s.find_first_of("xX") != std::string::npos;
    v = std::stod(s, &used);
    ok = used == s.size() && !hex && std::isfinite(v);
  } catch (const std::exception&) {
  }
  if (!ok)
    throw Error(path + ": line " + std::to_string(line) + ": '" + s + "' in column " + column + " is not a finite number",
                "history.csv is written by `dltrain train`; was it edited?");
  if (v < lo || v > hi)
    throw Error(path + ": line " + std::to_string(line) + ": " + column + " " + s +
                    (hi == 1 ? " is outside [0, 1]" : " is negative"),
                "history.csv is written by `dltrain train`; was it edited?");
  return v;
}

int64_t parse_epoch(const std::string& s, const std::string& path, int line) {
  try {
    size_t used = 0;
    const long long v = std::stoll(s, &used);
    if (used == s.size() && v >= 1) return v;
  } catch (const std::exception&) {  // not a number, or out of range
  }
  throw Error(path + ": line " + std::to_string(line) + ": the epoch '" + s + "' is not a positive integer",
              "history.csv is written by `dltrain train`; was it edited?");
}

// history.csv: epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds,val_seconds (val_* empty when
// the epoch was not validated).
std::vector<EpochStats> read_history_csv(const std::string& path) {
  if (!path_exists(path))
    throw Error(path + " is missing: the run folder has no training history",
                "a run folder gets history.csv when its first epoch finishes");
  std::istringstream in(read_file(path));
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = csv_fields(line);
  const std::vector<std::string> expected = {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"};
  for (size_t i = 0; i < expected.size(); ++i)
    if (i >= header.size() || header[i] != expected[i])
      throw Error(path + ": the header is not dltrain's (expected column " + std::to_string(i + 1) + " to be '" +
                  expected[i] + "')");
  std::vector<EpochStats> out;
  for (int n = 2; std::getline(in, line); ++n) {
    if (line.empty() || line == "\r") continue;
    const std::vector<std::string> f = csv_fields(line);
    if (f.size() < expected.size())
      throw Error(path + ": line " + std::to_string(n) + " has " + std::to_string(f.size()) + " fields, not " +
                  std::to_string(expected.size()), "the file may be truncated; `dltrain train --resume` rewrites it");
    EpochStats e;
    e.epoch = parse_epoch(f[0], path, n);
    e.loss = parse_number(f[1], path, n, "loss");
    e.accuracy = parse_number(f[2], path, n, "accuracy", 0, 1);
    e.validated = !f[3].empty();
    if (e.validated) {
      e.val_loss = parse_number(f[3], path, n, "val_loss");
      e.val_accuracy = parse_number(f[4], path, n, "val_accuracy", 0, 1);
    }
    e.lr = parse_number(f[5], path, n, "lr");
    e.seconds = parse_number(f[6], path, n, "seconds");
    if (f.size() > 7 && !f[7].empty()) e.val_seconds = parse_number(f[7], path, n, "val_seconds");
    out.push_back(e);
  }
  if (out.empty())
    throw Error(path + " holds no epochs", "a run folder gets a history row when an epoch finishes");
  return out;
}

}  // namespace

RunRecord read_run(const std::string& run_dir) {
  if (!is_folder(run_dir)) throw Error(run_dir + " is not a folder", "pass a run folder (runs/<run>)");
  RunRecord r;
  r.dir = fs::path(run_dir).lexically_normal().string();
  while (r.dir.size() > 1 && r.dir.back() == '/') r.dir.pop_back();
  r.name = fs::path(r.dir).filename().string();
  const std::string config = r.dir + "/config.json";
  if (!path_exists(config))
    throw Error(config + " is missing: " + r.dir + " is not a dltrain run folder", "pass a folder `dltrain train` made");
  try {
    r.config = TrainConfig::from_json(read_file(config));
  } catch (const Error& e) {
    throw Error(config + ": " + e.what(), e.hint());
  }
  r.history = read_history_csv(r.dir + "/history.csv");
  if (path_exists(r.dir + "/command.txt")) {
    r.command = read_file(r.dir + "/command.txt");
    while (!r.command.empty() && (r.command.back() == '\n' || r.command.back() == '\r')) r.command.pop_back();
  }
  r.model_path = r.dir + "/model.safetensors";
  if (!path_exists(r.model_path))
    throw Error(r.model_path + " is missing", "a run folder gets its model when its first epoch finishes");
  return r;
}

std::vector<ClassMetrics> class_metrics(const std::vector<std::vector<int64_t>>& confusion) {
  const size_t k = confusion.size();
  std::vector<ClassMetrics> out(k);
  for (size_t c = 0; c < k; ++c) {
    int64_t predicted = 0, support = 0;
    for (size_t i = 0; i < k; ++i) predicted += confusion[i][c], support += confusion[c][i];
    const auto tp = double(confusion[c][c]);
    ClassMetrics& m = out[c];
    m.support = support;
    m.precision = predicted ? tp / double(predicted) : 0;
    m.recall = support ? tp / double(support) : 0;
    m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0;
  }
  return out;
}

}  // namespace dltrain
