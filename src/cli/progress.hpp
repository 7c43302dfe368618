// Training progress on the terminal: a Keras-like bar per epoch on a TTY, one plain line per
// epoch otherwise (logs, CI), nothing with --quiet.
#pragma once

#include <chrono>
#include <cstdint>

#include "dltrain/train.hpp"

namespace dltrain::cli {

class Progress {
 public:
  Progress(bool terminal, bool quiet) : terminal_(terminal), quiet_(quiet) {}
  void epoch_begin(int64_t epoch, int64_t epochs, int64_t steps);
  void step(const StepStats& s);
  void epoch_end(const EpochStats& e);
  void interrupted();

 private:
  bool terminal_, quiet_;
  int64_t epochs_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
  bool drawn_ = false;
};

}  // namespace dltrain::cli
