// Polynomial approximations of exp(-t) on [0, T] with a proven error bound.
//
// Direct method: with z = T/2 and t = z(1 + y), y in [-1, 1],
//   exp(-t) = e^-z exp(-z y) = e^-z (I_0(z) + 2 sum_k (-1)^k I_k(z) T_k(y))
// (the Chebyshev expansion of exp, I_k the modified Bessel functions), so the
// degree-d truncated series p_d has exact coefficients c_k = (2 - [k=0]) e^-z
// (-1)^k I_k(z) and
//   |exp(-t) - p_d(t)| <= sum_{k>d} |c_k| = 2 e^-z sum_{k>d} I_k(z).
// From I_k(z) = sum_m (z/2)^(2m+k) / (m! (m+k)!) <= (z/2)^k/k! * exp(z^2/(4(k+1))),
// and a geometric tail (ratio z/(2(d+2)) < 1):
//   bound = 2 e^-z (z/2)^(d+1)/(d+1)! * exp(z^2/(4(d+2))) / (1 - z/(2(d+2))).
// It is within a small factor of the true error (the first omitted term
// dominates); the generic derivative bound 2((b-a)/4)^(d+1)/(d+1)! * max|f^(d+1)|
// is e^z times looser for exp and is kept for arbitrary functions.
// The bound actually reported sums the tail exactly, 2 e^-c sum_{k=d+1}^{K} I_k(z)
// from the positive Bessel series (times 1 + 1e-12 for rounding), and uses the
// closed form above only for k > K = max(d+1, z) + 60, where it is negligible;
// the true error is about |c_{d+1}| (the first omitted term dominates the
// tail), so the bound is within a small factor of it (tests: <= 100x, in
// practice ~1-3x).
// Coefficients are computed from the positive Bessel series in long double
// (no cancellation: relative error <= ~(terms) * 2^-64); since sum |c_k| = 1,
// their rounding to double moves p by at most (d+1) * 2^-52, which the bound
// includes as an explicit term (~1e-14, far below CKKS noise at 2^40 scales).
//
// Scaling and squaring (r >= 1): p approximates g(t) = exp(-t/2^r) on [0, T]
// with error eps (the direct bound on [0, T/2^r]); then with n = 2^r,
// |p^n - g^n| <= n * eps * (1 + eps)^(n-1) because |g| <= 1 and |p| <= 1 + eps
// (telescoping a^n - b^n = (a - b) sum a^i b^(n-1-i)). r squarings cost r levels
// and r relinearizations, no rotations.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "encmol/ckks/evaluator.hpp"
#include "encmol/ckks/keys.hpp"
#include "encmol/he/chebyshev.hpp"

namespace encmol::he {

/// Coefficients of the degree-d truncated Chebyshev series of exp(-t) on [a, b] (0 <= a < b).
ChebyshevPoly exp_neg_chebyshev(double a, double b, std::size_t degree);
/// Proven sup-norm bound of exp_neg_chebyshev(a, b, degree) - exp(-t) on [a, b]
/// (the e^-a factor of the shifted interval is included).
double exp_neg_chebyshev_bound(double a, double b, std::size_t degree);
/// The same bound for every degree 0..max_degree (one Bessel computation).
std::vector<double> exp_neg_chebyshev_bounds(double a, double b, std::size_t max_degree);

/// Bound after r squarings of an approximation of exp(-t/2^r) with error eps:
/// 2^r * eps * (1 + eps)^(2^r - 1).
double scaling_squaring_bound(double eps, int squarings);

struct ExpApproximation {
  enum class Method { direct, scaling_squaring };
  Method method = Method::direct;
  double T = 0.0;        // interval [0, T] of t
  int squarings = 0;     // r (0 for direct)
  ChebyshevPoly poly;    // approximates exp(-t / 2^r) for t in [0, T]
  std::size_t baby = 0;  // baby-step size of the polynomial's plan (plan_chebyshev(degree, baby))
  double error_bound = 0.0;  // proven sup |approximation - exp(-t)| on [0, T] (plain arithmetic)
  bool normalized_input = false;  // evaluate_exp expects y = 2t/T - 1 in [-1, 1] instead of t
  int depth = 0;  // levels consumed by evaluate_exp (polynomial, + 1 affine map unless
                  // normalized_input, + r squarings)
  std::size_t nonscalar_mults = 0;
  std::string describe() const;
  /// The approximation in double (what evaluate_exp computes without noise).
  double evaluate(double t) const;
};

struct ExpApproxOptions {
  int max_depth = 20;  // refuse approximations deeper than this
  int max_squarings = 8;
  std::size_t max_degree = 1024;
  // false: the caller delivers y = 2t/T - 1 in [-1, 1] (saves a level)
  bool affine_in_polynomial = true;
  // levels the polynomial may spend beyond its optimum to save multiplications
  int extra_depth = 0;
  // the result will go through evaluate_exp_weighted: compare by exp_weighted_depth
  bool weighted = false;
};

/// Approximation of exp(-t) on [0, T] with error_bound <= target_error of
/// minimal depth (ties: fewest ciphertext multiplications), searching the
/// direct method and scaling-and-squaring with r = 1..max_squarings. Throws
/// InputError for bad arguments and ParameterError when nothing fits max_depth.
ExpApproximation choose_exp_approximation(double T, double target_error,
                                          const ExpApproxOptions& options = {});

/// The approximation of exp(-t) for slots t in [0, T] (slots y = 2t/T - 1 when
/// approx.normalized_input). Consumes exactly approx.depth levels; the output
/// has the input's scale. No rotations.
ckks::Ciphertext evaluate_exp(const ckks::Evaluator& ev, const ckks::Ciphertext& t,
                              const ExpApproximation& approx, const ckks::RelinKey& rk);

/// weights ⊙ approximation of exp(-t): with squarings == 0 the weights ride in
/// the polynomial's leaves (depth approx.depth, no extra level); with
/// scaling-and-squaring they cannot (squaring would square them) and are
/// applied after the squarings (depth approx.depth + 1).
ckks::Ciphertext evaluate_exp_weighted(const ckks::Evaluator& ev, const ckks::Encoder& enc,
                                       const ckks::Ciphertext& t, const ExpApproximation& approx,
                                       std::span<const double> weights, const ckks::RelinKey& rk);
/// Levels evaluate_exp_weighted consumes.
inline int exp_weighted_depth(const ExpApproximation& approx) {
  return approx.depth + (approx.squarings > 0 ? 1 : 0);
}

}  // namespace encmol::he
