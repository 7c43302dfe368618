// TrainConfig <-> JSON (config.json in the run folder and the checkpoint's metadata).
#include <nlohmann/json.hpp>

#include "dltrain/train.hpp"

namespace dltrain {

std::string TrainConfig::to_json() const {
  return nlohmann::ordered_json{{"model", model},       {"data", data},         {"epochs", epochs},
                                {"batch", batch},       {"optim", optim},       {"schedule", schedule},
                                {"seed", seed},         {"threads", threads},   {"validate", validate},
                                {"train_limit", train_limit}}
      .dump(2);
}

TrainConfig TrainConfig::from_json(const std::string& json) {
  TrainConfig c;
  try {
    const auto j = nlohmann::json::parse(json);
    c.model = j.at("model");
    c.data = j.at("data");
    c.epochs = j.at("epochs");
    c.batch = j.at("batch");
    c.optim = j.at("optim");
    c.schedule = j.at("schedule");
    c.seed = j.at("seed");
    c.threads = j.at("threads");
    c.validate = j.at("validate");
    c.train_limit = j.at("train_limit");
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("malformed training configuration (") + e.what() + ")");
  }
  return c;
}

}  // namespace dltrain
