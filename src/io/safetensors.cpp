// safetensors encoding and a validating reader (format: github.com/huggingface/safetensors).
#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <nlohmann/json.hpp>

#include "dltrain/io.hpp"
#include "dltrain/path.hpp"

namespace dltrain {
namespace {
constexpr uint64_t max_header = 100u << 20;  // the format's own limit

void put_u64_le(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
}

// A JSON array of integers that fit an int64_t, or nullopt. nlohmann's get<int64_t>() converts a
// float such as 6e103 with a cast, which is undefined behaviour: floats are refused here.
std::optional<std::vector<int64_t>> integers(const nlohmann::json& j) {
  if (!j.is_array()) return std::nullopt;
  std::vector<int64_t> out;
  for (const auto& v : j) {
    if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())))
      return std::nullopt;
    out.push_back(v.get<int64_t>());
  }
  return out;
}
}  // namespace

std::string encode_safetensors(const std::vector<TensorRef>& tensors, const Metadata& metadata) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorRef& t : tensors) {
    DLT_CHECK(t.name != "__metadata__", "a tensor cannot be named __metadata__");
    const uint64_t bytes = t.tensor->bytes();
    header[t.name] = {{"dtype", t.tensor->dtype() == DType::f32 ? "F32" : "U8"},
                      {"shape", std::vector<int64_t>(t.tensor->shape().dims().begin(), t.tensor->shape().dims().end())},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + json.size() + offset);
  put_u64_le(out, json.size());
  out += json;
  for (const TensorRef& t : tensors) {
    Tensor staged;  // a GPU tensor's bytes come through the host
    const Tensor& host = t.tensor->on(Device::cpu, staged);
    out.append(reinterpret_cast<const char*>(host.dtype() == DType::f32 ? static_cast<const void*>(host.f32())
                                                                        : static_cast<const void*>(host.u8())),
               host.bytes());
  }
  return out;
}

void write_safetensors(const std::string& path, const std::vector<TensorRef>& tensors, const Metadata& metadata) {
  write_file_atomic(path, encode_safetensors(tensors, metadata));
}

namespace {
SafetensorsFile read_safetensors_unnamed(const std::string& path) {
  const std::string bytes = read_file(path);
  auto fail = [&](const std::string& what) {
    return Error(path + ": " + what, "the file is damaged or not a safetensors file");
  };
  if (bytes.size() < 8) throw fail("too short for a safetensors header");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
  if (n > max_header || n > bytes.size() - 8) throw fail("header length " + std::to_string(n) + " is impossible");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + long(n));
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!header.is_object()) throw fail("header is not a JSON object");
  const uint64_t data_len = bytes.size() - 8 - n;
  const char* data = bytes.data() + 8 + n;
  SafetensorsFile file;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw fail("__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) throw fail("metadata '" + k + "' is not a string");
        file.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    try {
      const std::string dtype = entry.at("dtype").get<std::string>();
      const auto shape_numbers = integers(entry.at("shape"));
      const auto offsets = integers(entry.at("data_offsets"));
      if (!shape_numbers || !offsets)
        throw fail("tensor '" + name + "' has a shape or data offsets that are not arrays of integers");
      const std::vector<int64_t>& dims = *shape_numbers;
      if (std::any_of(offsets->begin(), offsets->end(), [](int64_t o) { return o < 0; }))
        throw fail("tensor '" + name + "' has data offsets outside the file");
      const std::vector<uint64_t> offs(offsets->begin(), offsets->end());
      if (dtype != "F32" && dtype != "U8") throw fail("tensor '" + name + "' has unsupported dtype " + dtype);
      if (offs.size() != 2 || offs[0] > offs[1] || offs[1] > data_len)
        throw fail("tensor '" + name + "' has data offsets outside the file");
      Shape shape;
      int64_t n = 0;
      try {
        shape = Shape(std::span<const int64_t>(dims));
        n = shape.numel();
      } catch (const Error& e) {
        throw fail("tensor '" + name + "': " + e.what());
      }
      if (n > max_tensor_elements)
        throw fail("tensor '" + name + "' shape " + shape.str() + " holds " + std::to_string(n) +
                   " elements, above the limit of 2^40");
      const DType dt = dtype == "F32" ? DType::f32 : DType::u8;
      if (uint64_t(n) * dtype_size(dt) != offs[1] - offs[0])
        throw fail("tensor '" + name + "' shape " + shape.str() + " does not match its " +
                   std::to_string(offs[1] - offs[0]) + " bytes");
      Tensor t(shape, dt);
      if (t.bytes()) std::memcpy(dt == DType::f32 ? static_cast<void*>(t.f32()) : static_cast<void*>(t.u8()),
                                 data + offs[0], t.bytes());
      file.tensors.emplace(name, std::move(t));
      ranges.emplace_back(offs[0], offs[1]);
    } catch (const nlohmann::json::exception& e) {
      throw fail("tensor '" + name + "' entry is malformed (" + e.what() + ")");
    }
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second) throw fail("tensor data ranges overlap");
  return file;
}
}  // namespace

SafetensorsFile read_safetensors(const std::string& path) {
  return naming(path, [&] { return read_safetensors_unnamed(path); });
}

}  // namespace dltrain
