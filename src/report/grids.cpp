// Image grids (samples.png, worst.png, `dltrain show`): each tile an image scaled to image_px
// (IDX digits by whole pixels, photos resized with a centre crop) and up to three caption lines.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "dltrain/report.hpp"
#include "report/grids.hpp"

namespace dltrain::report {
namespace {

constexpr Color ink{40, 40, 40}, wrong{200, 30, 30}, right{30, 120, 50};

struct Caption {
  std::string text;
  Color color = ink;
};

// A thumbnail (image_px x image_px x 3) of an IDX image (N,H,W,C) or of an image file.
std::vector<uint8_t> thumbnail_u8(const uint8_t* px, int64_t h, int64_t w, int64_t c) {
  std::vector<uint8_t> out(size_t(image_px) * image_px * 3, 255);
  const double s = std::min(double(image_px) / double(h), double(image_px) / double(w));
  const auto oh = int64_t(double(h) * s), ow = int64_t(double(w) * s);
  const int64_t y0 = (image_px - oh) / 2, x0 = (image_px - ow) / 2;
  for (int64_t y = 0; y < oh; ++y)
    for (int64_t x = 0; x < ow; ++x) {
      const int64_t sy = std::min(h - 1, int64_t(double(y) / s)), sx = std::min(w - 1, int64_t(double(x) / s));
      const uint8_t* p = px + (sy * w + sx) * c;
      uint8_t* d = &out[size_t(((y0 + y) * image_px + x0 + x) * 3)];
      d[0] = p[0], d[1] = p[c >= 3 ? 1 : 0], d[2] = p[c >= 3 ? 2 : 0];
    }
  return out;
}

std::vector<uint8_t> thumbnail(const Dataset& data, const ImageList& files, int64_t i) {
  if (!files.paths.empty()) {
    const Tensor t = resize_image(decode_image(files.paths[size_t(i)], 3), image_px, image_px, Resize::crop);
    return thumbnail_u8(t.u8(), image_px, image_px, 3);
  }
  const Shape s = data.images.shape();
  const int64_t h = s[1], w = s[2], c = s[3];
  return thumbnail_u8(data.images.u8() + i * h * w * c, h, w, c);
}

// `text` cut with an ellipsis to fit `width` pixels.
std::string fit(const Font& font, std::string text, double size, double width) {
  if (font.width(text, size) <= width) return text;
  while (!text.empty() && font.width(text + "\u2026", size) > width) {
    text.pop_back();
    while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.pop_back();
  }
  return text + "\u2026";
}

Raster tile_grid(const Dataset& data, const ImageList& files, const std::vector<int64_t>& indices,
                 const std::vector<std::vector<Caption>>& captions, const std::vector<bool>& framed, int64_t cols,
                 const Font& font) {
  const int lines = captions.empty() ? 0 : int(captions[0].size());
  const int th = tile_h(lines);
  const auto rows = int64_t((indices.size() + size_t(cols) - 1) / size_t(cols));
  Raster r(int(cols) * tile_w, int(std::max<int64_t>(rows, 1)) * th, {250, 250, 250});
  for (size_t n = 0; n < indices.size(); ++n) {
    const int x = int(int64_t(n) % cols) * tile_w, y = int(int64_t(n) / cols) * th;
    const int ix = x + (tile_w - image_px) / 2, iy = y + tile_pad;
    if (n < framed.size() && framed[n]) r.fill_rect(ix - 3, iy - 3, image_px + 6, image_px + 6, wrong);
    const std::vector<uint8_t> img = thumbnail(data, files, indices[n]);
    r.paste(img.data(), image_px, image_px, 3, ix, iy);
    for (int l = 0; l < lines; ++l) {
      const Caption& c = captions[n][size_t(l)];
      font.draw(r, x + tile_w / 2.0, iy + image_px + 4 + caption_line * (l + 1) - 3, fit(font, c.text, 11, tile_w - 6), 11,
                c.color, Anchor::middle);
    }
  }
  return r;
}

const std::string& name(const std::vector<std::string>& labels, int32_t c) {
  static const std::string unknown = "?";
  return c >= 0 && size_t(c) < labels.size() ? labels[size_t(c)] : unknown;
}

int64_t evaluated(const TestEvaluation& ev) { return int64_t(ev.result.outcomes.size()); }

}  // namespace

Raster samples_grid(const TestEvaluation& ev, const std::vector<std::string>& labels, int64_t grid, const Font& font) {
  const int64_t n = std::min(grid * grid, evaluated(ev));
  std::vector<int64_t> idx;
  std::vector<std::vector<Caption>> caps;
  std::vector<bool> framed;
  for (int64_t k = 0; k < n; ++k) {
    const int64_t i = k * evaluated(ev) / n;  // spread over the whole set
    const SampleOutcome& o = ev.result.outcomes[size_t(i)];
    idx.push_back(i);
    const bool ok = o.label == o.predicted;
    caps.push_back({{name(labels, o.label)}, {(ok ? "\u2713 " : "\u2717 ") + name(labels, o.predicted), ok ? right : wrong}});
    framed.push_back(!ok);
  }
  return tile_grid(ev.test, ev.files, idx, caps, framed, std::min(grid, std::max<int64_t>(n, 1)), font);
}

Raster worst_grid(const TestEvaluation& ev, const std::vector<std::string>& labels, int64_t n, const Font& font) {
  std::vector<int64_t> order(size_t(evaluated(ev)));
  std::iota(order.begin(), order.end(), 0);
  n = std::min<int64_t>(n, int64_t(order.size()));
  std::partial_sort(order.begin(), order.begin() + n, order.end(), [&](int64_t a, int64_t b) {
    return ev.result.outcomes[size_t(a)].p_label < ev.result.outcomes[size_t(b)].p_label;
  });
  order.resize(size_t(n));
  std::vector<std::vector<Caption>> caps;
  std::vector<bool> framed;
  for (int64_t i : order) {
    const SampleOutcome& o = ev.result.outcomes[size_t(i)];
    char p[32];
    std::snprintf(p, sizeof p, "p=%.2f (true %.2f)", double(o.p_predicted), double(o.p_label));
    caps.push_back({{"true: " + name(labels, o.label)}, {"pred: " + name(labels, o.predicted), o.label != o.predicted ? wrong : right}, {p}});
    framed.push_back(o.label != o.predicted);
  }
  return tile_grid(ev.test, ev.files, order, caps, framed, std::min<int64_t>(8, std::max<int64_t>(n, 1)), font);
}

}  // namespace dltrain::report

namespace dltrain {

void write_dataset_grid(const std::string& data, int64_t cols, int64_t rows, const std::string& png_path) {
  DLT_CHECK(cols >= 1 && rows >= 1 && cols * rows <= 4096, "a grid is 1x1 to 64x64 images",
            "e.g. --grid 8x8");
  const report::Font font;
  Dataset idx;
  ImageList files;
  std::vector<std::string> names;
  if (is_image_dataset(data)) {
    ImageSplits s = load_image_dataset(data, 0.0, 1);
    files = std::move(s.test.size() > 0 ? s.test : s.train);
    names = s.class_names;
  } else {
    DatasetSplits s = load_dataset(data);
    idx = std::move(s.test.size() > 0 ? s.test : s.train);
    names = idx.class_names;
  }
  const int64_t total = files.paths.empty() ? idx.size() : files.size();
  if (total == 0) throw Error(data + " has no images to show");
  const int64_t n = std::min(cols * rows, total);
  std::vector<int64_t> indices;
  std::vector<std::vector<report::Caption>> caps;
  for (int64_t k = 0; k < n; ++k) {
    indices.push_back(k);
    const int32_t label = files.paths.empty() ? idx.labels[size_t(k)] : files.labels[size_t(k)];
    caps.push_back({{report::name(names, label)}});
  }
  report::write_png(png_path, report::tile_grid(idx, files, indices, caps, {}, std::min(cols, n), font));
}

}  // namespace dltrain
