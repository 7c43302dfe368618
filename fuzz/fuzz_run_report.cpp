// Fuzz target: what a report and TensorBoard logging read from a run folder, as three parts of one
// input (fuzz_util.hpp): config.json and history.csv through read_run, and an existing
// events.out.tfevents.* file (and the curves figure of what read_run accepted) through TensorBoardWriter, which cuts off a damaged tail and appends.
// Checked beyond "no crash": the file it leaves is whole records only (a second open cuts nothing).
#include <cstdlib>
#include <filesystem>

#include "dltrain/report.hpp"
#include "report/charts.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto part = fuzz::parts(fuzz::bytes(data, size), 3);
  const std::string run = fuzz::fresh_dir("run");
  fuzz::write("run/config.json", part[0]);
  fuzz::write("run/history.csv", part[1]);
  fuzz::write("run/model.safetensors", "");  // read_run only checks that it is there
  try {
    const dltrain::RunRecord r = dltrain::read_run(run);
    // The chart code sees whatever read_run accepted (ticks of huge or tiny values).
    const dltrain::report::Figure f = dltrain::report::curves_figure({r});
    if (dltrain::report::figure_svg(f).empty()) std::abort();
  } catch (const dltrain::Error&) {
  }
  const std::string events = fuzz::write("run/events.out.tfevents.1.fuzz", part[2]);
  try {
    {
      dltrain::TensorBoardWriter tb(run);
      if (tb.path() != events) std::abort();  // appends to the file that is there
      tb.scalar("loss", 1, 0.5);
      tb.flush();
    }
    if (dltrain::TensorBoardWriter(run).dropped_bytes() != 0) std::abort();  // it left a damaged file
  } catch (const dltrain::Error&) {
  }
  return 0;
}
