// Reports of a tiny real run (Fashion-MNIST, 600 training images, 3 epochs, cosine schedule): the
// confusion matrix in confusion.svg equals `dltrain eval`'s cell for cell, the curve points equal
// history.csv, the PNGs decode at their size with content and text ink, report.html is
// self-contained and renders in headless Chromium without network, malformed run folders give
// errors naming the file, and the TensorBoard event files read back with tensorboard's reader.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pugixml.hpp>
#include <spawn.h>
#include <stb_image.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dltrain/report.hpp"
#include "helpers.hpp"
#include "report/charts.hpp"
#include "report/grids.hpp"
#include "report/html.hpp"

extern char** environ;

namespace dltrain {
namespace {
namespace fs = std::filesystem;
using test::TempDir;

using test::Result;
using test::run;

bool have_program(const std::string& name) {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"})
    if (fs::exists(std::string(dir) + "/" + name)) return true;
  return false;
}

// One tiny run shared by the tests (trained once, by the dltrain program, with its report).
class RunReport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (test::fashion_mnist_dir().empty()) return;
    dir_ = new TempDir;
    run_ = *dir_ / "run";
    const Result r = run({DLTRAIN_BINARY, "train", "--data", test::fashion_mnist_dir(), "--limit", "600", "--epochs", "3",
                          "--schedule", "cosine", "--threads", "2", "--seed", "5", "--tensorboard", "--tensorboard-every", "10", "--run-dir", run_});
    train_ok_ = r.code == 0;
    if (!train_ok_) std::fprintf(stderr, "training failed:\n%s\n%s\n", r.out.c_str(), r.err.c_str());
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    DLTRAIN_REQUIRE_FASHION_MNIST();
    ASSERT_TRUE(train_ok_) << "the shared training run failed (see above)";
  }
  static inline TempDir* dir_ = nullptr;
  static inline std::string run_;
  static inline bool train_ok_ = false;
};

// The matrix `dltrain eval` prints: rows "  i name...  c0 c1 ... c9  accuracy".
std::vector<std::vector<int64_t>> eval_confusion(const std::string& out, size_t k) {
  std::vector<std::vector<int64_t>> m;
  std::istringstream in(out.substr(out.find("Confusion matrix")));
  std::string line;
  std::getline(in, line);
  std::getline(in, line);  // column numbers
  while (m.size() < k && std::getline(in, line)) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string s; words >> s;) w.push_back(s);
    if (w.size() < k + 1) return {};
    std::vector<int64_t> row;
    for (size_t j = w.size() - 1 - k; j < w.size() - 1; ++j) row.push_back(std::stoll(w[j]));
    m.push_back(row);
  }
  return m;
}

TEST_F(RunReport, ConfusionMatrixEqualsEvalCellForCell) {
  const Result eval = run({DLTRAIN_BINARY, "eval", run_ + "/model.safetensors", "--threads", "2"});
  ASSERT_EQ(eval.code, 0) << eval.err;
  const auto expected = eval_confusion(eval.out, 10);
  ASSERT_EQ(expected.size(), 10u) << eval.out;
  pugi::xml_document svg;
  ASSERT_TRUE(svg.load_file((run_ + "/confusion.svg").c_str()));
  std::vector<std::vector<int64_t>> got(10, std::vector<int64_t>(10, -1));
  int cells = 0;
  for (const pugi::xpath_node& n : svg.select_nodes("//rect[@class='cell']")) {
    const int i = n.node().attribute("data-true").as_int(), j = n.node().attribute("data-pred").as_int();
    ASSERT_TRUE(i >= 0 && i < 10 && j >= 0 && j < 10);
    got[size_t(i)][size_t(j)] = n.node().attribute("data-count").as_llong();
    ++cells;
  }
  EXPECT_EQ(cells, 100);
  EXPECT_EQ(got, expected) << eval.out;
  // The numbers are drawn too: each diagonal count appears as text.
  std::string texts;
  for (const pugi::xpath_node& n : svg.select_nodes("//text")) texts += std::string(n.node().child_value()) + "|";
  for (size_t i = 0; i < 10; ++i) EXPECT_NE(texts.find("|" + std::to_string(expected[i][i]) + "|"), std::string::npos);
  EXPECT_NE(texts.find("Ankle boot"), std::string::npos);
}

// history.csv's columns by name, one row per epoch.
std::vector<std::map<std::string, std::string>> csv_rows(const std::string& path) {
  std::istringstream in(read_file(path));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  for (std::istringstream h(line); std::getline(h, line, ',');) header.push_back(line);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    std::map<std::string, std::string> row;
    std::istringstream f(line);
    for (const std::string& name : header) std::getline(f, row[name], ',');
    rows.push_back(row);
  }
  return rows;
}

TEST_F(RunReport, CurvePointsEqualHistoryCsv) {
  const auto rows = csv_rows(run_ + "/history.csv");
  ASSERT_EQ(rows.size(), 3u);
  pugi::xml_document svg;
  ASSERT_TRUE(svg.load_file((run_ + "/curves.svg").c_str()));
  for (const std::string series : {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}) {
    const auto points = svg.select_nodes(("//circle[@data-series='" + series + "']").c_str());
    ASSERT_EQ(points.size(), 3u) << series;
    std::vector<double> v, cy, cx;
    for (const pugi::xpath_node& p : points) {
      const int epoch = p.node().attribute("data-epoch").as_int();
      ASSERT_TRUE(epoch >= 1 && epoch <= 3);
      const double want = std::stod(rows[size_t(epoch - 1)].at(series));
      v.push_back(p.node().attribute("data-value").as_double());
      EXPECT_NEAR(v.back(), want, 1e-7 * std::max(1.0, std::abs(want))) << series << " epoch " << epoch;
      cx.push_back(p.node().attribute("cx").as_double());
      cy.push_back(p.node().attribute("cy").as_double());
    }
    // Plotted where they belong: epochs equally spaced left to right, heights an affine (falling)
    // function of the values.
    EXPECT_NEAR(cx[1] - cx[0], cx[2] - cx[1], 0.02) << series;
    EXPECT_GT(cx[1], cx[0]);
    if (std::abs(v[2] - v[0]) > 1e-9) {
      const double slope = (cy[2] - cy[0]) / (v[2] - v[0]);
      EXPECT_LT(slope, 0) << series;
      EXPECT_NEAR(cy[1], cy[0] + slope * (v[1] - v[0]), 0.05) << series;
    }
  }
  // The schedule's panel and the best epoch's mark.
  EXPECT_TRUE(svg.select_node("//polyline[@class='best']"));
  EXPECT_NE(read_file(run_ + "/curves.svg").find("Learning rate"), std::string::npos);
}

struct Png {
  int w = 0, h = 0;
  std::vector<uint8_t> rgb;
  // The variance of the grey levels in a region: 0 for a blank one.
  double variance(int x0, int y0, int x1, int y1) const {
    double s = 0, s2 = 0, n = 0;
    for (int y = std::max(y0, 0); y < std::min(y1, h); ++y)
      for (int x = std::max(x0, 0); x < std::min(x1, w); ++x) {
        const uint8_t* p = &rgb[(size_t(y) * size_t(w) + size_t(x)) * 3];
        const double g = (p[0] + p[1] + p[2]) / 3.0;
        s += g, s2 += g * g, n += 1;
      }
    return n > 0 ? s2 / n - (s / n) * (s / n) : 0;
  }
  // Pixels clearly darker or more coloured than the light background.
  int ink(int x0, int y0, int x1, int y1) const {
    int n = 0;
    for (int y = std::max(y0, 0); y < std::min(y1, h); ++y)
      for (int x = std::max(x0, 0); x < std::min(x1, w); ++x) {
        const uint8_t* p = &rgb[(size_t(y) * size_t(w) + size_t(x)) * 3];
        n += std::min({p[0], p[1], p[2]}) < 150;
      }
    return n;
  }
};

Png load_png(const std::string& path) {
  Png p;
  int c = 0;
  unsigned char* data = stbi_load(path.c_str(), &p.w, &p.h, &c, 3);
  if (!data) return p;
  p.rgb.assign(data, data + size_t(p.w) * size_t(p.h) * 3);
  stbi_image_free(data);
  return p;
}

// The size an SVG says it has (viewBox width, height).
std::pair<double, double> svg_size(const std::string& path) {
  pugi::xml_document svg;
  svg.load_file(path.c_str());
  std::istringstream vb(svg.child("svg").attribute("viewBox").value());
  double x, y, w = 0, h = 0;
  vb >> x >> y >> w >> h;
  return {w, h};
}

TEST_F(RunReport, PngsDecodeAtTheirSizeWithContentAndText) {
  for (const std::string name : {"curves", "confusion"}) {
    const Png png = load_png(run_ + "/" + name + ".png");
    const auto [w, h] = svg_size(run_ + "/" + name + ".svg");
    ASSERT_GT(w, 100) << name;
    EXPECT_EQ(png.w, int(std::ceil(w * 2))) << name;
    EXPECT_EQ(png.h, int(std::ceil(h * 2))) << name;
    EXPECT_GT(png.variance(0, 0, png.w, png.h), 100) << name << ".png is blank";
  }
  // The curves' panel titles are drawn as text: ink in the band above the plots.
  const Png curves = load_png(run_ + "/curves.png");
  EXPECT_GT(curves.ink(0, 0, curves.w, 50), 200) << "no title text in curves.png";

  // samples.png: an 8x8 grid of tiles with two caption lines; every caption box has ink, every
  // image area has content.
  const Png samples = load_png(run_ + "/samples.png");
  EXPECT_EQ(samples.w, 8 * report::tile_w);
  EXPECT_EQ(samples.h, 8 * report::tile_h(2));
  for (int t = 0; t < 64; ++t) {
    const int x = (t % 8) * report::tile_w, y = (t / 8) * report::tile_h(2);
    const int cap = y + report::tile_pad + report::image_px + 4;
    EXPECT_GT(samples.ink(x, cap, x + report::tile_w, cap + 2 * report::caption_line), 20) << "tile " << t << ": no caption";
    EXPECT_GT(samples.variance(x + 12, y + report::tile_pad, x + 108, y + report::tile_pad + report::image_px), 50)
        << "tile " << t << ": no image";
  }
  // worst.png: 16 tiles of three caption lines, all of them mistakes (framed in red).
  const Png worst = load_png(run_ + "/worst.png");
  EXPECT_EQ(worst.w, 8 * report::tile_w);
  EXPECT_EQ(worst.h, 2 * report::tile_h(3));
  const uint8_t* frame = &worst.rgb[(size_t(report::tile_pad - 2) * size_t(worst.w) + size_t(20)) * 3];
  EXPECT_GT(frame[0], 150);
  EXPECT_LT(frame[1], 80);
  EXPECT_GT(worst.ink(0, report::tile_pad + report::image_px + 4, report::tile_w, report::tile_h(3)), 40);
}

// What a page may not load from outside: any src/href/url() target that is not a data URI or a
// fragment. (A plain scan: std::regex recurses per character and overflows on a 300 KB page.)
std::vector<std::string> external_references(const std::string& html) {
  std::string lower = html;
  for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  std::vector<std::string> found;
  for (const std::string key : {"src=", "href=", "srcset=", "action=", "poster=", "url("}) {
    for (size_t at = lower.find(key); at != std::string::npos; at = lower.find(key, at + 1)) {
      size_t v = at + key.size();
      while (v < html.size() && (html[v] == '"' || html[v] == '\'' || html[v] == ' ')) ++v;
      const size_t end = html.find_first_of("\"' )>", v);
      const std::string target = html.substr(v, end == std::string::npos ? std::string::npos : end - v);
      if (!target.starts_with("data:") && !target.starts_with("#")) found.push_back(target);
    }
  }
  return found;
}

TEST_F(RunReport, HtmlIsSelfContained) {
  const std::string html = read_file(run_ + "/report.html");
  EXPECT_EQ(external_references(html), std::vector<std::string>{});
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("src=\"data:image/png;base64,"), std::string::npos);
  EXPECT_NE(html.find("@media"), std::string::npos);  // narrow screens get their own layout
  EXPECT_NE(html.find("name=\"viewport\""), std::string::npos);
  for (const char* part : {"Per-class metrics", "precision", "Ankle boot", "sgd:lr=0.01", "cosine", "Total params",
                           "--limit 600"})
    EXPECT_NE(html.find(part), std::string::npos) << part;
  // A check that can fail: an external image is found.
  EXPECT_EQ(external_references("<img src=\"https://example.com/a.png\">").size(), 1u);
}

// The URLs a Chromium NetLog shows requested, less the browser's own background services (update
// checks, time, accounts, dictionaries: Google hosts, which a page of ours never names).
std::vector<std::string> page_requests(const std::string& netlog) {
  std::vector<std::string> out;
  const std::string key = "\"url\":\"";
  for (size_t at = netlog.find(key); at != std::string::npos; at = netlog.find(key, at + 1)) {
    const size_t v = at + key.size();
    const std::string url = netlog.substr(v, netlog.find('"', v) - v);
    const size_t host_at = url.find("://");
    if (host_at == std::string::npos || url.starts_with("file:") || url.starts_with("data:")) continue;
    std::string host = url.substr(host_at + 3);
    host = host.substr(0, host.find_first_of("/:?"));
    bool browser = false;
    for (const std::string own : {"google.com", "googleapis.com", "gvt1.com", "gstatic.com"})
      browser = browser || host == own || host.ends_with("." + own);
    if (!browser && std::find(out.begin(), out.end(), url) == out.end()) out.push_back(url);
  }
  return out;
}

// Headless Chromium renders the page to a screenshot with the network cut off (a proxy that does
// not exist, every host name unresolvable) at laptop and phone widths: the screenshot has content
// in its top and lower parts, and the NetLog shows no request the page made.
TEST_F(RunReport, HtmlRendersInHeadlessChromiumOffline) {
  if (!have_program("chromium")) GTEST_SKIP() << "chromium is not installed (apt-get install chromium): page not rendered";
  TempDir out;
  for (const auto& [width, height] : std::vector<std::pair<int, int>>{{1280, 2000}, {390, 2400}}) {
    const std::string shot = out / ("shot" + std::to_string(width) + ".png"), netlog = out / "netlog.json";
    const Result r = run({"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                          "--user-data-dir=" + (out / "profile"), "--proxy-server=127.0.0.1:9",
                          "--host-resolver-rules=MAP * ~NOTFOUND", "--disable-background-networking",
                          "--disable-component-update", "--log-net-log=" + netlog,
                          "--window-size=" + std::to_string(width) + "," + std::to_string(height),
                          "--screenshot=" + shot, "file://" + run_ + "/report.html"});
    ASSERT_EQ(r.code, 0) << r.err;
    const Png png = load_png(shot);
    ASSERT_EQ(png.w, width) << r.err;
    EXPECT_GT(png.variance(0, 0, png.w, 120), 100) << "header not drawn";
    EXPECT_GT(png.variance(0, 400, png.w, png.h), 100) << "the page body is blank";
    EXPECT_GT(png.ink(0, 400, png.w, png.h), 5000) << "no figures or text below the header";
    const std::string log = read_file(netlog);
    EXPECT_NE(log.find("report.html"), std::string::npos) << "the NetLog did not record the page";
    EXPECT_EQ(page_requests(log), std::vector<std::string>{}) << "the page requested something from the network";
    if (width == 1280 && std::getenv("DLTRAIN_REPORT_SCREENSHOT"))  // for the README
      fs::copy_file(shot, std::getenv("DLTRAIN_REPORT_SCREENSHOT"), fs::copy_options::overwrite_existing);
  }
  // The NetLog check can fail: a request to another host is reported.
  EXPECT_EQ(page_requests(R"({"params":{"url":"https://cdn.example.net/font.woff"}})").size(), 1u);
  EXPECT_EQ(page_requests(R"({"params":{"url":"https://update.googleapis.com/x"}})").size(), 0u);
}

TEST_F(RunReport, MalformedRunFoldersNameTheFile) {
  TempDir dir;
  const std::string broken = dir / "broken";
  fs::copy(run_, broken);
  fs::remove(broken + "/history.csv");
  try {
    write_report(broken);
    ADD_FAILURE() << "a run without history.csv was reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(broken + "/history.csv"), std::string::npos) << e.what();
  }
  fs::copy_file(run_ + "/history.csv", broken + "/history.csv");
  const std::string model = read_file(run_ + "/model.safetensors");
  std::ofstream(broken + "/model.safetensors", std::ios::binary | std::ios::trunc) << model.substr(0, model.size() / 2);
  try {
    write_report(broken);
    ADD_FAILURE() << "a truncated model was reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(broken + "/model.safetensors"), std::string::npos) << e.what();
  }
  std::ofstream(broken + "/history.csv", std::ios::trunc) << "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds\n1,0.5,oops,,,0.1,1\n";
  try {
    read_run(broken);
    ADD_FAILURE() << "a malformed history was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("history.csv: line 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_run(dir / "nothing"), Error);
  // Through the program: exit code 1 and the file named.
  const Result r = run({DLTRAIN_BINARY, "report", broken});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(broken + "/history.csv"), std::string::npos) << r.err;
}

// `dltrain report A B`: overlaid curves and the settings that differ; `dltrain report A` again
// rebuilds the report; `dltrain show`: a captioned grid of dataset images.
TEST_F(RunReport, CompareRunsRebuildAndShow) {
  TempDir dir;
  const std::string other = dir / "other";
  fs::copy(run_, other);
  std::string config = read_file(other + "/config.json");
  config.replace(config.find("sgd:lr=0.01"), 11, "adam:lr=0.002");
  std::ofstream(other + "/config.json", std::ios::trunc) << config;
  const Result cmp = run({DLTRAIN_BINARY, "report", run_, other, "-o", dir / "cmp"});
  ASSERT_EQ(cmp.code, 0) << cmp.err;
  const std::string html = read_file(dir / "cmp/comparison.html");
  EXPECT_NE(html.find("<td>optimizer</td><td><code>sgd:lr=0.01,momentum=0.9</code></td><td><code>adam:lr=0.002"),
            std::string::npos);
  EXPECT_EQ(html.find("<td>batch</td>"), std::string::npos) << "a setting the runs share is listed";
  EXPECT_EQ(external_references(html), std::vector<std::string>{});
  pugi::xml_document svg;
  ASSERT_TRUE(svg.load_file((dir / "cmp/curves.svg").c_str()));
  EXPECT_EQ(svg.select_nodes("//circle[@data-run='run' and @data-series='val_accuracy']").size(), 3u);
  EXPECT_EQ(svg.select_nodes("//circle[@data-run='other' and @data-series='val_accuracy']").size(), 3u);
  EXPECT_EQ(load_png(dir / "cmp/curves.png").w, int(std::ceil(svg_size(dir / "cmp/curves.svg").first * 2)));

  // -o naming an existing file: a clean error naming it (was an escaped std::filesystem exception).
  std::ofstream(dir / "a_file") << "x";
  const Result onto_file = run({DLTRAIN_BINARY, "report", run_, other, "-o", dir / "a_file"});
  EXPECT_EQ(onto_file.code, 1) << onto_file.err;
  EXPECT_NE(onto_file.err.find(dir / "a_file"), std::string::npos) << onto_file.err;
  EXPECT_EQ(onto_file.err.find("filesystem error"), std::string::npos) << onto_file.err;
  EXPECT_EQ(onto_file.err.find("terminate"), std::string::npos) << onto_file.err;

  fs::remove(other + "/report.html");
  const Result one = run({DLTRAIN_BINARY, "report", other, "--threads", "2"});
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_NE(one.out.find(other + "/report.html"), std::string::npos) << one.out;
  EXPECT_NE(read_file(other + "/report.html").find("adam:lr=0.002"), std::string::npos);

  const Result show = run({DLTRAIN_BINARY, "show", test::fashion_mnist_dir(), "--grid", "4x3", "-o", dir / "grid.png"});
  ASSERT_EQ(show.code, 0) << show.err;
  const Png grid = load_png(dir / "grid.png");
  EXPECT_EQ(grid.w, 4 * report::tile_w);
  EXPECT_EQ(grid.h, 3 * report::tile_h(1));
  for (int t = 0; t < 12; ++t) {
    const int x = (t % 4) * report::tile_w, cap = (t / 4) * report::tile_h(1) + report::tile_pad + report::image_px + 4;
    EXPECT_GT(grid.ink(x, cap, x + report::tile_w, cap + report::caption_line), 15) << "tile " << t << ": no class name";
  }
  EXPECT_EQ(run({DLTRAIN_BINARY, "show", test::fashion_mnist_dir(), "--grid", "0x3", "-o", dir / "g.png"}).code, 1);
}

using Scalars = std::map<std::string, std::map<int64_t, double>>;

// The scalars tensorboard's own reader (EventAccumulator) finds in a run folder: tag -> step ->
// value; also "#session_start" -> step -> how many SessionLog START events, and "#files" -> 0 ->
// the number of event files. Exit code 3: Python's tensorboard package is absent.
Result read_tensorboard(const std::string& dir, Scalars& out) {
  Result r = run({"python3", std::string(DLTRAIN_SOURCE_DIR) + "/tests/read_tensorboard.py", dir});
  if (r.code != 0) return r;
  const nlohmann::json tags = nlohmann::json::parse(r.out).at("tags");
  for (auto it = tags.begin(); it != tags.end(); ++it)
    for (const nlohmann::json& p : it.value()) out[it.key()][p.at(0).get<int64_t>()] = p.at(1).get<double>();
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  out["#files"][0] = doc.at("files").get<double>();
  for (const nlohmann::json& step : doc.at("session_starts")) out["#session_start"][step.get<int64_t>()] += 1;
  return r;
}
#define READ_TENSORBOARD(dir, scalars)                                                                     \
  do {                                                                                                     \
    const Result r_ = read_tensorboard(dir, scalars);                                                      \
    if (r_.code == 3 || r_.code == -1) {                                                                   \
      GTEST_SKIP() << "the tensorboard Python package is not installed (pip install tensorboard): " << r_.err; \
    }                                                                                                      \
    ASSERT_EQ(r_.code, 0) << r_.err;                                                                       \
  } while (0)

// history.csv's values as TensorBoard stores them (float32).
void expect_scalars_equal_history(const Scalars& tb, const std::string& run_dir, bool validated) {
  const auto rows = csv_rows(run_dir + "/history.csv");
  std::vector<std::string> tags = {"loss", "accuracy", "lr"};
  if (validated) tags.insert(tags.end(), {"val_loss", "val_accuracy"});
  for (const std::string& tag : tags) {
    ASSERT_TRUE(tb.count(tag)) << "no " << tag << " in the event file";
    const auto& points = tb.at(tag);
    ASSERT_EQ(points.size(), rows.size()) << tag;
    for (size_t e = 0; e < rows.size(); ++e) {
      ASSERT_TRUE(points.count(int64_t(e + 1))) << tag << " has no epoch " << e + 1;
      EXPECT_FLOAT_EQ(float(points.at(int64_t(e + 1))), std::stof(rows[e].at(tag))) << tag << " epoch " << e + 1;
    }
  }
}

TEST_F(RunReport, TensorBoardScalarsEqualHistory) {
  Scalars tb;
  READ_TENSORBOARD(run_, tb);
  expect_scalars_equal_history(tb, run_, true);
  // 600 images in batches of 32: 19 steps per epoch, 57 in all; logged every 10.
  std::vector<int64_t> steps;
  for (const auto& [step, v] : tb["step/loss"]) steps.push_back(step);
  EXPECT_EQ(steps, (std::vector<int64_t>{10, 20, 30, 40, 50}));
  EXPECT_EQ(tb["step/lr"].size(), 5u);
  EXPECT_GT(tb["step/loss"][10], tb["step/loss"][50]);  // it learns
}

// A run killed while writing leaves a truncated last record: the reader stops before it, and
// --resume cuts it off and continues the same file.
TEST(TensorBoard, TruncatedLastRecordThenResume) {
  DLTRAIN_REQUIRE_FASHION_MNIST();
  TempDir dir;
  const std::string run_dir = dir / "run";
  const Result first = run({DLTRAIN_BINARY, "train", "--data", test::fashion_mnist_dir(), "--limit", "320", "--epochs", "2",
                            "--no-validation", "--threads", "2", "--tensorboard", "--tensorboard-every", "1", "--no-report",
                            "--run-dir", run_dir});
  ASSERT_EQ(first.code, 0) << first.err;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(run_dir))
    if (e.path().filename().string().starts_with("events.out.tfevents.")) files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);
  const auto size = fs::file_size(files[0]);
  fs::resize_file(files[0], size - 5);  // the last record (epoch 2's "seconds") loses its tail
  Scalars cut;
  READ_TENSORBOARD(run_dir, cut);
  EXPECT_EQ(cut["loss"].size(), 2u);
  EXPECT_EQ(cut["seconds"].size(), 1u);
  EXPECT_EQ(cut["#files"][0], 1);
  EXPECT_EQ(cut.count("#session_start"), 0u) << "a fresh run logged a restart";
  ASSERT_FALSE(cut["step/loss"].empty());
  const int64_t steps_done = cut["step/loss"].rbegin()->first;  // every step of epochs 1-2 (--tensorboard-every 1)
  EXPECT_EQ(int64_t(cut["step/loss"].size()), steps_done);

  const Result resumed = run({DLTRAIN_BINARY, "train", "--resume", run_dir, "--epochs", "3", "--no-report", "--quiet"});
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  size_t n_files = 0;
  for (const auto& e : fs::directory_iterator(run_dir)) n_files += e.path().filename().string().starts_with("events.out");
  EXPECT_EQ(n_files, 1u) << "resume started a second event file";
  Scalars tb;
  READ_TENSORBOARD(run_dir, tb);
  expect_scalars_equal_history(tb, run_dir, false);
  EXPECT_EQ(tb["seconds"].size(), 2u);  // epochs 1 and 3: the damaged record is gone, the file goes on
  EXPECT_TRUE(tb["seconds"].count(3));
  // The resume logged SessionLog START at epoch 3's first step (TensorBoard drops superseded step/*
  // points from there on), and the earlier steps survive it: each step once, none lost.
  EXPECT_EQ(tb["#session_start"], (std::map<int64_t, double>{{steps_done + 1, 1}}));
  EXPECT_EQ(int64_t(tb["step/loss"].size()), steps_done / 2 * 3);
  EXPECT_EQ(tb["step/loss"].begin()->first, 1);
  EXPECT_EQ(tb["step/loss"].rbegin()->first, steps_done / 2 * 3);
}

// --tensorboard on a resume is saved in config.json (the next resume keeps logging);
// --tensorboard-every without --tensorboard is an error, not silently ignored.
TEST(TensorBoard, FlagOnResumeIsSaved) {
  DLTRAIN_REQUIRE_FASHION_MNIST();
  TempDir dir;
  const std::string run_dir = dir / "run";
  const std::vector<std::string> train = {DLTRAIN_BINARY, "train", "--data", test::fashion_mnist_dir(), "--limit", "320",
                                          "--epochs", "1", "--no-validation", "--threads", "2", "--no-report", "--quiet"};
  std::vector<std::string> bad = train;
  bad.insert(bad.end(), {"--tensorboard-every", "5", "--run-dir", dir / "bad"});
  const Result b = run(bad);
  EXPECT_NE(b.code, 0);
  EXPECT_NE(b.err.find("--tensorboard"), std::string::npos) << b.err;
  std::vector<std::string> first = train;
  first.insert(first.end(), {"--run-dir", run_dir});
  ASSERT_EQ(run(first).code, 0);
  const Result r2 = run({DLTRAIN_BINARY, "train", "--resume", run_dir, "--epochs", "2", "--tensorboard", "--tensorboard-every",
                         "7", "--no-report", "--quiet"});
  ASSERT_EQ(r2.code, 0) << r2.err;
  const nlohmann::json config = nlohmann::json::parse(read_file(run_dir + "/config.json"));
  EXPECT_EQ(config.value("tensorboard", int64_t(0)), 7) << config.dump();
  const Result r3 = run({DLTRAIN_BINARY, "train", "--resume", run_dir, "--epochs", "3", "--no-report", "--quiet"});
  ASSERT_EQ(r3.code, 0) << r3.err;
  Scalars tb;
  READ_TENSORBOARD(run_dir, tb);
  EXPECT_EQ(tb["loss"].size(), 2u);  // epochs 2 and 3 (epoch 1 ran without --tensorboard)
  EXPECT_TRUE(tb["loss"].count(3)) << "the second resume stopped logging";
}

TEST(TensorBoard, Crc32cKnownValues) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);  // the CRC-32C check value (RFC 3720)
  const std::string zeros(32, '\0');
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);  // RFC 3720 B.4: 32 bytes of zeros
  // Masked values as the tensorboard Python package computes them
  // (tensorboard.compat.tensorflow_stub.pywrap_tensorflow.masked_crc32c), not restating ours.
  EXPECT_EQ(masked_crc32c("a", 1), 0x28E46E78u);
  EXPECT_EQ(masked_crc32c("123456789", 9), 0xC78AB0E5u);
  // The whole record tensorboard's RecordWriter writes for b"brain.Event:2": length, its masked
  // CRC, the data, the data's masked CRC; ours byte for byte.
  const std::string data = "brain.Event:2";
  std::string ours(8, '\0');
  ours[0] = char(data.size());
  const uint32_t len_crc = masked_crc32c(ours.data(), 8), data_crc = masked_crc32c(data.data(), data.size());
  ours.append(reinterpret_cast<const char*>(&len_crc), 4);
  ours += data;
  ours.append(reinterpret_cast<const char*>(&data_crc), 4);
  std::string hex;
  for (unsigned char ch : ours) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", ch);
    hex += b;
  }
  EXPECT_EQ(hex, "0d000000000000003c37b834627261696e2e4576656e743a32ee01067c");
}

// A class name with markup in it comes back escaped from the confusion SVG (which parses, with the
// name as text) and from report.html.
TEST(ReportFigures, ClassNamesAreEscaped) {
  const std::string evil = "<script>&\"x";
  const std::vector<std::vector<int64_t>> m = {{3, 1}, {0, 2}};
  const std::vector<std::string> labels = {evil, "b"};
  const std::string svg_text = report::figure_svg(report::confusion_figure(m, labels));
  EXPECT_EQ(svg_text.find(evil), std::string::npos);
  pugi::xml_document svg;
  ASSERT_TRUE(svg.load_string(svg_text.c_str()));
  bool found = false;
  for (const pugi::xpath_node& t : svg.select_nodes("//text")) found = found || std::string(t.node().child_value()) == evil;
  EXPECT_TRUE(found) << "the class name is not a text of the SVG";

  report::ReportParts p;
  p.run.name = "run";
  p.run.dir = "/tmp/run";
  EpochStats e;
  e.epoch = 1, e.loss = 0.5, e.accuracy = 0.6, e.lr = 0.1, e.seconds = 1;
  p.run.history = {e};
  p.info.labels = labels;
  p.eval.result.confusion = m;
  p.eval.result.samples = 6;
  p.confusion_svg = svg_text;
  const std::string html = report::report_html(p);
  EXPECT_EQ(html.find(evil), std::string::npos);
  EXPECT_NE(html.find("<td>&lt;script&gt;&amp;"), std::string::npos);
}

// Without a font the training still succeeds (its report is a warning); `dltrain report` fails
// naming the font and how to get one.
TEST(ReportCli, MissingFontAfterTrainingIsAWarningAndReportFails) {
  DLTRAIN_REQUIRE_FASHION_MNIST();
  TempDir dir;
  ::setenv("DLTRAIN_FONT", "/no/such/font.ttf", 1);
  const Result t = run({DLTRAIN_BINARY, "train", "--data", test::fashion_mnist_dir(), "--limit", "320", "--epochs", "1",
                        "--threads", "2", "--quiet", "--run-dir", dir / "run"});
  const Result r = run({DLTRAIN_BINARY, "report", dir / "run"});
  ::unsetenv("DLTRAIN_FONT");
  EXPECT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.err.find("warning: no report written: DLTRAIN_FONT names /no/such/font.ttf"), std::string::npos) << t.err;
  EXPECT_TRUE(fs::exists(dir / "run/model.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "run/report.html"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("/no/such/font.ttf"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hint:"), std::string::npos) << r.err;
}

TEST(ReportFigures, ConfusionStaysLegibleFor100Classes) {
  std::vector<std::vector<int64_t>> m(100, std::vector<int64_t>(100, 0));
  std::vector<std::string> labels;
  for (int i = 0; i < 100; ++i) {
    m[size_t(i)][size_t(i)] = 90 + i;
    m[size_t(i)][size_t((i + 1) % 100)] = 10;
    labels.push_back("class_" + std::to_string(i));
  }
  const report::Figure f = report::confusion_figure(m, labels);
  pugi::xml_document svg;
  ASSERT_TRUE(svg.load_string(report::figure_svg(f).c_str()));
  const auto cells = svg.select_nodes("//rect[@class='cell']");
  EXPECT_EQ(cells.size(), 10000u);
  EXPECT_GE(cells.first().node().attribute("width").as_double(), 11.0);
  double smallest = 1e9;
  int numbers = 0;
  for (const pugi::xpath_node& t : svg.select_nodes("//text")) {
    smallest = std::min(smallest, t.node().attribute("font-size").as_double());
    numbers += std::string(t.node().child_value()) == "189";
  }
  EXPECT_GE(smallest, 5.0);  // class names and counts in readable sizes when zoomed
  EXPECT_EQ(numbers, 1);     // the count of class 99's diagonal cell is written
  EXPECT_LE(f.width, 1500);  // fits a laptop screen at half scale
  EXPECT_LE(report::raster_bytes(f, 1.5), report::max_raster_bytes);  // still drawn as confusion.png
}

// Past a few hundred classes the confusion raster would take hundreds of MB (1000 classes at scale
// 1.5: about 1 GB), so write_report keeps it SVG only.
TEST(ReportFigures, ConfusionOfManyClassesIsTooLargeForPixels) {
  const size_t k = 400;
  std::vector<std::vector<int64_t>> m(k, std::vector<int64_t>(k, 0));
  std::vector<std::string> labels;
  for (size_t i = 0; i < k; ++i) m[i][i] = 1, labels.push_back("c" + std::to_string(i));
  const report::Figure f = report::confusion_figure(m, labels);
  EXPECT_GT(report::raster_bytes(f, f.width > 1000 ? 1.5 : 2), report::max_raster_bytes);
  EXPECT_LT(report::raster_bytes(f, 1.5), 2e9);
}

// history.csv values std::stod takes but a chart cannot: inf, nan, hex, accuracies outside [0, 1],
// negative losses are errors naming the file and line; the chart code itself survives extreme and
// non-finite values (they reach it only through a RunRecord built in code) without UB or a hang.
TEST(ReportFigures, NonFiniteAndExtremeHistoryValues) {
  TempDir dir;
  const std::string run_dir = dir / "run";
  fs::create_directories(run_dir);
  std::ofstream(run_dir + "/config.json") << TrainConfig{}.to_json();
  std::ofstream(run_dir + "/model.safetensors") << "";
  const std::string header = "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds\n";
  for (const std::string row : {"1,inf,0.5,,,0.1,1", "1,nan,0.5,,,0.1,1", "1,0.5,0x1p-1,,,0.1,1", "1,0.5,1e17,,,0.1,1",
                                "1,-1,0.5,,,0.1,1", "1,0.5,0.5,0.4,-0.1,0.1,1", "1,0.5,0.5,,,1e999,1", "1,0.5,0.5,,,0.1,-inf"}) {
    std::ofstream(run_dir + "/history.csv", std::ios::trunc) << header << row << "\n";
    try {
      read_run(run_dir);
      ADD_FAILURE() << row << " was read";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(run_dir + "/history.csv: line 2"), std::string::npos) << row << ": " << e.what();
    }
  }
  std::ofstream(run_dir + "/history.csv", std::ios::trunc) << header << "1,0.5\n";
  try {
    read_run(run_dir);
    ADD_FAILURE() << "a short row was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has 2 fields, not 7"), std::string::npos) << e.what();
  }
  std::ofstream(run_dir + "/history.csv", std::ios::trunc) << header << "1,0.5,1,,,0.1,1\n2,1e300,0,,,0.1,1\n";
  RunRecord r = read_run(run_dir);
  ASSERT_EQ(r.history.size(), 2u);
  for (const auto& [loss, acc] : std::vector<std::pair<double, double>>{
           {INFINITY, 0.5}, {NAN, NAN}, {1e300, 1e17}, {-1e308, 1e17}, {0.5, 1e17 + 1}, {1e-320, 5e-324}}) {
    r.history[1].loss = loss, r.history[1].accuracy = acc;
    const report::Figure f = report::curves_figure({r});
    EXPECT_FALSE(report::figure_svg(f).empty());
  }
}

// File-system failures (a name too long, a path through a file) leave the report code as
// dltrain::Error naming the path, never as std::filesystem::filesystem_error.
TEST(ReportFigures, FileSystemFailuresAreErrors) {
  TempDir dir;
  const std::string long_name = dir / std::string(300, 'a');
  EXPECT_THROW(read_run(long_name), Error);
  EXPECT_THROW(TensorBoardWriter{long_name}, Error);
  std::ofstream(dir / "file") << "x";
  EXPECT_THROW(read_run(dir / "file/run"), Error);
  EXPECT_THROW(TensorBoardWriter{dir / "file/run"}, Error);
  try {
    read_run(long_name);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(long_name), std::string::npos) << e.what();
  }
}

TEST(ReportFigures, ClassMetrics) {
  const auto m = class_metrics({{8, 2}, {4, 6}});
  EXPECT_DOUBLE_EQ(m[0].precision, 8.0 / 12);
  EXPECT_DOUBLE_EQ(m[0].recall, 0.8);
  EXPECT_DOUBLE_EQ(m[1].f1, 2 * 0.75 * 0.6 / 1.35);
  EXPECT_EQ(m[1].support, 10);
}

TEST(ReportFigures, MissingFontIsAClearError) {
  ::setenv("DLTRAIN_FONT", "/no/such/font.ttf", 1);
  try {
    report_font_path();
    ADD_FAILURE() << "a missing font was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/no/such/font.ttf"), std::string::npos);
  }
  ::unsetenv("DLTRAIN_FONT");
  EXPECT_NE(report_font_path().find(".ttf"), std::string::npos);
}

}  // namespace
}  // namespace dltrain
