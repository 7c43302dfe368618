// write_report and write_comparison: read the run folder(s), evaluate the model on its test split
// (the same call `dltrain eval` makes), build the figures and write the files and the page.
#include <algorithm>
#include <filesystem>

#include "dltrain/path.hpp"
#include "dltrain/report.hpp"
#include "report/charts.hpp"
#include "report/grids.hpp"
#include "report/html.hpp"

namespace fs = std::filesystem;

namespace dltrain {
namespace {

void write_figure(const std::string& base, const report::Figure& f, const report::Font& font, double scale) {
  write_file_atomic(base + ".svg", report::figure_svg(f), false);
  report::write_png(base + ".png", report::rasterize(f, font, scale));
}

}  // namespace

std::string write_report(const std::string& run_dir, const ReportOptions& options) {
  report::ReportParts p;
  p.run = read_run(run_dir);
  const report::Font font;  // before any work: a missing font is reported at once
  LoadedModel m = load_model(p.run.model_path);
  p.info = m.info;
  p.model_summary = summary(*m.model);
  if (options.test) {
    if (options.test->images.dtype() != DType::u8)
      throw Error("a report's test images must be uint8 pixels", "pass the images as they were before scaling");
    p.eval.data = "the test arrays given";
    p.eval.test = options.test->view();
    p.eval.result = evaluate(*m.model, p.eval.test, m.info.preprocessing, options.batch);
  } else if (m.info.dataset == array_data_name) {
    throw Error(run_dir + " trained on NumPy arrays, so its test images are not on disk",
                "pass them: dltrain.report(run_dir, data=(x_test, y_test))");
  } else {
    p.eval = evaluate_test_split(m, "", options.batch);
  }
  const std::string& dir = p.run.dir;

  const report::Figure curves = report::curves_figure({p.run});
  write_figure(dir + "/curves", curves, font, 2);
  for (const report::Figure& panel : report::curves_panels({p.run})) p.curve_panels_svg.push_back(report::figure_svg(panel));
  std::vector<std::string> labels = m.info.labels;
  for (size_t i = labels.size(); i < p.eval.result.confusion.size(); ++i) labels.push_back(std::to_string(i));
  const report::Figure confusion = report::confusion_figure(p.eval.result.confusion, labels);
  const double confusion_scale = confusion.width > 1000 ? 1.5 : 2;
  if (report::raster_bytes(confusion, confusion_scale) <= report::max_raster_bytes) {
    write_figure(dir + "/confusion", confusion, font, confusion_scale);
  } else {  // too many classes for pixels: the SVG and the table only (and no stale PNG of an earlier report)
    write_file_atomic(dir + "/confusion.svg", report::figure_svg(confusion), false);
    if (path_exists(dir + "/confusion.png")) naming(dir + "/confusion.png", [&] { fs::remove(dir + "/confusion.png"); });
    p.confusion_png_skipped = true;
  }
  p.confusion_svg = report::figure_svg(confusion);
  // On a phone the matrix scrolls sideways rather than shrinking past legibility.
  p.confusion_min_width = int64_t(labels.size() > 12 ? confusion.width * 0.7 : std::min(confusion.width, 540.0));

  if (options.sample_grid > 0) {
    p.samples_png = report::png_bytes(report::samples_grid(p.eval, labels, options.sample_grid, font));
    write_file_atomic(dir + "/samples.png", p.samples_png, false);
  }
  if (options.worst > 0) {
    p.worst_png = report::png_bytes(report::worst_grid(p.eval, labels, options.worst, font));
    write_file_atomic(dir + "/worst.png", p.worst_png, false);
  }
  const std::string page = dir + "/report.html";
  write_file_atomic(page, report::report_html(p), false);
  return page;
}

std::string write_comparison(const std::vector<std::string>& run_dirs, const std::string& out_dir) {
  DLT_CHECK(!run_dirs.empty(), "no run folders to compare");
  std::vector<RunRecord> runs;
  for (const std::string& d : run_dirs) runs.push_back(read_run(d));
  const report::Font font;
  make_folders(out_dir);
  const report::Figure curves = report::curves_figure(runs);
  write_figure(out_dir + "/curves", curves, font, 2);
  const std::string page = out_dir + "/comparison.html";
  std::vector<std::string> panels;
  for (const report::Figure& panel : report::curves_panels(runs)) panels.push_back(report::figure_svg(panel));
  write_file_atomic(page, report::comparison_html(runs, panels), false);
  return page;
}

}  // namespace dltrain
