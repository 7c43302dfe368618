// fetch(): source -> files, through the transfer engine, into the content-addressed cache.
// Layout under the cache: blobs/<sha256> (verified bytes), datasets/<name>/<file> (named entries,
// hard links to blobs), index.json (what each URI resolved to, for reuse and --offline),
// mirrors.json (the mirror that last worked per dataset), partial/ (downloads in progress).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <tuple>
#include <nlohmann/json.hpp>

#include "dltrain/data.hpp"
#include "dltrain/fetch.hpp"
#include "dltrain/path.hpp"
#include "gdrive.hpp"
#include "http.hpp"
#include "s3.hpp"
#include "transfer.hpp"
#include "web_page.hpp"

namespace fs = std::filesystem;

namespace dltrain {
namespace {
using namespace fetch_detail;

// Holds an exclusive lock on <cache>/<name>.lock for the lifetime of the object.
class CacheLock {
 public:
  CacheLock(const std::string& cache, const std::string& name) {
    make_folders(cache);
    const std::string path = cache + "/" + name + ".lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0)
      throw Error(path + ": cannot lock the cache: " + std::strerror(errno), "check that the cache folder is writable");
  }
  ~CacheLock() { ::close(fd_); }

 private:
  int fd_ = -1;
};

// A cache JSON file as an object; a missing, unreadable or non-object file reads as empty (and is
// rewritten whole by the next update).
nlohmann::json load_json(const std::string& path) {
  try {
    if (path_exists(path)) {
      nlohmann::json j = nlohmann::json::parse(read_file(path));
      if (j.is_object()) return j;
    }
  } catch (const std::exception&) {
  }
  return nlohmann::json::object();
}

void update_json(const std::string& cache, const std::string& file, const std::string& key, const nlohmann::json& value) {
  CacheLock lock(cache, file);
  nlohmann::json j = load_json(cache + "/" + file);
  j[key] = value;
  write_file_atomic(cache + "/" + file, j.dump(1));
}

struct Fetched {
  std::string name;
  FileDigest digest;
  bool cached = false;
};

// What index.json says an earlier fetch of `key` produced, checked before any of it is used: the
// folder and file names stay inside the dataset folder, every digest is a sha256 (so its blob path
// is inside the cache) whose blob is a regular file of the recorded size. A damaged or tampered
// entry is ignored with a warning, and the fetch runs as if it were absent; an entry whose blobs
// were deleted is ignored silently. Returns the folder and files, or nothing.
std::optional<std::pair<std::string, std::vector<Fetched>>> indexed(const nlohmann::json& index, const std::string& key,
                                                                   const std::string& cache, const FetchOptions& o,
                                                                   const std::string& shown) {
  if (!index.contains(key)) return std::nullopt;
  const nlohmann::json& entry = index[key];
  auto ignore = [&](const std::string& why) {
    o.warn(cache + "/index.json: ignoring the entry for " + shown + ": " + why + "; fetching again");
    return std::nullopt;
  };
  if (!entry.is_object() || !entry.contains("folder") || !entry["folder"].is_string() || !entry.contains("files") ||
      !entry["files"].is_array() || entry["files"].empty())
    return ignore("it is not {\"folder\": name, \"files\": [...]}");
  const std::string folder = entry["folder"];
  if (!is_safe_relative(folder)) return ignore("its folder '" + folder + "' is not a plain name inside datasets/");
  std::vector<Fetched> files;
  for (const nlohmann::json& f : entry["files"]) {
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string() || !f.contains("sha256") ||
        !f["sha256"].is_string() || !f.contains("size") || !f["size"].is_number_integer() || f["size"].get<int64_t>() < 0)
      return ignore("a file record is not {\"name\", \"sha256\", \"size\"}");
    const std::string name = f["name"], digest = f["sha256"];
    if (!is_safe_relative(name)) return ignore("the file name '" + name + "' would leave the dataset folder");
    if (!is_sha256_hex(digest)) return ignore("'" + digest + "' (for " + name + ") is not a sha256 digest");
    std::error_code ec;
    const fs::path blob = blob_path(cache, digest);
    const fs::file_status st = fs::symlink_status(blob, ec);
    if (!fs::exists(st)) return std::nullopt;  // deleted from the cache: fetch again
    if (!fs::is_regular_file(st) || int64_t(fs::file_size(blob, ec)) != f["size"].get<int64_t>())
      return ignore("the blob " + blob.string() + " is not a regular file of " + std::to_string(f["size"].get<int64_t>()) +
                    " bytes");
    files.push_back({name, {digest, "", f["size"].get<int64_t>()}, true});
  }
  return std::make_pair(folder, std::move(files));
}

// A relative name from a remote listing, refused when it could escape its folder.
std::string checked_relative(const std::string& name) {
  if (!is_safe_relative(name)) throw Error("refusing the remote name '" + name + "': it could write outside the dataset folder");
  return fs::path(name).lexically_normal().string();
}

// dest becomes the blob's content: a hard link (copy across file systems), replaced atomically.
void place(const std::string& blob, const std::string& dest) {
  make_folders(fs::path(dest).parent_path().string());
  std::error_code ec;
  if (fs::equivalent(blob, dest, ec)) return;  // already this blob
  const std::string tmp = dest + ".tmp." + std::to_string(::getpid());
  fs::remove(tmp, ec);
  ec.clear();
  fs::create_hard_link(blob, tmp, ec);
  if (ec) {
    ec.clear();
    fs::copy_file(blob, tmp, fs::copy_options::overwrite_existing, ec);
  }
  if (!ec) fs::rename(tmp, dest, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::remove(tmp, ec);
    throw Error(dest + ": cannot place the downloaded file there: " + why, "check that the dataset folder is writable");
  }
  fs::remove(tmp, ec);  // rename between two links of one file leaves both names
}

std::string stem(std::string name) {
  for (const char* ext : {".tar.gz", ".tar.xz", ".tgz", ".zip", ".gz", ".tar", ".xz"}) {
    const std::string e = ext;
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) name.resize(name.size() - e.size());
  }
  return name.empty() ? "download" : name;
}

std::string url_file_name(const std::string& url) {
  std::string path = url.substr(0, url.find_first_of("?#"));
  const size_t scheme = path.find("://");
  path = scheme == std::string::npos ? path : path.substr(path.find('/', scheme + 3) == std::string::npos ? path.size() : path.find('/', scheme + 3));
  const std::string name = uri_decode(path.substr(path.find_last_of('/') + 1));
  return name.empty() || name == ".." || name == "." ? "download" : name;
}

// The digest a single-file fetch must have (--sha256/--md5 or the URL's fragment), as the form a
// download target accepts; empty when none was given.
std::vector<FileVariant> expected_forms(const Source& s, const FetchOptions& o) {
  FileVariant v{-1, s.sha256, s.md5};
  for (const auto& [given, from_url, name, digits] :
       {std::tuple{o.sha256, s.sha256, "sha256", size_t(64)}, std::tuple{o.md5, s.md5, "md5", size_t(32)}}) {
    if (given.empty()) continue;
    if (const std::string problem = digest_problem(given, digits, std::string("--") + name); !problem.empty())
      throw Error(problem, std::string("give the file's ") + name + " as " + std::to_string(digits) + " hex digits");
    std::string hex = given;
    std::transform(hex.begin(), hex.end(), hex.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (!from_url.empty() && from_url != hex)
      throw Error(std::string("--") + name + " " + hex + " and the URL's #" + name + "=" + from_url + " disagree",
                  "give the expected digest once");
    (digits == 64 ? v.sha256 : v.md5) = hex;
  }
  if (v.sha256.empty() && v.md5.empty()) return {};
  return {v};
}

// Whether a cached file is the expected one: its sha256 names its blob; an md5 is the one recorded
// when it was verified, else computed from the blob. Says how it differs, or "".
std::string cached_mismatch(const nlohmann::json& record, const FileDigest& d, const FileVariant& want,
                            const std::string& cache) {
  if (!want.sha256.empty() && want.sha256 != d.sha256) return "expected sha256 " + want.sha256 + ", got " + d.sha256;
  if (want.md5.empty()) return "";
  const std::string md5 = record.contains("md5") && record["md5"].is_string()
                              ? record["md5"].get<std::string>()
                              : digest_file(blob_path(cache, d.sha256), true).md5;
  return md5 == want.md5 ? "" : "expected md5 " + want.md5 + ", got " + md5;
}

// Catalog datasets: each file from the remembered mirror first, then the others in order.
std::vector<Fetched> fetch_catalog_entry(const CatalogEntry& e, const FetchOptions& o, const std::string& cache,
                                         Meter& meter, const std::vector<std::string>& mirrors_override) {
  std::vector<std::string> mirrors = mirrors_override.empty() ? e.mirrors : mirrors_override;
  const nlohmann::json remembered = load_json(cache + "/mirrors.json");
  if (mirrors_override.empty() && remembered.contains(e.name) && remembered[e.name].is_string()) {
    // Stored redacted: a remembered mirror that had credentials is found again among the given ones.
    const std::string m = remembered[e.name];
    const auto it = std::find_if(mirrors.begin(), mirrors.end(), [&](const std::string& x) { return redact_url(x) == m; });
    if (it != mirrors.end()) std::rotate(mirrors.begin(), it, it + 1);
    else if (m.find("***") == std::string::npos && m.rfind("http", 0) == 0) mirrors.insert(mirrors.begin(), m);
  }
  int64_t total = 0;
  for (const CatalogFile& f : e.files) total += f.variants.front().size > 0 ? f.variants.front().size : 0;
  meter.set_all_total(total);
  std::vector<Fetched> out;
  for (const CatalogFile& f : e.files) {
    std::string failures;
    bool done = false;
    for (const FileVariant& v : f.variants)  // already in the cache: nothing to download
      if (!v.sha256.empty() && path_exists(blob_path(cache, v.sha256))) {
        out.push_back({f.name, {v.sha256, "", int64_t(file_bytes(blob_path(cache, v.sha256)))}, true});
        meter.end_file(out.back().digest.size);
        done = true;
        break;
      }
    for (const std::string& mirror : mirrors) {
      if (done) break;
      Target t;
      t.url = mirror + f.name;
      t.label = f.name + " (" + redact_url(mirror) + ")";
      t.accept = f.variants;
      t.web_page_ok = o.allow_html;
      meter.begin_file(t.label, f.variants.front().size);
      try {
        const FileDigest d = mirror.rfind("file://", 0) == 0 ? import_local(t.url.substr(7), t, cache, meter)
                                                             : download(t, o, cache, meter);
        out.push_back({f.name, d, false});
        meter.end_file(d.size);
        if (redact_url(mirror) != (remembered.contains(e.name) && remembered[e.name].is_string() ? remembered[e.name].get<std::string>() : ""))
          update_json(cache, "mirrors.json", e.name, redact_url(mirror));
        done = true;
      } catch (const SourceError& err) {
        failures += std::string("\n  ") + err.what();
        o.warn(std::string(err.what()) + "; trying the next mirror");
      }
    }
    if (!done)
      throw Error("every mirror failed for " + e.name + "/" + f.name + ":" + failures,
                  "check the network (proxies come from http_proxy/https_proxy), or pass --mirror URL");
  }
  return out;
}

FileDigest fetch_one(const Target& t, const FetchOptions& o, const std::string& cache, Meter& meter) {
  meter.begin_file(t.label, -1);
  try {
    const FileDigest d = download(t, o, cache, meter);
    meter.end_file(d.size);
    return d;
  } catch (const SourceError& e) {
    throw Error(e.what(), e.hint());
  }
}

// A prefix that `dltrain push` wrote holds a manifest.json: it is fetched first, and then only the
// files it lists are fetched, each checked against its SHA-256 (`objects` loses the others, with a
// warning). A listed file the bucket lacks means a push in progress or an altered prefix: an error.
// Without a manifest nothing changes. The manifest itself joins `out`.
std::map<std::string, ManifestEntry> pushed_manifest(const Source& s, const S3Client& client, std::vector<S3Object>& objects,
                                                     const FetchOptions& o, const std::string& cache, Meter& meter,
                                                     std::vector<Fetched>& out) {
  const std::string key = s.key + push_manifest_name, what = "s3://" + s.bucket + "/" + key;
  const auto m = std::find_if(objects.begin(), objects.end(), [&](const S3Object& x) { return x.key == key; });
  if (m == objects.end()) return {};
  constexpr int64_t max_manifest = 64 << 20;
  if (m->size > max_manifest) throw Error(what + ": " + std::to_string(m->size) + " bytes is too large for a manifest (64 MiB at most)");
  Target t = client.target(s.bucket, key);
  t.accept = {{m->size, "", ""}};
  t.known_size = m->size;
  t.known_validator = m->etag;
  const FileDigest d = fetch_one(t, o, cache, meter);
  out.push_back({push_manifest_name, d, false});
  objects.erase(m);
  const auto manifest = parse_push_manifest(read_file(blob_path(cache, d.sha256)), what);
  std::map<std::string, int64_t> listed;
  for (const S3Object& x : objects) listed[x.key.substr(s.key.size())] = x.size;
  for (const auto& [name, entry] : manifest) {
    const auto it = listed.find(name);
    if (it == listed.end() || it->second != entry.size)
      throw Error(what + " lists " + name + " (" + std::to_string(entry.size) + " bytes), which the bucket " +
                      (it == listed.end() ? "does not hold" : "holds with " + std::to_string(it->second) + " bytes"),
                  "a push to this prefix is unfinished or the prefix was changed since; push it again");
  }
  std::erase_if(objects, [&](const S3Object& x) {
    const bool extra = !manifest.contains(x.key.substr(s.key.size()));
    if (extra) o.warn("s3://" + s.bucket + "/" + x.key + " is not in " + what + "; skipped");
    return extra;
  });
  return manifest;
}

std::vector<Fetched> fetch_s3(const Source& s, const FetchOptions& o, const std::string& cache, Meter& meter,
                              const std::vector<FileVariant>& expect) {
  const S3Client client(o.s3, o);
  std::vector<Fetched> out;
  if (!s.key.empty() && s.key.back() != '/') {
    Target t = client.target(s.bucket, s.key);
    t.accept = expect;
    t.web_page_ok = o.allow_html || is_html_name(s.key);
    out.push_back({url_file_name(s.key), fetch_one(t, o, cache, meter), false});
    return out;
  }
  if (!expect.empty())
    throw Error("--sha256/--md5 name one file's digest, and " + s.uri + " is a prefix of many",
                "give the key of one object, or fetch the prefix without a digest");
  std::vector<S3Object> objects;
  try {
    objects = client.list(s.bucket, s.key);
  } catch (const SourceError& e) {
    throw Error(e.what(), e.hint());
  }
  std::erase_if(objects, [](const S3Object& x) { return x.key.empty() || x.key.back() == '/'; });
  if (objects.empty()) throw Error("nothing under " + s.uri, "check the prefix (" + client.describe() + ")");
  const std::map<std::string, ManifestEntry> manifest = pushed_manifest(s, client, objects, o, cache, meter, out);
  int64_t total = 0;
  for (const S3Object& x : objects) total += x.size;
  meter.set_all_total(total);
  for (const S3Object& x : objects) {
    Target t = client.target(s.bucket, x.key);
    const auto m = manifest.find(x.key.substr(s.key.size()));
    t.accept = {{x.size, m == manifest.end() ? "" : m->second.sha256, ""}};
    t.web_page_ok = o.allow_html || is_html_name(x.key);
    t.known_size = x.size;
    t.known_validator = x.etag;
    out.push_back({checked_relative(x.key.substr(s.key.size())), fetch_one(t, o, cache, meter), false});
  }
  return out;
}

// One Drive file through the download flow (its cookie jar removed afterwards).
FileDigest fetch_drive_file(const std::string& id, const std::string& path_hint, const FetchOptions& o,
                            const std::string& cache, Meter& meter, const std::vector<FileVariant>& expect,
                            std::string* filename) {
  make_folders(cache + "/partial");
  const std::string jar = cache + "/partial/gdrive-" + id + ".cookies";
  DriveFile df;
  try {
    df = resolve_drive(id, o, jar);
  } catch (const SourceError& e) {
    throw Error(e.what(), e.hint());
  }
  Target t;
  t.url = df.url;
  t.label = (path_hint.empty() ? df.filename : path_hint) + " (Google Drive " + id + ")";
  t.accept = expect;
  t.web_page_ok = o.allow_html || is_html_name(path_hint.empty() ? df.filename : path_hint);
  if (!df.cookies.empty()) t.headers = [c = df.cookies](int64_t, int64_t) { return std::vector<std::string>{c}; };
  const FileDigest d = fetch_one(t, o, cache, meter);
  std::error_code ec;
  fs::remove(jar, ec);
  if (filename) *filename = df.filename;
  return d;
}

// A shared folder: every file, sub-folders kept, each through the download flow. The folder's
// name (from its page) names the dataset unless --name does.
std::vector<Fetched> fetch_drive_folder(const Source& s, const FetchOptions& o, const std::string& cache, Meter& meter,
                                        const std::vector<FileVariant>& expect, std::string& folder_name) {
  if (!expect.empty())
    throw Error("--sha256/--md5 name one file's digest, and " + s.uri + " is a folder",
                "give a file's link, or fetch the folder without a digest");
  std::string title;
  std::vector<DriveListedFile> files;
  try {
    files = list_drive_folder(s.drive_id, o, title);
  } catch (const SourceError& e) {
    throw Error(e.what(), e.hint());
  }
  if (files.empty()) throw Error("Google Drive folder " + s.drive_id + " holds no files");
  if (folder_name.empty()) folder_name = is_safe_relative(title) && title.find('/') == std::string::npos ? title : s.drive_id;
  std::vector<Fetched> out;
  for (const DriveListedFile& f : files) out.push_back({f.path, fetch_drive_file(f.id, f.path, o, cache, meter, {}, nullptr), false});
  return out;
}

std::vector<Fetched> fetch_local(const Source& s, const std::string& cache, Meter& meter,
                                 const std::vector<FileVariant>& expect) {
  std::vector<Fetched> out;
  const fs::path root(s.path);
  const PathKind kind = naming(redact_url(s.path), [&] { return path_kind(s.path); });
  if (kind == PathKind::none) throw Error(redact_url(s.path) + ": no such file or folder");
  std::vector<fs::path> files;
  if (kind == PathKind::directory) {
    std::error_code ec;
    fs::recursive_directory_iterator it(root, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      if (it->is_regular_file(ec) && !ec) files.push_back(it->path());
    if (ec) throw Error(redact_url(s.path) + ": cannot list the folder: " + ec.message());
    std::sort(files.begin(), files.end());
    if (files.empty()) throw Error(redact_url(s.path) + ": the folder holds no files", "give a folder with files in it");
    if (!expect.empty())
      throw Error("--sha256/--md5 name one file's digest, and " + redact_url(s.path) + " is a folder",
                  "give the path of one file, or fetch the folder without a digest");
  } else {
    files.push_back(root);
  }
  for (const fs::path& f : files) {
    meter.begin_file(f.string(), int64_t(file_bytes(f.string())));
    Target target;
    target.label = f.string();
    target.accept = expect;
    const FileDigest d = import_local(f.string(), target, cache, meter);
    meter.end_file(d.size);
    out.push_back({kind == PathKind::directory ? f.lexically_relative(root).string() : f.filename().string(), d, false});
  }
  return out;
}

}  // namespace

FetchResult fetch(const std::string& uri, const FetchOptions& o) {
  const std::string cache = o.cache.empty() ? cache_dir() : o.cache;
  const Source s = parse_source(uri);
  check_endpoint(o.s3.endpoint);
  // Checked before anything is fetched or recorded, so a refused name leaves the cache as it was.
  if (!o.name.empty() && !is_safe_relative(o.name))
    throw Error("--name '" + o.name + "': not a plain name inside " + cache + "/datasets",
                "use a name such as mydigits or team/mydigits, without '..', '.' or a leading '/'");
  if (o.insecure && (s.kind == SourceKind::http || s.kind == SourceKind::s3 || s.kind == SourceKind::gdrive))
    o.warn("--insecure: TLS certificates are NOT checked for this fetch; anyone on the network path could "
           "substitute the data");
  // Checked before anything is fetched, too: an unusable digest, or one for many files.
  const std::vector<FileVariant> expect = expected_forms(s, o);
  if (!expect.empty() && s.kind == SourceKind::catalog)
    throw Error("--sha256/--md5: the catalog dataset " + uri + " has its own digests", "fetch it without a digest");
  std::vector<std::string> mirror_override;
  // The index never holds a credential: a URI with one is keyed by its redacted form plus a digest
  // of the whole (so ?key=a and ?key=b stay two entries).
  // A digest fragment is no part of the key: URL#sha256=X is URL, checked against X.
  const std::string plain = split_digest_fragment(uri).url, shown = redact_url(plain);
  std::string key = s.kind == SourceKind::catalog ? "catalog:" + uri
                    : shown == plain              ? plain
                                                  : shown + " #" + sha256_hex(plain).substr(0, 16);
  if (s.kind == SourceKind::s3 && !o.s3.endpoint.empty()) key += " @" + redact_url(o.s3.endpoint);
  Meter meter(o);
  std::string folder_name = o.name;
  std::vector<Fetched> got;
  // Reuse what an earlier fetch of the same URI verified, if its blobs are all still there.
  const nlohmann::json index = load_json(cache + "/index.json");
  if (auto earlier = indexed(index, key, cache, o, shown)) {
    // A cached file must be the expected one too; one that is not is fetched (and checked) again.
    const std::string mismatch =
        expect.empty() || earlier->second.size() != 1
            ? ""
            : cached_mismatch(index[key]["files"][0], earlier->second[0].digest, expect[0], cache);
    if (!mismatch.empty() && o.offline)
      throw Error("--offline: the cached copy of " + shown + " is not the expected file: " + mismatch,
                  "check the digest, or fetch without --offline to download the file again");
    if (!mismatch.empty()) {
      o.warn("the cached copy of " + shown + " is not the expected file (" + mismatch + "); fetching it again");
    } else {
      if (folder_name.empty()) folder_name = earlier->first;
      got = std::move(earlier->second);
    }
  }
  if (got.empty() && o.offline) {
    std::string missing = index.contains(key) ? " (some of its files are gone from " + cache + "/blobs)" : "";
    throw Error("--offline: " + shown + " is not in the cache" + missing, "run the same fetch once without --offline");
  }
  if (got.empty()) {
    switch (s.kind) {
      case SourceKind::catalog: {
        const auto& cat = catalog();
        const auto it = std::find_if(cat.begin(), cat.end(), [&](const CatalogEntry& e) { return e.name == uri; });
        for (const std::string& m : o.mirrors) mirror_override.push_back(m.back() == '/' ? m : m + "/");
        got = fetch_catalog_entry(*it, o, cache, meter, mirror_override);
        if (folder_name.empty()) folder_name = it->name;
        break;
      }
      case SourceKind::http: {
        Target t;
        t.url = s.url;
        t.label = redact_url(s.url);
        t.accept = expect;
        t.web_page_ok = o.allow_html || is_html_name(url_file_name(s.url));
        got.push_back({url_file_name(s.url), fetch_one(t, o, cache, meter), false});
        break;
      }
      case SourceKind::s3:
        got = fetch_s3(s, o, cache, meter, expect);
        if (folder_name.empty()) {
          std::string k = s.key;
          while (!k.empty() && k.back() == '/') k.pop_back();
          folder_name = k.empty() ? s.bucket : stem(k.substr(k.find_last_of('/') + 1));
        }
        break;
      case SourceKind::gdrive: {
        if (s.drive_folder) {
          got = fetch_drive_folder(s, o, cache, meter, expect, folder_name);
          break;
        }
        std::string filename;
        const FileDigest d = fetch_drive_file(s.drive_id, "", o, cache, meter, expect, &filename);
        got.push_back({filename, d, false});
        break;
      }
      case SourceKind::local:
        got = fetch_local(s, cache, meter, expect);
        if (folder_name.empty()) folder_name = stem(fs::path(s.path).lexically_normal().filename().string());
        break;
    }
    if (folder_name.empty()) folder_name = stem(got.front().name);
    checked_relative(folder_name);  // names that come from remote listings and headers are refused
    for (const Fetched& f : got) checked_relative(f.name);  // before they are recorded
    nlohmann::json files = nlohmann::json::array();
    for (const Fetched& f : got) {
      files.push_back({{"name", f.name}, {"sha256", f.digest.sha256}, {"size", f.digest.size}});
      if (!f.digest.md5.empty()) files.back()["md5"] = f.digest.md5;  // verified: a later --md5 is checked against it
    }
    update_json(cache, "index.json", key, {{"folder", folder_name}, {"files", files}});
  }
  checked_relative(folder_name);
  FetchResult result;
  result.folder = cache + "/datasets/" + folder_name;
  for (const Fetched& f : got) {
    const std::string blob = blob_path(cache, f.digest.sha256), rel = checked_relative(f.name);
    place(blob, result.folder + "/" + rel);
    std::string where = result.folder + "/" + rel;
    if (!o.output.empty()) {
      place(blob, o.output + "/" + rel);
      where = o.output + "/" + rel;
    }
    result.files.push_back({rel, where, f.digest.sha256, f.digest.size, f.cached});
    const bool archive = rel.ends_with(".tar.gz") || rel.ends_with(".tgz") || rel.ends_with(".tar.xz") ||
                         rel.ends_with(".tar") || rel.ends_with(".zip");
    bool extract = o.extract && archive;
    for (const CatalogEntry& e : catalog()) extract = extract || (e.name == uri && e.extract && archive);
    if (extract) extract_archive(blob, o.output.empty() ? result.folder : o.output, o.extract_limits);
  }
  if (!o.output.empty()) result.folder = o.output;
  return result;
}

}  // namespace dltrain
