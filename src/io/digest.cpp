// SHA-256 and MD5 digests through OpenSSL's EVP interface.
#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <vector>

#include "dltrain/io.hpp"

namespace dltrain {
namespace {
using Ctx = std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)>;
Ctx context(const EVP_MD* md) {
  Ctx c(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!c || !EVP_DigestInit_ex(c.get(), md, nullptr)) throw Error("digest initialisation failed");
  return c;
}
std::string finish_ctx(EVP_MD_CTX* c) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (!EVP_DigestFinal_ex(c, d, &n)) throw Error("digest failed");
  return hex_string(d, n);
}
}  // namespace

std::string hex_string(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) out += digits[p[i] >> 4], out += digits[p[i] & 15];
  return out;
}

std::string sha256_hex(const std::string& data) {
  Ctx c = context(EVP_sha256());
  EVP_DigestUpdate(c.get(), data.data(), data.size());
  return finish_ctx(c.get());
}

Hasher::Hasher(bool with_md5) : sha_(context(EVP_sha256()).release()), md5_(with_md5 ? context(EVP_md5()).release() : nullptr) {}

Hasher::~Hasher() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(sha_));
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(md5_));
}

void Hasher::update(const void* data, size_t n) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(sha_), data, n);
  if (md5_) EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(md5_), data, n);
  size_ += int64_t(n);
}

FileDigest Hasher::finish() {
  FileDigest d;
  d.sha256 = finish_ctx(static_cast<EVP_MD_CTX*>(sha_));
  if (md5_) d.md5 = finish_ctx(static_cast<EVP_MD_CTX*>(md5_));
  d.size = size_;
  return d;
}

FileDigest digest_file(const std::string& path, bool with_md5) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open for reading");
  Hasher h(with_md5);
  std::vector<char> buf(4 << 20);
  while (f) {
    f.read(buf.data(), std::streamsize(buf.size()));
    h.update(buf.data(), size_t(f.gcount()));
  }
  if (f.bad()) throw Error(path + ": read failed");
  return h.finish();
}

}  // namespace dltrain
