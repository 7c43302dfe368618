// history.csv / history.jsonl: one row per finished epoch, rewritten atomically each epoch.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dltrain/path.hpp"
#include "dltrain/train.hpp"

namespace dltrain {

void write_history(const std::string& run_dir, const std::vector<EpochStats>& history) {
  std::ostringstream csv, jsonl;
  csv << "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds,val_seconds\n";
  csv.precision(8);
  for (const EpochStats& e : history) {
    csv << e.epoch << "," << e.loss << "," << e.accuracy << ",";
    if (e.validated) csv << e.val_loss << "," << e.val_accuracy;
    else csv << ",";
    csv << "," << e.lr << "," << e.seconds << "," << e.val_seconds << "\n";
    nlohmann::ordered_json j{{"epoch", e.epoch}, {"steps", e.steps}, {"loss", e.loss}, {"accuracy", e.accuracy}};
    if (e.validated) j["val_loss"] = e.val_loss, j["val_accuracy"] = e.val_accuracy;
    j["lr"] = e.lr;
    j["seconds"] = e.seconds;
    j["val_seconds"] = e.val_seconds;
    jsonl << j.dump() << "\n";
  }
  write_file_atomic(run_dir + "/history.csv", csv.str());
  write_file_atomic(run_dir + "/history.jsonl", jsonl.str());
}

std::vector<EpochStats> read_history(const std::string& run_dir) {
  std::vector<EpochStats> out;
  const std::string path = run_dir + "/history.jsonl";
  if (!path_exists(path)) return out;
  std::istringstream in(read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      const auto j = nlohmann::json::parse(line);
      EpochStats e;
      // Integers checked before conversion: 1e300 does not fit an int64_t.
      if (!j.at("epoch").is_number_integer() || !j.at("steps").is_number_integer())
        throw Error(path + ": malformed line (epoch and steps must be integers): " + line.substr(0, 200));
      e.epoch = j.at("epoch");
      e.steps = j.at("steps");
      e.loss = j.at("loss");
      e.accuracy = j.at("accuracy");
      e.validated = j.contains("val_loss");
      if (e.validated) e.val_loss = j.at("val_loss"), e.val_accuracy = j.at("val_accuracy");
      e.lr = j.at("lr");
      e.seconds = j.at("seconds");
      e.val_seconds = j.value("val_seconds", 0.0);
      out.push_back(e);
    } catch (const nlohmann::json::exception& e) {
      throw Error(path + ": malformed line (" + e.what() + ")");
    }
  }
  return out;
}

}  // namespace dltrain
