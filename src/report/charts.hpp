// The report's pictures as figures (figure.hpp): training curves of one or several runs, the
// confusion matrix, and image grids. Internal to the report module.
#pragma once

#include <string>
#include <vector>

#include "dltrain/report.hpp"
#include "report/figure.hpp"

namespace dltrain::report {

// Two panels (loss, accuracy; a third for the learning rate when a run has a schedule): training
// solid, validation dashed; one colour per run when several are given; the best epoch (highest
// validation accuracy, else lowest training loss) marked. Each point is a <circle> with
// data-run, data-series, data-epoch and data-value.
Figure curves_figure(const std::vector<RunRecord>& runs);
// The same panels as separate figures (a page lays them out side by side or stacked).
std::vector<Figure> curves_panels(const std::vector<RunRecord>& runs);

// Counts and row percentages, class names on both axes; each cell a <rect class="cell"> with
// data-true, data-pred and data-count. Sized so that 10 and 100 classes stay legible.
Figure confusion_figure(const std::vector<std::vector<int64_t>>& confusion, const std::vector<std::string>& labels);

// The palette runs and series are drawn in.
Color series_color(size_t i);

}  // namespace dltrain::report
