// The S3 test server for the fetch and push tests: tests/servers/s3.py (moto with authentication,
// behind a proxy that counts the bytes clients send), one per test suite. Tests skip, saying why,
// when moto is not installed.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "dltrain/fetch.hpp"
#include "fetch/http.hpp"
#include "helpers.hpp"

namespace dltrain::test {

class S3ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir;
    write(*root_ / "big.bin", random_bytes(5 << 20, 7));
    write(*root_ / "mnist/train-labels-idx1-ubyte", std::string("\0\0\x08\x01\0\0\0\x02\x03\x04", 10));
    server_ = new ServerProcess({"python3", servers_dir() + "/s3.py", root_->path()});
  }
  static void TearDownTestSuite() {
    delete server_;
    delete root_;
  }
  void SetUp() override {
    if (!server_->running())
      GTEST_SKIP() << "no S3 test server: tests/servers/s3.py needs moto (pip install 'moto[server]')";
    info_ = nlohmann::json::parse(server_->first_line());
    o_.cache = cache_.path();
    o_.backoff_seconds = 0.01;
    o_.s3.endpoint = "http://127.0.0.1:" + std::to_string(info_["port"].get<int>());
    key_ = info_["access_key"];
    secret_ = info_["secret_key"];
    use_keys(key_, secret_);
  }
  void TearDown() override {
    ::unsetenv("AWS_ACCESS_KEY_ID");
    ::unsetenv("AWS_SECRET_ACCESS_KEY");
  }
  static void use_keys(const std::string& key, const std::string& secret) {
    ::setenv("AWS_ACCESS_KEY_ID", key.c_str(), 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", secret.c_str(), 1);
  }
  // The endpoint through the counting proxy, and how many bytes clients have sent through it.
  std::string proxy_endpoint() const { return "http://127.0.0.1:" + std::to_string(info_["proxy_port"].get<int>()); }
  int64_t proxy_received() const;

  static TempDir* root_;
  static ServerProcess* server_;
  nlohmann::json info_;
  TempDir cache_;
  FetchOptions o_;
  std::string key_, secret_;
};
inline TempDir* S3ServerTest::root_ = nullptr;
inline int64_t S3ServerTest::proxy_received() const {
  fetch_detail::HttpRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(info_["control_port"].get<int>()) + "/";
  std::string body;
  fetch_detail::http_request(r, [&](const char* d, size_t n, long) { return body.append(d, n), true; });
  return nlohmann::json::parse(body)["received"].get<int64_t>();
}
inline ServerProcess* S3ServerTest::server_ = nullptr;

}  // namespace dltrain::test
