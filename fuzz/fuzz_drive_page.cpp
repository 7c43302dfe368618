// Fuzz target: Google Drive's answers, as two parts of one input (fuzz_util.hpp): the cookie jar
// libcurl wrote (Netscape format) and an HTML page that may hold the large-file warning form; the
// page is also read as a folder's page and as its embedded view.
#include "fetch/gdrive.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fd = dltrain::fetch_detail;
  const auto part = fuzz::parts(fuzz::bytes(data, size), 2);
  try {
    fd::cookie_header(fuzz::write("cookies.txt", part[0]));
    fd::download_form_url(std::string(part[1]), "https://drive.example");
  } catch (const dltrain::Error&) {
  }
  std::string name;
  try {
    for (const fd::DriveEntry& e : fd::folder_page_entries(std::string(part[1]), name)) fd::drive_path_part(e.name);
  } catch (const dltrain::Error&) {
  }
  try {
    for (const fd::DriveEntry& e : fd::embedded_view_entries(std::string(part[1]))) fd::drive_path_part(e.name);
  } catch (const dltrain::Error&) {
  }
  return 0;
}
