// Every error about a file names it (issue 16): each reader of a user's file against a table of
// hostile paths (a folder where a file belongs, a path through a file, a name too long, missing,
// empty, garbage), which must fail as dltrain::Error naming the path, never as another exception;
// the checked file-system helpers; and the CLI's message and exit code for the same inputs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <new>
#include <nlohmann/json.hpp>

#include "dltrain/data.hpp"
#include "dltrain/fetch.hpp"
#include "dltrain/io.hpp"
#include "dltrain/models.hpp"
#include "dltrain/path.hpp"
#include "dltrain/system.hpp"
#include "dltrain/train.hpp"
#include "helpers.hpp"

namespace dltrain {
namespace {
using test::TempDir;

void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Passes when f() throws dltrain::Error whose message contains `path`; says what happened instead.
::testing::AssertionResult fails_naming(const std::function<void()>& f, const std::string& path) {
  try {
    f();
  } catch (const Error& e) {
    if (std::getenv("DLTRAIN_TEST_SHOW")) std::printf("%s\n", e.what());
    if (std::string(e.what()).find(path) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "the error does not name " << path << ": " << e.what();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "not a dltrain::Error: " << e.what();
  }
  return ::testing::AssertionFailure() << "accepted";
}

// The hostile paths, made in `dir`: name -> path.
std::vector<std::pair<std::string, std::string>> hostile_paths(const TempDir& dir) {
  std::filesystem::create_directories(dir / "a_folder/sub");
  write(dir / "a_file", "not a folder");
  write(dir / "empty", "");
  static constexpr char garbage[] = "\x00\x00\x08\x03\xff\xff\xff\xff{\"\x89PNG garbage";
  write(dir / "garbage", std::string(garbage, sizeof garbage - 1));
  return {{"folder_for_file", dir / "a_folder"},
          {"through_a_file", dir / "a_file/x"},
          {"name_too_long", dir / std::string(300, 'n')},
          {"missing", dir / "missing"},
          {"empty_file", dir / "empty"},
          {"garbage_file", dir / "garbage"}};
}

struct Reader {
  std::string name;
  std::function<void(const std::string&)> read;
};

std::vector<Reader> readers(const TempDir& scratch) {
  return {
      {"read_idx", [](const std::string& p) { read_idx(p); }},
      {"read_safetensors", [](const std::string& p) { read_safetensors(p); }},
      {"load_model", [](const std::string& p) { load_model(p); }},
      {"import_tflite", [](const std::string& p) { import_tflite(p); }},
      {"decode_image", [](const std::string& p) { decode_image(p, 1); }},
      {"load_image", [](const std::string& p) { load_image(p, 5, 6, 1); }},
      {"train_config", [](const std::string& p) { TrainConfig::read(p); }},
      {"extract_archive", [&](const std::string& p) { extract_archive(p + ".tar", scratch / "out"); }},
      {"load_image_dataset", [](const std::string& p) { load_image_dataset(p, 0.2, 1); }},
      {"load_idx_folder", [](const std::string& p) { load_idx_folder(p); }},
      {"load_dataset", [](const std::string& p) { load_dataset(p); }},
      {"fetch_local", [&](const std::string& p) {
         FetchOptions o;
         o.cache = scratch / "cache";
         fetch(p, o);
       }},
  };
}

TEST(ErrorNaming, EveryReaderNamesEveryHostilePath) {
  TempDir dir, scratch;
  const auto paths = hostile_paths(dir);
  // The archive reader decides the format by the name: give it a .tar beside each hostile path.
  for (const auto& [kind, path] : paths)
    if (kind == "empty_file" || kind == "garbage_file") std::filesystem::copy_file(path, path + ".tar");
  std::filesystem::create_directories(dir / "a_folder.tar");
  int checked = 0;
  for (const Reader& r : readers(scratch))
    for (const auto& [kind, path] : paths) {
      // A local fetch of a file copies any bytes: only the paths that are not files are hostile.
      if (r.name == "fetch_local" && (kind == "empty_file" || kind == "garbage_file")) continue;
      if (r.name == "extract_archive" && kind == "empty_file") continue;  // an empty tar (libarchive)
      SCOPED_TRACE(r.name + " on " + kind);
      const std::string named = r.name == "extract_archive" ? path + ".tar" : path;
      EXPECT_TRUE(fails_naming([&] { r.read(path); }, named));
      ++checked;
    }
  EXPECT_EQ(checked, 12 * 6 - 3);
}

// A CSV names images through hostile paths: the CSV is named.
TEST(ErrorNaming, ImageListsNameTheListAndTheImage) {
  TempDir dir;
  write(dir / "list.csv", "a_file/x.png,cat\n" + std::string(300, 'n') + ".png,dog\n");
  write(dir / "a_file", "");
  EXPECT_TRUE(fails_naming([&] { load_image_dataset(dir / "list.csv", 0.2, 1); }, dir / "list.csv:1: image"));
  write(dir / "_annotations.json", "{\"annotations\": {\"x.png\": [{\"label\": 3}]}}");
  EXPECT_TRUE(fails_naming([&] { load_image_dataset(dir.path(), 0.2, 1); }, dir / "_annotations.json"));
}

// A run folder: a damaged config.json names itself and the field; history lines name the file.
TEST(ErrorNaming, RunFolderFilesNameThemselves) {
  TempDir dir;
  write(dir / "config.json", "{\"model\": 3}");
  EXPECT_TRUE(fails_naming([&] { TrainConfig::read(dir / "config.json"); }, dir / "config.json"));
  EXPECT_TRUE(fails_naming([&] { TrainConfig::read(dir / "config.json"); }, "'model' is 3, not a string"));
  write(dir / "history.jsonl", "{\"epoch\": 1.5}\n");
  EXPECT_TRUE(fails_naming([&] { read_history(dir.path()); }, dir / "history.jsonl"));
  EXPECT_TRUE(fails_naming([&] { Trainer::resume(dir / "history.jsonl/x"); }, dir / "history.jsonl/x"));
}

TEST(CheckedFileSystem, KindsAndFailuresAreErrorsNamingThePath) {
  TempDir dir;
  write(dir / "f", "x");
  EXPECT_EQ(path_kind(dir / "f"), PathKind::file);
  EXPECT_EQ(path_kind(dir.path()), PathKind::directory);
  EXPECT_EQ(path_kind(dir / "none"), PathKind::none);
  EXPECT_EQ(path_kind(dir / "f/x"), PathKind::none);  // ENOTDIR: nothing is there
  const std::string too_long = dir / std::string(300, 'n');
  EXPECT_TRUE(fails_naming([&] { path_kind(too_long); }, too_long));
  EXPECT_TRUE(fails_naming([&] { require_file(dir.path()); }, dir.path()));
  EXPECT_TRUE(fails_naming([&] { require_folder(dir / "f"); }, dir / "f"));
  EXPECT_TRUE(fails_naming([&] { file_bytes(dir / "none"); }, dir / "none"));
  EXPECT_TRUE(fails_naming([&] { make_folders(dir / "f/sub"); }, dir / "f/sub"));
  EXPECT_TRUE(fails_naming([&] { folder_entries(dir / "f"); }, dir / "f"));
  try {
    require_file(dir / "f/x");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("a part of the path is a file"), std::string::npos) << e.what();
  }
  try {
    require_file(dir.path());
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is a folder, not a file"), std::string::npos) << e.what();
  }
}

TEST(CheckedFileSystem, RethrowNamingTurnsEveryExceptionIntoANamedError) {
  const std::string f = "/data/x.json";
  EXPECT_TRUE(fails_naming([&] { naming(f, [] { return nlohmann::json::parse("{"); }); }, f));
  EXPECT_TRUE(fails_naming([&] { naming(f, [] { return std::filesystem::file_size("/nonexistent/q"); }); }, f));
  EXPECT_TRUE(fails_naming([&] { naming(f, []() -> int { throw std::bad_alloc(); }); }, f));
  EXPECT_TRUE(fails_naming([&] { naming(f, []() -> int { throw std::out_of_range("vector"); }); }, f));
  try {  // an Error that already names the file keeps its message and hint
    naming(f, []() -> int { throw Error("/data/x.json: bad field 'a'", "fix it"); });
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "/data/x.json: bad field 'a'");
    EXPECT_EQ(e.hint(), "fix it");
  }
  try {
    naming(f, []() -> int { throw Error("bad field 'a'", "fix it"); });
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "/data/x.json: bad field 'a'");
    EXPECT_EQ(e.hint(), "fix it");
  }
}

// The program: each hostile input ends with exit code 1 and one "dltrain: error:" line naming it,
// never a std::filesystem message or an abort.
TEST(ErrorNaming, CliNamesTheFileAndExitsWithOne) {
  TempDir dir;
  const auto paths = hostile_paths(dir);
  ::setenv("DLTRAIN_CACHE", (dir / "cache").c_str(), 1);  // `fetch` must not touch the user's cache
  auto model = build_model("flatten dense:2,softmax", Shape{4, 4, 1}, 2);
  model->init_params(1);
  save_model(dir / "model.safetensors", *model, ModelInfo{"t", "d", {"a", "b"}, {}});
  std::filesystem::create_directories(dir / "run");
  write(dir / "run/checkpoint.safetensors", "x");
  write(dir / "run/config.json", "{\"model\": \"cnn\"");
  struct Case {
    std::vector<std::string> args;
    std::string named;
    int code = 1;  // 2: refused by the argument parser's own check (CLI11's ExistingFile), usage
  };
  std::vector<Case> cases = {
      {{"train", "--resume", dir / "run"}, dir / "run/config.json"},
      {{"train", "--resume", dir / "a_file"}, dir / "a_file", 2},
      {{"summary", "--model", "dense:x"}, "--model"},
      {{"fetch", dir / std::string(300, 'n')}, dir / std::string(300, 'n')},
      {{"fetch", dir / "a_folder"}, dir / "a_folder"},  // holds only an empty folder
  };
  for (const auto& [kind, path] : paths) {
    const bool file = kind == "empty_file" || kind == "garbage_file";
    cases.push_back({{"predict", dir / "model.safetensors", path}, path, file ? 1 : 2});
    if (kind != "folder_for_file") cases.push_back({{"train", "--data", path, "--epochs", "1"}, path});
    if (file) cases.push_back({{"eval", path}, path});
  }
  for (const Case& c : cases) {
    std::vector<std::string> argv = {DLTRAIN_BINARY};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    std::string output;
    const int rc = run_program(argv, output);
    SCOPED_TRACE(c.args[0] + " " + c.args[1] + " " + c.args.back());
    EXPECT_EQ(rc, c.code) << output;
    if (c.code == 1) {
      EXPECT_NE(output.find("dltrain: error: "), std::string::npos) << output;
    }
    EXPECT_NE(output.find(c.named), std::string::npos) << output;
    EXPECT_EQ(output.find("filesystem error"), std::string::npos) << output;
    if (std::getenv("DLTRAIN_TEST_SHOW")) std::printf("%s", output.c_str());
  }
}

}  // namespace
}  // namespace dltrain
