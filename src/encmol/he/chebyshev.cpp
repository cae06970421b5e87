#include "encmol/he/chebyshev.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <complex>
#include <map>
#include <numbers>
#include <string>

#include "encmol/core/error.hpp"

namespace encmol::he {

using ckks::Ciphertext;

// ---------------------------------------------------------------- plain side

void ChebyshevPoly::validate() const {
  if (coeffs.empty()) throw InputError("Chebyshev polynomial: no coefficients");
  if (coeffs.size() > (std::size_t{1} << 16))
    throw InputError("Chebyshev polynomial: degree " + std::to_string(coeffs.size() - 1) +
                     " is above the supported 65535");
  for (std::size_t k = 0; k < coeffs.size(); ++k)
    if (!std::isfinite(coeffs[k]))
      throw InputError("Chebyshev polynomial: coefficient " + std::to_string(k) + " is not finite");
  if (!(std::isfinite(a) && std::isfinite(b) && a < b))
    throw InputError("Chebyshev polynomial: the interval [" + std::to_string(a) + ", " +
                     std::to_string(b) + "] is empty or not finite");
}

double ChebyshevPoly::evaluate(double x) const {
  // Clenshaw recurrence in long double (the reference must be more precise than CKKS).
  const long double y = (2.0L * x - a - b) / (static_cast<long double>(b) - a);
  long double b1 = 0, b2 = 0;
  for (std::size_t k = coeffs.size(); k-- > 1;) {
    const long double t = 2 * y * b1 - b2 + coeffs[k];
    b2 = b1;
    b1 = t;
  }
  return static_cast<double>(y * b1 - b2 + (coeffs.empty() ? 0.0L : coeffs[0]));
}

ChebyshevPoly chebyshev_interpolate(const std::function<double(double)>& f, double a, double b,
                                    std::size_t degree) {
  if (!(std::isfinite(a) && std::isfinite(b) && a < b))
    throw InputError("Chebyshev interpolation: the interval must be finite and non-empty");
  if (degree > 4096)
    throw InputError("Chebyshev interpolation: degree above 4096 is not supported");
  const std::size_t n = degree + 1;
  std::vector<long double> fx(n);
  for (std::size_t j = 0; j < n; ++j) {
    const long double theta =
        std::numbers::pi_v<long double> * (static_cast<long double>(j) + 0.5L) / n;
    const long double y = std::cos(theta);
    fx[j] = f(static_cast<double>((a + b) / 2.0L + (b - a) / 2.0L * y));
    if (!std::isfinite(static_cast<double>(fx[j])))
      throw InputError("Chebyshev interpolation: the function is not finite on the interval");
  }
  ChebyshevPoly p;
  p.a = a;
  p.b = b;
  p.coeffs.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    long double s = 0;
    for (std::size_t j = 0; j < n; ++j)
      s += fx[j] * std::cos(std::numbers::pi_v<long double> * k * (j + 0.5L) / n);
    p.coeffs[k] = static_cast<double>((k == 0 ? 1.0L : 2.0L) * s / n);
  }
  return p;
}

double chebyshev_interpolation_bound(std::size_t degree, double a, double b,
                                     double max_derivative) {
  // 2 ((b-a)/4)^(d+1) / (d+1)! * M, in logs to avoid overflow.
  const double d1 = static_cast<double>(degree + 1);
  const double lg = std::log(2.0) + d1 * std::log((b - a) / 4.0) - std::lgamma(d1 + 1.0) +
                    std::log(max_derivative);
  return std::exp(lg);
}

// ---------------------------------------------------------------- planning

namespace {

std::size_t ceil_log2(std::size_t k) {
  return k <= 1 ? 0 : static_cast<std::size_t>(std::bit_width(k - 1));
}
std::size_t floor_pow2(std::size_t k) { return std::bit_floor(k); }

struct NodeCost {
  int depth = 0;
  std::size_t mults = 0;
  std::size_t max_giant = 0;
};

// Depth below y and internal multiplications of a node of degree d with baby size B.
NodeCost node_cost(std::size_t d, std::size_t B) {
  if (d <= B) return {static_cast<int>(ceil_log2(std::max<std::size_t>(d, 1))) + 1, 0, 0};
  const std::size_t G = floor_pow2(d);
  const NodeCost lo = node_cost(G - 1, B), hi = node_cost(d - G, B);
  NodeCost r;
  r.depth = std::max(lo.depth, std::max(hi.depth, static_cast<int>(ceil_log2(G))) + 1);
  r.mults = lo.mults + hi.mults + 1;
  r.max_giant = std::max({G, lo.max_giant, hi.max_giant});
  return r;
}

bool is_pow2(std::size_t x) { return x != 0 && (x & (x - 1)) == 0; }

}  // namespace

ChebyshevPlan plan_chebyshev(std::size_t degree, std::size_t baby, int extra_depth) {
  if (extra_depth < 0 || extra_depth > 8)
    throw InputError("Chebyshev plan: extra depth must be in [0, 8]");
  if (baby != 0 && !is_pow2(baby))
    throw InputError("Chebyshev plan: the baby-step size must be a power of two");
  auto make = [&](std::size_t B) {
    ChebyshevPlan p;
    p.degree = degree;
    p.baby = B;
    const NodeCost c = node_cost(degree, B);
    p.depth = c.depth;
    const std::size_t babies = std::min(B, std::max<std::size_t>(degree, 1));
    p.nonscalar_mults = c.mults + (babies - 1);
    for (std::size_t G = 2 * B; G <= c.max_giant; G *= 2) {
      p.giants.push_back(G);
      ++p.nonscalar_mults;
    }
    // A giant G <= B is a baby step itself (already counted).
    return p;
  };
  if (baby != 0) return make(baby);
  ChebyshevPlan best = make(1);  // B = 1 reaches the optimal depth ceil(log2(degree+1))
  const int allowed = best.depth + extra_depth;
  for (std::size_t B = 2;
       B <= std::max<std::size_t>(2, std::bit_ceil(std::max<std::size_t>(degree, 1))); B *= 2) {
    const ChebyshevPlan p = make(B);
    if (p.depth > allowed) continue;
    if (p.nonscalar_mults < best.nonscalar_mults ||
        (p.nonscalar_mults == best.nonscalar_mults && p.depth < best.depth))
      best = p;
  }
  return best;
}

int chebyshev_depth(const ChebyshevPoly& p, std::size_t baby, int extra_depth) {
  return plan_chebyshev(p.degree(), baby, extra_depth).depth + (p.normalized() ? 0 : 1);
}

// ---------------------------------------------------------------- encrypted side

Ciphertext bring_to(const ckks::Evaluator& ev, const Ciphertext& ct, std::size_t level,
                    double scale) {
  const double tol = ev.options().scale_tolerance;
  if (ct.level == level && std::fabs(ct.scale / scale - 1.0) <= tol) {
    Ciphertext r = ct;
    r.scale = scale;
    return r;
  }
  if (ct.level > level && std::fabs(ct.scale / scale - 1.0) <= tol) {
    Ciphertext r = ev.mod_drop_to(ct, level);  // same scale: dropping primes is exact, no product needed
    r.scale = scale;
    return r;
  }
  if (ct.level <= level)
    throw ParameterError("he: cannot move a ciphertext at level " + std::to_string(ct.level) +
                         " (scale 2^" + std::to_string(std::log2(ct.scale)) + ") to level " +
                         std::to_string(level) + " (scale 2^" + std::to_string(std::log2(scale)) +
                         "): it needs one spare level");
  const double q = static_cast<double>(ev.context().modulus(level + 1).value());
  Ciphertext x = ev.mod_drop_to(ct, level + 1);
  x = ev.multiply_const(x, 1.0, scale * q / x.scale);
  x = ev.rescale(x);
  x.scale = scale;  // relative error 1/(2*round(scale*q/ct.scale)) ~ 2^-40
  return x;
}

namespace {

class ChebyshevEvaluator {
 public:
  ChebyshevEvaluator(const ckks::Evaluator& ev, const ckks::RelinKey& rk, std::size_t baby)
      : ev_(ev), rk_(rk), B_(baby) {}

  /// Multiply the result slot-wise by `w` inside the leaves (no extra level).
  void set_weights(const ckks::Encoder* enc, std::span<const double> w) {
    enc_ = enc;
    // Every leaf plaintext is c_k * w: one FFT here, then each leaf only scales, rounds and NTTs.
    const std::vector<std::complex<double>> cw(w.begin(), w.end());
    w_coeffs_ = enc->slots_to_coeffs(cw);
  }

  // c * w encoded at (scale, level), from the cached coefficients of w.
  ckks::Plaintext weights_times(double c, double scale, std::size_t level) const {
    std::vector<long double> scaled(w_coeffs_.size());
    const long double f = static_cast<long double>(c) * static_cast<long double>(scale);
    for (std::size_t i = 0; i < scaled.size(); ++i) scaled[i] = f * static_cast<long double>(w_coeffs_[i]);
    return enc_->from_scaled_coeffs(scaled, scale, level);
  }

  void set_input(Ciphertext y) { T_.emplace(1, std::move(y)); }

  const Ciphertext& T(std::size_t k) {
    auto it = T_.find(k);
    if (it != T_.end()) return it->second;
    Ciphertext p;
    if (is_pow2(k)) {
      const Ciphertext& h = T(k / 2);
      p = ev_.rescale(ev_.square_relin(h, rk_));
      p = ev_.multiply_integer(p, 2);
      p = ev_.sub_const(p, 1.0);
    } else {
      const std::size_t m = floor_pow2(k), n = k - m;
      const Ciphertext& tm = T(m);
      const Ciphertext& tn = T(n);
      p = ev_.rescale(ev_.multiply_relin(tm, tn, rk_));
      p = ev_.multiply_integer(p, 2);
      const Ciphertext r = bring_to(ev_, T(m - n), p.level, p.scale);
      p = ev_.sub(p, r);
    }
    return T_.emplace(k, std::move(p)).first->second;
  }

  double q(std::size_t level) const {
    return static_cast<double>(ev_.context().modulus(level).value());
  }

  Ciphertext eval(const std::vector<double>& c, std::size_t tl, double ts) {
    const std::size_t d = c.size() - 1;
    if (d <= B_) return leaf(c, tl, ts);
    const std::size_t G = floor_pow2(d);
    std::vector<double> lo(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(G));
    std::vector<double> hi(d - G + 1);
    hi[0] = c[G];
    for (std::size_t j = 1; j <= d - G; ++j) {
      hi[j] = 2.0 * c[G + j];
      lo[G - j] -= c[G + j];
    }
    const Ciphertext& tg = T(G);
    if (tg.level < tl + 1)
      throw ParameterError("he: internal error: Chebyshev plan/level mismatch (giant step)");
    const Ciphertext h = eval(hi, tl + 1, ts * q(tl + 1) / tg.scale);
    Ciphertext prod = ev_.rescale(ev_.multiply_relin(h, tg, rk_));
    prod.scale = ts;  // = h.scale * tg.scale / q(tl+1) up to double rounding
    const Ciphertext l = eval(lo, tl, ts);
    return ev_.add(prod, l);
  }

 private:
  Ciphertext leaf(const std::vector<double>& c, std::size_t tl, double ts) {
    const double target = ts * q(tl + 1);
    Ciphertext acc;
    bool have = false;
    auto term = [&](std::size_t k, double coef) {
      const Ciphertext& t = T(k);
      if (t.level < tl + 1)
        throw ParameterError("he: internal error: Chebyshev plan/level mismatch (leaf)");
      Ciphertext m;
      if (enc_ != nullptr) {
        m = ev_.multiply_plain(ev_.mod_drop_to(t, tl + 1), weights_times(coef, target / t.scale, tl + 1));
      } else {
        m = ev_.multiply_const(ev_.mod_drop_to(t, tl + 1), coef, target / t.scale);
      }
      m.scale = target;
      if (have) {
        acc = ev_.add(acc, m);
      } else {
        acc = std::move(m);
        have = true;
      }
    };
    for (std::size_t k = 1; k < c.size(); ++k)
      if (c[k] != 0.0) term(k, c[k]);
    if (!have) term(1, 0.0);  // a constant polynomial still needs a ciphertext at the right level
    acc = ev_.rescale(acc);
    acc.scale = ts;
    if (c[0] != 0.0) {
      if (enc_ != nullptr) {
        acc = ev_.add_plain(acc, weights_times(c[0], ts, tl));
      } else {
        acc = ev_.add_const(acc, c[0]);
      }
    }
    return acc;
  }

  const ckks::Evaluator& ev_;
  const ckks::RelinKey& rk_;
  std::size_t B_;
  std::map<std::size_t, Ciphertext> T_;
  const ckks::Encoder* enc_ = nullptr;
  std::vector<double> w_coeffs_;  // slots_to_coeffs(w)
};

}  // namespace

namespace {

Ciphertext evaluate_impl(const ckks::Evaluator& ev, const Ciphertext& x, const ChebyshevPoly& p,
                         const ckks::RelinKey& rk, const ChebyshevEvalOptions& options,
                         const ckks::Encoder* enc, std::span<const double> weights) {
  p.validate();
  if (x.size != 2) throw ParameterError("he: evaluate_chebyshev needs a relinearized ciphertext");
  const ChebyshevPlan plan = plan_chebyshev(p.degree(), options.baby, options.extra_depth);
  const int need = plan.depth + (p.normalized() ? 0 : 1);
  if (static_cast<long long>(x.level) < need)
    throw ParameterError("he: evaluating a degree-" + std::to_string(p.degree()) +
                         " polynomial needs " + std::to_string(need) +
                         " levels but the ciphertext is at level " + std::to_string(x.level) +
                         "; choose parameters with more depth or a lower degree");
  const double out_scale = options.output_scale > 0 ? options.output_scale : x.scale;
  Ciphertext y = x;
  if (!p.normalized()) {
    // y = alpha x + beta; multiply_const at const_scale q_level keeps the scale after rescale.
    const double alpha = 2.0 / (p.b - p.a), beta = -(p.a + p.b) / (p.b - p.a);
    y = ev.rescale(ev.multiply_const(x, alpha));
    y.scale = x.scale;
    if (beta != 0.0) y = ev.add_const(y, beta);
  }
  ChebyshevEvaluator ce(ev, rk, plan.baby);
  if (enc != nullptr) ce.set_weights(enc, weights);
  const std::size_t out_level = y.level - static_cast<std::size_t>(plan.depth);
  ce.set_input(std::move(y));
  return ce.eval(p.coeffs, out_level, out_scale);
}

}  // namespace

Ciphertext evaluate_chebyshev(const ckks::Evaluator& ev, const Ciphertext& x,
                              const ChebyshevPoly& p, const ckks::RelinKey& rk,
                              const ChebyshevEvalOptions& options) {
  return evaluate_impl(ev, x, p, rk, options, nullptr, {});
}

Ciphertext evaluate_chebyshev_weighted(const ckks::Evaluator& ev, const ckks::Encoder& enc,
                                       const Ciphertext& x, const ChebyshevPoly& p,
                                       std::span<const double> weights, const ckks::RelinKey& rk,
                                       const ChebyshevEvalOptions& options) {
  if (weights.empty() || weights.size() > enc.slots())
    throw InputError("he: weighted polynomial evaluation needs 1 to " +
                     std::to_string(enc.slots()) + " weights, got " +
                     std::to_string(weights.size()));
  for (double w : weights)
    if (!std::isfinite(w)) throw InputError("he: a polynomial weight is not finite");
  return evaluate_impl(ev, x, p, rk, options, &enc, weights);
}

}  // namespace encmol::he
