// Residue number system bases and fast (approximate) basis conversion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "encmol/math/modarith.hpp"
#include "encmol/math/ntt.hpp"

namespace encmol::math {

/// Pairwise-coprime word-size moduli q_0..q_{L-1} with Q = prod q_i.
class RnsBase {
 public:
  /// Throws ParameterError if empty or not pairwise coprime.
  explicit RnsBase(std::vector<Modulus> moduli);

  std::size_t size() const { return moduli_.size(); }
  const Modulus& operator[](std::size_t i) const { return moduli_[i]; }
  const std::vector<Modulus>& moduli() const { return moduli_; }
  double log2_product() const { return log2_q_; }
  /// Q as a little-endian multi-word integer.
  const std::vector<std::uint64_t>& product() const { return product_; }
  /// (Q/q_i) mod q_i, its inverse, and the Shoup companion of the inverse.
  std::uint64_t punctured_mod(std::size_t i) const { return punct_mod_[i]; }
  std::uint64_t inv_punctured(std::size_t i) const { return inv_punct_[i]; }
  std::uint64_t inv_punctured_shoup(std::size_t i) const { return inv_punct_shoup_[i]; }
  /// Q/q_i as a multi-word integer (size() words).
  const std::vector<std::uint64_t>& punctured_product(std::size_t i) const { return punct_[i]; }

  /// Exact CRT: the x in [0, Q) with x ≡ residues[i*stride] (mod q_i). Little
  /// endian words, size() words long. Residues must be < q_i.
  std::vector<std::uint64_t> compose(const std::uint64_t* residues, std::size_t stride = 1) const;
  /// The centered representative (x or x - Q, whichever is in [-Q/2, Q/2)) as a
  /// long double: exact when |x| < 2^64, otherwise correctly rounded-ish
  /// (relative error ~2^-63).
  long double compose_centered(const std::uint64_t* residues, std::size_t stride = 1) const;
  /// Inverse of compose: residues[i*stride] = value mod q_i for a little-endian
  /// multi-word integer of any length.
  void decompose(std::span<const std::uint64_t> value, std::uint64_t* residues,
                 std::size_t stride = 1) const;

 private:
  std::vector<Modulus> moduli_;
  double log2_q_ = 0;
  std::vector<std::uint64_t> product_;
  std::vector<std::vector<std::uint64_t>> punct_;
  std::vector<std::uint64_t> punct_mod_, inv_punct_, inv_punct_shoup_;
};

/// Fast basis conversion (Halevi–Polyakov–Shoup / BEHZ style, approximate):
/// for x given by its residues in `from`, computes in `to` the residues of
///   sum_i [x_i * (Q/q_i)^-1]_{q_i} * (Q/q_i)  =  x + u*Q,  0 <= u < from.size().
/// in: from.size() limbs x n coefficients (limb-major); out: to.size() limbs x n.
/// The inner product runs on 52-bit IFMA lanes when every modulus is < 2^50 and
/// the CPU has IFMA, else on exact 128-bit scalar accumulation; both give the
/// same bits.
class BaseConverter {
 public:
  BaseConverter(const RnsBase& from, const RnsBase& to);

  const RnsBase& from() const { return from_; }
  const RnsBase& to() const { return to_; }

  /// `in` and `out` must not overlap. Thread-safe (per-thread scratch).
  void convert(const std::uint64_t* in, std::uint64_t* out, std::size_t n) const;
  void convert(const std::uint64_t* in, std::uint64_t* out, std::size_t n, SimdPath path) const;

 private:
  RnsBase from_, to_;
  // (Q/q_i) mod p_k stored [k * from.size() + i], with 52-bit Shoup companions
  // used by the IFMA reduction.
  std::vector<std::uint64_t> punct_to_;
  bool ifma_ok_ = false;
};

}  // namespace encmol::math
