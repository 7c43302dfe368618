// AWS Signature Version 4: canonical request, string to sign, signing key and Authorization
// header, on OpenSSL. S3 rules: the path is URI-encoded once and not normalised.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>

#include "dltrain/core.hpp"
#include "dltrain/fetch.hpp"
#include "dltrain/io.hpp"

namespace dltrain {
namespace {

std::string hmac(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), int(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
            out, &len))
    throw Error("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string trim_fold(const std::string& v) {  // trim, and fold inner runs of spaces to one
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Canonical headers ("name:value\n" sorted, duplicates joined by ",") and the signed-header list.
std::pair<std::string, std::string> canonical_headers(const SigV4Request& r) {
  std::vector<std::pair<std::string, std::string>> h;
  for (const auto& [k, v] : r.headers) h.emplace_back(lower(k), trim_fold(v));
  std::stable_sort(h.begin(), h.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string text, names;
  for (size_t i = 0; i < h.size(); ++i) {
    if (i > 0 && h[i].first == h[i - 1].first) {
      text.pop_back();  // the newline: append to the previous value
      text += "," + h[i].second + "\n";
      continue;
    }
    text += h[i].first + ":" + h[i].second + "\n";
    names += (names.empty() ? "" : ";") + h[i].first;
  }
  return {text, names};
}

}  // namespace

std::string uri_encode(const std::string& s, bool keep_slash) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) out += char(c);
    else out += '%', out += digits[c >> 4], out += digits[c & 15];
  }
  return out;
}

std::string uri_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += char(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string sigv4_canonical_request(const SigV4Request& r) {
  std::vector<std::pair<std::string, std::string>> q;
  for (const auto& [k, v] : r.query) q.emplace_back(uri_encode(k, false), uri_encode(v, false));
  std::sort(q.begin(), q.end());
  std::string query;
  for (const auto& [k, v] : q) query += (query.empty() ? "" : "&") + k + "=" + v;
  const auto [headers, names] = canonical_headers(r);
  return r.method + "\n" + uri_encode(r.path.empty() ? "/" : r.path, true) + "\n" + query + "\n" + headers + "\n" +
         names + "\n" + r.payload_sha256;
}

std::string sigv4_string_to_sign(const std::string& canonical_request, const SigV4Scope& s) {
  return "AWS4-HMAC-SHA256\n" + s.amz_date + "\n" + s.amz_date.substr(0, 8) + "/" + s.region + "/" + s.service +
         "/aws4_request\n" + sha256_hex(canonical_request);
}

std::string sigv4_signature(const std::string& string_to_sign, const SigV4Scope& s) {
  const std::string k_date = hmac("AWS4" + s.secret_key, s.amz_date.substr(0, 8));
  const std::string k_signing = hmac(hmac(hmac(k_date, s.region), s.service), "aws4_request");
  const std::string sig = hmac(k_signing, string_to_sign);
  return hex_string(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

std::string sigv4_authorization(const SigV4Request& r, const SigV4Scope& s) {
  const std::string creq = sigv4_canonical_request(r);
  return "AWS4-HMAC-SHA256 Credential=" + s.access_key + "/" + s.amz_date.substr(0, 8) + "/" + s.region + "/" +
         s.service + "/aws4_request, SignedHeaders=" + canonical_headers(r).second +
         ", Signature=" + sigv4_signature(sigv4_string_to_sign(creq, s), s);
}

}  // namespace dltrain
