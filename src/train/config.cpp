// TrainConfig <-> JSON (config.json in the run folder and the checkpoint's metadata).
#include <nlohmann/json.hpp>
#include <limits>
#include <optional>
#include <type_traits>

#include "dltrain/path.hpp"
#include "dltrain/train.hpp"

namespace dltrain {
namespace {
// j[key] as an integer in [lo, hi] (missing: `fallback`, or an error when there is none). A JSON
// float is refused rather than converted: 1e300 does not fit an int64_t (undefined behaviour).
int64_t integer(const nlohmann::json& j, const char* key, std::optional<int64_t> fallback = {},
                int64_t lo = std::numeric_limits<int64_t>::min(), int64_t hi = std::numeric_limits<int64_t>::max()) {
  if (!j.contains(key) && fallback) return *fallback;
  const nlohmann::json& v = j.at(key);
  if (!v.is_number_integer() || (v.is_number_unsigned() ? v.get<uint64_t>() > uint64_t(hi) : v.get<int64_t>() < lo || v.get<int64_t>() > hi))
    throw Error(std::string("malformed training configuration ('") + key + "' is " + v.dump() + ", not an integer from " +
                std::to_string(lo) + " to " + std::to_string(hi) + ")");
  return v.is_number_unsigned() ? int64_t(v.get<uint64_t>()) : v.get<int64_t>();
}

// j[key] as a T (missing: `fallback`, or an error when there is none); the error names the key.
template <class T>
T field(const nlohmann::json& j, const char* key, std::optional<T> fallback = {}) {
  if (!j.contains(key) && fallback) return *fallback;
  if (!j.contains(key)) throw Error(std::string("malformed training configuration ('") + key + "' is missing)");
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(std::string("malformed training configuration ('") + key + "' is " + j.at(key).dump().substr(0, 80) +
                ", not " + (std::is_same_v<T, bool> ? "true or false" : std::is_same_v<T, double> ? "a number" : "a string") + ")");
  }
}
}  // namespace

std::string TrainConfig::to_json() const {
  return nlohmann::ordered_json{{"model", model},       {"data", data},         {"epochs", epochs},
                                {"batch", batch},       {"optim", optim},       {"schedule", schedule},
                                {"seed", seed},         {"threads", threads},   {"validate", validate},
                                {"train_limit", train_limit}, {"backbone", backbone},
                                {"head", head},         {"unfreeze", unfreeze}, {"val_split", val_split},
                                {"feature_cache", feature_cache}, {"augment", augment}, {"resize", resize},
                                {"tensorboard", tensorboard}, {"grad_accum", grad_accum}, {"ranks", ranks}}
      .dump(2);
}

TrainConfig TrainConfig::from_json(const std::string& json) {
  TrainConfig c;
  try {
    const auto j = nlohmann::json::parse(json);
    if (!j.is_object()) throw Error("malformed training configuration (not a JSON object)");
    c.model = field<std::string>(j, "model");
    c.data = field<std::string>(j, "data");
    c.epochs = integer(j, "epochs");
    c.batch = integer(j, "batch");
    c.optim = field<std::string>(j, "optim");
    c.schedule = field<std::string>(j, "schedule");
    // The seed is any 64-bit pattern: a negative number is its two's complement.
    if (!j.contains("seed") || !j.at("seed").is_number_integer())
      throw Error("malformed training configuration ('seed' is missing or not an integer)");
    c.seed = j.at("seed").is_number_unsigned() ? j.at("seed").get<uint64_t>() : uint64_t(j.at("seed").get<int64_t>());
    c.threads = int(integer(j, "threads", {}, std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
    c.validate = field<bool>(j, "validate");
    c.train_limit = integer(j, "train_limit");
    c.backbone = field<std::string>(j, "backbone", c.backbone);
    c.head = field<std::string>(j, "head", c.head);
    c.unfreeze = integer(j, "unfreeze", c.unfreeze);
    c.val_split = field<double>(j, "val_split", c.val_split);
    c.feature_cache = field<bool>(j, "feature_cache", c.feature_cache);
    c.augment = integer(j, "augment", c.augment);
    c.resize = field<std::string>(j, "resize", c.resize);
    c.tensorboard = integer(j, "tensorboard", c.tensorboard, 0);
    c.grad_accum = integer(j, "grad_accum", c.grad_accum, 1, max_grad_accum);
    c.ranks = integer(j, "ranks", c.ranks, 1, 1 << 20);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("malformed training configuration (") + e.what() + ")");
  }
  return c;
}

TrainConfig TrainConfig::read(const std::string& path) {
  TrainConfig c = naming(path, [&] { return from_json(read_file(path)); });
  c.source = path;
  return c;
}

}  // namespace dltrain
