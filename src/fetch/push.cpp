// push: local files -> S3-compatible storage. One PUT for small files, a multipart upload for
// large ones (parts in parallel through the same pool, retries, rate cap and progress as downloads),
// resumable through a record under <cache>/push/, and a manifest written last.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

#include "dltrain/data.hpp"
#include "dltrain/path.hpp"
#include "file_io.hpp"
#include "jobs.hpp"
#include "s3.hpp"

namespace fs = std::filesystem;

namespace dltrain {
using namespace fetch_detail;

namespace {

constexpr int64_t min_part = int64_t(5) << 20, max_part = int64_t(5) << 30;  // S3's limits
constexpr int64_t max_parts = 10000;
constexpr size_t max_manifest_files = 1000000;

struct LocalFile {
  std::string name, path, key;
  int64_t size = 0;
  std::string sha256;
};

// Bytes [offset, offset + n) of a file being pushed (it must not shrink meanwhile).
std::string read_range(const LocalFile& f, int64_t offset, int64_t n) {
  Fd fd(f.path, O_RDONLY);
  return pread_all(fd.get(), offset, n, f.path);
}

S3Client::Body body_of(std::string_view data) {
  Hasher h(true);
  h.update(data.data(), data.size());
  const FileDigest d = h.finish();
  return {data, d.sha256, d.md5};
}

// Where the push goes: the bucket, and the key prefix (ends with '/', or is empty) for a folder or
// the key for one file.
struct Destination {
  std::string bucket, key;
  bool folder = false;
};

Destination destination_of(const std::string& uri, const std::string& path, bool folder) {
  const Source s = parse_source(uri);
  if (s.kind != SourceKind::s3)
    throw Error("push to '" + redact_url(uri) + "': only s3:// destinations are supported",
                "write s3://bucket/prefix/ (with --endpoint for IBM COS or MinIO)");
  Destination d{s.bucket, s.key, folder};
  if (folder && !d.key.empty() && d.key.back() != '/') d.key += '/';
  if (!folder && (d.key.empty() || d.key.back() == '/')) d.key += fs::path(path).filename().string();
  return d;
}

std::vector<LocalFile> local_files(const std::string& path, const Destination& to, const PushOptions& o) {
  std::vector<LocalFile> files;
  if (to.folder) {
    std::error_code ec;
    fs::recursive_directory_iterator it(path, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().lexically_relative(path).generic_string();
      if (it->is_directory(ec) || std::find(o.skip.begin(), o.skip.end(), name) != o.skip.end()) continue;
      if (!it->is_regular_file(ec))
        throw Error(it->path().string() + ": not a regular file", "push folders of plain files (no devices, sockets or broken links)");
      if (name == push_manifest_name)
        throw Error(it->path().string() + ": a push writes its own " + push_manifest_name + " here",
                    "rename the file, or push the folder's files from another folder");
      files.push_back({name, it->path().string(), to.key + name, 0, ""});
    }
    if (ec) throw Error(path + ": cannot list the folder: " + ec.message());
    std::sort(files.begin(), files.end(), [](const LocalFile& a, const LocalFile& b) { return a.name < b.name; });
    if (files.empty()) throw Error(path + ": the folder holds no files to push");
  } else {
    files.push_back({fs::path(path).filename().string(), path, to.key, 0, ""});
  }
  for (LocalFile& f : files) {
    const FileDigest d = naming(f.path, [&] { return digest_file(f.path); });
    f.size = d.size, f.sha256 = d.sha256;
  }
  return files;
}

// The part size of an object: at least the option's, grown (in whole MiB) so that at most 10,000
// parts are needed.
int64_t part_size_for(int64_t size, int64_t wanted) {
  const int64_t need = (size + max_parts - 1) / max_parts;
  int64_t p = std::max(wanted, need);
  p = (p + (1 << 20) - 1) / (1 << 20) * (1 << 20);
  if (p > max_part) throw Error("a file of " + std::to_string(size) + " bytes is larger than an S3 object may be (5 TiB)");
  return p;
}

// The resume record of one push: per file, its content and the state of its upload. Saved after
// every change; a record that cannot be read, or that was made for other content, is ignored.
class Record {
 public:
  Record(std::string path, const std::vector<LocalFile>& files) : path_(std::move(path)) {
    nlohmann::json old;
    try {
      if (path_exists(path_)) old = nlohmann::json::parse(read_file(path_));
    } catch (const std::exception&) {
    }
    j_ = {{"files", nlohmann::json::object()}};
    for (const LocalFile& f : files) {
      nlohmann::json e = {{"sha256", f.sha256}, {"size", f.size}, {"done", false}};
      if (old.is_object() && old.contains("files") && old["files"].is_object() && old["files"].contains(f.name)) {
        const nlohmann::json& was = old["files"][f.name];
        if (was.is_object() && was.value("sha256", "") == f.sha256 && was.value("size", int64_t(-1)) == f.size) {
          e["done"] = was.contains("done") && was["done"].is_boolean() && was["done"].get<bool>();
          if (was.contains("upload_id") && was["upload_id"].is_string() && was.contains("part_size") &&
              was["part_size"].is_number_integer() && was.contains("key") && was["key"] == f.key)
            e["upload_id"] = was["upload_id"], e["part_size"] = was["part_size"], e["key"] = f.key,
            e["parts"] = was.value("parts", nlohmann::json::object());
        }
      }
      j_["files"][f.name] = e;
    }
    // Uploads the record knew that no longer match a file: to abort.
    if (old.is_object() && old.contains("files") && old["files"].is_object())
      for (const auto& [name, was] : old["files"].items()) {
        const auto now = j_["files"].find(name);
        if (was.is_object() && was.contains("upload_id") && was["upload_id"].is_string() && was.contains("key") &&
            was["key"].is_string() && (now == j_["files"].end() || !now->contains("upload_id")))
          stale_.push_back({was["key"].get<std::string>(), was["upload_id"].get<std::string>()});
      }
  }
  bool done(const LocalFile& f) const { return j_["files"][f.name]["done"].get<bool>(); }
  std::string upload_id(const LocalFile& f, int64_t part_size) const {
    const nlohmann::json& e = j_["files"][f.name];
    return e.contains("upload_id") && e["part_size"].get<int64_t>() == part_size ? e["upload_id"].get<std::string>() : "";
  }
  const std::vector<S3Upload>& stale() const { return stale_; }
  void start_upload(const LocalFile& f, const std::string& id, int64_t part_size) {
    std::lock_guard lock(mu_);
    nlohmann::json& e = j_["files"][f.name];
    e["upload_id"] = id, e["part_size"] = part_size, e["key"] = f.key, e["parts"] = nlohmann::json::object();
    save_locked(true);
  }
  void part_done(const LocalFile& f, int number, const std::string& etag) {
    std::lock_guard lock(mu_);
    j_["files"][f.name]["parts"][std::to_string(number)] = etag;
    save_locked(false);
  }
  void file_done(const LocalFile& f) {
    std::lock_guard lock(mu_);
    nlohmann::json& e = j_["files"][f.name];
    e = {{"sha256", f.sha256}, {"size", f.size}, {"done", true}};
    save_locked(true);
  }
  void forget() const {
    std::error_code ec;
    fs::remove(path_, ec);
  }

 private:
  void save_locked(bool durable) const { write_file_atomic(path_, j_.dump(1), durable); }
  std::string path_;
  nlohmann::json j_;
  std::vector<S3Upload> stale_;
  mutable std::mutex mu_;
};

// <cache>/push/<id>: the record and its lock, one per (local path, destination, endpoint).
std::string record_base(const std::string& path, const std::string& destination, const PushOptions& o) {
  const std::string cache = o.transfer.cache.empty() ? cache_dir() : o.transfer.cache;
  make_folders(cache + "/push");
  std::error_code ec;
  const std::string abs = fs::absolute(path, ec).lexically_normal().string();
  return cache + "/push/" + sha256_hex(abs + "\n" + destination + "\n" + o.transfer.s3.endpoint).substr(0, 32);
}

// An exclusive lock on the record: two pushes of one folder to one place would fight over it.
class RecordLock {
 public:
  explicit RecordLock(const std::string& base) : fd_(base + ".lock", O_RDWR | O_CREAT) {
    if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0)
      throw Error("another push of the same files to the same place is running (" + base + ".lock is held)",
                  "wait for it to finish, or stop it");
  }

 private:
  Fd fd_;
};

struct Pusher {
  const S3Client& client;
  const Destination& to;
  Record& record;
  Meter& meter;
  const PushOptions& o;
  std::atomic<int64_t> sent{0};
  S3Client::Sent count = [this](int64_t n) {
    sent += n;
    meter.add(n);
  };

  void small(const LocalFile& f) {
    const std::string data = read_range(f, 0, f.size);
    S3Client::Body body = body_of(data);
    if (body.sha256 != f.sha256) throw Error(f.path + ": the file changed while it was pushed", "push it again");
    client.put_object(to.bucket, f.key, body, count);
  }

  int multipart(const LocalFile& f) {
    const int64_t part = part_size_for(f.size, o.transfer.part_size);
    const int parts = int((f.size + part - 1) / part);
    auto bytes_of = [&](int n) { return std::min(part, f.size - int64_t(n - 1) * part); };
    std::vector<S3Part> have(size_t(parts) + 1);  // by part number
    std::string id = record.upload_id(f, part);
    if (!id.empty()) {
      const auto listed = client.list_parts(to.bucket, f.key, id);
      if (!listed) {
        o.transfer.warn("s3://" + to.bucket + "/" + f.key + ": the server no longer knows the earlier upload; starting it again");
        id.clear();
      } else {
        // A part counts as there only when its ETag is the MD5 of the local bytes.
        for (const S3Part& p : *listed) {
          if (p.number > parts || p.size != bytes_of(p.number)) continue;
          const S3Client::Body local = body_of(read_range(f, int64_t(p.number - 1) * part, p.size));
          if (p.etag != local.md5) continue;
          have[size_t(p.number)] = {p.number, p.size, p.etag, local.sha256};
          meter.add(p.size, false);
        }
      }
    }
    if (id.empty()) {
      id = client.create_upload(to.bucket, f.key);
      record.start_upload(f, id, part);
    }
    std::vector<int> pending;
    for (int n = 1; n <= parts; ++n)
      if (have[size_t(n)].number == 0) pending.push_back(n);
    std::mutex mu;
    run_jobs(pending.size(), o.transfer.concurrency, [&](size_t k, const std::atomic<bool>&) {
      const int n = pending[k];
      const std::string data = read_range(f, int64_t(n - 1) * part, bytes_of(n));
      const S3Client::Body body = body_of(data);
      const std::string etag = client.upload_part(to.bucket, f.key, id, n, body, count);
      // S3's ETag of a part is its MD5 (without SSE-KMS); a different one means other bytes arrived.
      if (etag.size() == 32 && etag != body.md5)
        throw Error("s3://" + to.bucket + "/" + f.key + ": part " + std::to_string(n) + " arrived as other bytes (ETag " +
                    etag + ", MD5 " + body.md5 + ")");
      std::lock_guard lock(mu);
      have[size_t(n)] = {n, bytes_of(n), etag, body.sha256};
      record.part_done(f, n, etag);
    });
    client.complete_upload(to.bucket, f.key, id, {have.begin() + 1, have.end()});
    return parts;
  }
};

std::string manifest_of(const std::vector<LocalFile>& files) {
  nlohmann::json list = nlohmann::json::array();
  for (const LocalFile& f : files) list.push_back({{"name", f.name}, {"size", f.size}, {"sha256", f.sha256}});
  return nlohmann::json{{"format", "dltrain-push 1"}, {"files", list}}.dump(1) + "\n";
}

}  // namespace

PushResult push(const std::string& path, const std::string& destination, const PushOptions& o) {
  const PathKind kind = naming(path, [&] { return path_kind(path); });
  if (kind != PathKind::file && kind != PathKind::directory) throw Error(path + ": no such file or folder");
  if (o.transfer.part_size < min_part || o.transfer.part_size > max_part)
    throw Error("--part-size " + std::to_string(o.transfer.part_size) + ": S3 parts are 5 MiB to 5 GiB",
                "give a part size from 5Mi to 5Gi");
  check_endpoint(o.transfer.s3.endpoint);
  const Destination to = destination_of(destination, path, kind == PathKind::directory);
  const S3Client client(o.transfer.s3, o.transfer);
  std::vector<LocalFile> files = local_files(path, to, o);
  const std::string base = record_base(path, destination, o);
  RecordLock lock(base);
  Record record(base + ".json", files);
  for (const S3Upload& u : record.stale()) {  // uploads of content that changed since: not resumable
    try {
      client.abort_upload(to.bucket, u.key, u.upload_id);
    } catch (const SourceError& e) {
      o.transfer.warn(std::string("could not abort an earlier, outdated upload: ") + e.what());
    }
  }
  Meter meter(o.transfer);
  Pusher pusher{client, to, record, meter, o};
  PushResult result;
  result.destination = "s3://" + to.bucket + "/" + to.key;
  int64_t total = 0;
  for (const LocalFile& f : files) total += f.size;
  meter.set_all_total(total);
  try {
    // The old manifest goes first: from here until the new one is written, a reader finds none.
    if (to.folder) client.delete_object(to.bucket, to.key + push_manifest_name);
    for (const LocalFile& f : files) {
      const int64_t before = pusher.sent;
      meter.begin_file("s3://" + to.bucket + "/" + f.key, f.size);
      int parts = 0;
      const bool already_there = record.done(f);
      if (!already_there) {
        if (f.size <= o.transfer.part_size) pusher.small(f);
        else parts = pusher.multipart(f);
        record.file_done(f);
      }
      meter.end_file(f.size);
      result.files.push_back({f.name, f.key, f.sha256, f.size, parts, pusher.sent - before, already_there});
    }
    if (to.folder) {
      const std::string manifest = manifest_of(files);
      client.put_object(to.bucket, to.key + push_manifest_name, body_of(manifest), pusher.count);
    }
  } catch (const SourceError& e) {
    throw Error(e.what(), e.hint().empty() ? "run the same push again to resume it" : e.hint());
  }
  record.forget();
  result.sent = pusher.sent;
  return result;
}

int abort_push(const std::string& path, const std::string& destination, const PushOptions& o) {
  check_endpoint(o.transfer.s3.endpoint);
  const bool folder = path_kind(path) == PathKind::directory || destination.ends_with("/");
  const Destination to = destination_of(destination, path, folder);
  const S3Client client(o.transfer.s3, o.transfer);
  const std::string base = record_base(path, destination, o);
  RecordLock lock(base);
  std::vector<S3Upload> uploads;
  try {
    const nlohmann::json j = nlohmann::json::parse(read_file(base + ".json"));
    for (const auto& [name, e] : j.at("files").items())
      if (e.contains("upload_id") && e.contains("key")) uploads.push_back({e["key"], e["upload_id"]});
  } catch (const std::exception&) {  // no record, or an unreadable one: the listing still finds them
  }
  try {
    for (const S3Upload& u : client.list_uploads(to.bucket, to.key))
      if (to.folder || u.key == to.key) uploads.push_back(u);
    std::sort(uploads.begin(), uploads.end(), [](const S3Upload& a, const S3Upload& b) { return a.upload_id < b.upload_id; });
    uploads.erase(std::unique(uploads.begin(), uploads.end(),
                              [](const S3Upload& a, const S3Upload& b) { return a.upload_id == b.upload_id; }),
                  uploads.end());
    for (const S3Upload& u : uploads) client.abort_upload(to.bucket, u.key, u.upload_id);
  } catch (const SourceError& e) {
    throw Error(e.what(), e.hint());
  }
  std::error_code ec;
  fs::remove(base + ".json", ec);
  return int(uploads.size());
}

std::map<std::string, ManifestEntry> parse_push_manifest(const std::string& text, const std::string& what) {
  std::map<std::string, ManifestEntry> out;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw Error(what + ": not JSON (" + e.what() + ")");
  }
  if (!j.is_object() || j.value("format", "") != "dltrain-push 1" || !j.contains("files") || !j["files"].is_array())
    throw Error(what + ": not a dltrain push manifest (format \"dltrain-push 1\" with a list of files)");
  if (j["files"].size() > max_manifest_files) throw Error(what + ": more than 1,000,000 files");
  for (const nlohmann::json& f : j["files"]) {
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string() || !f.contains("size") ||
        !f["size"].is_number_integer() || !f.contains("sha256") || !f["sha256"].is_string())
      throw Error(what + ": a file entry without a name, an integer size and a sha256");
    const std::string name = f["name"];
    const int64_t size = f["size"].get<int64_t>();
    if (!is_safe_relative(name) || name == push_manifest_name) throw Error(what + ": the name '" + name + "' is not allowed");
    if (size < 0) throw Error(what + ": " + name + " has a negative size");
    if (!is_sha256_hex(f["sha256"])) throw Error(what + ": " + name + "'s sha256 is not 64 lower-case hex digits");
    if (!out.emplace(name, ManifestEntry{size, f["sha256"]}).second) throw Error(what + ": " + name + " is listed twice");
  }
  return out;
}

}  // namespace dltrain
