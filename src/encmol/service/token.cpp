#include "encmol/service/token.hpp"

#include <sodium.h>

#include <algorithm>

#include "encmol/core/binary.hpp"
#include "encmol/core/error.hpp"

namespace encmol::service::token {

namespace {

constexpr std::string_view kPrefix = "emt_";

void ensure_sodium() {
  // sodium_init is idempotent and thread-safe; it only has to run once before
  // randombytes_buf is used.
  static const int status = sodium_init();
  if (status < 0) throw Error("libsodium failed to initialise; no secure randomness for tokens");
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Lower-case hex only, so that every token has exactly one spelling.
bool decode_hex(std::string_view hex, std::span<std::uint8_t> out) {
  if (hex.size() != 2 * out.size()) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

}  // namespace

Parsed::Parsed(Parsed&& other) noexcept : id(std::move(other.id)), secret(other.secret) {
  sodium_memzero(other.secret.data(), other.secret.size());
}

Parsed::~Parsed() { sodium_memzero(secret.data(), secret.size()); }

Issued issue() {
  ensure_sodium();
  std::array<std::uint8_t, kIdBytes> id_bytes{};
  std::array<std::uint8_t, kSecretBytes> secret{};
  Issued out;
  randombytes_buf(id_bytes.data(), id_bytes.size());
  randombytes_buf(secret.data(), secret.size());
  randombytes_buf(out.salt.data(), out.salt.size());
  out.id = core::to_hex(id_bytes);
  out.hash = hash(out.id, secret, out.salt);
  out.text.reserve(kTokenChars);
  out.text.append(kPrefix).append(out.id).append("_").append(core::to_hex(secret));
  sodium_memzero(secret.data(), secret.size());
  return out;
}

std::optional<Parsed> parse(std::string_view text) {
  if (text.size() != kTokenChars || text.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  const std::string_view id = text.substr(kPrefix.size(), 2 * kIdBytes);
  if (text[kPrefix.size() + id.size()] != '_') return std::nullopt;
  std::array<std::uint8_t, kIdBytes> id_bytes{};
  if (!decode_hex(id, id_bytes)) return std::nullopt;
  Parsed out;
  if (!decode_hex(text.substr(kPrefix.size() + id.size() + 1), out.secret)) return std::nullopt;
  out.id = std::string(id);
  return out;
}

Hash hash(const std::string& id, std::span<const std::uint8_t> secret, const Salt& salt) {
  static_assert(kSaltBytes >= crypto_generichash_KEYBYTES_MIN);
  static_assert(kHashBytes == crypto_generichash_BYTES);
  ensure_sodium();
  // The id is hashed too: a stored hash only matches under its own row's id.
  crypto_generichash_state state;
  crypto_generichash_init(&state, salt.data(), salt.size(), kHashBytes);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(id.data()), id.size());
  crypto_generichash_update(&state, secret.data(), secret.size());
  Hash out{};
  crypto_generichash_final(&state, out.data(), out.size());
  sodium_memzero(&state, sizeof state);
  return out;
}

bool matches(const Parsed& token, std::span<const std::uint8_t> salt,
             std::span<const std::uint8_t> stored_hash) {
  if (salt.size() != kSaltBytes || stored_hash.size() != kHashBytes) return false;
  Salt s{};
  std::copy(salt.begin(), salt.end(), s.begin());
  const Hash computed = hash(token.id, token.secret, s);
  return sodium_memcmp(computed.data(), stored_hash.data(), kHashBytes) == 0;
}

}  // namespace encmol::service::token
