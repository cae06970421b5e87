// Bearer tokens of the service (docs/service.md): "emt_<id>_<secret>", with a
// random 8-byte id (16 hex digits) that finds the stored row and a random
// 32-byte secret (64 hex digits) that never leaves the client and the reply
// of `encmol admin token issue`. The store keeps a random 16-byte salt and
// BLAKE2b-256 keyed with that salt over id || secret, so a leaked database
// reveals no usable token, and compares in constant time.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace encmol::service::token {

inline constexpr std::size_t kIdBytes = 8;
inline constexpr std::size_t kSecretBytes = 32;
inline constexpr std::size_t kSaltBytes = 16;
inline constexpr std::size_t kHashBytes = 32;
/// "emt_" + 16 + "_" + 64 characters.
inline constexpr std::size_t kTokenChars = 4 + 2 * kIdBytes + 1 + 2 * kSecretBytes;

using Salt = std::array<std::uint8_t, kSaltBytes>;
using Hash = std::array<std::uint8_t, kHashBytes>;

/// A token split into its parts; the secret is wiped when this is destroyed.
class Parsed {
 public:
  Parsed() = default;
  Parsed(const Parsed&) = delete;
  Parsed& operator=(const Parsed&) = delete;
  Parsed(Parsed&& other) noexcept;
  ~Parsed();

  std::string id;  // 16 lower-case hex digits
  std::array<std::uint8_t, kSecretBytes> secret{};
};

/// A freshly issued token: `text` goes to the client once, the rest is stored.
struct Issued {
  std::string text;
  std::string id;
  Salt salt{};
  Hash hash{};
};

/// Random id, secret and salt (libsodium's CSPRNG).
Issued issue();

/// The parts of a well-formed token; nullopt for anything else (wrong length,
/// prefix, separators or non-lower-case-hex digits). Never throws.
std::optional<Parsed> parse(std::string_view text);

/// BLAKE2b-256 keyed with the salt over the id's bytes and the secret.
Hash hash(const std::string& id, std::span<const std::uint8_t> secret, const Salt& salt);

/// Whether the token matches a stored salt and hash (constant-time compare).
/// False, not an error, for a stored salt or hash of the wrong size.
bool matches(const Parsed& token, std::span<const std::uint8_t> salt,
             std::span<const std::uint8_t> stored_hash);

}  // namespace encmol::service::token
