// What stb_image 2.27 (Debian 12) does not check itself:
// - PNG: it allocates a chunk's claimed length before reading it, so 520 bytes claiming a 1.3 GB
//   IDAT chunk cost 1.3 GB (found by fuzzing). Every chunk must lie inside the file.
// - JPEG: a DHT (Huffman table) segment gives 16 code counts whose sum is the table's symbol count;
//   stb writes that many entries into 257- and 256-entry arrays without checking the sum (up to
//   16 x 255), an out-of-bounds write (found by fuzzing the decoder built with ASan). A table may
//   have at most 256 symbols (ITU T.81, B.2.4.2). And a scan may only use tables defined before it.
// - BMP: it takes abs() of the header's signed height, undefined for -2^31 (found by fuzzing with
//   UBSan). Width and height must be sizes: width above 0, height not 0 (negative means top-down),
//   and the pixel rows they imply must lie inside the file.
// The JPEG walk finds every segment stb_image could read as one: it steps over each marker segment
// by its length, and elsewhere (entropy-coded data, or junk stb skips between segments) takes any
// 0xFF byte, after fill bytes, as the start of a marker, as stb does when it resynchronises. So a
// table hidden from a strict parser is still checked. Past the end of the file stb reads zeros;
// the check reads the same.
#include "image_checks.hpp"

#include <cstdint>
#include <limits>

#include "dltrain/core.hpp"

namespace dltrain {
namespace {

uint32_t big_u32(const unsigned char* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

void check_png(const std::string& path, std::string_view b) {
  const auto* p = reinterpret_cast<const unsigned char*>(b.data());
  for (size_t at = 8; at + 8 <= b.size();) {
    const uint32_t length = big_u32(p + at);
    if (length > b.size() - at - 8)
      throw Error(path + ": not a readable image (png: the chunk at byte " + std::to_string(at) + " claims " +
                      std::to_string(length) + " bytes, past the end of the file)",
                  "the file is truncated or damaged");
    if (b.compare(at + 4, 4, "IEND") == 0) break;
    at += 12 + size_t(length);
  }
}

uint32_t little_u32(const unsigned char* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

uint16_t little_u16(const unsigned char* p) { return uint16_t(p[0] | p[1] << 8); }

void check_bmp(const std::string& path, std::string_view b) {
  const auto* p = reinterpret_cast<const unsigned char*>(b.data());
  if (b.size() < 26) return;  // stb refuses it
  const bool core = little_u32(p + 14) == 12;  // the old header: unsigned 16-bit sizes
  const int64_t width = core ? little_u16(p + 18) : int32_t(little_u32(p + 18)),
                height = core ? little_u16(p + 20) : int32_t(little_u32(p + 22));
  if (width <= 0 || height == 0 || height == std::numeric_limits<int32_t>::min())
    throw Error(path + ": not a readable image (bmp: the header's size " + std::to_string(width) + "x" +
                    std::to_string(height) + " is not a picture's)",
                "the file is damaged");
  // The pixel rows (uncompressed: stb reads no other kind) must be in the file: stb reads zeros
  // past its end, so 70 bytes claiming 2 x 16.7 million pixels took 13 s to decode (fuzzing).
  const size_t bits_at = core ? 24 : 28;
  if (b.size() < bits_at + 2 || (!core && b.size() >= 34 && little_u32(p + 30) != 0 && little_u32(p + 30) != 3)) return;
  const int64_t row = (width * little_u16(p + bits_at) + 31) / 32 * 4,  // below 2^53: width < 2^31, bits < 2^16
      rows = height < 0 ? -height : height, offset = little_u32(p + 10);
  if (row > 0 && (rows > (int64_t(b.size()) - offset) / row || offset > int64_t(b.size())))
    throw Error(path + ": not a readable image (bmp: the header says " + std::to_string(width) + "x" +
                    std::to_string(rows) + " pixels in rows of " + std::to_string(row) + " bytes from byte " +
                    std::to_string(offset) + ", past the end of the file at " + std::to_string(b.size()) + ")",
                "the file is truncated or damaged");
}

// Which Huffman tables DHT segments have defined so far: [class 0 = DC, 1 = AC][destination 0-3].
using Defined = bool[2][4];

// The DHT segment whose length field is at byte `at`, read as stb_image reads it.

void check_dht(const std::string& path, std::string_view b, size_t at, Defined& defined) {
  auto byte = [&](size_t i) -> int { return i < b.size() ? static_cast<unsigned char>(b[i]) : 0; };
  int64_t left = (int64_t(byte(at)) << 8 | byte(at + 1)) - 2;
  size_t i = at + 2;
  while (left > 0) {
    const size_t table = i;
    const int q = byte(i++);
    if (q >> 4 <= 1 && (q & 15) <= 3) defined[q >> 4][q & 15] = true;  // stb refuses other values
    int64_t symbols = 0;
    for (int k = 0; k < 16; ++k) symbols += byte(i++);
    if (symbols > 256)
      throw Error(path + ": not a readable image (jpeg: the Huffman table at byte " + std::to_string(table) +
                      " has " + std::to_string(symbols) + " codes; a table has at most 256)",
                  "the file is damaged");
    i += size_t(symbols);
    left -= 17 + symbols;
  }
}

// The SOS segment whose length field is at byte `at`: the tables its scan decodes with must have
// been defined (stb_image allocates its decoder state without clearing it, so an undefined table
// is whatever the heap held: out-of-bounds reads through its symbol offsets, found by fuzzing).
// Baseline scans use both; a progressive scan uses the DC table when it starts at coefficient 0
// and the AC table when it ends after it.
void check_sos(const std::string& path, std::string_view b, size_t at, bool progressive, const Defined& defined) {
  auto byte = [&](size_t i) -> int { return i < b.size() ? static_cast<unsigned char>(b[i]) : 0; };
  const int components = byte(at + 2);
  if (components < 1 || components > 4) return;  // stb refuses the segment
  const size_t spectrum = at + 3 + 2 * size_t(components);
  const bool dc = !progressive || byte(spectrum) == 0, ac = !progressive || byte(spectrum + 1) > 0;
  for (int k = 0; k < components; ++k) {
    const int tables = byte(at + 4 + 2 * size_t(k)), td = tables >> 4, ta = tables & 15;
    if (td > 3 || ta > 3) return;  // stb refuses the segment
    if ((dc && !defined[0][td]) || (ac && !defined[1][ta]))
      throw Error(path + ": not a readable image (jpeg: the scan at byte " + std::to_string(at - 2) +
                      " decodes with Huffman table " + (dc && !defined[0][td] ? "DC " + std::to_string(td)
                                                                              : "AC " + std::to_string(ta)) +
                      ", which no DHT segment before it defines)",
                  "the file is damaged");
  }
}

void check_jpeg(const std::string& path, std::string_view b) {
  const auto* p = reinterpret_cast<const unsigned char*>(b.data());
  const size_t n = b.size();
  size_t at = 2;  // after SOI
  Defined defined{};
  bool progressive = false;
  while (at < n) {
    if (p[at] != 0xFF) {  // entropy-coded data or junk: look for the next marker
      ++at;
      continue;
    }
    while (at < n && p[at] == 0xFF) ++at;  // fill bytes
    if (at >= n) return;
    const unsigned char marker = p[at++];
    if (marker == 0xD9) return;  // EOI: stb reads nothing after it
    // Stuffed zero, restart markers, TEM and SOI carry no length.
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;
    if (marker == 0xC4) check_dht(path, b, at, defined);
    if (marker == 0xC2) progressive = true;  // stb's only progressive frame type
    if (marker == 0xDA) check_sos(path, b, at, progressive, defined);
    if (at + 2 > n) return;
    at += size_t(p[at]) << 8 | p[at + 1];
  }
}

}  // namespace

void check_image_structure(const std::string& path, const std::string& format, std::string_view bytes) {
  if (format == "png") check_png(path, bytes);
  if (format == "jpeg") check_jpeg(path, bytes);
  if (format == "bmp") check_bmp(path, bytes);
}

}  // namespace dltrain
