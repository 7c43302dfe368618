// Progress rendering.
#include "progress.hpp"

#include <cstdio>
#include <string>

namespace dltrain::cli {
namespace {
std::string duration(double s) {
  char b[32];
  if (s < 60) std::snprintf(b, sizeof b, "%.0fs", s);
  else if (s < 3600) std::snprintf(b, sizeof b, "%dm%02ds", int(s) / 60, int(s) % 60);
  else std::snprintf(b, sizeof b, "%dh%02dm", int(s) / 3600, int(s) % 3600 / 60);
  return b;
}

std::string bar(int64_t step, int64_t steps) {
  constexpr int width = 30;
  const int done = int(width * step / std::max<int64_t>(steps, 1));
  std::string b(size_t(done), '=');
  if (done < width) b += '>', b += std::string(size_t(width - done - 1), '.');
  return "[" + b + "]";
}
}  // namespace

void Progress::epoch_begin(int64_t epoch, int64_t epochs, int64_t) {
  epochs_ = epochs;
  drawn_ = false;
  if (!quiet_ && terminal_) std::printf("Epoch %lld/%lld\n", (long long)epoch, (long long)epochs);
  std::fflush(stdout);
}

void Progress::step(const StepStats& s) {
  if (quiet_ || !terminal_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100) && s.step != s.steps) return;
  last_draw_ = now;
  drawn_ = true;
  const double per_step = s.seconds / double(s.step);
  const double eta = per_step * double(s.steps - s.step);
  std::printf("\r%lld/%lld %s - ETA: %s - %.0f steps/s - loss: %.4f - accuracy: %.4f\033[K", (long long)s.step,
              (long long)s.steps, bar(s.step, s.steps).c_str(), duration(eta).c_str(), 1.0 / per_step, s.loss,
              s.accuracy);
  std::fflush(stdout);
}

void Progress::epoch_end(const EpochStats& e) {
  if (quiet_) return;
  char val[96] = "";
  if (e.validated) std::snprintf(val, sizeof val, " - val_loss: %.4f - val_accuracy: %.4f", e.val_loss, e.val_accuracy);
  if (terminal_)
    std::printf("\r%lld/%lld %s - %s %.1fms/step - loss: %.4f - accuracy: %.4f%s\033[K\n", (long long)e.steps,
                (long long)e.steps, bar(1, 1).c_str(), duration(e.seconds).c_str(), 1000 * e.seconds / double(e.steps),
                e.loss, e.accuracy, val);
  else
    std::printf("epoch %lld/%lld - %lld steps - %.2fs - loss: %.4f - accuracy: %.4f%s\n", (long long)e.epoch,
                (long long)epochs_, (long long)e.steps, e.seconds, e.loss, e.accuracy, val);
  std::fflush(stdout);
}

void Progress::interrupted() {
  if (!quiet_ && terminal_ && drawn_) std::printf("\n");
  std::fflush(stdout);
}

}  // namespace dltrain::cli
