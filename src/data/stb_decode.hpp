// The image decoders dltrain uses: Debian's stb_image.h compiled into dltrain itself with only
// the JPEG, PNG and BMP decoders (stb_decode.cpp), so the other formats stb_image knows are not
// in the binary at all, and sanitizer and fuzzing builds instrument the decoders too.
#pragma once

#include <memory>

namespace dltrain::stb {

using Pixels = std::unique_ptr<unsigned char, void (*)(void*)>;

// The header's width, height and channel count; false when the header is not readable.
bool info(const unsigned char* data, int size, int& w, int& h, int& c);
// Decoded pixels with `channels` channels (null when the data does not decode).
Pixels load(const unsigned char* data, int size, int& w, int& h, int& c, int channels);
// Why the last call on this thread failed.
const char* failure_reason();

}  // namespace dltrain::stb
