// Labelled image collections: a folder with one sub-folder per class (optionally split into
// train/ and test|val|validation/), a CSV of path,label[,split], or a Cloud Annotations export
// (_annotations.json). Only paths are read here; pixels are decoded when features are computed.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "dltrain/csv.hpp"
#include "dltrain/data.hpp"
#include "dltrain/io.hpp"
#include "dltrain/path.hpp"

namespace dltrain {
namespace fs = std::filesystem;
namespace {

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

std::vector<std::string> sorted_images(const fs::path& dir) {
  std::vector<std::string> out;
  for (const std::string& e : folder_entries(dir.string()))
    if (is_image_file(e) && is_file(e)) out.push_back(e);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> class_folders(const fs::path& dir) {
  std::vector<std::string> out;
  for (const std::string& e : folder_entries(dir.string())) {
    const std::string name = fs::path(e).filename().string();
    if (!name.empty() && name[0] != '.' && is_folder(e)) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// (path, class name, split) rows -> splits with class ids in sorted-name order.
struct Row {
  std::string path, label, split;  // split: "", "train" or "test"
  std::string line;                // where the row was read ("list.csv:7"), for errors; "" = the dataset
};

ImageSplits from_rows(std::vector<Row> rows, const std::string& name, const std::string& where) {
  if (rows.empty()) throw Error(where + ": no labelled images found", "see `dltrain train --help` for the layouts");
  std::set<std::string> names;
  for (const Row& r : rows) names.insert(r.label);
  if (names.size() < 2) throw Error(where + ": all images have the label '" + *names.begin() + "'",
                                    "a classifier needs at least 2 classes");
  ImageSplits s;
  s.name = name;
  s.class_names.assign(names.begin(), names.end());
  for (const Row& r : rows) {
    if (!is_file(r.path))
      throw Error((r.line.empty() ? where : r.line) + ": image " + r.path + " does not exist or is not a file");
    const auto id = int32_t(std::lower_bound(s.class_names.begin(), s.class_names.end(), r.label) - s.class_names.begin());
    ImageList& to = r.split == "test" ? s.test : s.train;
    to.paths.push_back(r.path);
    to.labels.push_back(id);
  }
  return s;
}

std::string split_name(const std::string& s, const std::string& where) {
  if (s.empty() || s == "train" || s == "training") return s.empty() ? "" : "train";
  if (s == "test" || s == "val" || s == "valid" || s == "validation") return "test";
  throw Error(where + ": unknown split '" + s + "'", "use train, test or validation");
}

ImageSplits from_folder(const fs::path& dir) {
  std::vector<Row> rows;
  const auto sub = class_folders(dir);
  auto has = [&](const char* n) { return std::find(sub.begin(), sub.end(), n) != sub.end(); };
  const char* test_dir = has("test") ? "test" : has("val") ? "val" : has("validation") ? "validation" : nullptr;
  if (has("train") && test_dir) {
    for (const auto& [folder, split] : {std::pair<std::string, std::string>{"train", "train"}, {test_dir, "test"}})
      for (const std::string& c : class_folders(dir / folder))
        for (const std::string& p : sorted_images(dir / folder / c)) rows.push_back({p, c, split, ""});
  } else {
    for (const std::string& c : sub)
      for (const std::string& p : sorted_images(dir / c)) rows.push_back({p, c, "", ""});
  }
  return from_rows(std::move(rows), dir.filename().string(), dir.string());
}

ImageSplits from_csv(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw Error(file.string() + ": cannot read");
  std::vector<Row> rows;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    const std::vector<std::string> f = csv_fields(line);
    if (f.size() == 1 && f[0].empty()) continue;
    const std::string where = file.string() + ":" + std::to_string(n);
    if (n == 1 && (f[0] == "path" || f[0] == "filename" || f[0] == "file" || f[0] == "image")) continue;  // header
    if (f.size() < 2 || f.size() > 3 || f[0].empty() || f[1].empty())
      throw Error(where + ": expected path,label[,split], got '" + line + "'");
    const fs::path p = fs::path(f[0]).is_absolute() ? fs::path(f[0]) : file.parent_path() / f[0];
    rows.push_back({p.lexically_normal().string(), f[1], split_name(f.size() == 3 ? f[2] : "", where), where});
  }
  return from_rows(std::move(rows), file.stem().string(), file.string());
}

// Cloud Annotations: {"labels": [...], "annotations": {"image.jpg": [{"label": "cat"}], ...}}
ImageSplits from_cloud_annotations(const fs::path& file) {
  const nlohmann::json j = naming(file.string(), [&] { return nlohmann::json::parse(read_file(file.string())); });
  if (!j.is_object() || !j.contains("annotations") || !j["annotations"].is_object())
    throw Error(file.string() + ": no \"annotations\" object", "export the project from Cloud Annotations again");
  std::set<std::string> declared;
  if (j.contains("labels") && j["labels"].is_array())
    for (const auto& l : j["labels"])
      if (l.is_string()) declared.insert(l.get<std::string>());
  std::vector<Row> rows;
  for (const auto& [image, marks] : j["annotations"].items()) {
    if (!marks.is_array() || marks.empty()) continue;  // unlabelled image
    std::set<std::string> labels;
    for (const auto& m : marks) {
      if (!m.is_object() || !m.contains("label") || !m["label"].is_string())
        throw Error(file.string() + ": annotation of '" + image + "' has no label");
      if (m.contains("x") || m.contains("x2"))
        throw Error(file.string() + ": '" + image + "' has bounding boxes", "dltrain trains classifiers: export a "
                                                                            "classification project");
      labels.insert(m["label"].get<std::string>());
    }
    if (labels.size() != 1) throw Error(file.string() + ": '" + image + "' has " + std::to_string(labels.size()) +
                                        " different labels; a classifier needs one");
    if (!declared.empty() && !declared.contains(*labels.begin()))
      throw Error(file.string() + ": '" + image + "' has label '" + *labels.begin() + "', which \"labels\" does not list");
    rows.push_back({(file.parent_path() / image).lexically_normal().string(), *labels.begin(), "", ""});
  }
  ImageSplits s = from_rows(std::move(rows), file.parent_path().filename().string(), file.string());
  return s;
}

}  // namespace

bool is_image_dataset(const std::string& path) {
  return naming(path, [&] {
    const fs::path p(path);
    const PathKind kind = path_kind(path);
    if (kind == PathKind::file) return p.extension() == ".csv" || p.filename() == "_annotations.json";
    if (kind != PathKind::directory) return false;
    if (is_file((p / "_annotations.json").string())) return true;
    for (const std::string& c : class_folders(p))
      if (!sorted_images(p / c).empty() || c == "train") return true;
    return false;
  });
}

ImageSplits load_image_dataset(const std::string& path, double val_split, uint64_t seed) {
  DLT_CHECK(val_split >= 0 && val_split < 1, "the validation split must be in [0, 1)");
  const fs::path p(path);
  // Every error below names the dataset: a file inside it, or the path given.
  ImageSplits s = naming(path, [&] {
    const PathKind kind = path_kind(path);
    if (kind == PathKind::file && p.extension() == ".csv") return from_csv(p);
    if (kind == PathKind::file && p.filename() == "_annotations.json") return from_cloud_annotations(p);
    if (kind == PathKind::directory && is_file((p / "_annotations.json").string()))
      return from_cloud_annotations(p / "_annotations.json");
    if (kind == PathKind::directory) return from_folder(p);
    throw Error(path + (kind == PathKind::none ? ": no such folder or file" : ": not a folder, .csv or _annotations.json"),
                "give a folder of class sub-folders, a .csv or _annotations.json");
  });
  s.folder = path;
  if (!s.test.paths.empty() || val_split == 0) return s;
  // No test split given: hold out val_split of each class (seeded), keeping at least one image
  // of every class for training.
  Rng rng(seed);
  ImageList train, test;
  for (int32_t c = 0; c < int32_t(s.class_names.size()); ++c) {
    std::vector<int64_t> members;
    for (size_t i = 0; i < s.train.labels.size(); ++i)
      if (s.train.labels[i] == c) members.push_back(int64_t(i));
    const std::vector<int64_t> order = shuffled_order(int64_t(members.size()), rng);
    const auto held = std::min<int64_t>(int64_t(double(members.size()) * val_split + 0.5), int64_t(members.size()) - 1);
    for (size_t k = 0; k < order.size(); ++k) {
      ImageList& to = int64_t(k) < held ? test : train;
      to.paths.push_back(s.train.paths[size_t(members[size_t(order[k])])]);
      to.labels.push_back(c);
    }
  }
  s.train = std::move(train);
  s.test = std::move(test);
  return s;
}

}  // namespace dltrain
