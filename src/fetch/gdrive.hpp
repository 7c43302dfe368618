// Google Drive share links -> a direct download URL. Internal to fetch/.
#pragma once

#include <string>

#include "dltrain/fetch.hpp"

namespace dltrain::fetch_detail {

struct DriveFile {
  std::string url;       // the direct download
  std::string filename;  // from Content-Disposition, sanitised
  std::string cookies;   // "Cookie: ..." header the download needs (the session's), or ""
};

// Follows Drive's flow: uc?id=ID&export=download answers with the file (Content-Disposition) or,
// for large files, with a warning page whose form `download-form` (action and hidden inputs)
// leads to it. Quota and permission pages become errors; an HTML page is never taken for the file.
// The base URLs come from $DLTRAIN_GDRIVE_URL (default https://drive.google.com).
DriveFile resolve_drive(const std::string& id, const FetchOptions& o, const std::string& cookie_jar);

// The pieces of that flow that read what the server sent (pure but for cookie_header, which reads
// a file); fuzzed on their own.
std::string disposition_name(const std::string& content_disposition);  // a safe base name
std::string download_form_url(const std::string& page, const std::string& base);  // "": no form
std::string cookie_header(const std::string& cookie_jar_path);  // "Cookie: a=b; c=d" or ""

}  // namespace dltrain::fetch_detail
