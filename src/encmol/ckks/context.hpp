// Precomputed tables for one CKKS parameter set: moduli and NTT tables of every
// prime (ciphertext primes q_0..q_L first, then special primes p_0..p_{k-1}),
// rescaling constants, the base converters of hybrid key switching (ModUp per
// level and digit, ModDown per level) and cached Galois permutations.
//
// "Extended index": limb k < num_q() is q_k, limb num_q()+j is p_j. Keys are
// stored over all extended limbs; a ciphertext at level l uses q_0..q_l.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "encmol/ckks/params.hpp"
#include "encmol/math/modarith.hpp"
#include "encmol/math/ntt.hpp"
#include "encmol/math/rns.hpp"

namespace encmol::ckks {

class Context {
 public:
  /// Validates the parameters (SecurityError / ParameterError) and builds every table.
  explicit Context(ParameterSet params);
  static std::shared_ptr<const Context> create(ParameterSet params) {
    return std::make_shared<const Context>(std::move(params));
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const ParameterSet& params() const { return params_; }
  const ParamHash& hash() const { return hash_; }
  std::size_t n() const { return n_; }
  int log_n() const { return params_.log_n; }
  std::size_t slots() const { return n_ / 2; }
  std::size_t max_level() const { return num_q_ - 1; }
  std::size_t num_q() const { return num_q_; }
  std::size_t num_p() const { return num_p_; }
  std::size_t num_extended() const { return num_q_ + num_p_; }
  std::size_t alpha() const { return alpha_; }
  std::size_t dnum() const { return params_.dnum; }

  const math::Modulus& modulus(std::size_t k) const { return moduli_[k]; }
  const math::NttTables& ntt(std::size_t k) const { return *ntt_[k]; }

  // ---- rescaling: q_l^-1 mod q_i (i < l) with Shoup companion ----
  std::uint64_t q_last_inv(std::size_t l, std::size_t i) const { return q_last_inv_[l][i]; }
  std::uint64_t q_last_inv_shoup(std::size_t l, std::size_t i) const { return q_last_inv_shoup_[l][i]; }
  /// q_0 .. q_level as an RNS base (CRT decoding).
  const math::RnsBase& q_base(std::size_t level) const { return *q_bases_[level]; }

  // ---- hybrid key switching ----
  /// Digits that intersect q_0..q_level, and the primes [first, last) of digit j there.
  std::size_t num_digits(std::size_t level) const { return (level + alpha_) / alpha_; }
  std::pair<std::size_t, std::size_t> digit_range(std::size_t level, std::size_t j) const {
    return {j * alpha_, std::min((j + 1) * alpha_, level + 1)};
  }
  /// Converts the residues of digit j (at `level`) to the other primes of
  /// q_0..q_level followed by p_0..p_{k-1}, in that order.
  const math::BaseConverter& modup(std::size_t level, std::size_t j) const { return *modup_[level][j]; }
  /// Converts P residues to q_0..q_level.
  const math::BaseConverter& moddown(std::size_t level) const { return *moddown_[level]; }
  /// p_0..p_{k-1} as an RNS base (exact ModDown correction).
  const math::RnsBase& p_base() const { return *p_base_; }
  /// P^-1 mod q_i, P mod q_i (with Shoup companions).
  std::uint64_t p_inv_mod_q(std::size_t i) const { return p_inv_[i]; }
  std::uint64_t p_inv_mod_q_shoup(std::size_t i) const { return p_inv_shoup_[i]; }
  std::uint64_t p_mod_q(std::size_t i) const { return p_mod_[i]; }

  // ---- rotations ----
  /// Galois element 5^step mod 2N (negative steps rotate right).
  std::uint64_t galois_element(int step) const;
  /// 2N - 1: complex conjugation of every slot.
  std::uint64_t conjugation_element() const { return 2 * n_ - 1; }
  /// NTT-domain permutation for X -> X^g (the same for every prime; cached, thread-safe).
  const std::vector<std::uint32_t>& galois_permutation(std::uint64_t galois_elt) const;

 private:
  ParameterSet params_;
  ParamHash hash_{};
  std::size_t n_ = 0, num_q_ = 0, num_p_ = 0, alpha_ = 0;
  std::vector<math::Modulus> moduli_;
  std::vector<std::unique_ptr<math::NttTables>> ntt_;
  std::vector<std::vector<std::uint64_t>> q_last_inv_, q_last_inv_shoup_;
  std::vector<std::unique_ptr<math::RnsBase>> q_bases_;
  std::vector<std::vector<std::unique_ptr<math::BaseConverter>>> modup_;
  std::vector<std::unique_ptr<math::BaseConverter>> moddown_;
  std::unique_ptr<math::RnsBase> p_base_;
  std::vector<std::uint64_t> p_inv_, p_inv_shoup_, p_mod_;
  mutable std::mutex galois_mutex_;
  mutable std::map<std::uint64_t, std::unique_ptr<std::vector<std::uint32_t>>> galois_;
};

}  // namespace encmol::ckks
