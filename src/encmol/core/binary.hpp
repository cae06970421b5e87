// Little-endian binary encoding, bounds-checked decoding, and the checksummed
// envelope every encmol file and message uses (DESIGN.md §6):
//
//   offset  size  field
//   0       8     magic "ENCMOL\0\x1a"
//   8       4     kind: four ASCII characters naming the object ("MODL", "CKCT", ...)
//   12      4     format version of that kind (u32)
//   16      8     payload length in bytes (u64)
//   24      n     payload
//   24+n    32    BLAKE2b-256 of bytes [0, 24+n)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "encmol/core/file_io.hpp"

namespace encmol::core {

using Bytes = std::vector<std::uint8_t>;
using Digest = std::array<std::uint8_t, 32>;

/// BLAKE2b-256 (libsodium). Used for checksums and parameter hashes.
Digest blake2b_256(std::span<const std::uint8_t> data);
std::string to_hex(std::span<const std::uint8_t> data);

/// Appends little-endian values to a byte buffer.
class ByteWriter {
 public:
  void u8(std::uint8_t v) { buffer_.push_back(v); }
  void u32(std::uint32_t v);
  void u64(std::uint64_t v);
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void f64(double v);
  void bytes(std::span<const std::uint8_t> data);
  /// Length-prefixed (u64) string.
  void string(std::string_view s);
  /// Length-prefixed (u64) vectors.
  void f64_vector(std::span<const double> v);
  void u64_vector(std::span<const std::uint64_t> v);

  const Bytes& data() const { return buffer_; }
  Bytes take() { return std::move(buffer_); }
  std::size_t size() const { return buffer_.size(); }

 private:
  Bytes buffer_;
};

/// Reads little-endian values with every access bounds-checked. Errors are
/// FormatError naming `context` (usually the file name) and the byte offset.
/// Length prefixes are validated against both a caller-given maximum and the
/// bytes actually remaining before anything is allocated.
class ByteReader {
 public:
  ByteReader(std::span<const std::uint8_t> data, std::string context)
      : data_(data), context_(std::move(context)) {}

  std::uint8_t u8();
  std::uint32_t u32();
  std::uint64_t u64();
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  double f64();
  /// A finite double (rejects NaN and infinities).
  double finite_f64(std::string_view what);
  std::span<const std::uint8_t> bytes(std::size_t n);
  std::string string(std::size_t max_length);
  std::vector<double> f64_vector(std::size_t max_count);
  std::vector<std::uint64_t> u64_vector(std::size_t max_count);
  /// A count (u64) that must be <= max_count; `element_bytes` is the minimum
  /// encoded size of one element, used to reject counts the remaining data
  /// cannot possibly hold.
  std::size_t count(std::string_view what, std::size_t max_count, std::size_t element_bytes = 1);

  std::size_t remaining() const { return data_.size() - offset_; }
  std::size_t offset() const { return offset_; }
  /// Throws unless every byte was consumed.
  void expect_end() const;
  [[noreturn]] void fail(const std::string& what) const;
  const std::string& context() const { return context_; }

 private:
  void need(std::size_t n);
  std::span<const std::uint8_t> data_;
  std::size_t offset_ = 0;
  std::string context_;
};

/// Four-character object kind, e.g. kind("MODL").
using Kind = std::array<char, 4>;
constexpr Kind make_kind(const char (&s)[5]) { return {s[0], s[1], s[2], s[3]}; }

inline constexpr std::size_t kEnvelopeHeaderBytes = 24;
inline constexpr std::size_t kEnvelopeOverheadBytes = kEnvelopeHeaderBytes + 32;

/// Wraps a payload in the envelope described at the top of this file.
Bytes seal_envelope(Kind kind, std::uint32_t version, std::span<const std::uint8_t> payload);

struct OpenedEnvelope {
  std::uint32_t version = 0;
  std::span<const std::uint8_t> payload;  // view into the input buffer
};

/// Validates magic, kind, version (1..max_version), length and checksum, and
/// returns the payload. `context` (a file name or "query message") and
/// `what` ("model file") make the error messages.
OpenedEnvelope open_envelope(std::span<const std::uint8_t> bytes, Kind expected_kind,
                             std::uint32_t max_version, const std::string& context,
                             std::string_view what);

/// Peeks at the kind of an envelope without validating the rest; nullopt-like
/// empty kind ("\0\0\0\0") when the bytes are not an envelope.
Kind peek_envelope_kind(std::span<const std::uint8_t> bytes);

/// Envelope + atomic file write / bounded file read.
void save_envelope_file(const std::filesystem::path& path, Kind kind, std::uint32_t version,
                        std::span<const std::uint8_t> payload, Access access = Access::Public);
struct LoadedEnvelope {
  std::uint32_t version = 0;
  Bytes payload;
};
LoadedEnvelope load_envelope_file(const std::filesystem::path& path, Kind expected_kind,
                                  std::uint32_t max_version, std::string_view what,
                                  std::uint64_t max_bytes);

/// zstd compression; decompression refuses output larger than `max_bytes`.
Bytes zstd_compress(std::span<const std::uint8_t> data, int level = 3);
Bytes zstd_decompress(std::span<const std::uint8_t> data, std::uint64_t max_bytes,
                      const std::string& context);

}  // namespace encmol::core
