// Threshold (multi-party) CKKS, k of k: several parties hold additive shares
// s_1 .. s_k of one secret key s = s_1 + ... + s_k and nobody holds s.
// (Asharov et al., Eurocrypt 2012; Mouchet et al., PoPETs 2021, "MHE".)
//
//   key generation  A common reference seed (CRS) expands to the uniform a of
//                   the public key. Party i publishes b_i = -a s_i + e_i over
//                   all extended limbs; the joint key is (sum b_i, a), a
//                   public key of s. Encryption under it is ordinary CKKS
//                   public-key encryption (Encryptor).
//   decryption      Party i publishes d_i = c1 s_i + E_i, where E_i is a
//                   discrete Gaussian of std `smudging_sigma`, drawn from the
//                   OS CSPRNG ("smudging" / noise flooding: it hides the
//                   ciphertext noise, which depends on the parties' secrets,
//                   so the shares reveal nothing beyond the plaintext);
//                   c0 + sum d_i = m + e + sum E_i. Every party's share is
//                   needed: a missing one is a ParameterError, not a guess.
//
// Only additions are needed by the protocols built on this (sums of
// statistics), so no relinearization or Galois keys are made jointly.
//
// Integer (coefficient) encoding for exact sums: encode_integers puts
// value_j * 2^shift into coefficient j (not the slots), so sums of encrypted
// integers decode exactly as long as |sum| * 2^shift stays below Q/2 and
// the accumulated noise below 2^(shift-1); decode_integers checks the second
// condition (a corrupt or foreign decryption share fails it with
// overwhelming probability) and throws FormatError when it does not hold.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "encmol/ckks/context.hpp"
#include "encmol/ckks/keys.hpp"
#include "encmol/ckks/types.hpp"
#include "encmol/math/modarith.hpp"
#include "encmol/math/random.hpp"

namespace encmol::ckks {

/// Party i's share of the joint public key: b_i = -a s_i + e_i over all
/// extended limbs, a = expand_uniform(crs) (the PublicKey's seed is `crs`).
PublicKey public_key_share(const Context& ctx, const SecretKey& share, const math::Seed& crs);

/// The joint public key: sum of the shares. ParameterError when there are no
/// shares, or they differ in parameters or CRS.
PublicKey combine_public_key_shares(const Context& ctx, std::span<const PublicKey> shares);

/// One party's contribution to a joint decryption.
struct DecryptionShare {
  ParamHash params{};
  std::size_t level = 0;
  std::vector<std::uint64_t> data;  // (level + 1) * n residues, NTT form
};

/// c1 s_i + E_i at the ciphertext's level (size-2 ciphertexts only), E_i a
/// discrete Gaussian of std smudging_sigma (<= 2^40).
DecryptionShare partial_decrypt(const Context& ctx, const Ciphertext& ct, const SecretKey& share,
                                double smudging_sigma);

/// c0 + sum of the shares: the plaintext (NTT form, the ciphertext's level and
/// scale). ParameterError when a share is of another level or parameter set.
Plaintext combine_decryption_shares(const Context& ctx, const Ciphertext& ct,
                                    std::span<const DecryptionShare> shares);

/// A plaintext whose coefficient j is values[j] * 2^shift (j < values.size()
/// <= n; the others 0; shift <= 63) at `level`, NTT form, scale 2^shift.
Plaintext encode_integers(const Context& ctx, std::span<const math::i128> values, unsigned shift,
                          std::size_t level);

/// round(coefficient_j / 2^shift) for j < count, from the centered
/// coefficients. FormatError when a coefficient lies farther than
/// `max_noise` from a multiple of 2^shift, or the quotient does not fit 127
/// bits: the ciphertext or a decryption share is corrupt.
std::vector<math::i128> decode_integers(const Context& ctx, const Plaintext& pt, unsigned shift,
                                        std::size_t count, std::uint64_t max_noise);

}  // namespace encmol::ckks
