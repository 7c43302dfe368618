// Checks on an image file's structure made before its bytes reach stb_image, for damage the
// decoder would not survive or would pay for in memory. Each throws dltrain::Error naming the file
// and the byte offset of the part that is wrong.
#pragma once

#include <string>
#include <string_view>

namespace dltrain {

// format as image_format() names it ("jpeg", "png", "bmp"); other formats are not checked.
void check_image_structure(const std::string& path, const std::string& format, std::string_view bytes);

}  // namespace dltrain
