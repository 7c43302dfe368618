// dltrain push against moto's S3 server (with authentication, behind a proxy that counts what
// clients send): a run pushed and fetched back predicts the same classes; large files go as
// multipart uploads; a killed push resumes without re-sending the parts the server holds; the
// manifest guards readers; wrong secrets, missing buckets and read-only keys fail clearly.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "dltrain/fetch.hpp"
#include "dltrain/io.hpp"
#include "dltrain/models.hpp"
#include "dltrain/train.hpp"
#include "fetch/s3.hpp"
#include "helpers.hpp"
#include "s3_server.hpp"

namespace fs = std::filesystem;

namespace dltrain {
namespace {
using test::random_bytes;
using test::TempDir;
using test::write;

class Push : public test::S3ServerTest {
 protected:
  void SetUp() override {
    S3ServerTest::SetUp();
    if (IsSkipped()) return;
    po_.transfer = o_;
    po_.transfer.part_size = 5 << 20;  // S3's smallest part
  }
  // The objects under s3://bucket/prefix, as the server lists them.
  std::vector<fetch_detail::S3Object> listing(const std::string& bucket, const std::string& prefix) {
    return fetch_detail::S3Client(o_.s3, o_).list(bucket, prefix);
  }
  PushOptions po_;
  TempDir work_;
};

TEST_F(Push, ARunPushedAndFetchedBackPredictsTheSameClasses) {
  // A run folder as training leaves it: a model, its config and history, a report page.
  const std::string run = work_ / "run";
  auto model = build_model("cnn", Shape{28, 28, 1}, 10);
  model->init_params(3);
  ModelInfo info;
  info.title = "cnn";
  for (int i = 0; i < 10; ++i) info.labels.push_back("class " + std::to_string(i));
  fs::create_directories(run);
  save_model(run + "/model.safetensors", *model, info);
  write(run + "/history.jsonl", "{\"epoch\": 1, \"loss\": 0.5}\n");
  write(run + "/report/index.html", "<!doctype html><title>run</title>\n");

  const PushResult pushed = push(run, "s3://runs/fashion-cnn/", po_);
  EXPECT_EQ(pushed.files.size(), 3u);
  std::vector<std::string> keys;
  for (const auto& x : listing("runs", "fashion-cnn/")) keys.push_back(x.key);
  EXPECT_NE(std::find(keys.begin(), keys.end(), "fashion-cnn/manifest.json"), keys.end());
  EXPECT_NE(std::find(keys.begin(), keys.end(), "fashion-cnn/report/index.html"), keys.end());

  o_.name = "fashion-cnn";
  const FetchResult back = fetch("s3://runs/fashion-cnn/", o_);
  EXPECT_EQ(back.files.size(), 4u);  // the three files and the manifest
  LoadedModel original = load_model(run + "/model.safetensors");
  LoadedModel fetched = load_model(back.folder + "/model.safetensors");
  EXPECT_EQ(fetched.info.labels, info.labels);
  for (uint64_t seed = 0; seed < 8; ++seed) {
    const Tensor image = test::random_tensor(Shape{1, 28, 28, 1}, seed, 0, 255);
    Tensor u8(Shape{1, 28, 28, 1}, DType::u8);
    for (int64_t i = 0; i < image.numel(); ++i) u8.u8()[i] = uint8_t(image.f32()[i]);
    const auto p = predict(*original.model, u8, original.info.preprocessing);
    const auto q = predict(*fetched.model, u8, fetched.info.preprocessing);
    EXPECT_EQ(std::max_element(p.begin(), p.end()) - p.begin(), std::max_element(q.begin(), q.end()) - q.begin());
    EXPECT_EQ(p, q);
  }
  // The CLI finds the fetched run by its name.
  const std::string shoe = work_ / "shoe.raw";
  write(shoe, random_bytes(28 * 28, 5));
  const test::Result by_name = test::run({DLTRAIN_BINARY, "predict", "fashion-cnn", shoe}, {"DLTRAIN_CACHE=" + cache_.path()});
  const test::Result by_file = test::run({DLTRAIN_BINARY, "predict", run + "/model.safetensors", shoe});
  EXPECT_EQ(by_name.code, 0) << by_name.err;
  EXPECT_EQ(by_name.out, by_file.out);
  EXPECT_NE(by_name.out.find("class "), std::string::npos) << by_name.out;
}

TEST_F(Push, LargeFilesGoInPartsAndTheManifestGuardsReaders) {
  const std::string dir = work_ / "big";
  const std::string data = random_bytes(12 << 20, 11);  // 5 + 5 + 2 MiB
  write(dir + "/weights.bin", data);
  write(dir + "/notes.txt", "notes\n");
  const PushResult r = push(dir, "s3://runs/big", po_);  // a folder: the prefix gets its '/'
  ASSERT_EQ(r.files.size(), 2u);
  EXPECT_EQ(r.files[1].name, "weights.bin");
  EXPECT_EQ(r.files[1].parts, 3);
  EXPECT_EQ(r.files[0].parts, 0);  // one PUT
  const FetchResult back = fetch("s3://runs/big/", o_);
  EXPECT_EQ(read_file(back.folder + "/weights.bin"), data);

  // An object the manifest does not list is skipped with a warning; one it lists but whose bytes
  // differ fails verification and is not published; one it lists that is missing is an error.
  const fetch_detail::S3Client client(o_.s3, o_);
  const std::string stray = "stray\n";
  client.put_object("runs", "big/stray.txt", {stray, sha256_hex(stray), ""}, [](int64_t) {});
  std::vector<std::string> warnings;
  o_.warn = [&](const std::string& w) { warnings.push_back(w); };
  TempDir cache2;
  o_.cache = cache2.path();
  const FetchResult skipped = fetch("s3://runs/big/", o_);
  EXPECT_EQ(skipped.files.size(), 3u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("stray.txt is not in"), std::string::npos) << warnings[0];

  const std::string changed = "NOTES\n";  // same size, other bytes
  client.put_object("runs", "big/notes.txt", {changed, sha256_hex(changed), ""}, [](int64_t) {});
  TempDir cache3;
  o_.cache = cache3.path();
  try {
    fetch("s3://runs/big/", o_);
    FAIL() << "a file that differs from the manifest was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("verification failed"), std::string::npos) << e.what();
  }
  client.delete_object("runs", "big/notes.txt");
  TempDir cache4;
  o_.cache = cache4.path();
  try {
    fetch("s3://runs/big/", o_);
    FAIL() << "a manifest naming a missing file was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lists notes.txt"), std::string::npos) << e.what();
  }
}

TEST_F(Push, NewerChecksumHeadersOnlyOnRequest) {
  const std::string dir = work_ / "checksums";
  const std::string data = random_bytes(11 << 20, 14);
  write(dir + "/w.bin", data);
  write(dir + "/a.txt", "a\n");
  po_.transfer.s3.checksum_sha256 = true;  // x-amz-checksum-sha256 on each PUT, ChecksumSHA256 per part
  const PushResult r = push(dir, "s3://runs/checksums/", po_);
  EXPECT_EQ(r.files.at(1).parts, 3);
  EXPECT_EQ(read_file(fetch("s3://runs/checksums/", o_).folder + "/w.bin"), data);
}

// The resume record's finished parts (written by the push in progress).
int recorded_parts(const std::string& cache) {
  int n = 0;
  std::error_code ec;
  for (fs::directory_iterator it(cache + "/push", ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() != ".json") continue;
    try {
      const nlohmann::json record = nlohmann::json::parse(read_file(it->path().string()));
      for (const auto& [name, f] : record["files"].items())
        if (f.contains("parts")) n += int(f["parts"].size());
    } catch (const std::exception&) {  // being replaced: read it again next time
    }
  }
  return n;
}

TEST_F(Push, AKilledPushResumesWithoutResendingItsParts) {
  const std::string dir = work_ / "resume";
  const std::string data = random_bytes(21 << 20, 12);  // 5 parts of 5 MiB, the last 1 MiB
  write(dir + "/big.bin", data);
  // The CLI in a child process, slowed down, killed once the server holds two parts.
  const std::string endpoint = proxy_endpoint();
  std::vector<std::string> argv = {DLTRAIN_BINARY, "push", dir, "s3://runs/resume/", "--endpoint", endpoint,
                                   "--part-size", std::to_string(5 << 20), "-j", "1", "--limit-rate", "8M", "-q"};
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  ::setenv("DLTRAIN_CACHE", cache_.path().c_str(), 1);
  pid_t pid = -1;
  ASSERT_EQ(posix_spawn(&pid, DLTRAIN_BINARY, nullptr, nullptr, args.data(), environ), 0);
  ::unsetenv("DLTRAIN_CACHE");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (recorded_parts(cache_.path()) < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the push ended before it could be killed";
  const int held = recorded_parts(cache_.path());
  ASSERT_GE(held, 2);
  ASSERT_LT(held, 5);

  // Resumed through the counting proxy: only the parts the server does not hold cross the wire.
  po_.transfer.s3.endpoint = endpoint;
  const int64_t before = proxy_received();
  const PushResult r = push(dir, "s3://runs/resume/", po_);
  const int64_t received = proxy_received() - before;
  const int64_t missing = int64_t(data.size()) - int64_t(held) * (5 << 20);
  EXPECT_EQ(r.files.at(0).sent, missing);
  EXPECT_GE(received, missing);
  EXPECT_LT(received, missing + (256 << 10)) << "more than the missing parts (plus requests) was sent";
  EXPECT_EQ(read_file(fetch("s3://runs/resume/", o_).folder + "/big.bin"), data);
  EXPECT_FALSE(fs::exists(cache_ / "push") && recorded_parts(cache_.path()) > 0) << "the record outlived the push";
}

TEST_F(Push, AnAbandonedUploadCanBeAborted) {
  const std::string dir = work_ / "abandoned";
  write(dir + "/big.bin", random_bytes(11 << 20, 13));
  const fetch_detail::S3Client client(o_.s3, o_);
  client.create_upload("runs", "abandoned/big.bin");  // as a push killed before its record was written
  ASSERT_EQ(client.list_uploads("runs", "abandoned/").size(), 1u);
  EXPECT_EQ(abort_push(dir, "s3://runs/abandoned/", po_), 1);
  EXPECT_TRUE(client.list_uploads("runs", "abandoned/").empty());
}

TEST_F(Push, WrongSecretMissingBucketAndReadOnlyKeysAreClear) {
  const std::string dir = work_ / "small";
  write(dir + "/a.txt", "a\n");
  auto fails = [&](const std::string& destination, const std::string& expected) {
    try {
      push(dir, destination, po_);
      ADD_FAILURE() << "pushing to " << destination << " did not fail";
      return std::string();
    } catch (const Error& e) {
      const std::string all = std::string(e.what()) + " | " + e.hint();
      EXPECT_NE(all.find(expected), std::string::npos) << all;
      return all;
    }
  };
  use_keys(key_, "not-the-secret-at-all");
  const std::string wrong = fails("s3://runs/x/", "SignatureDoesNotMatch");
  EXPECT_EQ(wrong.find("not-the-secret-at-all"), std::string::npos) << "the secret leaked: " << wrong;
  use_keys(key_, secret_);
  fails("s3://no-such-bucket/x/", "NoSuchBucket");
  use_keys(info_["ro_access_key"], info_["ro_secret_key"]);
  const std::string denied = fails("s3://runs/x/", "AccessDenied");
  EXPECT_NE(denied.find("what they may do"), std::string::npos) << denied;
  EXPECT_TRUE(listing("runs", "x/").empty());
}

TEST(PushManifest, HostileManifestsAreRefused) {
  const std::string ok = R"({"format": "dltrain-push 1", "files": [{"name": "a/b.bin", "size": 3, "sha256": ")" +
                         std::string(64, 'a') + R"("}]})";
  EXPECT_EQ(parse_push_manifest(ok, "m").at("a/b.bin").size, 3);
  for (const std::string& bad : {
           std::string("not json"),
           std::string(R"({"format": "other", "files": []})"),
           std::string(R"({"format": "dltrain-push 1", "files": [{"name": "../x", "size": 1, "sha256": ")") +
               std::string(64, 'a') + "\"}]}",
           std::string(R"({"format": "dltrain-push 1", "files": [{"name": "x", "size": 1e30, "sha256": ")") +
               std::string(64, 'a') + "\"}]}",
           std::string(R"({"format": "dltrain-push 1", "files": [{"name": "x", "size": -1, "sha256": ")") +
               std::string(64, 'a') + "\"}]}",
           std::string(R"({"format": "dltrain-push 1", "files": [{"name": "x", "size": 1, "sha256": "XYZ"}]})"),
           std::string(R"({"format": "dltrain-push 1", "files": [{"name": "manifest.json", "size": 1, "sha256": ")") +
               std::string(64, 'a') + "\"}]}",
       })
    EXPECT_THROW(parse_push_manifest(bad, "m"), Error) << bad;
}

TEST(PushAnswers, CompletionErrorsInA200AndBrokenListings) {
  using namespace fetch_detail;
  EXPECT_NO_THROW(check_completion("<CompleteMultipartUploadResult><ETag>\"x-2\"</ETag></CompleteMultipartUploadResult>", "c"));
  EXPECT_THROW(check_completion("<Error><Code>InternalError</Code></Error>", "c"), Retryable);
  try {
    check_completion("<Error><Code>InvalidPart</Code><Message>One or more parts could not be found</Message></Error>", "c");
    FAIL();
  } catch (const SourceError& e) {
    EXPECT_NE(std::string(e.what()).find("InvalidPart"), std::string::npos) << e.what();
  }
  EXPECT_THROW(check_completion("", "c"), SourceError);
  std::vector<S3Part> parts;
  std::string marker;
  EXPECT_THROW(parse_parts("<ListPartsResult><Part><PartNumber>0</PartNumber><Size>5</Size></Part></ListPartsResult>", "l",
                           parts, marker),
               SourceError);
  EXPECT_THROW(parse_parts("<ListPartsResult><IsTruncated>true</IsTruncated></ListPartsResult>", "l", parts, marker),
               SourceError);
  EXPECT_EQ(base64_of_hex("d41d8cd98f00b204e9800998ecf8427e"), "1B2M2Y8AsgTpgAmY7PhCfg==");  // MD5 of ""
}

}  // namespace
}  // namespace dltrain
