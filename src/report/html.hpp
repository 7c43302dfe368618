// report.html and comparison.html: one self-contained file each (inline SVG, PNGs as data URIs,
// inline CSS, no script, nothing from the network), responsive from phone to laptop width.
// Internal to the report module: report.cpp gathers the parts, these functions only lay them out.
#pragma once

#include <string>
#include <vector>

#include "dltrain/report.hpp"

namespace dltrain::report {

struct ReportParts {
  RunRecord run;
  ModelInfo info;
  std::string model_summary;
  TestEvaluation eval;              // the model on its test split
  std::vector<std::string> curve_panels_svg;  // loss, accuracy[, learning rate]
  std::string confusion_svg;
  std::string samples_png, worst_png;  // PNG bytes ("" when not made)
  int64_t confusion_min_width = 0;  // large matrices scroll sideways on narrow screens
  bool confusion_png_skipped = false;  // too many classes for confusion.png (max_raster_bytes)
};
std::string report_html(const ReportParts& p);

std::string comparison_html(const std::vector<RunRecord>& runs, const std::vector<std::string>& curve_panels_svg);

// The report's settings as (name, value) rows, in a fixed order; shared by both pages.
std::vector<std::pair<std::string, std::string>> run_settings(const RunRecord& r);

}  // namespace dltrain::report
