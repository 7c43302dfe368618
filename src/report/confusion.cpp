// The confusion matrix as a figure: rows are true classes, columns predicted ones, each cell
// coloured by its share of the row, with the count (and, when cells are large enough, the row
// percentage) written in it. 10 classes get roomy cells; 100 get small ones with small type.
#include <algorithm>
#include <cmath>

#include "report/charts.hpp"

namespace dltrain::report {

Figure confusion_figure(const std::vector<std::vector<int64_t>>& confusion, const std::vector<std::string>& labels) {
  const size_t k = confusion.size();
  DLT_CHECK(k > 0 && labels.size() >= k, "a confusion matrix needs a name for each of its classes");
  const double cell = k <= 12 ? 56 : k <= 30 ? 30 : std::max(12.0, 1100.0 / double(k));
  const bool roomy = cell >= 40;
  const double label_size = std::min(12.0, cell * 0.75);
  double label_w = 0;
  for (size_t i = 0; i < k; ++i) label_w = std::max(label_w, text_width(labels[i], label_size));
  label_w = std::min(label_w, 220.0);
  const double left = 28 + label_w + 10, top = 40, bottom_space = label_w + 46;
  Figure f;
  f.width = left + cell * double(k) + 20;
  f.height = top + cell * double(k) + bottom_space;
  f.title = "Confusion matrix: rows are true classes, columns predicted classes";
  const Color ink{50, 50, 50};
  f.items.push_back(Text{left + cell * double(k) / 2, 22, "Confusion matrix (row %: share of the true class)", 14, ink,
                         Anchor::middle, true});
  for (size_t i = 0; i < k; ++i) {
    int64_t row = 0;
    for (int64_t v : confusion[i]) row += v;
    const double y = top + cell * double(i);
    f.items.push_back(Text{left - 6, y + cell / 2 + label_size * 0.35, labels[i], label_size, ink, Anchor::end});
    for (size_t j = 0; j < k; ++j) {
      const int64_t n = confusion[i][j];
      const double share = row ? double(n) / double(row) : 0;
      // White to deep blue (diagonal) or deep red (mistakes) by the share of the row.
      const Color full = i == j ? Color{33, 102, 172} : Color{203, 67, 53};
      const auto mix = [&](uint8_t a, uint8_t b) { return uint8_t(std::lround(a + (b - a) * std::sqrt(share))); };
      const Color fill{mix(255, full.r), mix(255, full.g), mix(255, full.b)};
      const double x = left + cell * double(j);
      char pct[16];
      std::snprintf(pct, sizeof pct, "%.1f%%", share * 100);
      f.items.push_back(Rect{x, y, cell, cell, fill, true, {220, 220, 220},
                             "true " + labels[i] + ", predicted " + labels[j] + ": " + std::to_string(n) + " (" + pct + ")",
                             {{"class", "cell"}, {"data-true", std::to_string(i)}, {"data-pred", std::to_string(j)},
                              {"data-count", std::to_string(n)}}});
      if (n == 0 && !roomy) continue;
      const Color text = std::sqrt(share) > 0.55 ? Color{255, 255, 255} : ink;
      if (roomy) {
        f.items.push_back(Text{x + cell / 2, y + cell / 2 - 1, std::to_string(n), 13, text, Anchor::middle, i == j});
        f.items.push_back(Text{x + cell / 2, y + cell / 2 + 13, pct, 9.5, text, Anchor::middle});
      } else {
        const std::string s = std::to_string(n);
        const double size = std::min(cell * 0.5, cell * 0.95 / (0.6 * double(s.size())));
        f.items.push_back(Text{x + cell / 2, y + cell / 2 + size * 0.35, s, size, text, Anchor::middle});
      }
    }
  }
  const double grid_bottom = top + cell * double(k);
  for (size_t j = 0; j < k; ++j)
    f.items.push_back(Text{left + cell * double(j) + cell / 2 + label_size * 0.35, grid_bottom + 6, labels[j], label_size,
                           ink, Anchor::end, false, true});
  f.items.push_back(Text{14, top + cell * double(k) / 2, "true class", 12, ink, Anchor::middle, true, true});
  f.items.push_back(Text{left + cell * double(k) / 2, f.height - 12, "predicted class", 12, ink, Anchor::middle, true});
  return f;
}

}  // namespace dltrain::report
