// Fuzz target: archives extracted into a fresh folder (extract_archive, libarchive). The first
// byte picks the file name's extension (.tar, .zip, .gz, .tar.gz), which decides raw gzip or an
// archive; the limits are lowered so an input may extract at most 4 MiB.
#include "dltrain/fetch.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* names[] = {"a.tar", "a.zip", "a.gz", "a.tar.gz"};
  fuzz::fresh_dir("archive");
  const std::string path = fuzz::write(std::string("archive/") + names[data[0] % 4], fuzz::bytes(data + 1, size - 1));
  dltrain::ExtractLimits limits;
  limits.max_bytes = 4 << 20;
  limits.ratio_floor = 4 << 20;
  try {
    dltrain::extract_archive(path, fuzz::scratch() + "/archive/out", limits);
  } catch (const dltrain::Error& e) {
    fuzz::refused(e, path);
  }
  return 0;
}
