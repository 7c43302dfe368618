// Google Drive share links -> a direct download URL. Internal to fetch/.
#pragma once

#include <string>
#include <vector>

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

// ---- folders ----
struct DriveEntry {
  std::string id, name;
  bool folder = false;
};
// A public folder's page (drive/folders/ID) lists at most this many entries; a folder that shows
// this many is listed again through the embedded folder view, which has no such limit.
constexpr size_t drive_page_entries = 50;
// The entries of a folder page: the JSON in the JavaScript string assigned to window['_DRIVE_ivd']
// (its first element: [id, parent, name, mime type, ...] per entry), and the folder's name from
// the page's <title> ("NAME - Google Drive"). Throws SourceError when the page holds no listing
// (a sign-in page: the folder is not shared). Pure; fuzzed.
std::vector<DriveEntry> folder_page_entries(const std::string& page, std::string& folder_name);
// The entries of the embedded folder view (embeddedfolderview?id=ID): each <div class="flip-entry"
// id="entry-ID"> with its link (a folder's leads to /drive/folders/) and its flip-entry-title.
// Pure; fuzzed.
std::vector<DriveEntry> embedded_view_entries(const std::string& page);
// A Drive name as a path part: '/' and control characters become '_'; "", "." and ".." are
// refused (SourceError).
std::string drive_path_part(const std::string& name);

struct DriveListedFile {
  std::string id, path;  // path: relative, sub-folders kept
};
// Every file under a shared folder, sub-folders walked (at most 20 deep, 100,000 files); the
// folder's own name in `folder_name`. Base URL as for resolve_drive.
std::vector<DriveListedFile> list_drive_folder(const std::string& id, const FetchOptions& o, std::string& folder_name);

}  // namespace dltrain::fetch_detail
