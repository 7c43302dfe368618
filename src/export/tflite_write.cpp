// The lowered graph as a TFLite FlatBuffer (tensorflow/lite/schema/schema.fbs, file identifier
// "TFL3"), with TFLite metadata (tensorflow_lite_support/metadata/metadata_schema.fbs, "M001") in
// a buffer named TFLITE_METADATA and the labels file it names appended as a zip archive: the way
// TFLite's metadata tools pack a model, so their readers and dltrain's importer find the labels.
// Tables are written field by field with the flatbuffers library; a field's id is its position
// in the schema's table.
#include <flatbuffers/flatbuffers.h>
#include <zlib.h>

#include <map>

#include "tflite_graph.hpp"

namespace dltrain::tflite_export {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;
using flatbuffers::uoffset_t;

constexpr flatbuffers::voffset_t slot(int id) { return flatbuffers::voffset_t(4 + 2 * id); }

Offset<void> table(FlatBufferBuilder& b, const std::vector<Field>& fields) {
  const uoffset_t start = b.StartTable();
  for (const Field& f : fields) {
    if (f.kind == Field::i8) b.AddElement<int8_t>(slot(f.id), int8_t(f.value), 0);
    else if (f.kind == Field::i32) b.AddElement<int32_t>(slot(f.id), int32_t(f.value), 0);
    else b.AddElement<float>(slot(f.id), float(f.value), 0);
  }
  return Offset<void>(b.EndTable(start));
}

template <class T>
Offset<void> vec(FlatBufferBuilder& b, const std::vector<T>& v) {
  return Offset<void>(b.CreateVector(v).o);
}
Offset<void> str(FlatBufferBuilder& b, const std::string& s) { return Offset<void>(b.CreateString(s).o); }

// Buffer { data: [ubyte] (id 0) }, the data 16-byte aligned as TFLite's own writer aligns it.
Offset<void> buffer(FlatBufferBuilder& b, const std::string& bytes) {
  Offset<void> data;
  if (!bytes.empty()) {
    b.ForceVectorAlignment(bytes.size(), 1, 16);
    data = Offset<void>(b.CreateVector(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()).o);
  }
  const uoffset_t start = b.StartTable();
  if (!bytes.empty()) b.AddOffset(slot(0), data);
  return Offset<void>(b.EndTable(start));
}

// QuantizationParameters { scale: [float] (2), zero_point: [long] (3), quantized_dimension: int (6) }.
Offset<void> quantization(FlatBufferBuilder& b, const Quant& q) {
  const Offset<void> scale = vec(b, q.scale), zero_point = vec(b, q.zero_point);
  const uoffset_t start = b.StartTable();
  b.AddOffset(slot(2), scale);
  b.AddOffset(slot(3), zero_point);
  b.AddElement<int32_t>(slot(6), q.axis, 0);
  return Offset<void>(b.EndTable(start));
}

// Tensor { shape (0), type (1), buffer (2), name (3), quantization (4), shape_signature (7) }.
Offset<void> tensor(FlatBufferBuilder& b, const TensorDef& t, uint32_t buffer_index) {
  const Offset<void> shape = vec(b, t.shape), name = str(b, t.name);
  Offset<void> signature, quant;
  if (t.batched) {
    std::vector<int32_t> s = t.shape;
    s[0] = -1;  // a dynamic batch dimension
    signature = vec(b, s);
  }
  if (!t.quant.scale.empty()) quant = quantization(b, t.quant);
  const uoffset_t start = b.StartTable();
  b.AddOffset(slot(0), shape);
  b.AddElement<int8_t>(slot(1), t.type, -1);
  b.AddElement<uint32_t>(slot(2), buffer_index, ~0u);
  b.AddOffset(slot(3), name);
  if (!quant.IsNull()) b.AddOffset(slot(4), quant);
  if (!signature.IsNull()) b.AddOffset(slot(7), signature);
  return Offset<void>(b.EndTable(start));
}

// ModelMetadata: the input is an image (or a feature vector), the output's axis 1 is labelled by
// labels.txt (AssociatedFileType TENSOR_AXIS_LABELS = 2).
std::string metadata(const Model& m, const ModelInfo& info) {
  FlatBufferBuilder b;
  const bool image = m.input_shape().rank() == 3;
  // Content { content_properties_type (0), content_properties (1) }: ImageProperties (2) with
  // color_space (0) RGB 1 / GRAYSCALE 2, or FeatureProperties (1).
  auto content = [&](bool is_image) {
    const uoffset_t p = b.StartTable();
    if (is_image) b.AddElement<int8_t>(slot(0), m.input_shape()[2] == 3 ? 1 : 2, 0);
    const Offset<void> props(b.EndTable(p));
    const uoffset_t c = b.StartTable();
    b.AddElement<uint8_t>(slot(0), is_image ? 2 : 1, 0);
    b.AddOffset(slot(1), props);
    return Offset<void>(b.EndTable(c));
  };
  const Offset<void> in_name = str(b, "image"), in_desc = str(b, "Pixels as dltrain predict reads them: uint8, resized "
                                                                   "to the model's input; the graph normalizes them");
  const Offset<void> in_content = content(image);
  uoffset_t t = b.StartTable();  // TensorMetadata { name (0), description (1), content (3), associated_files (6) }
  b.AddOffset(slot(0), in_name);
  b.AddOffset(slot(1), in_desc);
  b.AddOffset(slot(3), in_content);
  const Offset<void> input(b.EndTable(t));

  const Offset<void> file_name = str(b, "labels.txt"), file_desc = str(b, "Class names, one per line");
  t = b.StartTable();  // AssociatedFile { name (0), description (1), type (2) }
  b.AddOffset(slot(0), file_name);
  b.AddOffset(slot(1), file_desc);
  b.AddElement<int8_t>(slot(2), 2, 0);
  const Offset<void> labels(b.EndTable(t));
  const Offset<void> out_name = str(b, "probability"), out_desc = str(b, "Probabilities of the classes (softmax)");
  const Offset<void> out_content = content(false), out_files = vec(b, std::vector<Offset<void>>{labels});
  t = b.StartTable();
  b.AddOffset(slot(0), out_name);
  b.AddOffset(slot(1), out_desc);
  b.AddOffset(slot(3), out_content);
  b.AddOffset(slot(6), out_files);
  const Offset<void> output(b.EndTable(t));

  const Offset<void> inputs = vec(b, std::vector<Offset<void>>{input}), outputs = vec(b, std::vector<Offset<void>>{output});
  t = b.StartTable();  // SubGraphMetadata { input_tensor_metadata (2), output_tensor_metadata (3) }
  b.AddOffset(slot(2), inputs);
  b.AddOffset(slot(3), outputs);
  const Offset<void> subgraph(b.EndTable(t));

  const Offset<void> name = str(b, info.title.empty() ? m.title : info.title);
  const Offset<void> desc = str(b, "Trained with dltrain" + (info.dataset.empty() ? "" : " on " + info.dataset) +
                                       "; architecture: " + m.spec);
  const Offset<void> subgraphs = vec(b, std::vector<Offset<void>>{subgraph});
  const Offset<void> author = str(b, "dltrain"), parser = str(b, "1.0.0");
  t = b.StartTable();  // ModelMetadata { name (0), description (1), subgraph_metadata (3), author (4), min_parser_version (7) }
  b.AddOffset(slot(0), name);
  b.AddOffset(slot(1), desc);
  b.AddOffset(slot(3), subgraphs);
  b.AddOffset(slot(4), author);
  b.AddOffset(slot(7), parser);
  b.Finish(Offset<void>(b.EndTable(t)), "M001");
  return {reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize()};
}

void put16(std::string& s, uint32_t v) { s.push_back(char(v & 0xff)), s.push_back(char(v >> 8)); }
void put32(std::string& s, uint32_t v) { put16(s, v & 0xffff), put16(s, v >> 16); }

// A zip archive (stored, no compression) of one file, its offsets counted from the start of the
// whole .tflite file (`base` bytes precede it), as Python's zipfile writes when appending.
std::string zip_one(const std::string& name, const std::string& data, uint32_t base) {
  const auto crc = uint32_t(crc32(0, reinterpret_cast<const Bytef*>(data.data()), uInt(data.size())));
  const auto size = uint32_t(data.size());
  auto common = [&](std::string& s) {
    put16(s, 10), put16(s, 0), put16(s, 0);  // version needed 1.0, flags, method: stored
    put16(s, 0), put16(s, 0x21);              // time 00:00, date 1980-01-01
    put32(s, crc), put32(s, size), put32(s, size);
    put16(s, uint16_t(name.size())), put16(s, 0);
  };
  std::string z;
  put32(z, 0x04034b50);  // local file header
  common(z);
  z += name + data;
  const auto directory = uint32_t(z.size());
  put32(z, 0x02014b50);  // central directory header
  put16(z, 20);          // made by: version 2.0
  common(z);
  put16(z, 0), put16(z, 0), put16(z, 0), put32(z, 0);  // comment length, disk, internal and external attributes
  put32(z, base);                                      // where the local header is
  z += name;
  const auto directory_size = uint32_t(z.size()) - directory;
  put32(z, 0x06054b50);  // end of central directory
  put16(z, 0), put16(z, 0), put16(z, 1), put16(z, 1);
  put32(z, directory_size), put32(z, base + directory), put16(z, 0);
  return z;
}

}  // namespace

std::string write(const Graph& g, const Model& m, const ModelInfo& info) {
  FlatBufferBuilder b(1 << 16);
  std::vector<Offset<void>> buffers{buffer(b, "")};  // buffer 0: empty, for every activation
  std::vector<Offset<void>> tensors;
  for (const TensorDef& t : g.tensors) {
    uint32_t index = 0;
    if (t.constant) {
      index = uint32_t(buffers.size());
      buffers.push_back(buffer(b, t.bytes));
    }
    tensors.push_back(tensor(b, t, index));
  }
  const auto metadata_buffer = uint32_t(buffers.size());
  buffers.push_back(buffer(b, metadata(m, info)));

  std::map<int32_t, uint32_t> code_index;
  std::vector<Offset<void>> codes, ops;
  for (const OpDef& op : g.ops) {
    if (!code_index.count(op.code)) {
      code_index[op.code] = uint32_t(codes.size());
      const uoffset_t start = b.StartTable();  // OperatorCode { deprecated_builtin_code (0), version (2), builtin_code (3) }
      b.AddElement<int8_t>(slot(0), int8_t(std::min<int32_t>(op.code, 127)), 0);
      b.AddElement<int32_t>(slot(2), 1, 0);
      b.AddElement<int32_t>(slot(3), op.code, -1);
      codes.push_back(Offset<void>(b.EndTable(start)));
    }
    const Offset<void> inputs = vec(b, op.inputs), outputs = vec(b, op.outputs);
    const Offset<void> options = op.options_type ? table(b, op.options) : Offset<void>();
    const uoffset_t start = b.StartTable();  // Operator { opcode_index (0), inputs (1), outputs (2), options (3, 4) }
    b.AddElement<uint32_t>(slot(0), code_index[op.code], ~0u);
    b.AddOffset(slot(1), inputs);
    b.AddOffset(slot(2), outputs);
    if (op.options_type) {
      b.AddElement<uint8_t>(slot(3), op.options_type, 0);
      b.AddOffset(slot(4), options);
    }
    ops.push_back(Offset<void>(b.EndTable(start)));
  }

  const Offset<void> tensors_v = vec(b, tensors), inputs = vec(b, std::vector<int32_t>{g.input}),
                     outputs = vec(b, std::vector<int32_t>{g.output}), ops_v = vec(b, ops), sg_name = str(b, "main");
  uoffset_t start = b.StartTable();  // SubGraph { tensors (0), inputs (1), outputs (2), operators (3), name (4) }
  b.AddOffset(slot(0), tensors_v);
  b.AddOffset(slot(1), inputs);
  b.AddOffset(slot(2), outputs);
  b.AddOffset(slot(3), ops_v);
  b.AddOffset(slot(4), sg_name);
  const Offset<void> subgraph(b.EndTable(start));

  const Offset<void> meta_name = str(b, "TFLITE_METADATA");
  start = b.StartTable();  // Metadata { name (0), buffer (1) }
  b.AddOffset(slot(0), meta_name);
  b.AddElement<uint32_t>(slot(1), metadata_buffer, ~0u);
  const Offset<void> meta(b.EndTable(start));

  const Offset<void> codes_v = vec(b, codes), subgraphs = vec(b, std::vector<Offset<void>>{subgraph}),
                     description = str(b, "dltrain export"), buffers_v = vec(b, buffers),
                     metadata_v = vec(b, std::vector<Offset<void>>{meta});
  start = b.StartTable();  // Model { version (0), operator_codes (1), subgraphs (2), description (3), buffers (4), metadata (6) }
  b.AddElement<uint32_t>(slot(0), 3, 0);
  b.AddOffset(slot(1), codes_v);
  b.AddOffset(slot(2), subgraphs);
  b.AddOffset(slot(3), description);
  b.AddOffset(slot(4), buffers_v);
  b.AddOffset(slot(6), metadata_v);
  b.Finish(Offset<void>(b.EndTable(start)), "TFL3");
  DLT_CHECK(b.GetSize() < (uint64_t(1) << 31), "TFLite export: the model is over 2 GiB, FlatBuffers' limit");

  std::string out(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  std::string labels;
  for (const std::string& l : info.labels) labels += l + "\n";
  out += zip_one("labels.txt", labels, uint32_t(out.size()));
  return out;
}

}  // namespace dltrain::tflite_export
