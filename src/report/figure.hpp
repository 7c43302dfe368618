// A figure described once (lines, rectangles, circles, text in pixel coordinates) and written two
// ways: SVG text (figure_svg.cpp) and an RGB raster drawn with stb_truetype text (raster.cpp).
// Internal to the report module; charts build figures, they never write SVG or pixels themselves.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace dltrain::report {

struct Color {
  uint8_t r = 0, g = 0, b = 0;
  std::string hex() const;  // "#rrggbb"
};

// data-* attributes carried into the SVG (what tests and readers can find the numbers by).
using Attrs = std::vector<std::pair<std::string, std::string>>;

// Constructors rather than aggregates: figures are built with the leading fields only.
struct Polyline {
  std::vector<std::pair<double, double>> points;
  Color color;
  double width = 2;
  bool dashed = false;
  Attrs attrs;
  Polyline(std::vector<std::pair<double, double>> p, Color c, double w = 2, bool d = false, Attrs a = {})
      : points(std::move(p)), color(c), width(w), dashed(d), attrs(std::move(a)) {}
};
struct Rect {
  double x = 0, y = 0, w = 0, h = 0;
  Color fill;
  bool stroke = false;  // a thin outline
  Color stroke_color{200, 200, 200};
  std::string title;    // SVG tooltip
  Attrs attrs;
  Rect(double x_, double y_, double w_, double h_, Color f, bool s = false, Color sc = {200, 200, 200},
       std::string t = {}, Attrs a = {})
      : x(x_), y(y_), w(w_), h(h_), fill(f), stroke(s), stroke_color(sc), title(std::move(t)), attrs(std::move(a)) {}
};
struct Circle {
  double cx = 0, cy = 0, r = 3;
  Color fill;
  Attrs attrs;
  Circle(double x, double y, double r_, Color f, Attrs a = {}) : cx(x), cy(y), r(r_), fill(f), attrs(std::move(a)) {}
};
enum class Anchor : uint8_t { start, middle, end };
struct Text {
  double x = 0, y = 0;  // baseline point
  std::string text;     // UTF-8
  double size = 12;
  Color color{40, 40, 40};
  Anchor anchor = Anchor::start;
  bool bold = false;
  bool vertical = false;  // rotated -90 degrees (reads bottom to top) around (x, y)
  Text(double x_, double y_, std::string t, double s = 12, Color c = {40, 40, 40}, Anchor a = Anchor::start,
       bool b = false, bool v = false)
      : x(x_), y(y_), text(std::move(t)), size(s), color(c), anchor(a), bold(b), vertical(v) {}
};
using Item = std::variant<Polyline, Rect, Circle, Text>;

struct Figure {
  double width = 0, height = 0;
  std::string title;  // SVG <title> (accessibility)
  std::vector<Item> items;
};

// A width estimate for layout (DejaVu Sans averages about 0.6 em per character).
double text_width(const std::string& text, double size);
// Formats a number with `digits` significant digits ("0.1235", "12.3").
std::string number(double v, int digits = 4);

// SVG 1.1 text: a viewBox of the figure's size, width 100% so it scales in a page.
std::string figure_svg(const Figure& f);

// An 8-bit RGB image.
struct Raster {
  int w = 0, h = 0;
  std::vector<uint8_t> rgb;
  Raster() = default;
  Raster(int w, int h, Color background = {255, 255, 255});
  void blend(int x, int y, Color c, double alpha);  // clipped
  void fill_rect(double x, double y, double w, double h, Color c);
  void paste(const uint8_t* pixels, int pw, int ph, int channels, int x, int y, int scale = 1);
};

// Draws text with stb_truetype (the font of report_font_path()). One per thread.
class Font {
 public:
  Font();  // loads report_font_path(); throws naming it when unreadable
  ~Font();
  Font(const Font&) = delete;
  Font& operator=(const Font&) = delete;
  double width(const std::string& text, double size) const;
  // Draws text with its baseline at (x, y).
  void draw(Raster& r, double x, double y, const std::string& text, double size, Color c, Anchor anchor = Anchor::start,
            bool vertical = false) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The figure drawn at `scale` pixels per unit.
Raster rasterize(const Figure& f, const Font& font, double scale = 2);
// The bytes rasterize(f, font, scale) would hold, and the most a report draws as pixels (a
// 1000-class confusion matrix at scale 1.5 would be about 1 GB: it stays SVG only).
double raster_bytes(const Figure& f, double scale);
constexpr double max_raster_bytes = 100e6;
// PNG bytes (stb_image_write) of a raster, and writing them to a file.
std::string png_bytes(const Raster& r);
void write_png(const std::string& path, const Raster& r);
// "data:image/png;base64,..."
std::string png_data_uri(const std::string& png);
// Text with &, <, >, " escaped for XML and HTML.
std::string xml_escape(const std::string& s);

}  // namespace dltrain::report
