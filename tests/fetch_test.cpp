// dltrain fetch against real servers on loopback: a fault-injecting HTTP server, a stand-in for
// Google Drive's download flow, and moto's S3 server with authentication on (tests/servers/).
// Checked: resume, restart when a server ignores Range, retries (500, 429 + Retry-After, stalls),
// redirects, parallel parts, mirror fallback, verification (a corrupt file is never published),
// concurrent fetches of one file, the cache and --offline, S3 get/list/credentials, Drive's
// warning form, quota and permission pages, and archives with hostile members.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "dltrain/data.hpp"
#include "dltrain/fetch.hpp"
#include "dltrain/io.hpp"
#include "fetch/gdrive.hpp"
#include "fetch/retry.hpp"
#include "helpers.hpp"
#include "s3_server.hpp"

namespace fs = std::filesystem;

namespace dltrain {
namespace {
using test::ServerProcess;
using test::TempDir;
using test::random_bytes;
using test::write;

// Sum of body bytes the HTTP server sent for requests whose path contains `part`.
int64_t bytes_sent(const std::string& log, const std::string& part, int* requests = nullptr) {
  int64_t total = 0;
  std::ifstream f(log);
  for (std::string line; std::getline(f, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["path"].get<std::string>().find(part) == std::string::npos) continue;
    total += j["bytes"].get<int64_t>();
    if (requests) ++*requests;
  }
  return total;
}

class Fetch : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = random_bytes(1500000, 1);
    write(root_ / "file.bin", file_);
    server_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{"python3", test::servers_dir() + "/http_faults.py", root_.path(), "--log", log_});
    ASSERT_TRUE(server_->running()) << "tests/servers/http_faults.py did not start";
    base_ = "http://127.0.0.1:" + server_->first_line().substr(5) + "/m/";
    o_.cache = cache_.path();
    o_.backoff_seconds = 0.05;
    o_.stall_seconds = 2;
    o_.part_size = 1 << 20;
  }
  std::string read(const FetchResult& r) { return read_file(r.files.at(0).path); }
  size_t blob_count() {
    return fs::exists(cache_ / "blobs") ? size_t(std::distance(fs::directory_iterator(cache_ / "blobs"), {})) : 0;
  }

  TempDir root_, cache_, logs_;
  std::string log_ = logs_ / "requests.jsonl";
  std::string file_, base_;
  std::unique_ptr<ServerProcess> server_;
  FetchOptions o_;
};

TEST_F(Fetch, PlainDownloadThenCacheThenOffline) {
  const FetchResult r = fetch(base_ + "ok/file.bin", o_);
  ASSERT_EQ(r.files.size(), 1u);
  EXPECT_EQ(read(r), file_);
  EXPECT_EQ(r.files[0].sha256, sha256_hex(file_));
  EXPECT_TRUE(fs::exists(cache_ / ("blobs/" + sha256_hex(file_))));
  int before = 0;
  bytes_sent(log_, "file.bin", &before);
  const FetchResult again = fetch(base_ + "ok/file.bin", o_);  // no byte twice
  EXPECT_TRUE(again.files[0].from_cache);
  int after = 0;
  bytes_sent(log_, "file.bin", &after);
  EXPECT_EQ(before, after);
  FetchOptions offline = o_;
  offline.offline = true;
  EXPECT_EQ(read(fetch(base_ + "ok/file.bin", offline)), file_);
  try {
    fetch(base_ + "ok/other.bin", offline);
    FAIL() << "--offline fetched something new";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not in the cache"), std::string::npos) << e.what();
  }
}

TEST_F(Fetch, ParallelPartsAndRedirects) {
  FetchOptions o = o_;
  o.part_size = 200000;  // 8 parts
  o.concurrency = 4;
  EXPECT_EQ(read(fetch(base_ + "redirect/file.bin", o)), file_);
  int requests = 0;
  bytes_sent(log_, "/ok/file.bin", &requests);
  EXPECT_GE(requests, 9);  // the probe and 8 ranged parts after the redirect
}

TEST_F(Fetch, ResumesAcrossRunsAndTransfersOnlyTheRest) {
  FetchOptions o = o_;
  o.part_size = 1 << 30;  // one stream
  o.retries = 0;
  EXPECT_THROW(fetch(base_ + "dropfirst-600000/file.bin", o), Error);  // cut at 40%
  EXPECT_EQ(blob_count(), 0u);                                         // nothing half-done published
  const int64_t first = bytes_sent(log_, "file.bin");
  EXPECT_EQ(read(fetch(base_ + "dropfirst-600000/file.bin", o)), file_);
  EXPECT_EQ(bytes_sent(log_, "file.bin") - first, int64_t(file_.size()) - 600000 + 1);  // + the probe's byte
}

// A resume record (the sidecar) is validated against its partial file before it is trusted: an
// offset past the bytes on disk, or part flags that do not cover the file, start the download over
// (they used to leave a hole of zeros, published as the file when no digest was known).
TEST_F(Fetch, ATamperedResumeRecordStartsOver) {
  struct Case {
    std::string name, mode;  // the server cuts the first response of each mode's URL
    int64_t part_size;
    std::function<void(nlohmann::json&)> tamper;
    bool warns = true;  // an unreadable record (a float where a count belongs) restarts silently
  };
  const std::vector<Case> cases = {
      {"offset_past_the_partial_file", "dropfirst-600000", 1 << 30,
       [](nlohmann::json& j) { j["offset"] = j["offset"].get<int64_t>() + 400000; }},
      {"negative_offset", "dropfirst-600001", 1 << 30, [](nlohmann::json& j) { j["offset"] = -5; }},
      {"float_offset", "dropfirst-600002", 1 << 30, [](nlohmann::json& j) { j["offset"] = 1e300; }, false},
      {"too_few_part_flags", "dropfirst-150000", 200000,
       [](nlohmann::json& j) { j["done"] = std::vector<bool>{false}; j["got"] = {0}; }},
  };
  for (const Case& c : cases) {
    TempDir cache;
    FetchOptions o = o_;
    o.cache = cache.path();
    o.part_size = c.part_size;
    o.retries = 0;
    std::vector<std::string> warnings;
    o.warn = [&](const std::string& w) { warnings.push_back(w); };
    const std::string url = base_ + c.mode + "/file.bin";
    EXPECT_THROW(fetch(url, o), Error) << c.name;
    const std::string side = cache / ("partial/" + sha256_hex(url) + ".json");
    ASSERT_TRUE(fs::exists(side)) << c.name;
    nlohmann::json j = nlohmann::json::parse(read_file(side));
    c.tamper(j);
    write(side, j.dump());
    EXPECT_EQ(sha256_hex(read(fetch(url, o))), sha256_hex(file_)) << c.name << ": the published file differs";
    bool warned = false;
    for (const std::string& w : warnings) warned = warned || w.find(side + " does not match its partial file") != std::string::npos;
    EXPECT_EQ(warned, c.warns) << c.name;
  }
}

TEST_F(Fetch, CutPartsResumeWhereTheyStopped) {
  FetchOptions o = o_;
  o.part_size = 200000;
  o.concurrency = 3;
  EXPECT_EQ(read(fetch(base_ + "drop-150000/file.bin", o)), file_);  // every response is cut at 150 kB
  EXPECT_EQ(bytes_sent(log_, "file.bin"), int64_t(file_.size()) + 1);  // no byte twice (+ the probe's)
}

TEST_F(Fetch, PartsOfAnInterruptedRunResumeInTheNextRun) {
  FetchOptions o = o_;
  o.part_size = 200000;
  o.concurrency = 1;
  o.retries = 0;
  EXPECT_THROW(fetch(base_ + "dropfirst-150000/file.bin", o), Error);  // the first part is cut
  const int64_t first = bytes_sent(log_, "file.bin");
  EXPECT_EQ(read(fetch(base_ + "dropfirst-150000/file.bin", o)), file_);
  // The second run asks only for what the first did not receive (+ its probe's byte).
  EXPECT_EQ(bytes_sent(log_, "file.bin") - first, int64_t(file_.size()) - (first - 1) + 1);
}

TEST_F(Fetch, RestartsCleanlyWhenTheServerIgnoresRange) {
  FetchOptions o = o_;
  o.part_size = 1 << 30;
  o.retries = 0;
  EXPECT_THROW(fetch(base_ + "norange,dropfirst-500000/file.bin", o), Error);
  std::vector<std::string> warnings;
  o.warn = [&](const std::string& w) { warnings.push_back(w); };
  EXPECT_EQ(read(fetch(base_ + "norange,dropfirst-500000/file.bin", o)), file_);  // not appended
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings.back().find("starting over"), std::string::npos);
  // The parallel path, too: a 200 to a ranged part falls back to one stream.
  FetchOptions p = o_;
  p.part_size = 100000;
  EXPECT_EQ(read(fetch(base_ + "norange/file.bin", p)), file_);
}

TEST_F(Fetch, RetriesServerErrorsRateLimitsAndStalls) {
  EXPECT_EQ(read(fetch(base_ + "flaky-2/file.bin", o_)), file_);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(read(fetch(base_ + "retryafter-1/file.bin", o_)), file_);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900));  // honoured Retry-After
  FetchOptions one_stream = o_;
  one_stream.part_size = 1 << 30;
  EXPECT_EQ(read(fetch(base_ + "stall-30/file.bin", one_stream)), file_);  // the stalled connection is retried
  FetchOptions few = o_;
  few.retries = 1;
  try {
    fetch(base_ + "flaky-5/file.bin", few);
    FAIL() << "no error after the last try";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("HTTP 500 (after 2 tries)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(fetch(base_ + "ok/missing.bin", o_), Error);
}

TEST_F(Fetch, RetryAfterIsHonouredOnlyUpToTheCap) {
  FetchOptions capped = o_;
  capped.max_retry_after = 0.5;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(read(fetch(base_ + "retryafter-600/file.bin", capped)), file_);  // the server asks for 10 minutes
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
  EXPECT_EQ(FetchOptions{}.max_retry_after, 30) << "the documented default cap (README, fetch.hpp)";
}

TEST_F(Fetch, EndpointsOtherThanHttpAreRefused) {
  for (const char* endpoint : {"gopher://127.0.0.1:70/", "file:///etc", "ftp://example.com", "localhost/../x"}) {
    FetchOptions o = o_;
    o.s3.endpoint = endpoint;
    for (const std::string& uri : {std::string("s3://bucket/key.bin"), base_ + "ok/file.bin"}) {
      try {
        fetch(uri, o);
        ADD_FAILURE() << "--endpoint " << endpoint << " was accepted for " << uri;
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("only http:// and https:// endpoints"), std::string::npos) << e.what();
      }
    }
  }
}

TEST_F(Fetch, LimitRateCapsTheBandwidth) {
  FetchOptions o = o_;
  o.limit_rate = 1000000;  // 1.5 MB at 1 MB/s: at least a second, however fast the machine
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(read(fetch(base_ + "ok/file.bin", o)), file_);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1200));
}

TEST_F(Fetch, ConcurrentFetchesOfOneFileDoNotCorruptIt) {
  FetchOptions o = o_;
  o.part_size = 300000;
  std::string a, b;
  std::thread t1([&] { a = read(fetch(base_ + "slow-3000000/file.bin", o)); });
  std::thread t2([&] { b = read(fetch(base_ + "slow-3000000/file.bin", o)); });
  t1.join();
  t2.join();
  EXPECT_EQ(a, file_);
  EXPECT_EQ(b, file_);
}

class CatalogMirrors : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::fashion_mnist_dir().empty()) GTEST_SKIP() << "Fashion-MNIST is not installed (dataset-fashion-mnist)";
    server_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{"python3", test::servers_dir() + "/http_faults.py", test::fashion_mnist_dir()});
    ASSERT_TRUE(server_->running());
    base_ = "http://127.0.0.1:" + server_->first_line().substr(5) + "/m/";
    o_.cache = cache_.path();
    o_.backoff_seconds = 0.01;
    o_.retries = 1;
  }
  TempDir cache_;
  std::unique_ptr<ServerProcess> server_;
  std::string base_;
  FetchOptions o_;
};

TEST_F(CatalogMirrors, FallsBackPastFailingAndCorruptMirrorsAndRemembers) {
  o_.mirrors = {base_ + "flaky-99", base_ + "corrupt", base_ + "ok"};
  std::vector<std::string> warnings;
  o_.warn = [&](const std::string& w) { warnings.push_back(w); };
  const FetchResult r = fetch("fashion-mnist", o_);
  ASSERT_EQ(r.files.size(), 4u);
  for (const FetchedFile& f : r.files)
    EXPECT_EQ(digest_file(f.path).sha256, digest_file(test::fashion_mnist_dir() + "/" + f.name).sha256);
  bool saw_corrupt = false;
  for (const std::string& w : warnings) saw_corrupt = saw_corrupt || w.find("verification failed") != std::string::npos;
  EXPECT_TRUE(saw_corrupt);
  EXPECT_EQ(load_dataset(r.folder).train.size(), 60000);
  const auto mirrors = nlohmann::json::parse(read_file(cache_ / "mirrors.json"));
  EXPECT_EQ(mirrors["fashion-mnist"], base_ + "ok/");
}

TEST_F(CatalogMirrors, OnlyCorruptMirrorsPublishNothing) {
  o_.mirrors = {base_ + "corrupt"};
  try {
    fetch("fashion-mnist", o_);
    FAIL() << "a corrupt file was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("every mirror failed"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(cache_ / "datasets/fashion-mnist/train-labels-idx1-ubyte.gz"));
  EXPECT_TRUE(!fs::exists(cache_ / "blobs") || fs::is_empty(cache_ / "blobs"));
}

TEST(FetchLocal, CopiesVerifiesAndNamesAFolder) {
  TempDir src, cache;
  write(src / "a/x.txt", "x");
  write(src / "y.bin", random_bytes(1000, 3));
  FetchOptions o;
  o.cache = cache.path();
  o.name = "mine";
  const FetchResult r = fetch(src.path(), o);
  ASSERT_EQ(r.files.size(), 2u);
  EXPECT_EQ(read_file(cache / "datasets/mine/a/x.txt"), "x");
  write(src / "a/x.txt", "changed");  // the cache keeps what was fetched
  EXPECT_EQ(read_file(cache / "datasets/mine/a/x.txt"), "x");
}

// An import killed with -9 leaves its private copy in partial/; the next import of the same file
// removes the copies whose process is gone and keeps a live process's (a pid above pid_max can
// never be alive; this test's own pid is).
TEST(FetchLocal, CopiesOfKilledImportsAreRemovedAndLiveOnesKept) {
  TempDir src, cache;
  write(src / "x.bin", "data");
  const std::string uri = src / "x.bin", prefix = cache / ("partial/" + sha256_hex("local:" + uri) + ".");
  const std::string dead = prefix + "999999999-0.part", live = prefix + std::to_string(::getpid()) + "-77.part",
                    other = cache / "partial/unrelated.999999999-0.part";
  for (const std::string& p : {dead, live, other}) write(p, "half a copy");
  FetchOptions o;
  o.cache = cache.path();
  fetch(uri, o);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(other));
}

// Every index.json entry is checked before use. A digest that is not a sha256 used to become a
// path (<cache>/blobs/../../secret) that fetch hard-linked into the dataset folder; entries of the
// wrong JSON types used to make every later fetch throw. Each is now ignored with a warning
// naming index.json, and the fetch runs again from the source.
TEST(FetchCache, TamperedIndexEntriesAreIgnoredWithAWarning) {
  TempDir src, cache, elsewhere;
  write(src / "x.bin", "the real data");
  write(elsewhere / "secret.txt", "not for the dataset");
  FetchOptions o;
  o.cache = cache.path();
  std::vector<std::string> warnings;
  o.warn = [&](const std::string& w) { warnings.push_back(w); };
  const std::string uri = src / "x.bin", index = cache / "index.json";
  const FetchResult first = fetch(uri, o);
  const std::string dataset_file = first.files.at(0).path;
  const nlohmann::json good = nlohmann::json::parse(read_file(index));
  const std::string escape = fs::relative(elsewhere / "secret.txt", cache / "blobs").string();
  ASSERT_TRUE(fs::exists(cache / ("blobs/" + escape)));  // the path the tampered digest would name
  struct Case {
    std::string name;
    std::function<void(nlohmann::json&)> tamper;
    std::string warning;
  };
  const std::vector<Case> cases = {
      {"digest_escapes_the_cache", [&](nlohmann::json& j) { j[uri]["files"][0]["sha256"] = escape; },
       "'" + escape + "' (for x.bin) is not a sha256 digest"},
      {"digest_upper_case", [&](nlohmann::json& j) {
         std::string d = j[uri]["files"][0]["sha256"];
         for (char& c : d) c = char(std::toupper(c));
         j[uri]["files"][0]["sha256"] = d;
       }, "is not a sha256 digest"},
      {"folder_escapes", [&](nlohmann::json& j) { j[uri]["folder"] = "../../x"; },
       "its folder '../../x' is not a plain name"},
      {"file_name_escapes", [&](nlohmann::json& j) { j[uri]["files"][0]["name"] = "../../x.bin"; },
       "the file name '../../x.bin' would leave the dataset folder"},
      {"folder_not_a_string", [&](nlohmann::json& j) { j[uri]["folder"] = 42; }, "is not {\"folder\""},
      {"files_not_an_array", [&](nlohmann::json& j) { j[uri]["files"] = "x"; }, "is not {\"folder\""},
      {"size_not_a_number", [&](nlohmann::json& j) { j[uri]["files"][0]["size"] = "big"; }, "a file record is not"},
      {"size_wrong", [&](nlohmann::json& j) { j[uri]["files"][0]["size"] = 1; }, "is not a regular file of 1 bytes"},
      {"index_not_an_object", [&](nlohmann::json& j) { j = nlohmann::json::array({1, 2}); }, ""},
  };
  for (const Case& c : cases) {
    nlohmann::json j = good;
    c.tamper(j);
    write(index, j.dump());
    warnings.clear();
    FetchResult r;
    try {
      r = fetch(uri, o);
    } catch (const std::exception& e) {
      ADD_FAILURE() << c.name << ": " << e.what();
      continue;
    }
    EXPECT_EQ(read_file(dataset_file), "the real data") << c.name;
    EXPECT_EQ(r.files.at(0).path, dataset_file) << c.name;
    EXPECT_FALSE(r.files.at(0).from_cache) << c.name << ": the tampered entry was used";
    if (!c.warning.empty()) {
      ASSERT_EQ(warnings.size(), 1u) << c.name;
      EXPECT_NE(warnings[0].find(index + ": ignoring the entry for " + uri), std::string::npos) << warnings[0];
      EXPECT_NE(warnings[0].find(c.warning), std::string::npos) << c.name << ": " << warnings[0];
    }
    // The fetch rewrote a valid entry: the next one uses it.
    EXPECT_TRUE(fetch(uri, o).files.at(0).from_cache) << c.name;
  }
  EXPECT_EQ(read_file(elsewhere / "secret.txt"), "not for the dataset");
  EXPECT_EQ(fs::hard_link_count(elsewhere / "secret.txt"), 1u);
}

// A refused --name is refused before anything is recorded: it used to be written to index.json
// first, so every later fetch of the same source was refused too.
TEST(FetchCache, ARefusedNameDoesNotPoisonTheIndex) {
  TempDir src, cache;
  write(src / "x.bin", "data");
  FetchOptions o;
  o.cache = cache.path();
  for (const std::string bad : {"../../x", "/abs", "a/../../b", "."}) {
    o.name = bad;
    try {
      fetch(src / "x.bin", o);
      ADD_FAILURE() << "--name " << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--name '" + bad + "'"), std::string::npos) << e.what();
    }
  }
  EXPECT_FALSE(fs::exists(cache / "index.json") && read_file(cache / "index.json").find("..") != std::string::npos);
  o.name.clear();
  EXPECT_EQ(read_file(fetch(src / "x.bin", o).files.at(0).path), "data");
  o.name = "mine";
  EXPECT_EQ(fetch(src / "x.bin", o).folder, cache / "datasets/mine");
}

TEST(Sources, DriveLinkFormsAndBadUris) {
  for (const char* url : {"https://drive.google.com/file/d/1AbC_d-9/view?usp=sharing", "https://drive.google.com/file/d/1AbC_d-9",
                          "https://drive.google.com/open?id=1AbC_d-9", "https://drive.google.com/uc?id=1AbC_d-9&export=download",
                          "https://drive.usercontent.google.com/download?id=1AbC_d-9&export=download", "gdrive://1AbC_d-9"})
    EXPECT_EQ(drive_file_id(url), "1AbC_d-9") << url;
  EXPECT_EQ(drive_file_id("https://example.com/file/d/x"), "");
  EXPECT_EQ(drive_file_id("https://docs.google.com/uc?export=download&id=XYZ"), "XYZ");
  EXPECT_EQ(drive_file_id("https://drive.google.com/file/d//x?id=Q"), "Q");
  const std::string long_id(200000, 'a');  // overflowed the stack while this used std::regex
  EXPECT_EQ(drive_file_id("https://drive.google.com/file/d/" + long_id + "/view"), long_id);
  EXPECT_EQ(parse_source("s3://bucket/pre/fix/").key, "pre/fix/");
  EXPECT_EQ(parse_source("mnist").kind, SourceKind::catalog);
  EXPECT_THROW(parse_source("imagenet"), Error);
  EXPECT_THROW(parse_source("s3://"), Error);
}

TEST(Sources, RedactUrlHidesPasswordsAndSignatures) {
  struct Case {
    const char* url;
    std::vector<const char*> secrets, kept;
  };
  const std::vector<Case> cases = {
      {"http://user:PASSWORD@host/file", {"PASSWORD"}, {"http://user:", "@host/file"}},
      {"https://TOKEN123@github.com/x.zip", {"TOKEN123"}, {"@github.com/x.zip"}},
      {"https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIAXYZ%2F2024&X-Amz-Signature=abc123def"
       "&x-amz-security-token=SESS",
       {"AKIAXYZ", "abc123def", "SESS"}, {"X-Amz-Algorithm=AWS4", "b.s3.amazonaws.com/k?"}},
      {"https://a.blob.core.windows.net/c/f?sv=2020&sig=AZSIG%3D&se=2030", {"AZSIG"}, {"sv=2020", "se=2030"}},
      {"https://h/f?Signature=S1&Key-Pair-Id=K2&Policy=p&token=T3&access_token=T4&api_key=T5&KEY=T6&name=ok",
       {"S1", "T3", "T4", "T5", "T6"}, {"Policy=p", "name=ok"}},
      {"https://h/f#access_token=FRAG", {"FRAG"}, {"https://h/f#access_token="}},
      {"https://h/plain/file.bin", {}, {"https://h/plain/file.bin"}},
      {"https://user:p#ss?w@host/f.zip", {"p#ss", "ss?w"}, {"https://user:", "@host/f.zip"}},  // unencoded
      {"https://user:pw@host?q=1", {"pw"}, {"@host?q=1"}},
      {"https://drive.usercontent.google.com/download?id=ID1&confirm=t&at=DRIVETOKEN", {"DRIVETOKEN"}, {"id=ID1"}},
  };
  for (const Case& c : cases) {
    const std::string r = redact_url(c.url);
    for (const char* secret : c.secrets) EXPECT_EQ(r.find(secret), std::string::npos) << c.url << " -> " << r;
    for (const char* part : c.kept) EXPECT_NE(r.find(part), std::string::npos) << c.url << " -> " << r;
    EXPECT_EQ(redact_url(r), r) << "redacting twice changes " << r;
  }
}

// The parsers of Drive's answers (fetch/gdrive.hpp) without a server: the forms Drive sends, and
// pages and headers of hundreds of KB, which overflowed the stack while these used std::regex.
TEST(DrivePages, FormsDispositionsAndLongInputs) {
  using fetch_detail::disposition_name;
  using fetch_detail::download_form_url;
  EXPECT_EQ(download_form_url("<form id=\"download-form\" action=\"https://d.example/download\" method=\"get\">"
                              "<input type=\"hidden\" name=\"id\" value=\"1A\"><input type='hidden' name='c' "
                              "value='t&amp;amp;x'><input type=\"submit\" value=\"Go\"></form>",
                              "https://base"),
            "https://d.example/download?id=1A&c=t%26amp%3Bx");
  EXPECT_EQ(download_form_url("<form class=x id = 'download-form' action='uc?a=1'></form>", "https://base"),
            "https://base/uc?a=1&");
  EXPECT_EQ(download_form_url("<form id=\"other\" action=\"x\"></form>", "https://base"), "");
  EXPECT_EQ(download_form_url("<form id=\"download-form\" action=\"x\">", "https://base"), "");  // never closed
  EXPECT_EQ(disposition_name("attachment; filename*=UTF-8''..%2F..%2Fa%20b.gz; filename=\"x\""), "a b.gz");
  EXPECT_EQ(disposition_name("attachment; FILENAME = \"dir\\c.idx\""), "c.idx");
  EXPECT_EQ(disposition_name("attachment; filename=plain.bin; size=3"), "plain.bin");
  EXPECT_EQ(disposition_name("attachment; filename=\"..\""), "download");
  EXPECT_EQ(disposition_name("inline"), "download");

  const std::string filler(1 << 20, 'a');
  EXPECT_EQ(download_form_url("<form id=\"download-form\" action=\"https://x/d\">" + filler +
                                  "<input type=\"hidden\" name=\"k\" value=\"v\"></form>",
                              "https://base"),
            "https://x/d?k=v");
  EXPECT_EQ(download_form_url("<form id=\"download-form\" action=\"" + filler + "\"" + filler + ">", "https://b"), "");
  EXPECT_EQ(disposition_name("attachment; filename=" + filler), filler);
  EXPECT_EQ(disposition_name("attachment; filename*=UTF-8''" + filler), filler);
}

class Drive : public ::testing::Test {
 protected:
  void SetUp() override {
    small_ = random_bytes(20000, 5);
    large_ = random_bytes(3000000, 6);
    write(root_ / "small.bin", small_);
    write(root_ / "large.bin", large_);
    server_ = std::make_unique<ServerProcess>(std::vector<std::string>{"python3", test::servers_dir() + "/drive.py", root_.path()});
    ASSERT_TRUE(server_->running());
    ::setenv("DLTRAIN_GDRIVE_URL", ("http://127.0.0.1:" + server_->first_line().substr(5)).c_str(), 1);
    o_.cache = cache_.path();
    o_.backoff_seconds = 0.01;
  }
  void TearDown() override { ::unsetenv("DLTRAIN_GDRIVE_URL"); }
  std::string error_of(const std::string& id) {
    try {
      fetch("https://drive.google.com/file/d/" + id + "/view", o_);
    } catch (const Error& e) {
      return std::string(e.what()) + " | " + e.hint();
    }
    return "no error";
  }
  TempDir root_, cache_;
  std::string small_, large_;
  std::unique_ptr<ServerProcess> server_;
  FetchOptions o_;
};

TEST_F(Drive, SmallFilesDirectlyLargeOnesThroughTheWarningForm) {
  const FetchResult s = fetch("https://drive.google.com/file/d/small/view?usp=sharing", o_);
  EXPECT_EQ(s.files.at(0).name, "small.bin");
  EXPECT_EQ(read_file(s.files[0].path), small_);
  o_.part_size = 500000;  // the confirmed download in ranged parts, with the session cookie
  const FetchResult l = fetch("https://drive.google.com/uc?id=large&export=download", o_);
  EXPECT_EQ(l.files.at(0).name, "large.bin");
  EXPECT_EQ(read_file(l.files[0].path), large_);
}

TEST_F(Drive, FoldersKeepTheirTreeAndLargeFoldersAreListedWhole) {
  const FetchResult r = fetch("https://drive.google.com/drive/folders/photos?usp=sharing", o_);
  EXPECT_EQ(fs::path(r.folder).filename(), "photos");  // the folder's own name
  ASSERT_EQ(r.files.size(), 63u);                      // 2 files, cats/ with 1, many/ with 60
  std::set<std::string> names;
  for (const FetchedFile& f : r.files) names.insert(f.name);
  for (const char* name : {"readme.txt", "caf\xC3\xA9 & bar.txt", "cats/tom.txt", "many/item 00.txt", "many/item 59.txt"})
    EXPECT_TRUE(names.contains(name)) << name;
  EXPECT_EQ(read_file(r.folder + "/many/item 59.txt"), "content of item 59.txt\n");  // beyond the page's 50
  EXPECT_EQ(read_file(r.folder + "/caf\xC3\xA9 & bar.txt"), "content of caf\xC3\xA9 & bar.txt\n");
  try {
    fetch("https://drive.google.com/drive/folders/private", o_);
    FAIL() << "a folder that is not shared was fetched";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lists no folder"), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("Anyone with the link"), std::string::npos) << e.hint();
  }
}

TEST(DrivePages, FolderListingsAndHostileOnes) {
  using namespace fetch_detail;
  EXPECT_EQ(drive_folder_id("https://drive.google.com/drive/u/0/folders/1AbC-d_9?usp=sharing"), "1AbC-d_9");
  EXPECT_EQ(drive_folder_id("https://drive.google.com/drive/folders/XYZ"), "XYZ");
  EXPECT_EQ(drive_folder_id("https://example.com/drive/folders/XYZ"), "");
  EXPECT_TRUE(parse_source("https://drive.google.com/drive/folders/XYZ").drive_folder);
  std::string name;
  const auto entries = folder_page_entries(
      "<title>My data - Google Drive</title><script>window['_DRIVE_ivd'] = "
      "'\\x5b\\x5b\\x5b\\x22id1\\x22,null,\\x22a\\x2fb.png\\x22,\\x22image/png\\x22\\x5d,"
      "\\x5b\\x22id2\\x22,null,\\x22sub\\x22,\\x22application/vnd.google-apps.folder\\x22\\x5d\\x5d\\x5d';</script>",
      name);
  EXPECT_EQ(name, "My data");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].name, "a/b.png");
  EXPECT_EQ(drive_path_part(entries[0].name), "a_b.png");  // never a path separator
  EXPECT_TRUE(entries[1].folder);
  EXPECT_THROW(drive_path_part(".."), SourceError);
  for (const std::string& bad : {std::string("<html>sign in</html>"), std::string("window['_DRIVE_ivd'] = '\\x5b"),
                                std::string("window['_DRIVE_ivd'] = '[[[1,2]]]'"),
                                std::string("window['_DRIVE_ivd'] = '[[[\"../x\",0,\"n\",\"t\"]]]'")})
    EXPECT_THROW(folder_page_entries(bad, name), SourceError) << bad;
  const auto view = embedded_view_entries(
      "<div class=\"flip-entry\" id=\"entry-f1\"><a href=\"https://drive.google.com/drive/folders/f1\">"
      "<div class=\"flip-entry-title\">Cats &amp; dogs</div></a></div>"
      "<div class=\"flip-entry\" id=\"entry-f2\"><a href=\"https://drive.google.com/file/d/f2/view\">"
      "<div class=\"flip-entry-title\">x.jpg</div></a></div><div class=\"flip-entry\" id=\"entry-");
  ASSERT_EQ(view.size(), 2u);
  EXPECT_EQ(view[0].name, "Cats & dogs");
  EXPECT_TRUE(view[0].folder);
  EXPECT_FALSE(view[1].folder);
}

TEST_F(Drive, QuotaAndPermissionPagesAreErrorsNotFiles) {
  EXPECT_NE(error_of("quota").find("download quota is exceeded"), std::string::npos);
  EXPECT_NE(error_of("private").find("not shared publicly"), std::string::npos);
  EXPECT_TRUE(!fs::exists(cache_ / "blobs") || fs::is_empty(cache_ / "blobs"));
}

using S3 = test::S3ServerTest;

TEST_F(S3, GetsObjectsAndLargeOnesInParts) {
  EXPECT_EQ(read_file(fetch("s3://data/small.txt", o_).files.at(0).path), "hello from s3\n");
  o_.part_size = 1 << 20;
  const FetchResult big = fetch("s3://data/big.bin", o_);
  EXPECT_EQ(big.files.at(0).sha256, digest_file(*root_ / "big.bin").sha256);
}

TEST_F(S3, PrefixListingAcrossPagesMirrorsTheKeys) {
  const FetchResult r = fetch("s3://data/many/", o_);
  EXPECT_EQ(r.files.size(), 1005u);  // more than one ListObjectsV2 page of 1000
  EXPECT_EQ(read_file(r.folder + "/part 1004+x.txt"), "1004\n");
  o_.name = "tiny-mnist";
  const FetchResult m = fetch("s3://data/mnist/", o_);
  EXPECT_TRUE(fs::exists(cache_ / "datasets/tiny-mnist/train-labels-idx1-ubyte"));
}

TEST_F(S3, WrongSecretAndMissingKeyAreClearAndSecretFree) {
  ::setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-at-all", 1);
  try {
    fetch("s3://data/small.txt", o_);
    FAIL() << "a wrong secret was accepted";
  } catch (const Error& e) {
    const std::string all = std::string(e.what()) + e.hint();
    EXPECT_NE(all.find("SignatureDoesNotMatch"), std::string::npos) << all;
    EXPECT_EQ(all.find("not-the-secret-at-all"), std::string::npos) << "the secret leaked: " << all;
  }
  ::setenv("AWS_SECRET_ACCESS_KEY", secret_.c_str(), 1);
  try {
    fetch("s3://data/no/such/key.bin", o_);
    FAIL() << "a missing key did not fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("NoSuchKey"), std::string::npos) << e.what();
  }
}

// ---- archives ------------------------------------------------------------------------------------
struct Member {
  std::string name;
  mode_t type = AE_IFREG;
  std::string data = {}, link = {};
  std::string hardlink = {};  // a hard link to this earlier member
};

void make_archive(const std::string& path, const std::vector<Member>& members, bool zip) {
  archive* a = archive_write_new();
  if (zip) archive_write_set_format_zip(a);
  else archive_write_set_format_pax_restricted(a), archive_write_add_filter_gzip(a);
  archive_write_open_filename(a, path.c_str());
  for (const Member& m : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.name.c_str());
    archive_entry_set_filetype(e, m.type);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, int64_t(m.data.size()));
    if (m.type == AE_IFLNK) archive_entry_set_symlink(e, m.link.c_str());
    if (!m.hardlink.empty()) archive_entry_set_hardlink(e, m.hardlink.c_str()), archive_entry_set_size(e, 0);
    archive_write_header(a, e);
    if (!m.data.empty()) archive_write_data(a, m.data.data(), m.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

TEST(Archives, GoodOnesExtractHostileOnesAreRefusedWhole) {
  TempDir dir;
  make_archive(dir / "good.tar.gz", {{"data/a.txt", AE_IFREG, "A"}, {"data/link", AE_IFLNK, "", "a.txt"}}, false);
  const auto files = extract_archive(dir / "good.tar.gz", dir / "out");
  EXPECT_EQ(read_file(dir / "out/data/a.txt"), "A");
  EXPECT_EQ(files.size(), 2u);
  make_archive(dir / "good.zip", {{"z/b.txt", AE_IFREG, "B"}}, true);
  extract_archive(dir / "good.zip", dir / "zout/");  // a trailing '/' names the same folder
  EXPECT_EQ(read_file(dir / "zout/z/b.txt"), "B");
  EXPECT_EQ(size_t(std::distance(fs::directory_iterator(dir / "zout"), {})), 1u) << "something beside z/ in zout/";
  extract_archive(dir / "good.zip", dir / "zout");  // again: replaces what the first one left
  EXPECT_EQ(read_file(dir / "zout/z/b.txt"), "B");
  struct Bad { std::string file; std::vector<Member> members; bool zip; std::string why; };
  const std::vector<Bad> bad = {
      {"dotdot.tar.gz", {{"ok.txt", AE_IFREG, "1"}, {"../evil.txt", AE_IFREG, "x"}}, false, "climbs out"},
      {"abs.tar.gz", {{"/tmp/dltrain-evil.txt", AE_IFREG, "x"}}, false, "absolute path"},
      {"link.tar.gz", {{"l", AE_IFLNK, "", "../../etc/passwd"}}, false, "points outside"},
      {"abslink.tar.gz", {{"l", AE_IFLNK, "", "/etc/passwd"}}, false, "points outside"},
      {"dev.tar.gz", {{"null", AE_IFCHR}}, false, "device file"},
      {"fifo.tar.gz", {{"pipe", AE_IFIFO}}, false, "device file, FIFO"},
      {"dotdot.zip", {{"../evil.txt", AE_IFREG, "x"}}, true, "climbs out"},
      {"hardlink-out.tar.gz", {{"ok.txt", AE_IFREG, "1"}, {"h", AE_IFREG, "", "", "../../etc/passwd"}}, false,
       "climbs out"},
      {"hardlink-abs.tar.gz", {{"ok.txt", AE_IFREG, "1"}, {"h", AE_IFREG, "", "", "/etc/passwd"}}, false, "absolute path"},
      {"hardlink-later.tar.gz", {{"h", AE_IFREG, "", "", "ok.txt"}, {"ok.txt", AE_IFREG, "1"}}, false,
       "hard link 'h' points to 'ok.txt', which is not an earlier regular file"},
      {"hardlink-to-link.tar.gz", {{"ok.txt", AE_IFREG, "1"}, {"l", AE_IFLNK, "", "ok.txt"}, {"h", AE_IFREG, "", "", "l"}},
       false, "hard link 'h' points to 'l', which is not an earlier regular file"},
      // Each link stays inside alone, but "b" leaves through "d/a" (-> "..", the folder itself).
      {"link-chain.tar.gz", {{"ok.txt", AE_IFREG, "1"}, {"d/a", AE_IFLNK, "", ".."}, {"b", AE_IFLNK, "", "d/a/.."}},
       false, "link 'b' points through another link ('d/a')"},
      // Passes the first check, then fails while writing (a member under a link): the members
      // already written must not stay.
      {"through-link.tar.gz", {{"ok.txt", AE_IFREG, "1"}, {"sub/x", AE_IFREG, "2"}, {"d", AE_IFLNK, "", "sub"},
                               {"d/f", AE_IFREG, "3"}}, false, "cannot extract 'd/f'"},
  };
  for (const Bad& b : bad) {
    make_archive(dir / b.file, b.members, b.zip);
    const std::string dest = dir / ("bad-" + b.file);
    try {
      extract_archive(dir / b.file, dest);
      ADD_FAILURE() << b.file << " was extracted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(b.why), std::string::npos) << b.file << ": " << e.what();
    }
    EXPECT_FALSE(fs::exists(dest + "/ok.txt")) << b.file << ": partially extracted";
    EXPECT_TRUE(!fs::exists(dest) || fs::is_empty(dest)) << b.file << ": partially extracted";
    for (const auto& entry : fs::directory_iterator(dir.path()))  // nor its staging folder
      EXPECT_EQ(entry.path().filename().string().find(".extracting"), std::string::npos) << entry.path();
  }
  EXPECT_FALSE(fs::exists(dir / "evil.txt"));
  EXPECT_FALSE(fs::exists("/tmp/dltrain-evil.txt"));
}

// In-archive hard links to earlier members are files like any other (GNU tar writes them for
// files with several names); they used to be refused as device files.
TEST(Archives, HardLinksToEarlierMembersAreAccepted) {
  TempDir dir;
  make_archive(dir / "links.tar.gz",
               {{"data/a.txt", AE_IFREG, "A"}, {"data/again.txt", AE_IFREG, "", "", "data/a.txt"},
                {"other/b.txt", AE_IFREG, "", "", "data/again.txt"}},
               false);
  const auto files = extract_archive(dir / "links.tar.gz", dir / "out");
  EXPECT_EQ(files.size(), 3u);
  for (const char* name : {"data/a.txt", "data/again.txt", "other/b.txt"}) EXPECT_EQ(read_file(dir / "out/" + name), "A") << name;
  EXPECT_TRUE(fs::equivalent(dir / "out/data/a.txt", dir / "out/other/b.txt"));
}

// Two extractions of one archive into one folder at once (two `fetch --extract` of a dataset)
// both succeed and leave one complete copy: they take turns.
TEST(Archives, ConcurrentExtractionsIntoOneFolderTakeTurns) {
  TempDir dir;
  std::vector<Member> members;
  for (int i = 0; i < 200; ++i) members.push_back({"d/f" + std::to_string(i), AE_IFREG, random_bytes(5000, uint64_t(i))});
  make_archive(dir / "many.tar.gz", members, false);
  for (int round = 0; round < 3; ++round) {
    std::string errors[2];
    std::thread t[2];
    for (int k = 0; k < 2; ++k)
      t[k] = std::thread([&, k] {
        try {
          extract_archive(dir / "many.tar.gz", dir / "out");
        } catch (const std::exception& e) {
          errors[k] = e.what();
        }
      });
    for (std::thread& x : t) x.join();
    EXPECT_EQ(errors[0] + errors[1], "") << "round " << round;
    EXPECT_EQ(size_t(std::distance(fs::directory_iterator(dir / "out/d"), {})), members.size());
    EXPECT_EQ(read_file(dir / "out/d/f7"), members[7].data);
  }
}

// Extracted bytes are capped at min(max_bytes, max(ratio_floor, max_ratio * archive size)), by
// the sizes members declare (before writing) and by the bytes actually written (a raw .gz declares
// none); a refused archive leaves nothing.
TEST(Archives, ExtractedBytesAreLimited) {
  TempDir dir;
  const std::string zeros(8 << 20, '\0');
  make_archive(dir / "bomb.tar.gz", {{"ok.txt", AE_IFREG, "1"}, {"zeros.bin", AE_IFREG, zeros}}, false);
  {
    gzFile f = gzopen((dir / "zeros.bin.gz").c_str(), "wb9");
    gzwrite(f, zeros.data(), unsigned(zeros.size()));
    gzclose(f);
  }
  ExtractLimits limits;
  limits.ratio_floor = 1 << 20;
  for (const char* file : {"bomb.tar.gz", "zeros.bin.gz"}) {
    const int64_t size = int64_t(fs::file_size(dir / file));
    const int64_t allowed = std::max<int64_t>(limits.ratio_floor, int64_t(limits.max_ratio * double(size)));
    ASSERT_LT(allowed, int64_t(zeros.size())) << file << " compresses less than expected";
    const std::string dest = dir / (std::string("out-") + file);
    try {
      extract_archive(dir / file, dest, limits);
      ADD_FAILURE() << file << " was extracted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(dir / file + ": extracts to more than " + std::to_string(allowed) + " bytes"),
                std::string::npos)
          << e.what();
      EXPECT_NE(e.hint().find("--max-extract"), std::string::npos) << e.hint();
    }
    EXPECT_TRUE(!fs::exists(dest) || fs::is_empty(dest)) << file << ": partially extracted";
  }
  ExtractLimits capped;  // the absolute cap applies whatever the ratio
  capped.max_ratio = 1e9;
  capped.max_bytes = 4 << 20;
  EXPECT_THROW(extract_archive(dir / "bomb.tar.gz", dir / "capped", capped), Error);
  // Many empty members: no bytes, but each one costs an inode.
  std::vector<Member> empties;
  for (int i = 0; i < 2000; ++i) empties.push_back({"e/" + std::to_string(i), AE_IFREG, ""});
  make_archive(dir / "empties.tar.gz", empties, false);
  ExtractLimits few;
  few.ratio_floor = 1 << 20;  // 1 MiB: 256 members' worth
  try {
    extract_archive(dir / "empties.tar.gz", dir / "empties", few);
    ADD_FAILURE() << "2,000 empty members were extracted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("empties.tar.gz: extracts to more than"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(extract_archive(dir / "empties.tar.gz", dir / "empties-ok", ExtractLimits{}));
  ExtractLimits trusted;  // the defaults' 64 MiB floor: these small archives extract
  EXPECT_EQ(extract_archive(dir / "bomb.tar.gz", dir / "ok", trusted).size(), 2u);
  EXPECT_EQ(fs::file_size(dir / "ok/zeros.bin"), zeros.size());
  EXPECT_EQ(extract_archive(dir / "zeros.bin.gz", dir / "ok-gz", trusted).size(), 1u);
  EXPECT_EQ(fs::file_size(dir / "ok-gz/zeros.bin"), zeros.size());
  // Sizes in options and variables.
  EXPECT_EQ(parse_size("16Gi", "--max-extract"), int64_t(16) << 30);
  EXPECT_EQ(parse_size("40G", "--max-extract"), int64_t(40'000'000'000));
  EXPECT_THROW(parse_size("lots", "--max-extract"), Error);
  ::setenv("DLTRAIN_MAX_EXTRACT", "2Mi", 1);
  ::setenv("DLTRAIN_MAX_EXTRACT_RATIO", "7", 1);
  const ExtractLimits env = ExtractLimits::from_environment();
  ::unsetenv("DLTRAIN_MAX_EXTRACT");
  ::unsetenv("DLTRAIN_MAX_EXTRACT_RATIO");
  EXPECT_EQ(env.max_bytes, 2 << 20);
  EXPECT_EQ(env.max_ratio, 7);
}

}  // namespace
}  // namespace dltrain
