// Homomorphic operations on CKKS ciphertexts (always in NTT form).
//
// Level and scale alignment (add, sub, and the plaintext variants): operands
// at different levels are brought to the lower level. Scales are "equal" when
// their ratio is within options().scale_tolerance of 1; otherwise:
//  * if the higher-scale-mismatched operand sits at a higher level, it is
//    multiplied by the integer c = round(s_target * q_{t+1} / s) and rescaled
//    onto level t, which lands it on the other operand's scale up to a relative
//    error 1/(2c) (c is about one prime, so ~2^-40); the result takes the
//    target scale;
//  * at the same level, the lower-scale operand is multiplied by the integer
//    round(s_high / s_low) when that ratio is an integer within tolerance;
//  * anything else throws ParameterError saying what to do (rescale first,
//    encode at the ciphertext's scale).
// last_alignment() describes what the most recent call did ("" = nothing).
//
// Key switching is hybrid (Han–Ki): the input polynomial at level l is split
// into digits of alpha primes, each digit is extended (ModUp) to q_0..q_l and
// P, multiplied with the key in NTT form with 128-bit lazy accumulation across
// digits, and divided by P (ModDown). Rotations decompose once and apply the
// Galois permutation to the 2(l+1) output limbs (Galois keys are stored
// transposed, see keys.hpp), so hoisted rotations share the decomposition and
// each extra step costs one inner product, one ModDown and 2(l+1) permutations.
#pragma once

#include <algorithm>
#include <complex>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "encmol/ckks/context.hpp"
#include "encmol/ckks/keys.hpp"
#include "encmol/ckks/types.hpp"

namespace encmol::ckks {

struct EvaluatorOptions {
  /// Relative scale mismatch accepted as equal in additions.
  double scale_tolerance = 1e-9;
};

class Evaluator {
 public:
  explicit Evaluator(std::shared_ptr<const Context> ctx, EvaluatorOptions options = {});
  const Context& context() const { return *ctx_; }
  const EvaluatorOptions& options() const { return options_; }
  /// What the last alignment on this thread did (for logs); empty when nothing
  /// was needed. Kept per thread, so concurrent evaluations do not race.
  const std::string& last_alignment() const;

  // ---- addition family ----
  Ciphertext add(const Ciphertext& a, const Ciphertext& b) const;
  Ciphertext sub(const Ciphertext& a, const Ciphertext& b) const;
  Ciphertext negate(const Ciphertext& a) const;
  Ciphertext add_plain(const Ciphertext& a, const Plaintext& p) const;
  Ciphertext sub_plain(const Ciphertext& a, const Plaintext& p) const;
  /// Adds the constant in every slot (encoded at the ciphertext's scale).
  Ciphertext add_const(const Ciphertext& a, std::complex<double> c) const;
  Ciphertext sub_const(const Ciphertext& a, std::complex<double> c) const;

  // ---- multiplication family ----
  /// Tensor product (size-3 result, scale = product of scales). A building
  /// block: unlike multiply_relin / multiply_plain / multiply_const it does not
  /// refuse a result scale beyond the modulus (ParameterError there).
  Ciphertext multiply(const Ciphertext& a, const Ciphertext& b) const;
  Ciphertext multiply_relin(const Ciphertext& a, const Ciphertext& b, const RelinKey& rk) const;
  Ciphertext square(const Ciphertext& a) const;
  Ciphertext square_relin(const Ciphertext& a, const RelinKey& rk) const;
  Ciphertext relinearize(const Ciphertext& a, const RelinKey& rk) const;
  Ciphertext multiply_plain(const Ciphertext& a, const Plaintext& p) const;
  /// Multiplies by round(c * const_scale); the result scale is a.scale * const_scale.
  Ciphertext multiply_const(const Ciphertext& a, std::complex<double> c, double const_scale) const;
  /// const_scale = q_level, so that a following rescale restores a.scale exactly.
  Ciphertext multiply_const(const Ciphertext& a, std::complex<double> c) const;
  /// Exact multiplication by an integer (scale unchanged).
  Ciphertext multiply_integer(const Ciphertext& a, std::int64_t k) const;

  // ---- levels ----
  /// Divides by the last prime q_l (rounding), level l -> l-1, scale /= q_l.
  Ciphertext rescale(const Ciphertext& a) const;
  /// Drops primes down to `level` (no change of scale or message).
  Ciphertext mod_drop_to(const Ciphertext& a, std::size_t level) const;
  /// Brings a and b to a common level and scale in place (see the top of this file).
  void align(Ciphertext& a, Ciphertext& b) const;

  // ---- rotations ----
  /// Rotates slots left by `step` (negative: right); needs the Galois key of 5^step.
  Ciphertext rotate(const Ciphertext& a, int step, const GaloisKeys& gk) const;
  /// Complex conjugation of every slot; needs the conjugation key.
  Ciphertext conjugate(const Ciphertext& a, const GaloisKeys& gk) const;
  Ciphertext apply_galois(const Ciphertext& a, std::uint64_t galois_elt, const GaloisKeys& gk) const;
  /// Many rotations of one ciphertext sharing one decomposition (ModUp).
  std::vector<Ciphertext> rotate_hoisted(const Ciphertext& a, std::span<const int> steps, const GaloisKeys& gk) const;

  // ---- key switching building blocks (public for the he layer) ----
  /// The ModUp'd digits of a polynomial at `level` (NTT form): digits x (level+1+num_p) limbs x n.
  struct Decomposition {
    std::size_t level = 0;
    std::size_t digits = 0;
    std::size_t ext_limbs = 0;
    std::size_t alpha = 0;
    // Digit j stores the ModUp output (the other primes of q_0..q_level, then
    // P) followed by its own primes, so the base converter writes in place.
    std::unique_ptr<std::uint64_t[]> owned;  // uninitialised allocation: fully overwritten
    std::uint64_t* data = nullptr;           // owned.get(), or per-thread scratch inside the evaluator
    /// Extended limb k (q_0..q_level, then P) of digit j.
    const std::uint64_t* limb(std::size_t j, std::size_t k, std::size_t n) const {
      const std::size_t b = j * alpha, e = std::min(b + alpha, level + 1);
      const std::size_t pos = k < b ? k : (k < e ? ext_limbs - (e - b) + (k - b) : k - (e - b));
      return data + (j * ext_limbs + pos) * n;
    }
  };
  Decomposition decompose(const std::uint64_t* poly, std::size_t level) const;
  /// Same, into this thread's scratch (valid until the next decomposition on this thread).
  Decomposition decompose_scratch(const std::uint64_t* poly, std::size_t level) const;
  /// (out0, out1) over q_0..q_level = ModDown(sum_j perm(D_j) * key_j); perm may be null
  /// (rotations pass null: Galois keys are transposed, see keys.hpp).
  void key_switch(const Decomposition& d, const KeySwitchKey& key, const std::uint32_t* perm, std::uint64_t* out0,
                  std::uint64_t* out1) const;

 private:
  /// Operands of a ciphertext product, both at their common (lower) level.
  struct ProductOperands {
    const Ciphertext* a = nullptr;
    const Ciphertext* b = nullptr;
    Ciphertext dropped_a, dropped_b;  // storage for operands that had to be mod-dropped
    std::size_t level = 0;
  };
  /// Checks that both operands are size-2 ciphertexts and aligns their levels.
  void prepare_product(const Ciphertext& a0, const Ciphertext& b0, ProductOperands& out) const;
  void check(const Ciphertext& a, const char* what) const;
  void check(const Plaintext& p) const;
  Ciphertext add_sub(const Ciphertext& a, const Ciphertext& b, bool subtract) const;
  Ciphertext add_sub_plain(const Ciphertext& a, const Plaintext& p, bool subtract) const;
  Ciphertext multiply_residues(const Ciphertext& a, const std::vector<std::uint64_t>& per_limb) const;
  Plaintext const_plain(std::complex<double> c, double scale, std::size_t level) const;
  /// Moves `a` (level > target_level) onto target_level with scale ~ target_scale.
  Ciphertext adjust_by_rescale(const Ciphertext& a, std::size_t target_level, double target_scale) const;
  Ciphertext rotate_with(const Ciphertext& a, const Decomposition& d, std::uint64_t galois_elt,
                         const GaloisKeys& gk) const;
  bool scales_equal(double a, double b) const;
  Decomposition decompose_impl(const std::uint64_t* poly, std::size_t level, bool scratch) const;

  std::shared_ptr<const Context> ctx_;
  EvaluatorOptions options_;
};

}  // namespace encmol::ckks
