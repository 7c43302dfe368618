// Progress and the bandwidth cap of one fetch or push.
#include "meter.hpp"

#include <thread>

namespace dltrain::fetch_detail {

void Meter::begin_file(const std::string& label, int64_t size) {
  std::lock_guard lock(mu_);
  file_ = label;
  file_total_ = size;
  done_ = 0;
  last_ = {};  // the next add() reports at once: the file's clock starts with it
}
void Meter::set_file_total(int64_t size) { file_total_ = size; }
void Meter::add(int64_t bytes, bool moved) {
  done_ += bytes;
  emit(false);
  if (options_.limit_rate <= 0 || bytes <= 0 || !moved) return;
  std::chrono::steady_clock::time_point due;
  {
    std::lock_guard lock(mu_);
    transferred_ += bytes;
    due = began_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                       std::chrono::duration<double>(double(transferred_) / double(options_.limit_rate)));
  }
  std::this_thread::sleep_until(due);
}
void Meter::end_file(int64_t size) {
  done_ = size;
  file_total_ = size;
  emit(true);
  std::lock_guard lock(mu_);
  all_before_ += size;
  done_ = 0;
}
void Meter::emit(bool force) {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  options_.progress(FetchProgress{file_, done_, file_total_, all_before_ + done_, all_total_, force});
}

}  // namespace dltrain::fetch_detail
