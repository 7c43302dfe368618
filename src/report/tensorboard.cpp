// TensorBoard event files written by hand: the few protobuf fields scalars need and TFRecord
// framing. No protobuf library; field numbers from tensorboard/compat/proto:
//   event.proto    Event   { double wall_time = 1; int64 step = 2; string file_version = 3;
//                            Summary summary = 5; }
//   summary.proto  Summary { repeated Value value = 1; }
//                  Value   { string tag = 1; float simple_value = 2; }
// Wire types: 0 varint, 1 64-bit, 2 length-delimited, 5 32-bit; a key is (field << 3) | type.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "dltrain/path.hpp"
#include "dltrain/report.hpp"

namespace fs = std::filesystem;

namespace dltrain {
namespace {

const std::array<uint32_t, 256> crc_table = [] {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // reflected Castagnoli
    t[i] = c;
  }
  return t;
}();

void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += char(uint8_t(v) | 0x80);
    v >>= 7;
  }
  out += char(uint8_t(v));
}
void key(std::string& out, int field, int wire) { varint(out, uint64_t(field) << 3 | uint64_t(wire)); }
template <typename T>
void little_endian(std::string& out, T v) {  // x86-64 and the formats are little-endian
  char b[sizeof v];
  std::memcpy(b, &v, sizeof v);
  out.append(b, sizeof v);
}
void bytes_field(std::string& out, int field, const std::string& bytes) {
  key(out, field, 2);
  varint(out, bytes.size());
  out += bytes;
}

double wall_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Event{wall_time, step, <what>}: what is file_version (3), summary (5) or session_log (7).
std::string event(int64_t step, int what_field, const std::string& what) {
  std::string e;
  key(e, 1, 1);
  little_endian(e, wall_time());
  key(e, 2, 0);
  varint(e, uint64_t(step));
  bytes_field(e, what_field, what);
  return e;
}

// The length of the valid records at the start of `bytes`: a record is cut off at the first one
// that is incomplete or whose checksums do not match.
size_t valid_prefix(const std::string& bytes) {
  size_t at = 0;
  while (at + 12 <= bytes.size()) {
    uint64_t len = 0;
    uint32_t len_crc = 0, data_crc = 0;
    std::memcpy(&len, bytes.data() + at, 8);
    std::memcpy(&len_crc, bytes.data() + at + 8, 4);
    if (len_crc != masked_crc32c(bytes.data() + at, 8) || len > bytes.size() - at - 12 ||
        bytes.size() - at - 12 - len < 4)
      break;
    std::memcpy(&data_crc, bytes.data() + at + 12 + len, 4);
    if (data_crc != masked_crc32c(bytes.data() + at + 12, len)) break;
    at += 12 + len + 4;
  }
  return at;
}

}  // namespace

uint32_t crc32c(const void* data, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, size_t n) {
  const uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xA282EAD8u;
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  std::vector<std::string> existing;
  if (is_folder(dir))
    for (const std::string& entry : folder_entries(dir))
      if (entry.substr(entry.rfind('/') + 1).starts_with("events.out.tfevents.")) existing.push_back(entry);
  std::sort(existing.begin(), existing.end());
  bool fresh = existing.empty();
  if (!fresh) {
    path_ = existing.back();
    const std::string bytes = read_file(path_);
    const size_t keep = valid_prefix(bytes);
    if (keep < bytes.size()) {
      dropped_ = int64_t(bytes.size() - keep);
      naming(path_, [&] { fs::resize_file(path_, keep); });
    }
    fresh = keep == 0;  // not even the file_version record survived
    appending_ = !fresh;
    out_.open(path_, std::ios::binary | std::ios::app);
  } else {
    make_folders(dir);
    char host[256] = "localhost";
    ::gethostname(host, sizeof host - 1);
    path_ = dir + "/events.out.tfevents." + std::to_string(int64_t(wall_time())) + "." + host;
    out_.open(path_, std::ios::binary | std::ios::trunc);
  }
  if (!out_) throw Error("cannot write the TensorBoard event file " + path_, "check the run folder's permissions");
  if (fresh) {
    write_record(event(0, 3, "brain.Event:2"));
    flush();
  }
}

void TensorBoardWriter::write_record(const std::string& data) {
  std::string r;
  little_endian(r, uint64_t(data.size()));
  little_endian(r, masked_crc32c(r.data(), 8));
  r += data;
  little_endian(r, masked_crc32c(data.data(), data.size()));
  out_.write(r.data(), std::streamsize(r.size()));
}

void TensorBoardWriter::scalar(const std::string& tag, int64_t step, double value) {
  std::string v;
  bytes_field(v, 1, tag);
  key(v, 2, 5);
  little_endian(v, float(value));
  std::string summary;
  bytes_field(summary, 1, v);
  write_record(event(step, 5, summary));
}

void TensorBoardWriter::session_start(int64_t step) {
  std::string log;
  key(log, 1, 0);  // SessionLog.status
  varint(log, 1);  // START
  write_record(event(step, 7, log));  // Event.session_log is field 7 (6 is the deprecated log_message)
}

void TensorBoardWriter::flush() {
  out_.flush();
  if (!out_) throw Error("writing the TensorBoard event file " + path_ + " failed", "is the disk full?");
}

TrainCallbacks tensorboard_callbacks(const std::string& run_dir, TrainCallbacks inner, int64_t every) {
  auto tb = std::make_shared<TensorBoardWriter>(run_dir);
  TrainCallbacks cb = inner;
  auto restarted = std::make_shared<bool>(!tb->appending());
  cb.epoch_begin = [tb, restarted, inner](int64_t epoch, int64_t epochs, int64_t steps) {
    if (!*restarted) {  // a resume: the first step of this epoch supersedes what an interrupted run logged
      tb->session_start((epoch - 1) * steps + 1);
      tb->flush();
      *restarted = true;
    }
    inner.epoch_begin(epoch, epochs, steps);
  };
  cb.step = [tb, every, inner](const StepStats& s) {
    const int64_t global = (s.epoch - 1) * s.steps + s.step;
    if (every > 0 && global % every == 0) {
      tb->scalar("step/loss", global, s.loss);
      tb->scalar("step/accuracy", global, s.accuracy);
      tb->scalar("step/lr", global, s.lr);
      tb->flush();
    }
    inner.step(s);
  };
  cb.epoch_end = [tb, inner](const EpochStats& e) {
    tb->scalar("loss", e.epoch, e.loss);
    tb->scalar("accuracy", e.epoch, e.accuracy);
    if (e.validated) {
      tb->scalar("val_loss", e.epoch, e.val_loss);
      tb->scalar("val_accuracy", e.epoch, e.val_accuracy);
    }
    tb->scalar("lr", e.epoch, e.lr);
    tb->scalar("seconds", e.epoch, e.seconds);
    tb->flush();
    inner.epoch_end(e);
  };
  return cb;
}

}  // namespace dltrain
