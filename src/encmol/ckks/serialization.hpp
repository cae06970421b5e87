// Binary serialization of CKKS parameter sets, keys, plaintexts and
// ciphertexts (byte layouts in docs/formats.md).
//
// Every object travels inside the checksummed core envelope (core/binary.hpp)
// with its own kind ("CKPS", "CKSK", "CKPK", "CKRK", "CKGK", "CKPT", "CKCT").
// Every payload except the parameter set's starts with ParameterSet::hash(),
// and decoding takes the Context the object must belong to. Decoders check
// every length and count against the parameters before allocating, every
// residue against its modulus and every scalar field against its legal range:
// a corrupt or hostile input gives a FormatError naming `context_name` (a file
// name, "query message", ...) and the field, never a crash or an unbounded
// allocation.
//
// Size: the uniform half of keys and of fresh secret-key ciphertexts travels
// as its 32-byte seed; residues are bit-packed to the width of their prime by
// default; zstd compression of the body is optional.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "encmol/ckks/context.hpp"
#include "encmol/ckks/keys.hpp"
#include "encmol/ckks/params.hpp"
#include "encmol/ckks/types.hpp"
#include "encmol/core/binary.hpp"

namespace encmol::ckks {

struct SerializeOptions {
  /// Residues of prime q_i take bit_width(q_i) bits instead of 64 (secret-key
  /// coefficients 2 bits instead of 8).
  bool pack = true;
  /// zstd-compress the body (after the shape fields). Little gain on packed
  /// residues (they are uniform); useful on unpacked ones and on plaintexts
  /// of structured vectors.
  bool compress = false;
  int compression_level = 3;
  /// Send the seed instead of polynomial 1 of a ciphertext whose c1_seed is
  /// set. Keys are always sent seeded.
  bool use_seed = true;
};

/// Envelope format version written (and the highest one read) for every kind.
inline constexpr std::uint32_t kSerializationVersion = 1;

// ---- serialization. Objects are checked against the context (hash, shape,
// residues < modulus) and a ParameterError is thrown if they are malformed. ----
core::Bytes serialize(const ParameterSet& params);
core::Bytes serialize(const Context& ctx, const SecretKey& sk,
                      const SerializeOptions& options = {});
core::Bytes serialize(const Context& ctx, const PublicKey& pk,
                      const SerializeOptions& options = {});
core::Bytes serialize(const Context& ctx, const RelinKey& rk, const SerializeOptions& options = {});
core::Bytes serialize(const Context& ctx, const GaloisKeys& gk,
                      const SerializeOptions& options = {});
core::Bytes serialize(const Context& ctx, const Plaintext& pt,
                      const SerializeOptions& options = {});
core::Bytes serialize(const Context& ctx, const Ciphertext& ct,
                      const SerializeOptions& options = {});

// ---- deserialization. `context_name` (file name, "query message", ...)
// prefixes every error message. ----

/// Re-validates the decoded set (ParameterSet::validate(): primes, 128-bit
/// security): ParameterError / SecurityError prefixed with `context_name`.
/// `allow_insecure` is the caller's TEST-ONLY opt-out; it never travels in
/// the bytes, so a file cannot switch the security check off.
ParameterSet deserialize_parameters(std::span<const std::uint8_t> bytes,
                                    const std::string& context_name, bool allow_insecure = false);
/// The key comes back with its NTT form expanded (ready to use).
SecretKey deserialize_secret_key(std::span<const std::uint8_t> bytes, const Context& ctx,
                                 const std::string& context_name);
/// Keys come back with the uniform half re-expanded from the seed.
PublicKey deserialize_public_key(std::span<const std::uint8_t> bytes, const Context& ctx,
                                 const std::string& context_name);
RelinKey deserialize_relin_key(std::span<const std::uint8_t> bytes, const Context& ctx,
                               const std::string& context_name);
GaloisKeys deserialize_galois_keys(std::span<const std::uint8_t> bytes, const Context& ctx,
                                   const std::string& context_name);
Plaintext deserialize_plaintext(std::span<const std::uint8_t> bytes, const Context& ctx,
                                const std::string& context_name);
/// A seeded ciphertext comes back with polynomial 1 re-expanded and c1_seed set.
Ciphertext deserialize_ciphertext(std::span<const std::uint8_t> bytes, const Context& ctx,
                                  const std::string& context_name);

// ---- files: atomic write; reads capped at the largest size the parameters
// allow for that kind of object (max_serialized_bytes). ----
void save(const std::filesystem::path& path, const ParameterSet& params);
void save(const std::filesystem::path& path, const Context& ctx, const SecretKey& sk,
          const SerializeOptions& options = {});
void save(const std::filesystem::path& path, const Context& ctx, const PublicKey& pk,
          const SerializeOptions& options = {});
void save(const std::filesystem::path& path, const Context& ctx, const RelinKey& rk,
          const SerializeOptions& options = {});
void save(const std::filesystem::path& path, const Context& ctx, const GaloisKeys& gk,
          const SerializeOptions& options = {});
void save(const std::filesystem::path& path, const Context& ctx, const Plaintext& pt,
          const SerializeOptions& options = {});
void save(const std::filesystem::path& path, const Context& ctx, const Ciphertext& ct,
          const SerializeOptions& options = {});

ParameterSet load_parameters(const std::filesystem::path& path, bool allow_insecure = false);
SecretKey load_secret_key(const std::filesystem::path& path, const Context& ctx);
PublicKey load_public_key(const std::filesystem::path& path, const Context& ctx);
RelinKey load_relin_key(const std::filesystem::path& path, const Context& ctx);
GaloisKeys load_galois_keys(const std::filesystem::path& path, const Context& ctx);
Plaintext load_plaintext(const std::filesystem::path& path, const Context& ctx);
Ciphertext load_ciphertext(const std::filesystem::path& path, const Context& ctx);

/// The envelope kinds, e.g. for core::peek_envelope_kind.
inline constexpr core::Kind kKindParameters = core::make_kind("CKPS");
inline constexpr core::Kind kKindSecretKey = core::make_kind("CKSK");
inline constexpr core::Kind kKindPublicKey = core::make_kind("CKPK");
inline constexpr core::Kind kKindRelinKey = core::make_kind("CKRK");
inline constexpr core::Kind kKindGaloisKeys = core::make_kind("CKGK");
inline constexpr core::Kind kKindPlaintext = core::make_kind("CKPT");
inline constexpr core::Kind kKindCiphertext = core::make_kind("CKCT");

/// Upper bound on the serialized size (envelope included, any options) of an
/// object of `kind` under these parameters; the file readers' size cap. For
/// Galois keys it assumes every one of the N possible Galois elements.
std::uint64_t max_serialized_bytes(core::Kind kind, const Context& ctx);

}  // namespace encmol::ckks
