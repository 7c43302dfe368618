// Images: decoding through stb_image (JPEG, PNG, BMP only, detected by content; the header's size
// checked against max_image_pixels() before decoding), EXIF orientation, and resizing with
// bilinear interpolation at half-pixel centres (TensorFlow's and TFLite's convention), optionally
// after a centre crop to the target's aspect ratio.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <memory>

#include "dltrain/data.hpp"
#include "dltrain/path.hpp"
#include "dltrain/io.hpp"
#include "image_checks.hpp"
#include "stb_decode.hpp"

namespace dltrain {
namespace {

uint32_t read_u32(const unsigned char* p, bool little) {
  return little ? uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24
                : uint32_t(p[3]) | uint32_t(p[2]) << 8 | uint32_t(p[1]) << 16 | uint32_t(p[0]) << 24;
}
uint16_t read_u16(const unsigned char* p, bool little) {
  return little ? uint16_t(p[0] | p[1] << 8) : uint16_t(p[1] | p[0] << 8);
}

// The TIFF orientation tag (0x0112) of IFD0 in an "Exif\0\0" APP1 segment; 1 when absent.
int tiff_orientation(const unsigned char* t, size_t n) {
  if (n < 8) return 1;
  const bool little = t[0] == 'I' && t[1] == 'I';
  if (!little && !(t[0] == 'M' && t[1] == 'M')) return 1;
  const uint32_t ifd = read_u32(t + 4, little);
  if (ifd > n - 2) return 1;
  const uint16_t entries = read_u16(t + ifd, little);
  for (uint32_t i = 0; i < entries; ++i) {
    const size_t e = ifd + 2 + size_t(i) * 12;
    if (e + 12 > n) break;
    if (read_u16(t + e, little) == 0x0112 && read_u16(t + e + 2, little) == 3) {
      const int v = read_u16(t + e + 8, little);
      return v >= 1 && v <= 8 ? v : 1;
    }
  }
  return 1;
}

}  // namespace

int jpeg_orientation(const std::string& bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  if (n < 4 || p[0] != 0xFF || p[1] != 0xD8) return 1;
  size_t at = 2;
  while (at + 4 <= n && p[at] == 0xFF) {
    const unsigned char marker = p[at + 1];
    if (marker == 0xDA || marker == 0xD9) break;  // image data starts: no EXIF before it
    const size_t len = size_t(p[at + 2]) << 8 | p[at + 3];
    if (len < 2 || at + 2 + len > n) break;
    if (marker == 0xE1 && len >= 8 && std::equal(p + at + 4, p + at + 10, "Exif\0\0"))
      return tiff_orientation(p + at + 10, len - 8);
    at += 2 + len;
  }
  return 1;
}

std::string image_format(std::string_view b) {
  auto starts = [&](std::string_view magic) { return b.substr(0, magic.size()) == magic; };
  if (starts("\xFF\xD8\xFF")) return "jpeg";
  if (starts("\x89PNG\r\n\x1A\n")) return "png";
  if (starts("BM") && b.size() >= 18) {  // and a known DIB header size, so raw pixels "BM..." stay raw
    const uint32_t dib = read_u32(reinterpret_cast<const unsigned char*>(b.data()) + 14, true);
    if (dib == 12 || dib == 40 || dib == 52 || dib == 56 || dib == 64 || dib == 108 || dib == 124) return "bmp";
  }
  if (starts("GIF87a") || starts("GIF89a")) return "gif";
  if (starts("8BPS")) return "psd";
  if (starts("\x53\x80\xF6\x34")) return "pic";
  if (starts("#?RADIANCE") || starts("#?RGBE")) return "hdr";
  if (b.size() >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7' && std::isspace(static_cast<unsigned char>(b[2])))
    return "pnm";
  if (starts(std::string_view("II*\0", 4)) || starts(std::string_view("MM\0*", 4))) return "tiff";
  if (starts("RIFF") && b.size() >= 12 && b.substr(8, 4) == "WEBP") return "webp";
  return "";
}

int64_t max_image_pixels() {
  const char* env = std::getenv("DLTRAIN_MAX_IMAGE_PIXELS");
  if (!env || !*env) return int64_t(64) << 20;
  char* end = nullptr;
  const long long v = std::strtoll(env, &end, 10);
  if (*end != '\0' || v <= 0)
    throw Error(std::string("DLTRAIN_MAX_IMAGE_PIXELS='") + env + "' is not a positive whole number",
                "give the most pixels (width x height) an image may have, e.g. 100000000");
  return v;
}

namespace {
Image decode_image_unnamed(const std::string& path, int64_t channels) {
  const std::string bytes = read_file(path);
  // The format from the content (stb_image would also decode GIF, PSD, PIC, HDR, PNM and TGA,
  // whatever the file is called); only the three formats dltrain promises reach the decoder.
  const std::string format = image_format(bytes);
  if (format != "jpeg" && format != "png" && format != "bmp")
    throw Error(path + ": not a readable image (" +
                    (format.empty() ? std::string("no JPEG, PNG or BMP signature at its start")
                                    : "a " + format + " image; dltrain reads JPEG, PNG and BMP only") + ")",
                "give a PNG, JPEG or BMP file");
  if (bytes.size() > size_t(std::numeric_limits<int>::max()))
    throw Error(path + ": " + std::to_string(bytes.size()) + " bytes is too large an image file");
  check_image_structure(path, format, bytes);
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  int iw = 0, ih = 0, ic = 0;
  // The header's size first: a small file can claim an image of gigabytes.
  if (!stb::info(data, int(bytes.size()), iw, ih, ic))
    throw Error(path + ": not a readable image (" + format + " header: " + stb::failure_reason() + ")",
                "give a PNG, JPEG or BMP file");
  // stb gives a top-down BMP's height as stored, negative: the size is its magnitude.
  iw = std::abs(iw), ih = std::abs(ih);
  if (int64_t(iw) * ih > max_image_pixels())
    throw Error(path + ": the " + format + " header says " + std::to_string(iw) + "x" + std::to_string(ih) + " = " +
                    std::to_string(int64_t(iw) * ih) + " pixels, above the limit of " +
                    std::to_string(max_image_pixels()),
                "scale the image down, or raise the limit with DLTRAIN_MAX_IMAGE_PIXELS=N");
  const stb::Pixels pixels = stb::load(data, int(bytes.size()), iw, ih, ic, int(channels));
  if (!pixels)
    throw Error(path + ": not a readable image (" + format + ": " + stb::failure_reason() + ")",
                "give a PNG, JPEG or BMP file");
  // EXIF orientation o: how the stored pixels must be turned for display.
  const int o = jpeg_orientation(bytes);
  const bool swap = o >= 5;
  Image img{swap ? iw : ih, swap ? ih : iw, channels, {}};
  img.pixels.resize(size_t(img.h * img.w * channels));
  for (int64_t y = 0; y < img.h; ++y)
    for (int64_t x = 0; x < img.w; ++x) {
      int64_t sy = y, sx = x;  // the stored pixel shown at (y, x)
      switch (o) {
        case 2: sx = iw - 1 - x; break;
        case 3: sy = ih - 1 - y, sx = iw - 1 - x; break;
        case 4: sy = ih - 1 - y; break;
        case 5: sy = x, sx = y; break;
        case 6: sy = ih - 1 - x, sx = y; break;
        case 7: sy = ih - 1 - x, sx = iw - 1 - y; break;
        case 8: sy = x, sx = iw - 1 - y; break;
        default: break;
      }
      std::copy_n(pixels.get() + (sy * iw + sx) * channels, channels, img.pixels.data() + (y * img.w + x) * channels);
    }
  return img;
}
}  // namespace

// Every error names the file (a size check or an allocation deeper down would not).
Image decode_image(const std::string& path, int64_t channels) {
  return naming(path, [&] { return decode_image_unnamed(path, channels); });
}

Image crop_image(const Image& img, int64_t y0, int64_t x0, int64_t h, int64_t w, bool flip) {
  DLT_CHECK(y0 >= 0 && x0 >= 0 && h > 0 && w > 0 && y0 + h <= img.h && x0 + w <= img.w, "crop outside the image");
  Image out{h, w, img.c, std::vector<uint8_t>(size_t(h * w * img.c))};
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      std::copy_n(img.pixels.data() + ((y0 + y) * img.w + x0 + (flip ? w - 1 - x : x)) * img.c, img.c,
                  out.pixels.data() + (y * w + x) * img.c);
  return out;
}

Tensor resize_image(const Image& img, int64_t h, int64_t w, Resize mode) {
  DLT_CHECK(img.h > 0 && img.w > 0 && h > 0 && w > 0, "resize: empty image or target");
  // The source rectangle that maps onto the target: the whole image, or its centre at the
  // target's aspect ratio.
  double y0 = 0, x0 = 0, sh = double(img.h), sw = double(img.w);
  if (mode == Resize::crop) {
    if (double(img.h) * double(w) > double(img.w) * double(h)) sh = double(img.w) * double(h) / double(w);
    else sw = double(img.h) * double(w) / double(h);
    y0 = (double(img.h) - sh) / 2, x0 = (double(img.w) - sw) / 2;
  }
  struct Tap {
    int64_t lo, hi;
    float t;
  };
  auto taps = [](int64_t out, double origin, double span, int64_t in) {
    std::vector<Tap> v(static_cast<size_t>(out));
    const double scale = span / double(out);
    for (int64_t i = 0; i < out; ++i) {
      const double src = origin + (double(i) + 0.5) * scale - 0.5;
      const double f = std::floor(src);
      v[size_t(i)] = {std::clamp<int64_t>(int64_t(f), 0, in - 1), std::clamp<int64_t>(int64_t(std::ceil(src)), 0, in - 1),
                      float(src - f)};
    }
    return v;
  };
  const std::vector<Tap> ty = taps(h, y0, sh, img.h), tx = taps(w, x0, sw, img.w);
  const int64_t c = img.c;
  Tensor out({1, h, w, c}, DType::u8);
  const uint8_t* p = img.pixels.data();
  for (int64_t y = 0; y < h; ++y) {
    const Tap a = ty[size_t(y)];
    for (int64_t x = 0; x < w; ++x) {
      const Tap b = tx[size_t(x)];
      for (int64_t k = 0; k < c; ++k) {
        const float top = p[(a.lo * img.w + b.lo) * c + k] + (p[(a.lo * img.w + b.hi) * c + k] - float(p[(a.lo * img.w + b.lo) * c + k])) * b.t;
        const float bottom = p[(a.hi * img.w + b.lo) * c + k] + (p[(a.hi * img.w + b.hi) * c + k] - float(p[(a.hi * img.w + b.lo) * c + k])) * b.t;
        out.u8()[(y * w + x) * c + k] = uint8_t(std::clamp(std::lround(top + (bottom - top) * a.t), 0L, 255L));
      }
    }
  }
  return out;
}

namespace {
Tensor load_image_unnamed(const std::string& path, int64_t h, int64_t w, int64_t channels, Resize mode) {
  require_file(path);
  const auto size = int64_t(file_bytes(path));
  // Raw pixels (e.g. a 28x28 grayscale dump) only when the content is not an image: a 784-byte
  // PNG is a PNG.
  std::string raw = size == h * w * channels ? read_file(path) : std::string();
  if (size == h * w * channels && int64_t(raw.size()) == size && image_format(raw).empty()) {
    Tensor out({1, h, w, channels}, DType::u8);
    std::copy(raw.begin(), raw.end(), out.u8());
    return out;
  }
  const Image img = decode_image(path, channels);
  if (img.h == h && img.w == w) {
    Tensor out({1, h, w, channels}, DType::u8);
    std::copy(img.pixels.begin(), img.pixels.end(), out.u8());
    return out;
  }
  return resize_image(img, h, w, mode);
}
}  // namespace

Tensor load_image(const std::string& path, int64_t h, int64_t w, int64_t channels, Resize mode) {
  return naming(path, [&] { return load_image_unnamed(path, h, w, channels, mode); });
}

}  // namespace dltrain
