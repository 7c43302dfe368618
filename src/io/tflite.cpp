// TFLite FlatBuffer reading: root, subgraph, tensors, buffers, quantization, operators. Field ids
// follow the schema (tensorflow/lite/schema/schema.fbs); a field's vtable slot is 4 + 2 * id.
#include "tflite.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <flatbuffers/flatbuffers.h>

#include <cstring>
#include <map>

#include "dltrain/core.hpp"
#include "dltrain/io.hpp"

namespace dltrain::tflite {
namespace {
using flatbuffers::Offset;
using flatbuffers::Table;
using flatbuffers::Vector;

constexpr flatbuffers::voffset_t slot(int id) { return flatbuffers::voffset_t(4 + 2 * id); }

namespace model { enum { operator_codes = 1, subgraphs = 2, buffers = 4 }; }
namespace opcode { enum { deprecated_builtin_code = 0, custom_code = 1, builtin_code = 3 }; }
namespace subgraph { enum { tensors = 0, inputs = 1, outputs = 2, operators = 3 }; }
namespace tensor { enum { shape = 0, type = 1, buffer = 2, name = 3, quantization = 4 }; }
namespace quant { enum { scale = 2, zero_point = 3, quantized_dimension = 6 }; }
namespace buffer { enum { data = 0, offset = 1, size = 2 }; }
namespace op { enum { opcode_index = 0, inputs = 1, outputs = 2, options_type = 3, options = 4 }; }

flatbuffers::Verifier::Options verifier_options() {
  flatbuffers::Verifier::Options o;
  o.max_depth = 64;
  o.max_tables = 10'000'000;
  return o;
}

}  // namespace

// Verifies each part as it is read; the offsets in messages are from the start of the file.
class Reader {
 public:
  explicit Reader(const File& f)
      : f_(f), base_(reinterpret_cast<const uint8_t*>(f.bytes_.data())), v_(base_, f.bytes_.size(), verifier_options()) {}

  const Table* root() {
    if (f_.bytes_.size() < 8) f_.malformed("the file is " + std::to_string(f_.bytes_.size()) + " bytes long", base_);
    if (!flatbuffers::BufferHasIdentifier(base_, "TFL3"))
      throw Error(f_.path_ + ": not a TFLite model (no \"TFL3\" file identifier at byte 4)",
                  "give a .tflite file, such as mobilenet_v2_1.0_224_quant.tflite");
    const uint32_t at = flatbuffers::ReadScalar<uint32_t>(base_);
    if (at + 4 > f_.bytes_.size()) f_.malformed("the root table offset points outside the file", base_);
    return checked(reinterpret_cast<const Table*>(base_ + at), "model table");
  }

  const Table* checked(const Table* t, const std::string& what) {
    if (!t->VerifyTableStart(v_)) f_.malformed(what + " is out of bounds", t);
    v_.EndTable();
    return t;
  }
  const Table* table(const Table* t, int id, const std::string& what) {
    if (!t->VerifyOffset(v_, slot(id))) f_.malformed(what + " offset is out of bounds", t);
    const Table* child = t->GetPointer<const Table*>(slot(id));
    return child ? checked(child, what) : nullptr;
  }
  std::vector<const Table*> tables(const Table* t, int id, const std::string& what) {
    const auto* vec = vector<Offset<Table>>(t, id, what);
    std::vector<const Table*> out;
    if (!vec) return out;
    for (flatbuffers::uoffset_t i = 0; i < vec->size(); ++i)
      out.push_back(checked(vec->Get(i), what + " " + std::to_string(i)));
    return out;
  }
  template <class T>
  const Vector<T>* vector(const Table* t, int id, const std::string& what) {
    if (!t->VerifyOffset(v_, slot(id))) f_.malformed(what + " offset is out of bounds", t);
    const auto* vec = t->GetPointer<const Vector<T>*>(slot(id));
    if (!v_.VerifyVector(vec)) f_.malformed(what + " runs past the end of the file", vec);
    return vec;
  }
  template <class T>
  std::vector<T> values(const Table* t, int id, const std::string& what) {
    const auto* vec = vector<T>(t, id, what);
    std::vector<T> out;
    // Copied as bytes: the Verifier aligns a vector's length, not its 8-byte elements, and a
    // hostile file's int64 zero points need not be 8-byte aligned (flatbuffers' own read would be
    // a misaligned load: UBSan in CI's fuzzing). Little-endian, as the format is.
    if (vec) {
      out.resize(vec->size());
      if (!out.empty()) std::memcpy(out.data(), vec->Data(), out.size() * sizeof(T));
    }
    return out;
  }
  std::string string(const Table* t, int id, const std::string& what) {
    if (!t->VerifyOffset(v_, slot(id))) f_.malformed(what + " offset is out of bounds", t);
    const auto* s = t->GetPointer<const flatbuffers::String*>(slot(id));
    if (!v_.VerifyString(s)) f_.malformed(what + " runs past the end of the file", s);
    return s ? s->str() : std::string();
  }
  template <class T>
  T scalar(const Table* t, int id, T fallback, const std::string& what) {
    if (!t->VerifyField<T>(v_, slot(id), sizeof(T))) f_.malformed(what + " is out of bounds", t);
    return t->GetField<T>(slot(id), fallback);
  }

 private:
  const File& f_;
  const uint8_t* base_;
  flatbuffers::Verifier v_;
};

const char* op_name(int32_t code) {
  static const std::map<int32_t, const char*> names = {
      {0, "ADD"}, {1, "AVERAGE_POOL_2D"}, {2, "CONCATENATION"}, {3, "CONV_2D"}, {4, "DEPTHWISE_CONV_2D"},
      {6, "DEQUANTIZE"}, {9, "FULLY_CONNECTED"}, {14, "LOGISTIC"}, {17, "MAX_POOL_2D"}, {18, "MUL"}, {19, "RELU"},
      {21, "RELU6"}, {22, "RESHAPE"}, {23, "RESIZE_BILINEAR"}, {25, "SOFTMAX"}, {28, "TANH"}, {32, "CUSTOM"},
      {34, "PAD"}, {40, "MEAN"}, {41, "SUB"}, {49, "SQUEEZE"}, {53, "CAST"}, {83, "PACK"}, {114, "QUANTIZE"},
      {117, "HARD_SWISH"}};
  const auto it = names.find(code);
  if (it != names.end()) return it->second;
  static thread_local std::string other;
  other = "BUILTIN_" + std::to_string(code);
  return other.c_str();
}

void File::malformed(const std::string& what, const void* at) const {
  const auto offset = reinterpret_cast<const char*>(at) - bytes_.data();
  throw Error(path_ + ": malformed TFLite file: " + what + " (byte offset " + std::to_string(offset) + ")",
              "the file is damaged or truncated; download the model again");
}

std::unique_ptr<File> File::read(const std::string& path) {
  std::unique_ptr<File> f(new File());
  f->path_ = path;
  f->bytes_ = read_file(path);
  Reader r(*f);
  const Table* root = r.root();

  // Operator codes: older converters fill only the deprecated int8 field; take the larger.
  std::vector<int32_t> codes;
  for (const Table* c : r.tables(root, model::operator_codes, "operator code")) {
    const int32_t code = std::max<int32_t>(r.scalar<int8_t>(c, opcode::deprecated_builtin_code, 0, "operator code"),
                                           r.scalar<int32_t>(c, opcode::builtin_code, 0, "operator code"));
    codes.push_back(code);
  }

  // Buffers: inline data, or (models over 2 GB) an offset and size into the file.
  std::vector<std::span<const uint8_t>> buffers;
  for (const Table* b : r.tables(root, model::buffers, "buffer")) {
    const auto* data = r.vector<uint8_t>(b, buffer::data, "buffer data");
    const auto offset = r.scalar<uint64_t>(b, buffer::offset, 0, "buffer offset");
    const auto size = r.scalar<uint64_t>(b, buffer::size, 0, "buffer size");
    if (data && data->size() > 0) {
      buffers.emplace_back(data->data(), data->size());
    } else if (offset > 1) {
      if (offset > f->bytes_.size() || size > f->bytes_.size() - offset)
        f->malformed("buffer " + std::to_string(buffers.size()) + " lies outside the file", b);
      buffers.emplace_back(reinterpret_cast<const uint8_t*>(f->bytes_.data()) + offset, size);
    } else {
      buffers.emplace_back();
    }
  }

  const std::vector<const Table*> graphs = r.tables(root, model::subgraphs, "subgraph");
  if (graphs.empty()) f->malformed("the model has no subgraph", root);
  const Table* g = graphs[0];
  for (const Table* t : r.tables(g, subgraph::tensors, "tensor")) {
    TensorInfo info;
    const std::string what = "tensor " + std::to_string(f->tensors_.size());
    info.name = r.string(t, tensor::name, what + " name");
    info.shape = r.values<int32_t>(t, tensor::shape, what + " shape");
    for (int32_t d : info.shape)
      if (d < 0) f->malformed(what + " has a negative dimension (" + std::to_string(d) + ")", t);
    info.type = r.scalar<int8_t>(t, tensor::type, FLOAT32, what);
    const auto b = r.scalar<uint32_t>(t, tensor::buffer, 0, what);
    if (b >= buffers.size()) f->malformed(what + " refers to buffer " + std::to_string(b) + " of " +
                                          std::to_string(buffers.size()), t);
    info.data = buffers[b];
    if (const Table* q = r.table(t, tensor::quantization, what + " quantization")) {
      info.quant.scale = r.values<float>(q, quant::scale, what + " scales");
      info.quant.zero_point = r.values<int64_t>(q, quant::zero_point, what + " zero points");
      info.quant.axis = r.scalar<int32_t>(q, quant::quantized_dimension, 0, what);
    }
    f->tensors_.push_back(std::move(info));
  }
  // Every tensor index is checked here, once: only an operator's input may be -1 (an omitted
  // optional input); subgraph inputs and outputs and operator outputs must name a tensor.
  const auto n_tensors = int32_t(f->tensors_.size());
  enum class Optional : bool { no, yes };
  auto check_ids = [&](const std::vector<int32_t>& ids, const std::string& what, const void* at, Optional optional) {
    for (size_t i = 0; i < ids.size(); ++i) {
      const int32_t id = ids[i];
      if ((id == -1 && optional == Optional::yes) || (id >= 0 && id < n_tensors)) continue;
      f->malformed(what + " " + std::to_string(i) + " names tensor " + std::to_string(id) + ", but the subgraph has " +
                       std::to_string(n_tensors) + " tensors (0 to " + std::to_string(n_tensors - 1) + ")",
                   at);
    }
  };
  f->inputs_ = r.values<int32_t>(g, subgraph::inputs, "subgraph inputs");
  f->outputs_ = r.values<int32_t>(g, subgraph::outputs, "subgraph outputs");
  check_ids(f->inputs_, "the subgraph's input", g, Optional::no);
  check_ids(f->outputs_, "the subgraph's output", g, Optional::no);
  for (const Table* o : r.tables(g, subgraph::operators, "operator")) {
    OpInfo info;
    info.index = int(f->ops_.size());
    const std::string what = "operator " + std::to_string(info.index);
    const auto code_index = r.scalar<uint32_t>(o, op::opcode_index, 0, what);
    if (code_index >= codes.size()) f->malformed(what + " uses operator code " + std::to_string(code_index), o);
    info.code = codes[code_index];
    info.inputs = r.values<int32_t>(o, op::inputs, what + " inputs");
    info.outputs = r.values<int32_t>(o, op::outputs, what + " outputs");
    check_ids(info.inputs, what + " input", o, Optional::yes);
    check_ids(info.outputs, what + " output", o, Optional::no);
    info.options_type = r.scalar<uint8_t>(o, op::options_type, 0, what);
    info.options = Options(r.table(o, op::options, what + " options"), f.get());
    f->ops_.push_back(std::move(info));
  }
  return f;
}

int32_t Options::i32(int id, int32_t fallback) const {
  if (!t_) return fallback;
  Reader r(*file_);
  return r.scalar<int32_t>(t_, id, fallback, "operator option");
}
int8_t Options::i8(int id, int8_t fallback) const {
  if (!t_) return fallback;
  Reader r(*file_);
  return r.scalar<int8_t>(t_, id, fallback, "operator option");
}
float Options::f32(int id, float fallback) const {
  if (!t_) return fallback;
  Reader r(*file_);
  return r.scalar<float>(t_, id, fallback, "operator option");
}
std::vector<int32_t> Options::i32s(int id) const {
  if (!t_) return {};
  Reader r(*file_);
  return r.values<int32_t>(t_, id, "operator option");
}

std::vector<float> File::dequantize(int32_t id) const {
  DLT_CHECK(id >= 0 && size_t(id) < tensors_.size(),
            path_ + ": tensor " + std::to_string(id) + " does not exist (" + std::to_string(tensors_.size()) + " tensors)");
  const TensorInfo& t = tensors_[size_t(id)];
  int64_t n = 1;  // dimensions are >= 0 (checked in read); the product is checked against the tensor limit
  for (int32_t d : t.shape) {
    if (d != 0 && n > max_tensor_elements / d)
      throw Error(path_ + ": tensor '" + t.name + "' has more than " + std::to_string(max_tensor_elements) + " elements",
                  "the file is damaged; download the model again");
    n *= d;
  }
  const size_t width = t.type == FLOAT32 || t.type == INT32 ? 4 : t.type == UINT8 || t.type == INT8 ? 1 : 0;
  if (width == 0) throw Error(path_ + ": tensor '" + t.name + "' has type " + std::to_string(t.type) +
                              ", which dltrain cannot read as weights", "supported: float32, uint8, int8, int32");
  if (t.data.size() != size_t(n) * width)
    throw Error(path_ + ": tensor '" + t.name + "' holds " + std::to_string(t.data.size()) + " bytes for " +
                    std::to_string(n) + " values", "the file is damaged; download the model again");
  std::vector<float> out(static_cast<size_t>(n));
  if (t.type == FLOAT32) {
    std::memcpy(out.data(), t.data.data(), out.size() * 4);
    return out;
  }
  const Quantization& q = t.quant;
  if (q.scale.empty() && t.type == INT32) {  // plain integers: paddings, axes, shapes
    for (int64_t i = 0; i < n; ++i) {
      int32_t v;
      std::memcpy(&v, t.data.data() + size_t(i) * 4, 4);
      out[size_t(i)] = float(v);
    }
    return out;
  }
  if (q.scale.empty() || (!q.zero_point.empty() && q.zero_point.size() != q.scale.size()))
    throw Error(path_ + ": tensor '" + t.name + "' is quantized but has no usable scale/zero point");
  // Per-channel: channel = index along `axis`; per-tensor: one scale.
  int64_t inner = 1, channels = 1;
  if (q.scale.size() > 1) {
    if (q.axis < 0 || size_t(q.axis) >= t.shape.size() || t.shape[size_t(q.axis)] != int32_t(q.scale.size()))
      throw Error(path_ + ": tensor '" + t.name + "' has " + std::to_string(q.scale.size()) +
                  " scales that do not match its quantized dimension");
    channels = int64_t(q.scale.size());
    for (size_t d = size_t(q.axis) + 1; d < t.shape.size(); ++d) inner *= t.shape[d];
  }
  for (int64_t i = 0; i < n; ++i) {
    const auto ch = size_t((i / inner) % channels);
    const double zp = q.zero_point.empty() ? 0.0 : double(q.zero_point[ch]);
    double v = 0;
    if (t.type == UINT8) v = t.data[size_t(i)];
    else if (t.type == INT8) v = int8_t(t.data[size_t(i)]);
    else {
      int32_t w;
      std::memcpy(&w, t.data.data() + size_t(i) * 4, 4);
      v = w;
    }
    out[size_t(i)] = float((v - zp) * double(q.scale[ch]));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> associated_files(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
  archive_read_support_format_zip_seekable(a.get());  // reads the central directory at the end
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK) return out;
  archive_entry* e = nullptr;
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK) {
    const la_int64_t size = archive_entry_size(e);
    if (archive_entry_filetype(e) != AE_IFREG || size < 0 || size > (64 << 20)) continue;
    std::string data(static_cast<size_t>(size), '\0');
    if (archive_read_data(a.get(), data.data(), data.size()) != la_ssize_t(size)) break;
    out.emplace_back(archive_entry_pathname(e), std::move(data));
  }
  return out;
}

}  // namespace dltrain::tflite
