// CKKS keys. Every key carries the parameter hash. The uniform half "a" of
// every public / key-switching key is the expansion of a 32-byte seed
// (expand_uniform); it is kept expanded in memory for speed, but the seed is
// what identifies it (and what serialization writes).
//
// Key-switching keys (hybrid, Han–Ki): for digit j (ciphertext primes
// [j*alpha, (j+1)*alpha)) over all extended limbs q_0..q_L, p_0..p_{k-1}:
//   b_j = -a_j*s + e_j + [i in digit j] * (P mod q_i) * s'   (mod q_i)
//   b_j = -a_j*s + e_j                                       (mod p_k)
// i.e. an encryption of P * T_j * s' with T_j the CRT idempotent of digit j.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "encmol/ckks/context.hpp"
#include "encmol/math/random.hpp"

namespace encmol::ckks {

/// Deterministic expansion of `seed` into `polys` uniform polynomials over the
/// limbs `limbs` (extended indices), written polynomial-major, limb-major, in
/// NTT form (uniform is uniform in either domain). The canonical order: one
/// ChaCha20 stream, polynomial by polynomial, limb by limb, math::sample_uniform.
void expand_uniform(const Context& ctx, const math::Seed& seed, std::size_t polys,
                    std::span<const std::size_t> limbs, std::uint64_t* out);
/// The limbs a ciphertext at `level` uses (0..level), and all extended limbs.
std::vector<std::size_t> level_limbs(std::size_t level);
std::vector<std::size_t> extended_limbs(const Context& ctx);

struct SecretKey {
  ParamHash params{};
  std::vector<std::int8_t> coeffs;   // ternary s, n coefficients in {-1,0,1}
  std::vector<std::uint64_t> ntt;    // s in NTT form over all extended limbs (num_q+num_p)*n
  /// Recomputes `ntt` from `coeffs` (after loading).
  void expand(const Context& ctx);
};

struct PublicKey {
  ParamHash params{};
  math::Seed seed{};                 // a = expand_uniform(seed, 1, all extended limbs)
  // -a*s + e over q_0..q_L and the special primes (encryption works over Q*P
  // and divides by P, which shrinks the fresh noise to rounding size).
  std::vector<std::uint64_t> b;
  std::vector<std::uint64_t> a;      // expanded from seed
  void expand(const Context& ctx);   // recomputes a from seed
};

struct KeySwitchKey {
  math::Seed seed{};                 // a_j for all digits = expand_uniform(seed, digits, extended limbs)
  std::size_t digits = 0;            // = dnum
  std::vector<std::uint64_t> b;      // digits * (num_q+num_p) * n, NTT form
  std::vector<std::uint64_t> a;      // expanded from seed
  void expand(const Context& ctx);
  const std::uint64_t* b_limb(std::size_t j, std::size_t k, std::size_t n, std::size_t ext) const {
    return b.data() + (j * ext + k) * n;
  }
  const std::uint64_t* a_limb(std::size_t j, std::size_t k, std::size_t n, std::size_t ext) const {
    return a.data() + (j * ext + k) * n;
  }
};

struct RelinKey {
  ParamHash params{};
  KeySwitchKey key;                  // switches s^2 -> s
};

// The key for Galois element g is stored "transposed": it encrypts P*T_j*s
// under sigma_g^-1(s) (b_j = -a_j*sigma_g^-1(s) + e_j + P*T_j*s). Key switching
// c1 with it and applying sigma_g to the result equals switching sigma_g(c1)
// from sigma_g(s) to s, but the automorphism then touches only the 2(l+1)
// output limbs instead of every extended digit limb (cheap hoisting).
struct GaloisKeys {
  ParamHash params{};
  std::map<std::uint64_t, KeySwitchKey> keys;  // Galois element g -> transposed key (see above)
  bool has(std::uint64_t galois_elt) const { return keys.count(galois_elt) != 0; }
};

/// b = -a s + e over all extended limbs with a = expand_uniform(seed): the
/// public key of `sk` (KeyGenerator draws a fresh seed; threshold key
/// generation uses a common one).
PublicKey make_public_key(const Context& ctx, const SecretKey& sk, const math::Seed& seed);

class KeyGenerator {
 public:
  /// Draws a fresh ternary secret key from the OS CSPRNG.
  explicit KeyGenerator(std::shared_ptr<const Context> ctx);
  /// Uses an existing secret key (hash must match).
  KeyGenerator(std::shared_ptr<const Context> ctx, SecretKey sk);

  const SecretKey& secret_key() const { return sk_; }
  PublicKey create_public_key() const;
  RelinKey create_relin_key() const;
  /// Keys for rotations by each step (left rotation by k = Galois 5^k; negative
  /// steps rotate right) and, if `conjugation`, for complex conjugation.
  GaloisKeys create_galois_keys(std::span<const int> steps, bool conjugation = true) const;
  /// Keys for explicit Galois elements.
  GaloisKeys create_galois_keys_for_elements(std::span<const std::uint64_t> elements) const;

 private:
  /// Key switching key for s' under `under` (both NTT form over all extended limbs).
  KeySwitchKey make_switch_key(const std::vector<std::uint64_t>& s_prime, const std::vector<std::uint64_t>& under) const;

  std::shared_ptr<const Context> ctx_;
  SecretKey sk_;
};

}  // namespace encmol::ckks
