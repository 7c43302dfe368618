// TrainConfig <-> JSON (config.json in the run folder and the checkpoint's metadata).
#include <nlohmann/json.hpp>

#include "dltrain/train.hpp"

namespace dltrain {

std::string TrainConfig::to_json() const {
  return nlohmann::ordered_json{{"model", model},       {"data", data},         {"epochs", epochs},
                                {"batch", batch},       {"optim", optim},       {"schedule", schedule},
                                {"seed", seed},         {"threads", threads},   {"validate", validate},
                                {"train_limit", train_limit}, {"backbone", backbone},
                                {"head", head},         {"unfreeze", unfreeze}, {"val_split", val_split},
                                {"feature_cache", feature_cache}, {"augment", augment}, {"resize", resize}}
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
    c.backbone = j.value("backbone", c.backbone);
    c.head = j.value("head", c.head);
    c.unfreeze = j.value("unfreeze", c.unfreeze);
    c.val_split = j.value("val_split", c.val_split);
    c.feature_cache = j.value("feature_cache", c.feature_cache);
    c.augment = j.value("augment", c.augment);
    c.resize = j.value("resize", c.resize);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("malformed training configuration (") + e.what() + ")");
  }
  return c;
}

}  // namespace dltrain
