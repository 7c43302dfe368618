// Figures as SVG text, and the small formatting helpers the charts share. Not the raster path
// (raster.cpp).
#include <cmath>
#include <cstdio>
#include <sstream>

#include "report/figure.hpp"

namespace dltrain::report {

std::string Color::hex() const {
  char s[8];
  std::snprintf(s, sizeof s, "#%02x%02x%02x", r, g, b);
  return s;
}

double text_width(const std::string& text, double size) {
  double n = 0;
  for (unsigned char c : text)
    if ((c & 0xC0) != 0x80) n += 1;  // count UTF-8 code points, not bytes
  return n * size * 0.6;
}

std::string number(double v, int digits) {
  char s[32];
  std::snprintf(s, sizeof s, "%.*g", digits, v);
  return s;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {
std::string coord(double v) { return number(std::round(v * 100) / 100, 10); }

void attrs(std::ostringstream& o, const Attrs& a) {
  for (const auto& [k, v] : a) o << ' ' << k << "=\"" << xml_escape(v) << '"';
}

struct SvgItem {
  std::ostringstream& o;
  void operator()(const Polyline& p) const {
    o << "<polyline fill=\"none\" stroke=\"" << p.color.hex() << "\" stroke-width=\"" << coord(p.width)
      << "\" stroke-linejoin=\"round\"";
    if (p.dashed) o << " stroke-dasharray=\"6 4\"";
    attrs(o, p.attrs);
    o << " points=\"";
    for (size_t i = 0; i < p.points.size(); ++i)
      o << (i ? " " : "") << coord(p.points[i].first) << ',' << coord(p.points[i].second);
    o << "\"/>\n";
  }
  void operator()(const Rect& r) const {
    o << "<rect x=\"" << coord(r.x) << "\" y=\"" << coord(r.y) << "\" width=\"" << coord(r.w) << "\" height=\""
      << coord(r.h) << "\" fill=\"" << r.fill.hex() << '"';
    if (r.stroke) o << " stroke=\"" << r.stroke_color.hex() << "\" stroke-width=\"0.5\"";
    attrs(o, r.attrs);
    if (r.title.empty()) o << "/>\n";
    else o << "><title>" << xml_escape(r.title) << "</title></rect>\n";
  }
  void operator()(const Circle& c) const {
    o << "<circle cx=\"" << coord(c.cx) << "\" cy=\"" << coord(c.cy) << "\" r=\"" << coord(c.r) << "\" fill=\""
      << c.fill.hex() << '"';
    attrs(o, c.attrs);
    o << "/>\n";
  }
  void operator()(const Text& t) const {
    o << "<text x=\"" << coord(t.x) << "\" y=\"" << coord(t.y) << "\" font-size=\"" << coord(t.size) << "\" fill=\""
      << t.color.hex() << '"';
    if (t.anchor != Anchor::start) o << " text-anchor=\"" << (t.anchor == Anchor::middle ? "middle" : "end") << '"';
    if (t.bold) o << " font-weight=\"bold\"";
    if (t.vertical) o << " transform=\"rotate(-90 " << coord(t.x) << ' ' << coord(t.y) << ")\"";
    o << '>' << xml_escape(t.text) << "</text>\n";
  }
};
}  // namespace

std::string figure_svg(const Figure& f) {
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << coord(f.width) << ' ' << coord(f.height)
    << "\" width=\"100%\" style=\"max-width:" << coord(f.width) << "px\" font-family=\"DejaVu Sans, Verdana, sans-serif\""
    << " role=\"img\">\n";
  if (!f.title.empty()) o << "<title>" << xml_escape(f.title) << "</title>\n";
  for (const Item& item : f.items) std::visit(SvgItem{o}, item);
  o << "</svg>\n";
  return o.str();
}

}  // namespace dltrain::report
