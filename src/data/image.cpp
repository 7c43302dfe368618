// load_image: PNG/JPEG/BMP through stb_image (resized with stb_image_resize), or raw bytes.
#include <stb_image.h>
#include <stb_image_resize.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "dltrain/data.hpp"

namespace dltrain {

Tensor load_image(const std::string& path, int64_t h, int64_t w, int64_t channels) {
  if (!std::filesystem::is_regular_file(path)) throw Error(path + ": no such file");
  Tensor out({1, h, w, channels}, DType::u8);
  const auto size = int64_t(std::filesystem::file_size(path));
  if (size == h * w * channels) {  // raw pixels, e.g. a 28x28 grayscale dump
    std::ifstream f(path, std::ios::binary);
    f.read(reinterpret_cast<char*>(out.u8()), size);
    if (!f) throw Error(path + ": read failed");
    return out;
  }
  int iw = 0, ih = 0, ic = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(stbi_load(path.c_str(), &iw, &ih, &ic, int(channels)),
                                                   stbi_image_free);
  if (!pixels)
    throw Error(path + ": not a readable image (" + stbi_failure_reason() + ")",
                "give a PNG, JPEG or BMP file, or a raw file of exactly " + std::to_string(h * w * channels) + " bytes");
  if (iw == w && ih == h) {
    std::copy(pixels.get(), pixels.get() + h * w * channels, out.u8());
    return out;
  }
  if (!stbir_resize_uint8(pixels.get(), iw, ih, 0, out.u8(), int(w), int(h), 0, int(channels)))
    throw Error(path + ": resizing to " + std::to_string(w) + "x" + std::to_string(h) + " failed");
  return out;
}

}  // namespace dltrain
