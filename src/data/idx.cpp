// IDX reader (the MNIST family's format): big-endian header, unsigned bytes, raw or gzip.
#include <zlib.h>

#include <array>
#include <filesystem>
#include <memory>

#include "dltrain/data.hpp"
#include "dltrain/path.hpp"

namespace dltrain {
namespace {

// Limits (README, "Data"): rank 1 to 4, each dimension 1 to 2^31 - 1, at most 16 GiB of data.
// A gzip file inflates at most 1032:1 (deflate's best case), so a header that promises more than
// that is refused before anything is inflated; reading stops one byte past the promised size.
constexpr int64_t max_payload = int64_t(16) << 30;
constexpr int64_t max_dimension = (int64_t(1) << 31) - 1;
constexpr int64_t max_deflate_ratio = 1032;

const char* idx_type_name(int t) {
  switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return nullptr;
  }
}

struct GzFile {
  gzFile f;
  ~GzFile() { if (f) gzclose(f); }
};

}  // namespace

Tensor read_idx(const std::string& path) {
  auto fail = [&](const std::string& what) -> Error {
    return Error(path + ": " + what, "re-download the file; IDX files are read as published (raw or .gz)");
  };
  require_file(path);
  GzFile gz{gzopen(path.c_str(), "rb")};
  if (!gz.f) throw Error(path + ": cannot open for reading");
  auto read_exact = [&](void* dst, size_t n) -> size_t {
    const int got = gzread(gz.f, dst, unsigned(n));
    int err = Z_OK;
    const char* msg = gzerror(gz.f, &err);
    if (got < 0 || (err != Z_OK && err != Z_STREAM_END)) throw fail(std::string("corrupt gzip data (") + msg + ")");
    return size_t(got);
  };
  std::array<uint8_t, 4> magic{};
  if (read_exact(magic.data(), 4) != 4) throw fail("truncated: shorter than the 4-byte IDX header");
  if (magic[0] != 0 || magic[1] != 0 || !idx_type_name(magic[2]))
    throw fail("not an IDX file (bad magic " + std::to_string(magic[0]) + " " + std::to_string(magic[1]) + " " +
               std::to_string(magic[2]) + ")");
  if (magic[2] != 0x08)
    throw fail(std::string("element type is ") + idx_type_name(magic[2]) + "; the MNIST family uses unsigned byte");
  const int rank = magic[3];
  if (rank < 1 || rank > 4) throw fail("rank " + std::to_string(rank) + " is not 1-4");
  std::vector<int64_t> dims;
  int64_t payload = 1;
  for (int i = 0; i < rank; ++i) {
    std::array<uint8_t, 4> b{};
    if (read_exact(b.data(), 4) != 4) throw fail("truncated inside the header");
    const int64_t d = (int64_t(b[0]) << 24) | (int64_t(b[1]) << 16) | (int64_t(b[2]) << 8) | int64_t(b[3]);
    if (d == 0) throw fail("dimension " + std::to_string(i) + " is zero");
    if (d > max_dimension)
      throw fail("dimension " + std::to_string(i) + " is " + std::to_string(d) + ", above the limit of " +
                 std::to_string(max_dimension));
    if (d > max_payload / payload)
      throw fail("absurd dimensions (header claims more than 16 GiB of data, the limit for one IDX file)");
    payload *= d;
    dims.push_back(d);
  }
  // What the file can hold at most: its size (raw), or 1032 times it (gzip).
  const int64_t header_bytes = 4 + 4 * int64_t(rank);
  const int64_t file_bytes = int64_t(dltrain::file_bytes(path));
  const bool raw = gzdirect(gz.f) != 0;
  if (raw && file_bytes - header_bytes < payload)
    throw fail("truncated: header promises " + std::to_string(payload) + " data bytes, file has " +
               std::to_string(file_bytes - header_bytes));
  if (!raw && file_bytes < (header_bytes + payload) / max_deflate_ratio)
    throw fail("header promises " + std::to_string(payload) + " data bytes, more than a " + std::to_string(file_bytes) +
               "-byte gzip file can inflate to (" + std::to_string(max_deflate_ratio) + ":1 at most)");
  // Read in chunks, and no further than the promised size plus one byte, so a lying header or a
  // gzip bomb costs at most the promised bytes.
  std::vector<std::vector<uint8_t>> chunks;
  constexpr int64_t chunk = int64_t(1) << 20;
  int64_t have = 0;
  while (have < payload) {
    std::vector<uint8_t>& c = chunks.emplace_back(size_t(std::min(chunk, payload - have)));
    const size_t got = read_exact(c.data(), c.size());
    c.resize(got);
    have += int64_t(got);
    if (got == 0) break;
  }
  if (have < payload)
    throw fail("truncated: header promises " + std::to_string(payload) + " data bytes, file has " +
               std::to_string(have));
  uint8_t extra = 0;
  if (read_exact(&extra, 1) != 0) throw fail("trailing bytes after the " + std::to_string(payload) + " data bytes");
  Tensor t(Shape(std::span<const int64_t>(dims)), DType::u8);
  uint8_t* to = t.u8();
  for (std::vector<uint8_t>& c : chunks) {
    to = std::copy(c.begin(), c.end(), to);
    std::vector<uint8_t>().swap(c);
  }
  return t;
}

}  // namespace dltrain
