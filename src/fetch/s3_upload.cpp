// The S3 calls of an upload: PutObject, DeleteObject and the multipart upload (Create, UploadPart,
// ListParts, Complete, Abort, ListMultipartUploads), with the parsers of their answers.
#include <openssl/evp.h>

#include <pugixml.hpp>

#include "s3.hpp"

namespace dltrain::fetch_detail {
namespace {

// The answer's document element. Its name is not checked beyond not being <Error>: servers differ
// (moto answers ListParts with <ListPartsResponse>, S3 with <ListPartsResult>), and the SDKs read
// the children whatever the root is called. `root` is S3's name, for messages.
pugi::xml_node parse_xml(pugi::xml_document& doc, const std::string& answer, const std::string& what, const char* root) {
  if (!doc.load_buffer(answer.data(), answer.size())) throw SourceError(what + ": the server's answer is not XML");
  const pugi::xml_node r = doc.document_element();
  if (!r || std::string(r.name()) == "Error") throw SourceError(what + ": the server's answer is not a " + root + " document");
  return r;
}

std::string unquoted(std::string etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

// A count from an XML field: digits only, at most `limit`; -1 otherwise.
int64_t xml_count(const char* text, int64_t limit) {
  const std::string s = text;
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) return -1;
  const int64_t v = std::stoll(s);
  return v <= limit ? v : -1;
}

}  // namespace

std::string base64_of_hex(const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) bytes.push_back(char(std::stoi(hex.substr(i, 2), nullptr, 16)));
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), int(bytes.size()));
  out.resize(size_t(n));
  return out;
}

std::string parse_upload_id(const std::string& answer, const std::string& what) {
  pugi::xml_document doc;
  const std::string id = parse_xml(doc, answer, what, "InitiateMultipartUploadResult").child_value("UploadId");
  if (id.empty() || id.size() > 1024) throw SourceError(what + ": the answer holds no usable UploadId");
  return id;
}

bool parse_parts(const std::string& page, const std::string& what, std::vector<S3Part>& out, std::string& marker) {
  pugi::xml_document doc;
  const pugi::xml_node r = parse_xml(doc, page, what, "ListPartsResult");
  for (pugi::xml_node p : r.children("Part")) {
    const int64_t number = xml_count(p.child_value("PartNumber"), 10000), size = xml_count(p.child_value("Size"), int64_t(5) << 30);
    if (number < 1 || size < 0) throw SourceError(what + ": a part with an impossible number or size");
    out.push_back({int(number), size, unquoted(p.child_value("ETag")), ""});
  }
  if (std::string(r.child_value("IsTruncated")) != "true") return false;
  const std::string next = r.child_value("NextPartNumberMarker");
  if (next.empty() || next == marker) throw SourceError(what + ": a truncated list of parts that does not move on");
  marker = next;
  return true;
}

bool parse_uploads(const std::string& page, const std::string& what, std::vector<S3Upload>& out, std::string& key_marker,
                   std::string& id_marker) {
  pugi::xml_document doc;
  const pugi::xml_node r = parse_xml(doc, page, what, "ListMultipartUploadsResult");
  for (pugi::xml_node u : r.children("Upload")) out.push_back({u.child_value("Key"), u.child_value("UploadId")});
  if (std::string(r.child_value("IsTruncated")) != "true") return false;
  const std::string key = r.child_value("NextKeyMarker"), id = r.child_value("NextUploadIdMarker");
  if (key.empty() || (key == key_marker && id == id_marker))
    throw SourceError(what + ": a truncated list of uploads that does not move on");
  key_marker = key, id_marker = id;
  return true;
}

void check_completion(const std::string& answer, const std::string& what) {
  pugi::xml_document doc;
  if (!doc.load_buffer(answer.data(), answer.size())) throw SourceError(what + ": the server's answer is not XML");
  if (const pugi::xml_node e = doc.child("Error")) {
    const std::string code = e.child_value("Code"), message = e.child_value("Message");
    const std::string text = what + ": the server answered 200 with an error: " + code.substr(0, 64) +
                             (message.empty() ? "" : " (" + message.substr(0, 200) + ")");
    if (code == "InternalError" || code == "SlowDown" || code == "ServiceUnavailable") throw Retryable(text, -1);
    throw SourceError(text);
  }
  if (!doc.child("CompleteMultipartUploadResult"))
    throw SourceError(what + ": the answer is not a CompleteMultipartUploadResult document");
}

std::string S3Client::put_object(const std::string& bucket, const std::string& key, const Body& body, const Sent& sent) const {
  HttpResponse r;
  send(Call("PUT", bucket, key, "uploading s3://" + bucket + "/" + key).with_body(body, &sent), &r);
  return unquoted(r.header("etag"));
}

void S3Client::delete_object(const std::string& bucket, const std::string& key) const {
  send(Call("DELETE", bucket, key, "deleting s3://" + bucket + "/" + key), nullptr, true);
}

std::string S3Client::create_upload(const std::string& bucket, const std::string& key) const {
  const std::string what = "starting the upload of s3://" + bucket + "/" + key;
  std::vector<std::pair<std::string, std::string>> headers = {{"content-type", "application/octet-stream"}};
  if (checksum_sha256_) headers.emplace_back("x-amz-checksum-algorithm", "SHA256");
  return parse_upload_id(send(Call("POST", bucket, key, what).with_query({{"uploads", ""}}).with_headers(headers)), what);
}

std::string S3Client::upload_part(const std::string& bucket, const std::string& key, const std::string& upload_id,
                                  int number, const Body& body, const Sent& sent) const {
  HttpResponse r;
  const std::string what = "uploading part " + std::to_string(number) + " of s3://" + bucket + "/" + key;
  send(Call("PUT", bucket, key, what)
           .with_query({{"partNumber", std::to_string(number)}, {"uploadId", upload_id}})
           .with_body(body, &sent),
       &r);
  const std::string etag = unquoted(r.header("etag"));
  if (etag.empty()) throw SourceError(what + ": the answer has no ETag");
  return etag;
}

std::optional<std::vector<S3Part>> S3Client::list_parts(const std::string& bucket, const std::string& key,
                                                        const std::string& upload_id) const {
  std::vector<S3Part> parts;
  std::string marker;
  const std::string what = "listing the uploaded parts of s3://" + bucket + "/" + key;
  for (;;) {
    Call c = Call("GET", bucket, key, what).with_query({{"uploadId", upload_id}});
    if (!marker.empty()) c.query.emplace_back("part-number-marker", marker);
    HttpResponse r;
    const std::string page = send(c, &r, true);
    if (r.status == 404) return std::nullopt;  // NoSuchUpload
    if (!parse_parts(page, what, parts, marker)) break;
  }
  return parts;
}

void S3Client::complete_upload(const std::string& bucket, const std::string& key, const std::string& upload_id,
                               const std::vector<S3Part>& parts) const {
  std::string xml = "<CompleteMultipartUpload>";
  for (const S3Part& p : parts)
    xml += "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><ETag>\"" + p.etag + "\"</ETag>" +
           (checksum_sha256_ && !p.sha256.empty() ? "<ChecksumSHA256>" + base64_of_hex(p.sha256) + "</ChecksumSHA256>" : "") +
           "</Part>";
  xml += "</CompleteMultipartUpload>";
  const std::string what = "completing the upload of s3://" + bucket + "/" + key;
  const Body body{xml, sha256_hex(xml), ""};
  // A 200 may still carry an <Error>: a transient one is retried like a 5xx.
  with_retries(fetch_, what, [&] {
    check_completion(send(Call("POST", bucket, key, what)
                              .with_query({{"uploadId", upload_id}})
                              .with_body(body, nullptr)
                              .with_headers({{"content-type", "application/xml"}})),
                     what);
    return 0;
  });
}

void S3Client::abort_upload(const std::string& bucket, const std::string& key, const std::string& upload_id) const {
  send(Call("DELETE", bucket, key, "aborting the upload of s3://" + bucket + "/" + key).with_query({{"uploadId", upload_id}}),
       nullptr, true);
}

std::vector<S3Upload> S3Client::list_uploads(const std::string& bucket, const std::string& prefix) const {
  std::vector<S3Upload> out;
  std::string key_marker, id_marker;
  const std::string what = "listing the unfinished uploads under s3://" + bucket + "/" + prefix;
  for (;;) {
    Call c = Call("GET", bucket, "", what).with_query({{"uploads", ""}, {"prefix", prefix}});
    if (!key_marker.empty()) c.query.emplace_back("key-marker", key_marker);
    if (!id_marker.empty()) c.query.emplace_back("upload-id-marker", id_marker);
    if (!parse_uploads(send(c), what, out, key_marker, id_marker)) break;
  }
  return out;
}

}  // namespace dltrain::fetch_detail
