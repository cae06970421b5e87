// Polynomials in the Chebyshev basis and their evaluation on CKKS ciphertexts.
//
// Algorithm (encrypted): baby-step giant-step over Chebyshev polynomials
// (Bossuat et al. 2021 style, with our own level planner):
//  * the input x in [a, b] is mapped to y = (2x - a - b)/(b - a) in [-1, 1]
//    (one multiply_const + rescale: +1 level, skipped when [a, b] = [-1, 1];
//    callers that can fold the affine map into an earlier linear step should
//    do so and pass a polynomial on [-1, 1]);
//  * baby steps T_1..T_B (B a power of two) and giant steps T_{2B}, T_{4B}, ...
//    from T_{m+n} = 2 T_m T_n - T_{m-n} (m the largest power of two below k):
//    T_k sits exactly ceil(log2 k) levels below y;
//  * p = q_low + q_high * T_G with G the largest power of two <= deg p
//    (Chebyshev division: T_G T_j = (T_{G+j} + T_{G-j})/2, numerically stable),
//    recursively, until deg <= B; a leaf sum_k c_k T_k is one multiply_const per
//    term and ONE rescale;
//  * scales: the evaluation is planned top-down with a target (level, scale)
//    per node: a leaf multiplies T_k by round(c_k * S_target * q / scale(T_k)),
//    so every term of every sum has exactly the same level and scale and no
//    alignment (and no level) is ever spent on additions; the product node
//    asks its q_high for scale S_target * q / scale(T_G).
// Depth: plan_chebyshev() computes the depth of this split tree exactly
// (a leaf of degree e costs ceil(log2 e) + 1, a split max(child, log2 G) + 1).
// The optimum ceil(log2(d+1)) is always reachable (B = 1, d multiplications);
// larger B keeps it only for d <= about 2^D - B, so the planner takes the B
// with the fewest ciphertext multiplications at the optimal depth, or within
// `extra_depth` more levels (one spare level gives ~2 sqrt(d) + log d
// multiplications instead of ~d). +1 level for the affine map. The tests
// assert that evaluation consumes exactly the planned depth, for every degree
// tried. Rotations: none (no Galois keys). The input must lie in [a, b]:
// outside it the T_k grow like (|y| + sqrt(y^2 - 1))^k and can overflow the
// modulus, which corrupts every slot of the ciphertext.
//
// Error: each leaf constant is rounded to an integer of ~log2(S*q/scale) bits
// (relative 2^-(scale bits)); the CKKS noise of each product grows with the
// size of the coefficients (Chebyshev division at most doubles them).
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <vector>

#include "encmol/ckks/encoder.hpp"
#include "encmol/ckks/evaluator.hpp"
#include "encmol/ckks/keys.hpp"
#include "encmol/ckks/types.hpp"

namespace encmol::he {

/// p(x) = sum_k coeffs[k] * T_k((2x - a - b)/(b - a)) for x in [a, b].
struct ChebyshevPoly {
  std::vector<double> coeffs;
  double a = -1.0;
  double b = 1.0;

  std::size_t degree() const { return coeffs.empty() ? 0 : coeffs.size() - 1; }
  /// True when the interval is [-1, 1] (no affine map, no level for it).
  bool normalized() const { return a == -1.0 && b == 1.0; }
  /// Clenshaw evaluation in double (the reference for tests).
  double evaluate(double x) const;
  /// Throws InputError for an empty/non-finite polynomial or an empty interval.
  void validate() const;
};

/// Chebyshev interpolant of degree `degree` of f on [a, b] at the Chebyshev
/// points of the first kind (exact for polynomials of degree <= degree).
ChebyshevPoly chebyshev_interpolate(const std::function<double(double)>& f, double a, double b,
                                    std::size_t degree);

/// Rigorous interpolation error bound on [a, b] for f with |f^(d+1)| <= max_derivative:
///   |f - p_d| <= 2 ((b - a)/4)^(d+1) / (d+1)! * max_derivative.
double chebyshev_interpolation_bound(std::size_t degree, double a, double b, double max_derivative);

/// How a polynomial of a given degree is evaluated.
struct ChebyshevPlan {
  std::size_t degree = 0;
  std::size_t baby = 1;             // B: T_1..T_B are computed
  std::vector<std::size_t> giants;  // powers of two G > B whose T_G is computed
  int depth = 0;                    // levels consumed, excluding the affine map
  std::size_t nonscalar_mults = 0;  // ciphertext products (one relinearization each)
};

/// Fewest multiplications among the plans whose depth is at most the optimum
/// ceil(log2(degree+1)) + extra_depth (extra_depth = 0: depth-optimal);
/// `baby` != 0 forces B (a power of two).
ChebyshevPlan plan_chebyshev(std::size_t degree, std::size_t baby = 0, int extra_depth = 0);

/// Levels consumed by evaluate_chebyshev for p (plan depth + 1 unless p is on [-1, 1]).
int chebyshev_depth(const ChebyshevPoly& p, std::size_t baby = 0, int extra_depth = 0);

struct ChebyshevEvalOptions {
  std::size_t baby = 0;       // 0: plan_chebyshev's choice
  int extra_depth = 0;        // levels plan_chebyshev may spend to save multiplications
  double output_scale = 0.0;  // 0: the input ciphertext's scale
};

/// Encrypted p(x) slot-wise. The result sits exactly chebyshev_depth(p) levels
/// below `x` at `output_scale`. Throws ParameterError when `x` has too few levels.
ckks::Ciphertext evaluate_chebyshev(const ckks::Evaluator& ev, const ckks::Ciphertext& x,
                                    const ChebyshevPoly& p, const ckks::RelinKey& rk,
                                    const ChebyshevEvalOptions& options = {});

/// w ⊙ p(x) slot-wise (w zero-padded to all slots) at the SAME depth as
/// evaluate_chebyshev: the weights are pushed into the leaves (each leaf term
/// multiplies T_k by the plaintext c_k*w instead of the constant c_k), e.g. the
/// KRR weights alpha_i times the kernel values without a level of their own.
/// Costs about degree+1 plaintext encodings.
ckks::Ciphertext evaluate_chebyshev_weighted(const ckks::Evaluator& ev, const ckks::Encoder& enc,
                                             const ckks::Ciphertext& x, const ChebyshevPoly& p,
                                             std::span<const double> weights,
                                             const ckks::RelinKey& rk,
                                             const ChebyshevEvalOptions& options = {});

/// Moves `ct` to exactly (level, scale): a no-op when both already match, a
/// modulus drop when only the level differs, otherwise drops to level+1,
/// multiplies by the integer round(scale*q/ct.scale) and rescales (so it needs
/// ct.level > level). Throws ParameterError otherwise.
ckks::Ciphertext bring_to(const ckks::Evaluator& ev, const ckks::Ciphertext& ct, std::size_t level,
                          double scale);

}  // namespace encmol::he
