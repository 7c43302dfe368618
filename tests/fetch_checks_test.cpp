// What a fetch checks about the bytes a server sends, against tests/servers/http_faults.py on
// loopback: a user's expected digest (--sha256, --md5, URL#sha256=), for every single-file source
// and for cached copies; web pages where files were expected; servers whose answers disagree about
// a file's size. (fetch_test.cpp covers the transfer engine: resume, retries, parts.)
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "dltrain/fetch.hpp"
#include "dltrain/io.hpp"
#include "fetch/web_page.hpp"
#include "helpers.hpp"

namespace fs = std::filesystem;

namespace dltrain {
namespace {
using test::ServerProcess;
using test::TempDir;

void write(const std::string& path, const std::string& data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return std::string(e.what()) + " | hint: " + e.hint();
  }
  return "no error";
}

size_t files_in(const fs::path& dir) {
  if (!fs::exists(dir)) return 0;
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

int requests_logged(const std::string& log) {
  std::ifstream f(log);
  int n = 0;
  for (std::string line; std::getline(f, line);) n += line.empty() ? 0 : 1;
  return n;
}

class FetchChecks : public ::testing::Test {
 protected:
  void SetUp() override {
    Rng rng(3);
    file_.resize(300000);
    for (char& c : file_) c = char(rng.below(256));
    write(root_ / "file.bin", file_);
    server_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{"python3", test::servers_dir() + "/http_faults.py", root_.path(), "--log", log_});
    ASSERT_TRUE(server_->running()) << "tests/servers/http_faults.py did not start";
    base_ = "http://127.0.0.1:" + server_->first_line().substr(5) + "/m/";
    o_.cache = cache_.path();
    o_.backoff_seconds = 0.05;
    o_.stall_seconds = 2;
    sha256_ = sha256_hex(file_);
    md5_ = digest_file(root_ / "file.bin", true).md5;
  }
  // Nothing of a refused file anywhere in the cache: no blob, no named entry, no partial, no index entry.
  void expect_nothing_published(const std::string& what, const std::string& name = "file.bin") {
    EXPECT_EQ(files_in(cache_ / "blobs"), 0u) << what;
    EXPECT_EQ(files_in(cache_ / "datasets"), 0u) << what;
    size_t partials = 0;
    if (fs::exists(cache_ / "partial"))
      for (const auto& e : fs::directory_iterator(cache_ / "partial")) partials += e.path().extension() == ".part";
    EXPECT_EQ(partials, 0u) << what;
    EXPECT_FALSE(fs::exists(cache_ / "index.json") && read_file(cache_ / "index.json").find(name) != std::string::npos)
        << what;
  }

  TempDir root_, cache_, logs_;
  std::string log_ = logs_ / "requests.jsonl";
  std::string file_, base_, sha256_, md5_;
  std::unique_ptr<ServerProcess> server_;
  FetchOptions o_;
};

const std::string kWrongSha256(64, 'a'), kWrongMd5(32, 'b');

TEST_F(FetchChecks, MatchingDigestsAreAcceptedInEveryForm) {
  FetchOptions o = o_;
  o.sha256 = sha256_;
  EXPECT_EQ(read_file(fetch(base_ + "ok/file.bin", o).files.at(0).path), file_);
  TempDir other;
  o = o_;
  o.cache = other.path();
  o.md5 = md5_;
  EXPECT_EQ(read_file(fetch(base_ + "ok/file.bin", o).files.at(0).path), file_);
  EXPECT_NE(read_file(other / "index.json").find(md5_), std::string::npos) << "the verified md5 is recorded";
  // The fragment form, in upper case too; the fragment never reaches the server.
  TempDir third;
  o = o_;
  o.cache = third.path();
  std::string upper = sha256_;
  for (char& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
  const FetchResult r = fetch(base_ + "ok/file.bin#sha256=" + upper, o);
  EXPECT_EQ(r.files.at(0).name, "file.bin");
  EXPECT_EQ(read_file(r.files[0].path), file_);
  EXPECT_EQ(read_file(log_).find('#'), std::string::npos) << read_file(log_);
}

TEST_F(FetchChecks, AMismatchNamesBothDigestsAndTheSourceAndPublishesNothing) {
  struct Case {
    std::string name, url, sha256, md5, expected, got;
  };
  const std::vector<Case> cases = {
      {"sha256_flag", base_ + "ok/file.bin?token=s3cr3t", kWrongSha256, "", kWrongSha256, sha256_},
      {"md5_flag", base_ + "ok/file.bin?token=s3cr3t", "", kWrongMd5, kWrongMd5, md5_},
      {"sha256_fragment", base_ + "ok/file.bin?token=s3cr3t#sha256=" + kWrongSha256, "", "", kWrongSha256, sha256_},
      {"md5_fragment_in_parts", base_ + "ok/file.bin?token=s3cr3t#md5=" + kWrongMd5, "", "", kWrongMd5, md5_},
      {"corrupt_body_against_the_right_digest", base_ + "corrupt/file.bin?token=s3cr3t", sha256_, "", sha256_, ""},
  };
  for (const Case& c : cases) {
    FetchOptions o = o_;
    o.sha256 = c.sha256;
    o.md5 = c.md5;
    if (c.name.ends_with("in_parts")) o.part_size = 100000;  // the parallel path verifies from disk
    const std::string e = error_of([&] { fetch(c.url, o); });
    EXPECT_NE(
        e.find("expected " + std::string(c.expected.size() == 64 ? "sha256 " : "md5 ") + c.expected + ", got " + c.got),
        std::string::npos)
        << c.name << ": " << e;
    EXPECT_NE(e.find("file.bin?token=***"), std::string::npos) << c.name << ": the source is named: " << e;
    EXPECT_EQ(e.find("s3cr3t"), std::string::npos) << c.name << ": " << e;
    expect_nothing_published(c.name);
  }
}

TEST_F(FetchChecks, CachedCopiesAreCheckedAgainstTheExpectedDigest) {
  ASSERT_EQ(read_file(fetch(base_ + "ok/file.bin", o_).files.at(0).path), file_);
  const int before = requests_logged(log_);
  FetchOptions offline = o_;
  offline.offline = true;
  offline.sha256 = sha256_;
  EXPECT_TRUE(fetch(base_ + "ok/file.bin", offline).files.at(0).from_cache);
  offline.sha256 = "";
  offline.md5 = md5_;  // not recorded by the first fetch: computed from the blob
  EXPECT_TRUE(fetch(base_ + "ok/file.bin", offline).files.at(0).from_cache);
  offline.md5 = kWrongMd5;
  std::string e = error_of([&] { fetch(base_ + "ok/file.bin", offline); });
  EXPECT_NE(e.find("expected md5 " + kWrongMd5 + ", got " + md5_), std::string::npos) << e;
  offline.md5 = "";
  e = error_of([&] { fetch(base_ + "ok/file.bin#sha256=" + kWrongSha256, offline); });
  EXPECT_NE(e.find("expected sha256 " + kWrongSha256 + ", got " + sha256_), std::string::npos) << e;
  EXPECT_EQ(requests_logged(log_), before) << "--offline asked the server";
  // Online, a cached copy that differs is fetched again, and the server's file is refused too.
  FetchOptions online = o_;
  online.sha256 = kWrongSha256;
  std::vector<std::string> warnings;
  online.warn = [&](const std::string& w) { warnings.push_back(w); };
  e = error_of([&] { fetch(base_ + "ok/file.bin", online); });
  EXPECT_NE(e.find("expected sha256 " + kWrongSha256 + ", got " + sha256_), std::string::npos) << e;
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("fetching it again"), std::string::npos) << warnings[0];
  EXPECT_EQ(files_in(cache_ / "blobs"), 1u) << "the first fetch's blob stays; nothing new is published";
}

TEST_F(FetchChecks, LocalFilesAreCheckedAndFoldersRefuseADigest) {
  FetchOptions o = o_;
  o.sha256 = sha256_;
  EXPECT_EQ(read_file(fetch(root_ / "file.bin", o).files.at(0).path), file_);
  TempDir other;
  o.cache = other.path();
  o.sha256 = kWrongSha256;
  const std::string e = error_of([&] { fetch(root_ / "file.bin", o); });
  EXPECT_NE(e.find("expected sha256 " + kWrongSha256 + ", got " + sha256_), std::string::npos) << e;
  EXPECT_NE(e.find(root_ / "file.bin"), std::string::npos) << e;
  EXPECT_EQ(files_in(other / "blobs") + files_in(other / "partial") + files_in(other / "datasets"), 0u);
  EXPECT_NE(error_of([&] { fetch(root_.path(), o); }).find("is a folder"), std::string::npos);
  EXPECT_NE(error_of([&] { fetch("mnist", o); }).find("has its own digests"), std::string::npos);
}

TEST_F(FetchChecks, UnusableDigestsAreRefusedBeforeAnyRequest) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"sha256", std::string(63, 'a')}, {"sha256", std::string(64, 'g')}, {"md5", std::string(33, '0')}};
  for (const auto& [kind, hex] : bad) {
    FetchOptions o = o_;
    (kind == "sha256" ? o.sha256 : o.md5) = hex;
    EXPECT_NE(error_of([&] {
                fetch(base_ + "ok/file.bin", o);
              }).find("is not " + std::string(kind == "md5" ? "32" : "64") + " hex digits"),
              std::string::npos)
        << kind << " " << hex;
    EXPECT_NE(error_of([&] { fetch(base_ + "ok/file.bin#" + kind + "=" + hex, o_); }).find("hex digits"),
              std::string::npos)
        << kind << " " << hex;
  }
  FetchOptions both = o_;
  both.sha256 = kWrongSha256;
  EXPECT_NE(error_of([&] { fetch(base_ + "ok/file.bin#sha256=" + sha256_, both); }).find("disagree"),
            std::string::npos);
  EXPECT_EQ(requests_logged(log_), 0);
  EXPECT_EQ(split_digest_fragment("https://h/a.bin#page=2").url, "https://h/a.bin#page=2");  // not a digest
  EXPECT_EQ(split_digest_fragment("https://h/a.bin#md5=" + md5_).url, "https://h/a.bin");
  EXPECT_EQ(split_digest_fragment("https://h/a.bin#md5=" + md5_).md5, md5_);
}

// A login page answered with 200 where a file was expected: its <title> (tags dropped, entities
// decoded, control characters and URL secrets removed) says what it is.
TEST_F(FetchChecks, WebPagesAreRefusedUnlessAskedFor) {
  const std::string page =
      "<!DOCTYPE html>\n<html><head><meta charset=utf-8>\n<title>\n  Sign in &amp; <b>continue</b> to "
      "https://idp.example/cb?token=s3cr3t \x1b[31m</title></head><body>" +
      std::string(5000, 'x') + "</body></html>";
  write(root_ / "login.bin", page);
  write(root_ / "page.html", page);
  const std::string title = "titled \"Sign in & continue to https://idp.example/cb?token=*** [31m\"";
  // html: the probe shows it (its one byte, then the page's start is asked for); html,norange: the
  // probe brings the page; htmldata: only the download shows it (a partial that is then deleted).
  for (const std::string mode : {"html", "html,norange", "htmldata"}) {
    const std::string e = error_of([&] { fetch(base_ + mode + "/login.bin?key=k3y", o_); });
    EXPECT_NE(e.find(title), std::string::npos) << mode << ": " << e;
    EXPECT_NE(e.find("login.bin?key=***: the server answered with a web page (text/html"), std::string::npos) << e;
    EXPECT_NE(e.find("pass --allow-html if you really want this page"), std::string::npos) << e;
    EXPECT_EQ(e.find("s3cr3t"), std::string::npos) << e;
    EXPECT_EQ(e.find("k3y"), std::string::npos) << e;
    EXPECT_EQ(e.find('\x1b'), std::string::npos) << mode;
    expect_nothing_published(mode, "login.bin");
  }
  FetchOptions allow = o_;
  allow.allow_html = true;
  EXPECT_EQ(read_file(fetch(base_ + "html/login.bin", allow).files.at(0).path), page);
  EXPECT_EQ(read_file(fetch(base_ + "html/page.html", o_).files.at(0).path), page);  // a page by name
}

// A server that says one size and sends another is an error that names both sizes, at once or
// after one retry, never a retry loop (the backoff here would make one take half a minute).
TEST_F(FetchChecks, SizesThatDisagreeAreAnErrorNotARetryLoop) {
  struct Case {
    std::string name, mode;
    int64_t part_size;
    std::string says;  // what the error says besides "300000" (the real size)
  };
  const std::vector<Case> cases = {
      // size-400000: every answer announces 400000 bytes, the body ends at 300000
      {"announced_more_than_sent", "size-400000", 1 << 30, "400000 bytes at first, yet its data ends at byte 300000"},
      {"announced_more_in_parts", "size-400000", 100000, "400000 bytes at first, yet its data ends at byte 300000"},
      // probesize-N: only the probe's Content-Range lies; the download is the real 300000 bytes
      {"probe_said_more", "probesize-350000", 1 << 30, "350000 bytes at first, 300000 bytes in the Content-Length"},
      {"probe_said_less", "probesize-200000", 1 << 30, "which sent more than 200000 bytes"},
      {"probe_said_more_in_parts", "probesize-350000", 100000, "300000 bytes in the Content-Range of part 0"},
  };
  for (const Case& c : cases) {
    FetchOptions o = o_;
    o.part_size = c.part_size;
    o.concurrency = 1;
    o.retries = 5;
    o.backoff_seconds = 1;
    const int before = requests_logged(log_);
    const auto began = std::chrono::steady_clock::now();
    const std::string e = error_of([&] { fetch(base_ + c.mode + "/file.bin", o); });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    EXPECT_NE(e.find("disagree about the file's size"), std::string::npos) << c.name << ": " << e;
    EXPECT_NE(e.find(c.says), std::string::npos) << c.name << ": " << e;
    EXPECT_LT(seconds, 5) << c.name << ": " << e;
    EXPECT_LE(requests_logged(log_) - before, 6) << c.name;
    expect_nothing_published(c.name);
  }
}

TEST(WebPage, TitlesAndTypes) {
  using fetch_detail::is_html_type;
  using fetch_detail::page_title;
  EXPECT_TRUE(is_html_type("text/html"));
  EXPECT_TRUE(is_html_type(" Text/HTML ; charset=utf-8"));
  EXPECT_TRUE(is_html_type("application/xhtml+xml"));
  EXPECT_FALSE(is_html_type("application/octet-stream"));
  EXPECT_FALSE(is_html_type("text/plain"));
  EXPECT_FALSE(is_html_type(""));
  EXPECT_EQ(page_title("<html><TITLE lang=en>Quota exceeded</TITLE>"), "Quota exceeded");
  EXPECT_EQ(page_title("<titlebar>no</titlebar><title>yes</title>"), "yes");
  EXPECT_EQ(page_title("<html><body>no title</body>"), "");
  EXPECT_EQ(page_title("<title>cut off by the 4 KiB"), "cut off by the 4 KiB");
  const std::string long_title = page_title("<title>" + std::string(300, 'w') + "</title>");
  EXPECT_EQ(long_title, std::string(100, 'w') + "...");
  EXPECT_TRUE(fetch_detail::is_html_name("INDEX.HTM"));
  EXPECT_FALSE(fetch_detail::is_html_name("data.html.gz"));
}

}  // namespace
}  // namespace dltrain
