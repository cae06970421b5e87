#include "encmol/he/approx.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include "encmol/core/error.hpp"
#include "encmol/he/linear.hpp"

namespace encmol::he {

namespace {

void check_interval(double a, double b, const char* what) {
  if (!(std::isfinite(a) && std::isfinite(b) && a >= 0.0 && a < b && b <= 1e6))
    throw InputError(std::string(what) + ": the interval [" + std::to_string(a) + ", " +
                     std::to_string(b) + "] must satisfy 0 <= a < b <= 1e6");
}

// e^-c * I_k(z) for k = 0..d, from the positive power series (long double).
std::vector<long double> scaled_bessel_i(long double z, long double c, std::size_t d) {
  std::vector<long double> out(d + 1);
  const long double h = z / 2, h2 = h * h;
  for (std::size_t k = 0; k <= d; ++k) {
    // first term (z/2)^k / k!, combined with e^-c in logs so nothing overflows
    long double term = std::exp(static_cast<long double>(k) * std::log(h) -
                                std::lgamma(static_cast<long double>(k) + 1) - c);
    long double sum = 0;
    for (std::size_t m = 0; m < 100000; ++m) {
      sum += term;
      term *= h2 / (static_cast<long double>(m + 1) * static_cast<long double>(m + k + 1));
      if (term <= sum * 1e-30L && static_cast<long double>(m) > h) break;
    }
    out[k] = sum;
  }
  return out;
}

}  // namespace

ChebyshevPoly exp_neg_chebyshev(double a, double b, std::size_t degree) {
  check_interval(a, b, "exp approximation");
  if (degree > 4096) throw InputError("exp approximation: degree above 4096 is not supported");
  const long double c = (static_cast<long double>(a) + b) / 2,
                    z = (static_cast<long double>(b) - a) / 2;
  const auto bi = scaled_bessel_i(z, c, degree);
  ChebyshevPoly p;
  p.a = a;
  p.b = b;
  p.coeffs.resize(degree + 1);
  for (std::size_t k = 0; k <= degree; ++k)
    p.coeffs[k] = static_cast<double>((k == 0 ? 1.0L : 2.0L) * ((k % 2) ? -bi[k] : bi[k]));
  return p;
}

std::vector<double> exp_neg_chebyshev_bounds(double a, double b, std::size_t max_degree) {
  check_interval(a, b, "exp approximation bound");
  if (max_degree > 4096) throw InputError("exp approximation: degree above 4096 is not supported");
  const double c = (a + b) / 2, z = (b - a) / 2;
  // Closed-form tail from index k0 on: 2 e^-c sum_{k>=k0} I_k(z).
  auto closed_tail = [&](double k0) {
    const double ratio = z / (2.0 * (k0 + 1.0));
    if (ratio >= 1.0) return std::numeric_limits<double>::infinity();
    return std::exp(std::log(2.0) - c + k0 * std::log(z / 2.0) - std::lgamma(k0 + 1.0) +
                    z * z / (4.0 * (k0 + 1.0)) - std::log1p(-ratio));
  };
  const std::size_t K =
      std::max<std::size_t>(max_degree + 1, static_cast<std::size_t>(std::ceil(z))) + 60;
  const auto bi = scaled_bessel_i(z, c, K);
  const double far = closed_tail(static_cast<double>(K + 1));
  std::vector<double> out(max_degree + 1);
  long double tail = 0;  // sum_{k = d+1}^{K} e^-c I_k(z)
  for (std::size_t k = K; k > max_degree; --k) tail += bi[k];
  for (std::size_t d = max_degree + 1; d-- > 0;) {
    // + rounding of the coefficients to double (sum |c_k| = e^-a <= 1) and of the Bessel sums.
    const double rounding = (static_cast<double>(d) + 1.0) * 4.0 *
                            std::numeric_limits<double>::epsilon() * std::exp(-a);
    out[d] = static_cast<double>(2.0L * tail) * (1.0 + 1e-12) + far + rounding;
    tail += bi[d];
  }
  return out;
}

double exp_neg_chebyshev_bound(double a, double b, std::size_t degree) {
  return exp_neg_chebyshev_bounds(a, b, degree).back();
}

double scaling_squaring_bound(double eps, int squarings) {
  if (squarings < 0 || squarings > 30)
    throw InputError("exp approximation: squarings must be in [0, 30]");
  const double n = std::ldexp(1.0, squarings);
  return squarings == 0 ? eps : n * eps * std::pow(1.0 + eps, n - 1.0);
}

std::string ExpApproximation::describe() const {
  std::ostringstream s;
  s << "exp(-t) on [0, " << T << "]: ";
  if (method == Method::direct)
    s << "Chebyshev degree " << poly.degree();
  else
    s << "Chebyshev degree " << poly.degree() << " for exp(-t/2^" << squarings << ") then "
      << squarings << " squarings";
  s << ", depth " << depth << ", " << nonscalar_mults
    << " ciphertext multiplications, proven error <= " << error_bound;
  return s.str();
}

double ExpApproximation::evaluate(double t) const {
  double v = poly.evaluate(t);
  for (int i = 0; i < squarings; ++i) v *= v;
  return v;
}

ExpApproximation choose_exp_approximation(double T, double target_error,
                                          const ExpApproxOptions& options) {
  if (!(std::isfinite(T) && T > 0 && T <= 1e6))
    throw InputError("exp approximation: the interval end T = " + std::to_string(T) +
                     " must be in (0, 1e6]");
  if (options.max_degree < 1 || options.max_degree > 4096 || options.max_squarings < 0 ||
      options.max_squarings > 20)
    throw InputError(
        "exp approximation: max_degree must be in [1, 4096] and max_squarings in [0, 20]");
  if (!(std::isfinite(target_error) && target_error > 0 && target_error < 1))
    throw InputError("exp approximation: the target error must be in (0, 1), got " +
                     std::to_string(target_error));
  const int affine = options.affine_in_polynomial ? 1 : 0;
  bool found = false;
  ExpApproximation best;
  int best_effective = 0;
  for (int r = 0; r <= options.max_squarings; ++r) {
    const double U = T / std::ldexp(1.0, r);
    const std::vector<double> eps_of = exp_neg_chebyshev_bounds(0.0, U, options.max_degree);
    for (std::size_t d = 1; d <= options.max_degree; ++d) {
      const double eps = eps_of[d];
      if (!std::isfinite(eps)) continue;  // (cannot happen: the tail is summed exactly)
      const double bound = scaling_squaring_bound(eps, r);
      if (bound > target_error) continue;
      const ChebyshevPlan plan = plan_chebyshev(d, 0, options.extra_depth);
      const int depth = plan.depth + affine + r;
      // what the caller will spend (weights after the squarings cost a level)
      const int effective = depth + (options.weighted && r > 0 ? 1 : 0);
      const std::size_t mults = plan.nonscalar_mults + static_cast<std::size_t>(r);
      if (effective <= options.max_depth &&
          (!found || effective < best_effective ||
           (effective == best_effective && mults < best.nonscalar_mults))) {
        found = true;
        best_effective = effective;
        best.method =
            r == 0 ? ExpApproximation::Method::direct : ExpApproximation::Method::scaling_squaring;
        best.T = T;
        best.squarings = r;
        best.poly = exp_neg_chebyshev(0.0, U, d);
        best.poly.a = 0.0;
        // the polynomial takes t itself; exp(-t/2^r) has the same coefficients in y
        best.poly.b = T;
        best.error_bound = bound;
        best.baby = plan.baby;
        best.normalized_input = !options.affine_in_polynomial;
        best.depth = depth;
        best.nonscalar_mults = mults;
      }
      break;  // the smallest degree meeting the target is the cheapest for this r
    }
  }
  if (!found)
    throw ParameterError(
        "exp approximation: no polynomial of depth <= " + std::to_string(options.max_depth) +
        " reaches error " + std::to_string(target_error) + " on [0, " + std::to_string(T) +
        "]; allow more depth, accept a larger error or shrink the interval (smaller gamma)");
  return best;
}

namespace {

ckks::Ciphertext exp_impl(const ckks::Evaluator& ev, const ckks::Ciphertext& t,
                          const ExpApproximation& approx, const ckks::RelinKey& rk,
                          const ckks::Encoder* enc, std::span<const double> weights) {
  ChebyshevPoly p = approx.poly;
  if (approx.normalized_input) {
    p.a = -1.0;
    p.b = 1.0;
  }
  const int poly_depth = chebyshev_depth(p, approx.baby);
  const int r = approx.squarings;
  if (static_cast<long long>(t.level) < poly_depth + r)
    throw ParameterError("he: exp approximation needs " + std::to_string(poly_depth + r) +
                         " levels, the ciphertext is at level " + std::to_string(t.level));
  // Scales backwards from the output (= input scale) through the r squarings,
  // so the result lands exactly on the input's scale.
  const std::size_t lp = t.level - static_cast<std::size_t>(poly_depth);
  double s = t.scale;
  for (int j = r; j >= 1; --j) {
    const double q =
        static_cast<double>(ev.context().modulus(lp - static_cast<std::size_t>(j) + 1).value());
    s = std::sqrt(s * q);
  }
  ChebyshevEvalOptions o;
  o.output_scale = s;
  o.baby = approx.baby;
  ckks::Ciphertext x = enc != nullptr && r == 0
                           ? evaluate_chebyshev_weighted(ev, *enc, t, p, weights, rk, o)
                           : evaluate_chebyshev(ev, t, p, rk, o);
  for (int j = 0; j < r; ++j) x = ev.rescale(ev.square_relin(x, rk));
  x.scale = t.scale;
  if (enc != nullptr && r > 0) x = multiply_vector(ev, *enc, x, weights);
  return x;
}

}  // namespace

ckks::Ciphertext evaluate_exp(const ckks::Evaluator& ev, const ckks::Ciphertext& t,
                              const ExpApproximation& approx, const ckks::RelinKey& rk) {
  return exp_impl(ev, t, approx, rk, nullptr, {});
}

ckks::Ciphertext evaluate_exp_weighted(const ckks::Evaluator& ev, const ckks::Encoder& enc,
                                       const ckks::Ciphertext& t, const ExpApproximation& approx,
                                       std::span<const double> weights, const ckks::RelinKey& rk) {
  if (weights.empty() || weights.size() > enc.slots())
    throw InputError("he: weighted exp needs 1 to " + std::to_string(enc.slots()) + " weights");
  if (static_cast<long long>(t.level) < exp_weighted_depth(approx))
    throw ParameterError("he: weighted exp needs " + std::to_string(exp_weighted_depth(approx)) +
                         " levels, the ciphertext is at level " + std::to_string(t.level));
  return exp_impl(ev, t, approx, rk, &enc, weights);
}

}  // namespace encmol::he
