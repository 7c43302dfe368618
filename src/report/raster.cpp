// Figures as pixels: an RGB raster with anti-aliased lines and discs, text from stb_truetype with
// the DejaVu font found at run time, PNG encoding (stb_image_write) and data URIs. Not the SVG
// path (figure_svg.cpp).
#include <stb_image_write.h>
#include <stb_truetype.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "dltrain/io.hpp"
#include "dltrain/path.hpp"
#include "dltrain/report.hpp"
#include "report/figure.hpp"

namespace dltrain {

std::string report_font_path() {
  std::vector<std::string> places;
  if (const char* env = std::getenv("DLTRAIN_FONT"); env && *env) {
    if (path_exists(env)) return env;
    throw Error(std::string("DLTRAIN_FONT names ") + env + ", which does not exist",
                "point it at a .ttf file, or unset it to use DejaVu Sans (fonts-dejavu-core)");
  }
  for (const char* p : {"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf",
                        "/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/local/share/fonts/DejaVuSans.ttf"}) {
    if (path_exists(p)) return p;
    places.push_back(p);
  }
  std::string list;
  for (const std::string& p : places) list += (list.empty() ? "" : ", ") + p;
  throw Error("no font to draw text in report images: DejaVu Sans is not in " + list,
              "install it (apt-get install fonts-dejavu-core) or set DLTRAIN_FONT to a .ttf file");
}

namespace report {

Raster::Raster(int w_, int h_, Color bg) : w(w_), h(h_), rgb(size_t(w_) * size_t(h_) * 3) {
  for (size_t i = 0; i < rgb.size(); i += 3) rgb[i] = bg.r, rgb[i + 1] = bg.g, rgb[i + 2] = bg.b;
}

void Raster::blend(int x, int y, Color c, double a) {
  if (x < 0 || y < 0 || x >= w || y >= h || a <= 0) return;
  a = std::min(a, 1.0);
  uint8_t* p = &rgb[(size_t(y) * size_t(w) + size_t(x)) * 3];
  p[0] = uint8_t(std::lround(p[0] * (1 - a) + c.r * a));
  p[1] = uint8_t(std::lround(p[1] * (1 - a) + c.g * a));
  p[2] = uint8_t(std::lround(p[2] * (1 - a) + c.b * a));
}

// Pixels by their coverage of the rectangle (so thin grid lines stay visible when scaled).
void Raster::fill_rect(double x, double y, double rw, double rh, Color c) {
  const int x0 = int(std::floor(x)), x1 = int(std::ceil(x + rw)), y0 = int(std::floor(y)), y1 = int(std::ceil(y + rh));
  for (int py = std::max(y0, 0); py < std::min(y1, h); ++py) {
    const double cy = std::min(py + 1.0, y + rh) - std::max(double(py), y);
    for (int px = std::max(x0, 0); px < std::min(x1, w); ++px) {
      const double cx = std::min(px + 1.0, x + rw) - std::max(double(px), x);
      blend(px, py, c, cx * cy);
    }
  }
}

void Raster::paste(const uint8_t* pixels, int pw, int ph, int channels, int x, int y, int scale) {
  for (int py = 0; py < ph * scale; ++py)
    for (int px = 0; px < pw * scale; ++px) {
      const int tx = x + px, ty = y + py;
      if (tx < 0 || ty < 0 || tx >= w || ty >= h) continue;
      const uint8_t* s = pixels + (size_t(py / scale) * size_t(pw) + size_t(px / scale)) * size_t(channels);
      uint8_t* d = &rgb[(size_t(ty) * size_t(w) + size_t(tx)) * 3];
      d[0] = s[0], d[1] = s[channels >= 3 ? 1 : 0], d[2] = s[channels >= 3 ? 2 : 0];
    }
}

struct Font::Impl {
  std::string bytes;
  stbtt_fontinfo info{};
  // Glyph bitmaps by (code point, size in 1/4 pixels).
  struct Glyph {
    int w = 0, h = 0, x0 = 0, y0 = 0;
    std::vector<uint8_t> alpha;
  };
  mutable std::map<std::pair<int, int>, Glyph> glyphs;
  const Glyph& glyph(int cp, float scale, int key) const {
    auto [it, fresh] = glyphs.try_emplace({cp, key});
    if (fresh) {
      Glyph& g = it->second;
      int x1 = 0, y1 = 0;
      stbtt_GetCodepointBitmapBox(&info, cp, scale, scale, &g.x0, &g.y0, &x1, &y1);
      g.w = std::max(0, x1 - g.x0), g.h = std::max(0, y1 - g.y0);
      g.alpha.assign(size_t(g.w) * size_t(g.h), 0);
      if (g.w > 0 && g.h > 0) stbtt_MakeCodepointBitmap(&info, g.alpha.data(), g.w, g.h, g.w, scale, scale, cp);
    }
    return it->second;
  }
};

namespace {
// The code points of a UTF-8 string (invalid bytes become '?').
std::vector<int> code_points(const std::string& s) {
  std::vector<int> out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + size_t(n) > s.size()) {
      out.push_back('?');
      ++i;
      continue;
    }
    int cp = n == 1 ? c : c & (0x7F >> n);
    for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + size_t(k)]) & 0x3F);
    out.push_back(cp);
    i += size_t(n);
  }
  return out;
}
}  // namespace

Font::Font() : impl_(std::make_unique<Impl>()) {
  const std::string path = report_font_path();
  impl_->bytes = read_file(path);
  const auto* data = reinterpret_cast<const unsigned char*>(impl_->bytes.data());
  const int offset = stbtt_GetFontOffsetForIndex(data, 0);
  if (offset < 0 || !stbtt_InitFont(&impl_->info, data, offset))
    throw Error(path + ": not a TrueType font stb_truetype can read", "set DLTRAIN_FONT to a .ttf file");
}

Font::~Font() = default;

double Font::width(const std::string& text, double size) const {
  const float scale = stbtt_ScaleForMappingEmToPixels(&impl_->info, float(size));
  const std::vector<int> cps = code_points(text);
  double x = 0;
  for (size_t i = 0; i < cps.size(); ++i) {
    int advance = 0, lsb = 0;
    stbtt_GetCodepointHMetrics(&impl_->info, cps[i], &advance, &lsb);
    x += advance * scale;
    if (i + 1 < cps.size()) x += scale * stbtt_GetCodepointKernAdvance(&impl_->info, cps[i], cps[i + 1]);
  }
  return x;
}

void Font::draw(Raster& r, double x, double y, const std::string& text, double size, Color c, Anchor anchor,
                bool vertical) const {
  const float scale = stbtt_ScaleForMappingEmToPixels(&impl_->info, float(size));
  const double w = width(text, size);
  double pen = anchor == Anchor::start ? 0 : anchor == Anchor::middle ? -w / 2 : -w;
  const std::vector<int> cps = code_points(text);
  const int key = int(std::lround(size * 4));
  for (size_t i = 0; i < cps.size(); ++i) {
    const Impl::Glyph& g = impl_->glyph(cps[i], scale, key);
    const int gx = int(std::lround(pen)) + g.x0;
    for (int py = 0; py < g.h; ++py)
      for (int px = 0; px < g.w; ++px) {
        const double a = g.alpha[size_t(py) * size_t(g.w) + size_t(px)] / 255.0;
        if (a <= 0) continue;
        // Along the text: gx + px; across: g.y0 + py (below the baseline is positive).
        if (vertical) r.blend(int(std::lround(x)) + g.y0 + py, int(std::lround(y)) - gx - px, c, a);
        else r.blend(int(std::lround(x)) + gx + px, int(std::lround(y)) + g.y0 + py, c, a);
      }
    int advance = 0, lsb = 0;
    stbtt_GetCodepointHMetrics(&impl_->info, cps[i], &advance, &lsb);
    pen += advance * scale;
    if (i + 1 < cps.size()) pen += scale * stbtt_GetCodepointKernAdvance(&impl_->info, cps[i], cps[i + 1]);
  }
}

namespace {
// A segment of width `width` with round caps, anti-aliased by distance.
void draw_segment(Raster& r, double x0, double y0, double x1, double y1, double width, Color c) {
  const double hw = width / 2;
  const int bx0 = int(std::floor(std::min(x0, x1) - hw - 1)), bx1 = int(std::ceil(std::max(x0, x1) + hw + 1));
  const int by0 = int(std::floor(std::min(y0, y1) - hw - 1)), by1 = int(std::ceil(std::max(y0, y1) + hw + 1));
  const double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
  for (int py = std::max(by0, 0); py <= std::min(by1, r.h - 1); ++py)
    for (int px = std::max(bx0, 0); px <= std::min(bx1, r.w - 1); ++px) {
      const double qx = px + 0.5 - x0, qy = py + 0.5 - y0;
      const double t = len2 > 0 ? std::clamp((qx * dx + qy * dy) / len2, 0.0, 1.0) : 0.0;
      const double ex = qx - t * dx, ey = qy - t * dy;
      const double d = std::sqrt(ex * ex + ey * ey);
      r.blend(px, py, c, std::clamp(hw + 0.5 - d, 0.0, 1.0));
    }
}

struct RasterItem {
  Raster& r;
  const Font& font;
  double s;
  void operator()(const Polyline& p) const {
    for (size_t i = 1; i < p.points.size(); ++i) {
      const auto [x0, y0] = p.points[i - 1];
      const auto [x1, y1] = p.points[i];
      if (!p.dashed) {
        draw_segment(r, x0 * s, y0 * s, x1 * s, y1 * s, p.width * s, p.color);
        continue;
      }
      const double len = std::hypot(x1 - x0, y1 - y0);
      for (double a = 0; a < len; a += 10) {
        const double b = std::min(a + 6, len);
        draw_segment(r, (x0 + (x1 - x0) * a / len) * s, (y0 + (y1 - y0) * a / len) * s,
                     (x0 + (x1 - x0) * b / len) * s, (y0 + (y1 - y0) * b / len) * s, p.width * s, p.color);
      }
    }
  }
  void operator()(const Rect& q) const {
    r.fill_rect(q.x * s, q.y * s, q.w * s, q.h * s, q.fill);
    if (q.stroke) {
      const double t = std::max(1.0, 0.5 * s);
      r.fill_rect(q.x * s, q.y * s, q.w * s, t, q.stroke_color);
      r.fill_rect(q.x * s, (q.y + q.h) * s - t, q.w * s, t, q.stroke_color);
      r.fill_rect(q.x * s, q.y * s, t, q.h * s, q.stroke_color);
      r.fill_rect((q.x + q.w) * s - t, q.y * s, t, q.h * s, q.stroke_color);
    }
  }
  void operator()(const Circle& c) const {
    const double cx = c.cx * s, cy = c.cy * s, rad = c.r * s;
    for (int py = int(cy - rad - 1); py <= int(cy + rad + 1); ++py)
      for (int px = int(cx - rad - 1); px <= int(cx + rad + 1); ++px)
        r.blend(px, py, c.fill, std::clamp(rad + 0.5 - std::hypot(px + 0.5 - cx, py + 0.5 - cy), 0.0, 1.0));
  }
  void operator()(const Text& t) const { font.draw(r, t.x * s, t.y * s, t.text, t.size * s, t.color, t.anchor, t.vertical); }
};

void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
}
}  // namespace

double raster_bytes(const Figure& f, double scale) {
  return std::ceil(f.width * scale) * std::ceil(f.height * scale) * 3;
}

Raster rasterize(const Figure& f, const Font& font, double scale) {
  Raster r(int(std::ceil(f.width * scale)), int(std::ceil(f.height * scale)));
  for (const Item& item : f.items) std::visit(RasterItem{r, font, scale}, item);
  return r;
}

std::string png_bytes(const Raster& r) {
  std::string out;
  if (!stbi_write_png_to_func(append_bytes, &out, r.w, r.h, 3, r.rgb.data(), r.w * 3))
    throw Error("could not encode a " + std::to_string(r.w) + "x" + std::to_string(r.h) + " PNG");
  return out;
}

void write_png(const std::string& path, const Raster& r) { write_file_atomic(path, png_bytes(r), false); }

std::string png_data_uri(const std::string& png) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out = "data:image/png;base64,";
  out.reserve(out.size() + (png.size() + 2) / 3 * 4);
  for (size_t i = 0; i < png.size(); i += 3) {
    const uint32_t a = static_cast<unsigned char>(png[i]);
    const uint32_t b = i + 1 < png.size() ? static_cast<unsigned char>(png[i + 1]) : 0;
    const uint32_t c = i + 2 < png.size() ? static_cast<unsigned char>(png[i + 2]) : 0;
    const uint32_t v = a << 16 | b << 8 | c;
    out += table[v >> 18];
    out += table[(v >> 12) & 63];
    out += i + 1 < png.size() ? table[(v >> 6) & 63] : '=';
    out += i + 2 < png.size() ? table[v & 63] : '=';
  }
  return out;
}

}  // namespace report
}  // namespace dltrain
