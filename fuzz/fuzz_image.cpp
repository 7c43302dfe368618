// Fuzz target: image files (format detection by content, the header's pixel limit, stb decode,
// EXIF orientation) through decode_image and load_image. The pixel limit is lowered to 4 MP so the
// fuzzer spends its time in parsers, not in decoding large valid images.
#include <cstdlib>

#include "dltrain/data.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool limited = [] { return ::setenv("DLTRAIN_MAX_IMAGE_PIXELS", "4000000", 1) == 0; }();
  (void)limited;
  const std::string bytes(fuzz::bytes(data, size));
  dltrain::image_format(bytes);
  dltrain::jpeg_orientation(bytes);
  const std::string path = fuzz::write("image.jpg", bytes);
  try {
    dltrain::decode_image(path, size % 2 ? 3 : 1);
  } catch (const dltrain::Error& e) {
    fuzz::refused(e, path);
  }
  try {
    dltrain::load_image(path, 7, 5, 3, size % 3 ? dltrain::Resize::bilinear : dltrain::Resize::crop);
  } catch (const dltrain::Error& e) {
    fuzz::refused(e, path);
  }
  return 0;
}
