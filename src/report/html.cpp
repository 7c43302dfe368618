// The report pages' HTML and CSS. Everything the page shows is in the file: SVG inline, PNGs as
// data URIs, CSS in a <style>; no script, no font or image from the network.
#include <algorithm>
#include <cmath>
#include <ctime>
#include <numeric>
#include <sstream>

#include "report/figure.hpp"
#include "report/html.hpp"

#ifndef DLTRAIN_VERSION
#define DLTRAIN_VERSION "unknown"
#endif

namespace dltrain::report {
namespace {

const char* css = R"css(
:root{--ink:#222;--muted:#666;--line:#e3e3e3;--bg:#f6f7f9;--card:#fff;--accent:#2166ac}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 "DejaVu Sans",-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
header{background:#1f2d3d;color:#fff;padding:28px 24px 22px}
header h1{margin:0 0 4px;font-size:1.5rem;word-break:break-all}
header p{margin:0;color:#c9d3de}
main{max-width:1200px;margin:0 auto;padding:20px 16px 40px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin:0 0 18px}
h2{margin:0 0 12px;font-size:1.15rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;background:none;border:0;padding:0}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 16px}
.card b{display:block;font-size:1.6rem;color:var(--accent);font-variant-numeric:tabular-nums}
.card span{color:var(--muted);font-size:.85rem}
figure{margin:0}
.panels{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:8px}
svg{display:block;height:auto}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
img{max-width:100%;height:auto;image-rendering:pixelated;display:block;border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:.9rem;font-variant-numeric:tabular-nums}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:right}
th:first-child,td:first-child{text-align:left}
thead th{position:sticky;top:0;background:var(--card)}
.kv td{text-align:left;vertical-align:top}.kv td:first-child{color:var(--muted);width:30%;white-space:nowrap}
code,pre{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.82rem}
pre{background:var(--bg);padding:10px;border-radius:6px;overflow-x:auto}
.low{color:#b2182b}
.note{color:var(--muted);font-size:.85rem}
footer{color:var(--muted);font-size:.8rem;text-align:center;padding:0 16px 28px}
@media (max-width:640px){body{font-size:14px}header{padding:18px 14px}main{padding:12px 8px}section{padding:12px;border-radius:8px}
.card b{font-size:1.3rem}.hide-narrow{display:none}th,td{padding:4px 5px}}
)css";

std::string fixed(double v, int digits) {
  char s[32];
  std::snprintf(s, sizeof s, "%.*f", digits, v);
  return s;
}

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  char s[32];
  std::strftime(s, sizeof s, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return s;
}

void head(std::ostringstream& o, const std::string& title) {
  o << "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" << xml_escape(title)
    << "</title>\n<style>" << css << "</style>\n</head>\n<body>\n";
}

void foot(std::ostringstream& o) {
  o << "<footer>Made by dltrain " << DLTRAIN_VERSION << " on " << now_utc()
    << ". This page is one self-contained file: it works offline and can be mailed.</footer>\n</body>\n</html>\n";
}

void card(std::ostringstream& o, const std::string& value, const std::string& label) {
  o << "<div class=\"card\"><b>" << xml_escape(value) << "</b><span>" << xml_escape(label) << "</span></div>\n";
}

// Chart panels side by side on a wide screen, stacked on a narrow one.
void panels(std::ostringstream& o, const std::vector<std::string>& svgs) {
  o << "<div class=\"panels\">";
  for (const std::string& svg : svgs) o << "<figure>" << svg << "</figure>";
  o << "</div>\n";
}

double mean_seconds(const std::vector<EpochStats>& h) {
  double s = 0;
  for (const EpochStats& e : h) s += e.seconds;
  return h.empty() ? 0 : s / double(h.size());
}

}  // namespace

std::vector<std::pair<std::string, std::string>> run_settings(const RunRecord& r) {
  const TrainConfig& c = r.config;
  std::vector<std::pair<std::string, std::string>> s = {
      {"model", c.model},
      {"data", c.data + (c.train_limit > 0 ? " (first " + std::to_string(c.train_limit) + " training images)" : "")},
      {"epochs", std::to_string(r.history.back().epoch) + " of " + std::to_string(c.epochs)},
      {"batch", std::to_string(c.batch)},
      {"optimizer", c.optim},
      {"schedule", c.schedule},
      {"seed", std::to_string(c.seed)},
      {"device", "CPU, " + (c.threads > 0 ? std::to_string(c.threads) + " threads" : std::string("all cores"))},
      {"seconds per epoch", fixed(mean_seconds(r.history), 2)},
  };
  if (!c.backbone.empty()) {
    s.push_back({"backbone", c.backbone});
    s.push_back({"head", c.head});
    s.push_back({"unfrozen blocks", std::to_string(c.unfreeze)});
    s.push_back({"augmented views", std::to_string(c.augment)});
  }
  if (!r.command.empty()) s.push_back({"command line", r.command});
  s.push_back({"report made by", std::string("dltrain ") + DLTRAIN_VERSION});
  return s;
}

std::string report_html(const ReportParts& p) {
  const RunRecord& r = p.run;
  const EvalResult& ev = p.eval.result;
  std::ostringstream o;
  head(o, "dltrain report: " + r.name);
  o << "<header><h1>" << xml_escape(r.name) << "</h1><p>" << xml_escape(p.info.title) << " on "
    << xml_escape(p.eval.data) << " &middot; " << r.history.size() << " epochs &middot; report of " << now_utc()
    << "</p></header>\n<main>\n";

  const auto best = std::max_element(r.history.begin(), r.history.end(), [](const EpochStats& a, const EpochStats& b) {
    return (a.validated ? a.val_accuracy : -a.loss) < (b.validated ? b.val_accuracy : -b.loss);
  });
  o << "<section class=\"cards\">\n";
  card(o, fixed(ev.accuracy * 100, 2) + "%", "test accuracy (" + std::to_string(ev.samples) + " images)");
  card(o, fixed(ev.loss, 4), "test loss");
  card(o, std::to_string(best->epoch), "best epoch" + std::string(best->validated ? " (validation accuracy)" : ""));
  card(o, fixed(r.history.back().accuracy * 100, 2) + "%", "training accuracy, last epoch");
  card(o, fixed(mean_seconds(r.history), 1) + " s", "per epoch");
  o << "</section>\n";

  o << "<section><h2>Training curves</h2>";
  panels(o, p.curve_panels_svg);
  o << "<p class=\"note\">Solid: training (mean over the epoch's steps). Dashed: validation on the test split "
       "after the epoch.</p></section>\n";

  o << "<section><h2>Confusion matrix</h2><figure class=\"scroll\"><div";
  if (p.confusion_min_width > 0) o << " style=\"min-width:" << p.confusion_min_width << "px\"";
  o << ">" << p.confusion_svg << "</div></figure><p class=\"note\">" << xml_escape(p.eval.data) << ", "
    << (p.eval.whole ? "all images" : "test split") << ": " << ev.samples
    << " images. Hover a cell for its class names."
    << (p.confusion_png_skipped ? " With " + std::to_string(ev.confusion.size()) +
                                      " classes the matrix is too large for a PNG: confusion.svg only."
                                : std::string())
    << "</p></section>\n";

  const std::vector<ClassMetrics> m = class_metrics(ev.confusion);
  o << "<section><h2>Per-class metrics</h2><div class=\"scroll\"><table>\n<thead><tr><th>class</th><th>precision</th>"
       "<th>recall</th><th>F1</th><th>support</th></tr></thead>\n<tbody>\n";
  double mp = 0, mr = 0, mf = 0;
  for (size_t i = 0; i < m.size(); ++i) {
    const std::string cls = m[i].f1 < 0.5 ? " class=\"low\"" : "";
    o << "<tr><td>" << xml_escape(i < p.info.labels.size() ? p.info.labels[i] : std::to_string(i)) << "</td><td>"
      << fixed(m[i].precision, 3) << "</td><td>" << fixed(m[i].recall, 3) << "</td><td" << cls << ">" << fixed(m[i].f1, 3)
      << "</td><td>" << m[i].support << "</td></tr>\n";
    mp += m[i].precision, mr += m[i].recall, mf += m[i].f1;
  }
  const auto k = double(std::max<size_t>(m.size(), 1));
  o << "</tbody>\n<tfoot><tr><th>mean over classes</th><th>" << fixed(mp / k, 3) << "</th><th>" << fixed(mr / k, 3)
    << "</th><th>" << fixed(mf / k, 3) << "</th><th>" << ev.samples << "</th></tr></tfoot></table></div></section>\n";

  if (!p.samples_png.empty())
    o << "<section><h2>Test samples</h2><img src=\"" << png_data_uri(p.samples_png)
      << "\" alt=\"test images with their true and predicted classes\"><p class=\"note\">Each image: the true class, "
         "then the prediction. Wrong predictions are framed in red.</p></section>\n";
  if (!p.worst_png.empty())
    o << "<section><h2>Highest-loss test images</h2><img src=\"" << png_data_uri(p.worst_png)
      << "\" alt=\"the test images the model gets most wrong\"><p class=\"note\">The images whose true class got the "
         "lowest probability: true class, prediction and its probability.</p></section>\n";

  o << "<section><h2>Settings</h2><table class=\"kv\"><tbody>\n";
  for (const auto& [k2, v] : run_settings(r))
    o << "<tr><td>" << xml_escape(k2) << "</td><td><code>" << xml_escape(v) << "</code></td></tr>\n";
  o << "<tr><td>run folder</td><td><code>" << xml_escape(r.dir) << "</code></td></tr>\n</tbody></table>\n"
    << "<h2 style=\"margin-top:14px\">Model</h2><pre>" << xml_escape(p.model_summary) << "</pre></section>\n";
  o << "</main>\n";
  foot(o);
  return o.str();
}

std::string comparison_html(const std::vector<RunRecord>& runs, const std::vector<std::string>& curve_panels_svg) {
  std::ostringstream o;
  head(o, "dltrain: " + std::to_string(runs.size()) + " runs compared");
  o << "<header><h1>" << runs.size() << " runs compared</h1><p>";
  for (size_t i = 0; i < runs.size(); ++i) o << (i ? " &middot; " : "") << xml_escape(runs[i].name);
  o << "</p></header>\n<main>\n";
  o << "<section><h2>Results</h2><div class=\"scroll\"><table><thead><tr><th>run</th><th>epochs</th>"
       "<th>best validation accuracy</th><th>last validation accuracy</th><th>last training loss</th>"
       "<th class=\"hide-narrow\">s/epoch</th></tr></thead><tbody>\n";
  for (const RunRecord& r : runs) {
    double best = -1;
    for (const EpochStats& e : r.history)
      if (e.validated) best = std::max(best, e.val_accuracy);
    const EpochStats& last = r.history.back();
    o << "<tr><td>" << xml_escape(r.name) << "</td><td>" << last.epoch << "</td><td>"
      << (best >= 0 ? fixed(best, 4) : "-") << "</td><td>" << (last.validated ? fixed(last.val_accuracy, 4) : "-")
      << "</td><td>" << fixed(last.loss, 4) << "</td><td class=\"hide-narrow\">" << fixed(mean_seconds(r.history), 2)
      << "</td></tr>\n";
  }
  o << "</tbody></table></div></section>\n";
  o << "<section><h2>Training curves</h2>";
  panels(o, curve_panels_svg);
  o << "</section>\n";
  // Only the settings that differ between the runs.
  std::vector<std::vector<std::pair<std::string, std::string>>> s;
  for (const RunRecord& r : runs) s.push_back(run_settings(r));
  o << "<section><h2>Settings that differ</h2><div class=\"scroll\"><table class=\"kv\"><thead><tr><th>setting</th>";
  for (const RunRecord& r : runs) o << "<th>" << xml_escape(r.name) << "</th>";
  o << "</tr></thead><tbody>\n";
  int differing = 0;
  for (const auto& [key, unused] : s[0]) {
    if (key == "seconds per epoch" || key == "command line" || key == "report made by") continue;
    std::vector<std::string> values;
    for (const auto& rs : s) {
      const auto it = std::find_if(rs.begin(), rs.end(), [&](const auto& kv) { return kv.first == key; });
      values.push_back(it == rs.end() ? "-" : it->second);
    }
    if (std::all_of(values.begin(), values.end(), [&](const std::string& v) { return v == values[0]; })) continue;
    ++differing;
    o << "<tr><td>" << xml_escape(key) << "</td>";
    for (const std::string& v : values) o << "<td><code>" << xml_escape(v) << "</code></td>";
    o << "</tr>\n";
  }
  if (differing == 0) o << "<tr><td colspan=\"" << runs.size() + 1 << "\">The runs have the same settings.</td></tr>\n";
  o << "</tbody></table></div></section>\n</main>\n";
  foot(o);
  return o.str();
}

}  // namespace dltrain::report
