#include "encmol/core/binary.hpp"

#include <sodium.h>
#include <zstd.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <mutex>

#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"

static_assert(std::endian::native == std::endian::little,
              "encmol's binary formats assume a little-endian host");

namespace encmol::core {
namespace {

constexpr std::array<std::uint8_t, 8> kMagic = {'E', 'N', 'C', 'M', 'O', 'L', 0, 0x1a};

void ensure_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw Error("libsodium failed to initialise");
  });
}

std::string kind_text(Kind k) {
  std::string s;
  for (char c : k) {
    if (c >= 0x20 && c < 0x7f) {
      s.push_back(c);
    } else {
      s += "\\x" + to_hex(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(&c), 1));
    }
  }
  return s;
}

void put_u32(std::uint8_t* p, std::uint32_t v) { std::memcpy(p, &v, 4); }
void put_u64(std::uint8_t* p, std::uint64_t v) { std::memcpy(p, &v, 8); }

}  // namespace

Digest blake2b_256(std::span<const std::uint8_t> data) {
  ensure_sodium();
  Digest out{};
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), nullptr, 0);
  return out;
}

std::string to_hex(std::span<const std::uint8_t> data) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.reserve(data.size() * 2);
  for (auto b : data) {
    s.push_back(digits[b >> 4]);
    s.push_back(digits[b & 15]);
  }
  return s;
}

// ---- ByteWriter -----------------------------------------------------------

void ByteWriter::u32(std::uint32_t v) {
  std::uint8_t b[4];
  put_u32(b, v);
  buffer_.insert(buffer_.end(), b, b + 4);
}

void ByteWriter::u64(std::uint64_t v) {
  std::uint8_t b[8];
  put_u64(b, v);
  buffer_.insert(buffer_.end(), b, b + 8);
}

void ByteWriter::f64(double v) { u64(std::bit_cast<std::uint64_t>(v)); }

void ByteWriter::bytes(std::span<const std::uint8_t> data) {
  buffer_.insert(buffer_.end(), data.begin(), data.end());
}

void ByteWriter::string(std::string_view s) {
  u64(s.size());
  buffer_.insert(buffer_.end(), s.begin(), s.end());
}

void ByteWriter::f64_vector(std::span<const double> v) {
  u64(v.size());
  const std::size_t at = buffer_.size();
  buffer_.resize(at + v.size() * 8);
  if (!v.empty()) std::memcpy(buffer_.data() + at, v.data(), v.size() * 8);
}

void ByteWriter::u64_vector(std::span<const std::uint64_t> v) {
  u64(v.size());
  const std::size_t at = buffer_.size();
  buffer_.resize(at + v.size() * 8);
  if (!v.empty()) std::memcpy(buffer_.data() + at, v.data(), v.size() * 8);
}

// ---- ByteReader -----------------------------------------------------------

void ByteReader::fail(const std::string& what) const {
  throw FormatError(context_ + ": " + what + " (at byte " + std::to_string(offset_) + ")");
}

void ByteReader::need(std::size_t n) {
  if (n > remaining()) {
    fail("truncated data: needed " + std::to_string(n) + " more bytes, " +
         std::to_string(remaining()) + " left");
  }
}

std::uint8_t ByteReader::u8() {
  need(1);
  return data_[offset_++];
}

std::uint32_t ByteReader::u32() {
  need(4);
  std::uint32_t v;
  std::memcpy(&v, data_.data() + offset_, 4);
  offset_ += 4;
  return v;
}

std::uint64_t ByteReader::u64() {
  need(8);
  std::uint64_t v;
  std::memcpy(&v, data_.data() + offset_, 8);
  offset_ += 8;
  return v;
}

double ByteReader::f64() { return std::bit_cast<double>(u64()); }

double ByteReader::finite_f64(std::string_view what) {
  const double v = f64();
  if (!std::isfinite(v)) fail(std::string(what) + " is not a finite number");
  return v;
}

std::span<const std::uint8_t> ByteReader::bytes(std::size_t n) {
  need(n);
  auto s = data_.subspan(offset_, n);
  offset_ += n;
  return s;
}

std::size_t ByteReader::count(std::string_view what, std::size_t max_count,
                              std::size_t element_bytes) {
  const std::uint64_t n = u64();
  if (n > max_count) {
    fail(std::string(what) + " count " + std::to_string(n) + " exceeds the maximum of " +
         std::to_string(max_count));
  }
  if (element_bytes > 0 && n > remaining() / element_bytes) {
    fail(std::string(what) + " count " + std::to_string(n) +
         " is larger than the remaining data can hold");
  }
  return static_cast<std::size_t>(n);
}

std::string ByteReader::string(std::size_t max_length) {
  const std::size_t n = count("string length", max_length, 1);
  auto s = bytes(n);
  return std::string(s.begin(), s.end());
}

std::vector<double> ByteReader::f64_vector(std::size_t max_count) {
  const std::size_t n = count("vector length", max_count, 8);
  std::vector<double> v(n);
  auto s = bytes(n * 8);
  if (n) std::memcpy(v.data(), s.data(), n * 8);
  return v;
}

std::vector<std::uint64_t> ByteReader::u64_vector(std::size_t max_count) {
  const std::size_t n = count("vector length", max_count, 8);
  std::vector<std::uint64_t> v(n);
  auto s = bytes(n * 8);
  if (n) std::memcpy(v.data(), s.data(), n * 8);
  return v;
}

void ByteReader::expect_end() const {
  if (remaining() != 0) {
    fail(std::to_string(remaining()) + " unexpected trailing bytes");
  }
}

// ---- Envelope -------------------------------------------------------------

Bytes seal_envelope(Kind kind, std::uint32_t version, std::span<const std::uint8_t> payload) {
  Bytes out(kEnvelopeHeaderBytes + payload.size() + 32);
  std::memcpy(out.data(), kMagic.data(), 8);
  std::memcpy(out.data() + 8, kind.data(), 4);
  put_u32(out.data() + 12, version);
  put_u64(out.data() + 16, payload.size());
  if (!payload.empty()) std::memcpy(out.data() + kEnvelopeHeaderBytes, payload.data(), payload.size());
  const Digest d = blake2b_256(std::span(out.data(), kEnvelopeHeaderBytes + payload.size()));
  std::memcpy(out.data() + kEnvelopeHeaderBytes + payload.size(), d.data(), 32);
  return out;
}

Kind peek_envelope_kind(std::span<const std::uint8_t> bytes) {
  Kind k{0, 0, 0, 0};
  if (bytes.size() >= 12 && std::memcmp(bytes.data(), kMagic.data(), 8) == 0) {
    std::memcpy(k.data(), bytes.data() + 8, 4);
  }
  return k;
}

OpenedEnvelope open_envelope(std::span<const std::uint8_t> bytes, Kind expected_kind,
                             std::uint32_t max_version, const std::string& context,
                             std::string_view what) {
  const std::string w(what);
  if (bytes.size() < kEnvelopeOverheadBytes || std::memcmp(bytes.data(), kMagic.data(), 8) != 0) {
    throw FormatError(context + ": not an encmol " + w + " (missing encmol file header)");
  }
  Kind kind;
  std::memcpy(kind.data(), bytes.data() + 8, 4);
  if (kind != expected_kind) {
    throw FormatError(context + ": expected an encmol " + w + " (kind '" + kind_text(expected_kind) +
                      "'), found kind '" + kind_text(kind) + "'");
  }
  std::uint32_t version;
  std::memcpy(&version, bytes.data() + 12, 4);
  if (version == 0 || version > max_version) {
    throw FormatError(context + ": " + w + " format version " + std::to_string(version) +
                      " is not supported (this build reads versions 1 to " +
                      std::to_string(max_version) + ")");
  }
  std::uint64_t length;
  std::memcpy(&length, bytes.data() + 16, 8);
  if (length != bytes.size() - kEnvelopeOverheadBytes) {
    throw FormatError(context + ": " + w + " is truncated or has trailing data (header says " +
                      std::to_string(length) + " payload bytes, file holds " +
                      std::to_string(bytes.size() - kEnvelopeOverheadBytes) + ")");
  }
  const Digest d = blake2b_256(bytes.first(kEnvelopeHeaderBytes + length));
  if (std::memcmp(d.data(), bytes.data() + kEnvelopeHeaderBytes + length, 32) != 0) {
    throw FormatError(context + ": " + w + " checksum mismatch: the data is corrupt");
  }
  return OpenedEnvelope{version, bytes.subspan(kEnvelopeHeaderBytes, length)};
}

void save_envelope_file(const std::filesystem::path& path, Kind kind, std::uint32_t version,
                        std::span<const std::uint8_t> payload, Access access) {
  write_file_atomic(path, seal_envelope(kind, version, payload), access);
}

LoadedEnvelope load_envelope_file(const std::filesystem::path& path, Kind expected_kind,
                                  std::uint32_t max_version, std::string_view what,
                                  std::uint64_t max_bytes) {
  const Bytes bytes = read_file_bytes(path, max_bytes);
  const auto opened = open_envelope(bytes, expected_kind, max_version, path.string(), what);
  return LoadedEnvelope{opened.version, Bytes(opened.payload.begin(), opened.payload.end())};
}

// ---- zstd -----------------------------------------------------------------

Bytes zstd_compress(std::span<const std::uint8_t> data, int level) {
  Bytes out(ZSTD_compressBound(data.size()));
  const std::size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
  if (ZSTD_isError(n)) throw Error(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

Bytes zstd_decompress(std::span<const std::uint8_t> data, std::uint64_t max_bytes,
                      const std::string& context) {
  const unsigned long long declared = ZSTD_getFrameContentSize(data.data(), data.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) {
    throw FormatError(context + ": corrupt zstd data");
  }
  if (declared == ZSTD_CONTENTSIZE_UNKNOWN || declared > max_bytes) {
    throw FormatError(context + ": zstd data declares " +
                      (declared == ZSTD_CONTENTSIZE_UNKNOWN ? std::string("an unknown size")
                                                            : std::to_string(declared) + " bytes") +
                      ", the limit is " + std::to_string(max_bytes) + " bytes");
  }
  Bytes out(static_cast<std::size_t>(declared));
  const std::size_t n = ZSTD_decompress(out.data(), out.size(), data.data(), data.size());
  if (ZSTD_isError(n) || n != declared) {
    throw FormatError(context + ": corrupt zstd data" +
                      (ZSTD_isError(n) ? std::string(" (") + ZSTD_getErrorName(n) + ")" : ""));
  }
  return out;
}

}  // namespace encmol::core
