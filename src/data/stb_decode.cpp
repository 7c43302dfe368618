// stb_image's implementation with internal linkage (STB_IMAGE_STATIC) and only the decoders
// dltrain promises: the rest of the file (GIF, PSD, PIC, HDR, PNM, TGA, stdio) is compiled out.
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#include <stb_image.h>

#include "stb_decode.hpp"

namespace dltrain::stb {

bool info(const unsigned char* data, int size, int& w, int& h, int& c) {
  return stbi_info_from_memory(data, size, &w, &h, &c) != 0;
}

Pixels load(const unsigned char* data, int size, int& w, int& h, int& c, int channels) {
  return Pixels(stbi_load_from_memory(data, size, &w, &h, &c, channels), stbi_image_free);
}

const char* failure_reason() { return stbi_failure_reason(); }

}  // namespace dltrain::stb
