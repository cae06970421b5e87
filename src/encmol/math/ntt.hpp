// Negacyclic number-theoretic transform over Z_q[X]/(X^n + 1).
//
// Forward: Cooley–Tukey with twiddles psi^brv(k) (psi a primitive 2n-th root),
// natural-order input, bit-reversed evaluation order on output. Inverse:
// Gentleman–Sande with the inverse twiddles and n^-1 folded into the last
// stage. Both use Harvey's lazy butterflies: values live in [0, 4q) (forward)
// or [0, 2q) (inverse) between stages and are corrected to [0, q) once at the
// end (the IFMA forward kernel lets them grow to 8q or 16q for q below 2^49 or
// 2^48, skipping half or three quarters of the reductions). Three kernels
// (portable scalar, AVX2, AVX-512 IFMA for q < 2^50) are chosen at run time;
// their outputs are bit-identical because every output is the unique
// representative in [0, q).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "encmol/math/modarith.hpp"

namespace encmol::math {

/// Avx512 (F + DQ, full 64-bit products) serves moduli of 2^50 and above on
/// CPUs whose 52-bit IFMA lanes are too narrow for them, or CPUs without IFMA.
enum class SimdPath { Portable, Avx2, Avx512Ifma, Avx512 };

const char* to_string(SimdPath path);
/// Parses "portable" | "avx2" | "avx512" | "avx512ifma" (case-sensitive); throws ParameterError otherwise.
SimdPath simd_path_from_string(const char* name);
/// Whether this CPU (and OS) can run the path (cpuid / xgetbv only).
bool cpu_supports(SimdPath path);
/// Best path supported by the CPU. The environment variable
/// ENCMOL_SIMD=portable|avx2|avx512|avx512ifma overrides it (a path the CPU lacks is
/// ignored with the best supported one used instead). Read once.
SimdPath default_simd_path();
/// Path actually used for modulus q when `requested` is asked for: IFMA needs
/// q < 2^50 (4q must fit 52-bit lanes) and falls back to Avx512, then AVX2,
/// then portable; unsupported CPU features fall back the same way.
SimdPath effective_simd_path(SimdPath requested, std::uint64_t q);

/// Largest modulus (exclusive) the IFMA kernels accept.
inline constexpr std::uint64_t kIfmaModulusBound = std::uint64_t{1} << 50;

class NttTables {
 public:
  /// n a power of two in [2, 2^17]; q prime with q ≡ 1 (mod 2n), else ParameterError.
  NttTables(std::size_t n, const Modulus& q);

  std::size_t n() const { return n_; }
  int log_n() const { return log_n_; }
  const Modulus& modulus() const { return q_; }
  /// The primitive 2n-th root psi used (the minimal one, so tables are canonical).
  std::uint64_t psi() const { return psi_; }

  /// In-place negacyclic NTT: input in [0,q) natural order, output in [0,q)
  /// bit-reversed evaluation order: out[i] = a(psi^(2*brv(i)+1)).
  void forward(std::uint64_t* a) const { forward(a, default_simd_path()); }
  void inverse(std::uint64_t* a) const { inverse(a, default_simd_path()); }
  /// Explicit path; falls back (see effective_simd_path) when unsupported.
  void forward(std::uint64_t* a, SimdPath path) const;
  void inverse(std::uint64_t* a, SimdPath path) const;

  /// Galois automorphism X -> X^galois_elt in the NTT domain as a permutation:
  /// out[i] = in[perm[i]]. galois_elt odd in [1, 2n), else ParameterError.
  std::vector<std::uint32_t> ntt_domain_automorphism(std::uint64_t galois_elt) const;

  // ---- tables, for the kernels (k in [1, n)) ----
  /// psi^brv(k) and its 64-bit Shoup companion; index 0 unused.
  const std::uint64_t* root_powers() const { return root_.data(); }
  const std::uint64_t* root_shoup() const { return root_shoup_.data(); }
  /// psi^-brv(k) and Shoup companion.
  const std::uint64_t* inv_root_powers() const { return inv_root_.data(); }
  const std::uint64_t* inv_root_shoup() const { return inv_root_shoup_.data(); }
  /// n^-1 and n^-1 * psi^-brv(1), with Shoup companions (last inverse stage).
  std::uint64_t n_inv() const { return n_inv_; }
  std::uint64_t n_inv_shoup() const { return n_inv_shoup_; }
  std::uint64_t n_inv_w() const { return n_inv_w_; }
  std::uint64_t n_inv_w_shoup() const { return n_inv_w_shoup_; }
  /// IFMA tables (empty unless q < 2^50): 52-bit Shoup companions for root_ and
  /// inv_root_, and lane-expanded twiddles for the three stages with t < 8.
  const std::vector<std::uint64_t>& ifma_data() const { return ifma_; }

 private:
  std::size_t n_;
  int log_n_;
  Modulus q_;
  std::uint64_t psi_ = 0;
  std::vector<std::uint64_t> root_, root_shoup_, inv_root_, inv_root_shoup_;
  std::uint64_t n_inv_ = 0, n_inv_shoup_ = 0, n_inv_w_ = 0, n_inv_w_shoup_ = 0;
  std::vector<std::uint64_t> ifma_;
};

/// Bit reversal of the low `bits` bits of x.
inline std::uint32_t bit_reverse(std::uint32_t x, int bits) {
  std::uint32_t r = 0;
  for (int i = 0; i < bits; ++i) {
    r = (r << 1) | ((x >> i) & 1u);
  }
  return r;
}

}  // namespace encmol::math
