// Encryption (public key, or secret key with a seeded uniform half) and decryption.
#pragma once

#include <memory>
#include <optional>

#include "encmol/ckks/context.hpp"
#include "encmol/ckks/keys.hpp"
#include "encmol/ckks/types.hpp"

namespace encmol::ckks {

class Encryptor {
 public:
  /// Public-key encryption: ((v*b + e0)/P + m, (v*a + e1)/P) computed over Q*P
  /// and divided by P (rounded), v ternary, e Gaussian: the fresh noise is the
  /// rounding error of the division, not v*e.
  Encryptor(std::shared_ptr<const Context> ctx, PublicKey pk);
  /// Secret-key encryption: (-a*s + e + m, a) with a expanded from a fresh seed
  /// (recorded in Ciphertext::c1_seed so it can travel as 32 bytes).
  Encryptor(std::shared_ptr<const Context> ctx, SecretKey sk);

  /// Encrypts at the plaintext's level and scale.
  Ciphertext encrypt(const Plaintext& pt) const;
  /// Secret-key encryption whose uniform half is expand_uniform(seed): the same
  /// seed always gives the same c1. Requires a secret-key Encryptor.
  Ciphertext encrypt_symmetric(const Plaintext& pt, const math::Seed& seed) const;
  /// An encryption of zero at `level` and `scale`.
  Ciphertext encrypt_zero(std::size_t level, double scale) const;

 private:
  void check(const Plaintext& pt) const;
  std::shared_ptr<const Context> ctx_;
  std::optional<PublicKey> pk_;
  std::optional<SecretKey> sk_;
};

class Decryptor {
 public:
  Decryptor(std::shared_ptr<const Context> ctx, SecretKey sk);
  /// m = c0 + c1*s (+ c2*s^2 for size-3 ciphertexts), at the ciphertext's level and scale.
  Plaintext decrypt(const Ciphertext& ct) const;

 private:
  std::shared_ptr<const Context> ctx_;
  SecretKey sk_;
};

/// Fills polynomial 1 of a ciphertext whose c1_seed is set (after loading a
/// seeded ciphertext): c1 = expand_uniform(seed) over q_0..q_level.
void expand_seeded_ciphertext(const Context& ctx, Ciphertext& ct);

}  // namespace encmol::ckks
