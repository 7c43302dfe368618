// Training curves as a figure: loss and accuracy per epoch (and the learning rate when scheduled),
// axes with ticks and labels, a legend and the best epoch marked. One run or several overlaid.
#include <algorithm>
#include <cmath>
#include <limits>

#include "report/charts.hpp"

namespace dltrain::report {

Color series_color(size_t i) {
  static const Color palette[] = {{31, 119, 180}, {214, 39, 40},  {44, 160, 44},  {255, 127, 14},
                                  {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {23, 190, 207}};
  return palette[i % (sizeof palette / sizeof palette[0])];
}

namespace {

constexpr Color axis_color{90, 90, 90}, grid_color{232, 232, 232}, text_color{50, 50, 50};

struct Series {
  std::string run, key, label;  // key: loss, val_loss, ...
  std::vector<std::pair<int64_t, double>> points;  // (epoch, value)
  Color color;
  bool dashed = false;
};

// About `n` round tick values covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int n) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / n, mag = std::pow(10, std::floor(std::log10(raw))), f = raw / mag;
  const double step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  const double first = std::ceil(lo / step - 1e-9) * step;
  // Extreme or non-finite bounds: a step that is not finite, or too small to move `first` (1e17 + 0.02
  // == 1e17), would give no ticks or never end; the two bounds are the ticks then.
  if (!std::isfinite(step) || !std::isfinite(first) || !(step > 0) || first + step == first) return {lo, hi};
  std::vector<double> t;
  for (double v = first; v <= hi + step * 1e-9 && t.size() < 4 * size_t(std::max(n, 1)) + 4; v += step)
    t.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
  if (t.empty()) return {lo, hi};
  return t;
}

std::string tick_label(double v) {
  if (v != 0 && (std::abs(v) < 1e-3 || std::abs(v) >= 1e5)) {
    char s[32];
    std::snprintf(s, sizeof s, "%.0e", v);
    return s;
  }
  return number(v, 4);
}

// One panel at (x0, y0) of size w x h.
void panel(Figure& f, double x0, double y0, double w, double h, const std::string& title, const std::string& y_label,
           const std::vector<Series>& series, int64_t epochs, int64_t best_epoch, bool zero_based) {
  const double left = x0 + 62, right = x0 + w - 14, top = y0 + 34, bottom = y0 + h - 64;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const Series& s : series)
    for (const auto& [e, v] : s.points)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  // Keep hi - lo and the padding finite for values near the double range (1e308 losses).
  constexpr double far = std::numeric_limits<double>::max() / 4;
  lo = std::clamp(lo, -far, far), hi = std::clamp(hi, -far, far);
  if (zero_based) lo = std::min(lo, 0.0);
  const double pad = (hi - lo) * 0.06 + (hi == lo ? std::max(std::abs(hi) * 0.1, 1e-3) : 0);
  if (!zero_based || lo < 0) lo -= pad;
  hi += pad;
  std::vector<double> yt = nice_ticks(lo, hi, 5);
  lo = std::min(lo, yt.front()), hi = std::max(hi, yt.back());
  const double x_lo = 1, x_hi = double(std::max<int64_t>(epochs, 2));
  auto px = [&](double e) { return left + (e - x_lo) / (x_hi - x_lo) * (right - left); };
  auto py = [&](double v) { return bottom - (v - lo) / (hi - lo) * (bottom - top); };

  f.items.push_back(Text{x0 + w / 2, y0 + 18, title, 14, text_color, Anchor::middle, true});
  for (double v : yt) {
    f.items.push_back(Rect{left, py(v) - 0.5, right - left, 1, grid_color});
    f.items.push_back(Text{left - 6, py(v) + 4, tick_label(v), 11, text_color, Anchor::end});
  }
  std::vector<double> xt = nice_ticks(x_lo, x_hi, int(std::min<int64_t>(epochs, 8)));
  for (double e : xt) {
    if (e < x_lo || e > x_hi || std::abs(e - std::round(e)) > 1e-9) continue;
    f.items.push_back(Rect{px(e) - 0.5, bottom, 1, 5, axis_color});
    f.items.push_back(Text{px(e), bottom + 18, number(e), 11, text_color, Anchor::middle});
  }
  f.items.push_back(Rect{left, bottom - 0.5, right - left, 1.2, axis_color});
  f.items.push_back(Rect{left - 0.6, top, 1.2, bottom - top, axis_color});
  f.items.push_back(Text{(left + right) / 2, bottom + 36, "epoch", 12, text_color, Anchor::middle});
  f.items.push_back(Text{x0 + 16, (top + bottom) / 2, y_label, 12, text_color, Anchor::middle, false, true});
  if (best_epoch > 0) {
    f.items.push_back(Polyline{{{px(double(best_epoch)), top}, {px(double(best_epoch)), bottom}}, {150, 150, 150}, 1, true,
                               {{"class", "best"}, {"data-epoch", std::to_string(best_epoch)}}});
    f.items.push_back(Text{px(double(best_epoch)) + (double(best_epoch) > (x_lo + x_hi) / 2 ? -4 : 4), top + 12,
                           "best: epoch " + std::to_string(best_epoch), 10, {110, 110, 110},
                           double(best_epoch) > (x_lo + x_hi) / 2 ? Anchor::end : Anchor::start});
  }
  for (const Series& s : series) {
    Polyline line{{}, s.color, 2, s.dashed, {{"data-run", s.run}, {"data-series", s.key}}};
    for (const auto& [e, v] : s.points)
      if (std::isfinite(v)) line.points.push_back({px(double(e)), py(v)});
    f.items.push_back(std::move(line));
    for (const auto& [e, v] : s.points)
      if (std::isfinite(v))
        f.items.push_back(Circle{px(double(e)), py(v), 3, s.color,
                               {{"data-run", s.run}, {"data-series", s.key}, {"data-epoch", std::to_string(e)},
                                {"data-value", number(v, 10)}}});
  }
  // Legend under the axis title, wrapping within the panel.
  double lx = left, ly = bottom + 56;
  for (const Series& s : series) {
    const double wl = 28 + text_width(s.label, 11) + 14;
    if (lx + wl > right && lx > left) lx = left, ly += 16;
    f.items.push_back(Polyline{{{lx, ly - 4}, {lx + 22, ly - 4}}, s.color, 2, s.dashed});
    f.items.push_back(Text{lx + 27, ly, s.label, 11, text_color});
    lx += wl;
  }
}


// Each panel drawn into `out(index)` at x offset `x0(index)`: one figure or one per panel.
template <typename Target>
void draw_curves(const std::vector<RunRecord>& runs, Target&& target) {
  const bool several = runs.size() > 1;
  int64_t epochs = 1;
  bool scheduled = false;
  for (const RunRecord& r : runs) {
    epochs = std::max(epochs, r.history.back().epoch);
    scheduled = scheduled || r.config.schedule != "constant";
  }
  auto make = [&](const std::string& key, bool val) {
    std::vector<Series> out;
    for (size_t i = 0; i < runs.size(); ++i) {
      const RunRecord& r = runs[i];
      Series s{r.name, key, "", {}, several ? series_color(i) : series_color(val ? 1 : 0), val};
      s.label = several ? r.name + (val ? " (validation)" : " (training)") : (val ? "validation" : "training");
      for (const EpochStats& e : r.history) {
        if (val && !e.validated) continue;
        const double v = key == "loss" ? e.loss : key == "accuracy" ? e.accuracy : key == "val_loss" ? e.val_loss
                         : key == "val_accuracy" ? e.val_accuracy : e.lr;
        s.points.push_back({e.epoch, v});
      }
      if (!s.points.empty()) out.push_back(std::move(s));
    }
    return out;
  };
  std::vector<Series> loss = make("loss", false), acc = make("accuracy", false);
  for (Series& s : make("val_loss", true)) loss.push_back(std::move(s));
  for (Series& s : make("val_accuracy", true)) acc.push_back(std::move(s));
  // The best epoch of a single run: highest validation accuracy, else lowest training loss.
  int64_t best = 0;
  if (!several) {
    double best_v = -std::numeric_limits<double>::infinity();
    for (const EpochStats& e : runs[0].history) {
      const double v = e.validated ? e.val_accuracy : -e.loss;
      if (v > best_v) best_v = v, best = e.epoch;
    }
  }
  const double pw = 440, ph = several ? 330 + 16 * double(runs.size()) : 330;
  const int n_panels = scheduled ? 3 : 2;
  auto [f0, x0] = target(0, n_panels, pw, ph);
  panel(f0, x0, 0, pw, ph, "Loss", "cross-entropy loss", loss, epochs, best, true);
  auto [f1, x1] = target(1, n_panels, pw, ph);
  panel(f1, x1, 0, pw, ph, "Accuracy", "accuracy", acc, epochs, best, false);
  if (scheduled) {
    std::vector<Series> lr = make("lr", false);
    for (size_t i = 0; i < lr.size(); ++i) lr[i].label = several ? lr[i].run : "learning rate (last step of the epoch)";
    auto [f2, x2] = target(2, n_panels, pw, ph);
    panel(f2, x2, 0, pw, ph, "Learning rate", "learning rate", lr, epochs, best, true);
  }
}

std::string curves_title(const std::vector<RunRecord>& runs) {
  return runs.size() > 1 ? "Training curves of " + std::to_string(runs.size()) + " runs"
                         : "Training curves of " + runs[0].name;
}

}  // namespace

Figure curves_figure(const std::vector<RunRecord>& runs) {
  Figure f;
  f.title = curves_title(runs);
  draw_curves(runs, [&](int i, int n, double pw, double ph) -> std::pair<Figure&, double> {
    f.width = pw * n, f.height = ph;
    return {f, pw * i};
  });
  return f;
}

std::vector<Figure> curves_panels(const std::vector<RunRecord>& runs) {
  std::vector<Figure> panels(3);
  int used = 0;
  draw_curves(runs, [&](int i, int, double pw, double ph) -> std::pair<Figure&, double> {
    Figure& f = panels[size_t(i)];
    f.width = pw, f.height = ph, f.title = curves_title(runs);
    used = i + 1;
    return {f, 0.0};
  });
  panels.resize(size_t(used));
  return panels;
}

}  // namespace dltrain::report
