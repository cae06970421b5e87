// Helpers shared by the secure layer's files and roles (internal): length-prefixed
// blobs, digests, the size caps of query and result files, the name seal.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "encmol/ckks/context.hpp"
#include "encmol/ckks/keys.hpp"
#include "encmol/ckks/serialization.hpp"
#include "encmol/core/binary.hpp"

namespace encmol::secure::wire {

inline constexpr std::uint64_t kMaxCardBytes = std::uint64_t{64} << 20;
inline constexpr std::size_t kMaxCiphertexts = 1 << 16;
inline constexpr std::size_t kMaxNameLength = 4096;

inline void write_blob(core::ByteWriter& w, const core::Bytes& b) {
  w.u64(b.size());
  w.bytes(b);
}
inline std::span<const std::uint8_t> read_blob(core::ByteReader& r, const char* what,
                                               std::size_t max) {
  const std::size_t n = r.count(what, max);
  return r.bytes(n);
}
inline core::Digest read_digest(core::ByteReader& r) {
  core::Digest d{};
  auto b = r.bytes(32);
  std::copy(b.begin(), b.end(), d.begin());
  return d;
}
inline std::string short_hex(const core::Digest& d) { return core::to_hex(std::span(d.data(), 8)); }

/// Seals molecule names under a key derived from the client's secret key (XSalsa20-Poly1305).
core::Bytes seal_names(const ckks::SecretKey& sk, const std::vector<std::string>& names);
/// Opens them; FormatError when altered, sealed under another key or of another count.
std::vector<std::string> open_names(const ckks::SecretKey& sk, const core::Bytes& sealed,
                                    std::size_t expected);

}  // namespace encmol::secure::wire
