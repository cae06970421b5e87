#include "encmol/ckks/evaluator.hpp"

#include <array>
#include <cmath>
#include <cstring>
#include <sstream>

#include "encmol/ckks/detail.hpp"
#include "encmol/ckks/ks_kernels.hpp"
#include "encmol/core/error.hpp"
#include "encmol/math/poly_ops.hpp"

namespace encmol::ckks {

using math::u128;

namespace {

std::string log2s(double x) {
  std::ostringstream os;
  os.precision(6);
  os << "2^" << std::log2(x);
  return os.str();
}

/// Residues of the integer round(v) modulo q_0..q_level (exact for any |v| a long double holds).
std::vector<std::uint64_t> integer_residues(const Context& ctx, long double v, std::size_t level) {
  v = std::round(v);
  if (!std::isfinite(v)) throw InputError("CKKS: constant times scale is not finite");
  const bool neg = v < 0;
  const long double a = std::fabs(v);
  const long double two64 = std::ldexp(1.0L, 64);
  std::vector<std::uint64_t> r(level + 1);
  for (std::size_t i = 0; i <= level; ++i) {
    const auto& q = ctx.modulus(i);
    std::uint64_t x = a < two64 ? q.reduce(static_cast<std::uint64_t>(a))
                                : static_cast<std::uint64_t>(std::fmod(a, static_cast<long double>(q.value())));
    r[i] = neg ? q.neg(x) : x;
  }
  return r;
}

using detail::zero_ciphertext;

}  // namespace

Evaluator::Evaluator(std::shared_ptr<const Context> ctx, EvaluatorOptions options)
    : ctx_(std::move(ctx)), options_(options) {
  if (!ctx_) throw ParameterError("CKKS Evaluator: null context");
  if (!(options_.scale_tolerance >= 0 && options_.scale_tolerance < 1))
    throw ParameterError("CKKS Evaluator: scale_tolerance must lie in [0, 1)");
}

void Evaluator::check(const Ciphertext& a, const char* what) const {
  detail::check_hash(*ctx_, a.params, what);
  if (a.n != ctx_->n() || a.level > ctx_->max_level() || a.size < 2 || a.size > 3 ||
      a.data.size() != a.size * a.limbs() * a.n)
    throw ParameterError(std::string("CKKS: ") + what + " has a shape that does not match the parameters");
  if (!(std::isfinite(a.scale) && a.scale > 0))
    throw ParameterError(std::string("CKKS: ") + what + " has an invalid scale");
}

void Evaluator::check(const Plaintext& p) const {
  detail::check_hash(*ctx_, p.params, "plaintext");
  if (p.n != ctx_->n() || p.level > ctx_->max_level() || p.data.size() != p.limbs() * p.n)
    throw ParameterError("CKKS: plaintext has a shape that does not match the parameters");
  if (!(std::isfinite(p.scale) && p.scale > 0)) throw ParameterError("CKKS: plaintext has an invalid scale");
}

namespace {
thread_local std::string last_alignment_;
}  // namespace

const std::string& Evaluator::last_alignment() const { return last_alignment_; }

namespace {
// A product whose scale reaches the modulus decrypts to garbage: refuse it.
void check_scale_fits(const Context& ctx, double scale, std::size_t level, const char* op) {
  const double log_q = ctx.q_base(level).log2_product();
  if (!(std::isfinite(scale) && std::log2(scale) < log_q - 1.0))
    throw ParameterError(std::string("CKKS ") + op + ": the result scale 2^" + std::to_string(std::log2(scale)) +
                         " does not fit the modulus at level " + std::to_string(level) + " (2^" +
                         std::to_string(log_q) + "); rescale the operands first");
}
}  // namespace

bool Evaluator::scales_equal(double a, double b) const {
  return std::fabs(a / b - 1.0) <= options_.scale_tolerance;
}

// ---------------------------------------------------------------- levels

Ciphertext Evaluator::mod_drop_to(const Ciphertext& a, std::size_t level) const {
  check(a, "ciphertext");
  if (level > a.level)
    throw ParameterError("CKKS mod_drop_to: target level " + std::to_string(level) + " is above the ciphertext's " +
                         std::to_string(a.level));
  if (level == a.level) return a;
  const std::size_t n = a.n;
  Ciphertext r = zero_ciphertext(*ctx_, a.size, level, a.scale);
  for (std::size_t t = 0; t < a.size; ++t)
    std::memcpy(r.poly(t), a.poly(t), (level + 1) * n * sizeof(std::uint64_t));
  // The seed expansion is limb by limb in order, so the first limbs of the
  // expansion at a higher level are the expansion at the lower one.
  r.c1_seed = a.c1_seed;
  return r;
}

Ciphertext Evaluator::rescale(const Ciphertext& a) const {
  check(a, "ciphertext");
  if (a.level == 0) throw ParameterError("CKKS rescale: the ciphertext is at level 0; no prime left to divide by");
  const Context& ctx = *ctx_;
  const std::size_t n = a.n;
  const std::size_t l = a.level;
  const auto& ql = ctx.modulus(l);
  const std::uint64_t half = ql.value() >> 1;
  // Last limb to coefficients, shifted by q_l/2 so that the lift below is centered.
  std::uint64_t* last = detail::thread_buffer(0, a.size * n);
  detail::for_limbs(a.size, [&](std::size_t t) {
    std::uint64_t* x = last + t * n;
    std::memcpy(x, a.limb(t, l), n * sizeof(std::uint64_t));
    ctx.ntt(l).inverse(x);
    math::add_scalar_mod(x, half, x, n, ql);
  });
  Ciphertext r = zero_ciphertext(ctx, a.size, l - 1, a.scale / static_cast<double>(ql.value()));
  detail::for_limbs(a.size * l, [&](std::size_t task) {
    const std::size_t t = task / l, i = task % l;
    const auto& qi = ctx.modulus(i);
    std::uint64_t* tmp = detail::thread_buffer(detail::kTaskSlot, n);
    math::reduce_mod(last + t * n, tmp, n, qi);
    math::add_scalar_mod(tmp, qi.neg(qi.reduce(half)), tmp, n, qi);
    ctx.ntt(i).forward(tmp);
    math::sub_mod(a.limb(t, i), tmp, tmp, n, qi);
    math::mul_scalar_mod(tmp, ctx.q_last_inv(l, i), r.limb(t, i), n, qi);
  });
  return r;
}

Ciphertext Evaluator::multiply_residues(const Ciphertext& a, const std::vector<std::uint64_t>& per_limb) const {
  const std::size_t L = a.limbs();
  Ciphertext r = zero_ciphertext(*ctx_, a.size, a.level, a.scale);
  detail::for_limbs(a.size * L, [&](std::size_t task) {
    const std::size_t t = task / L, i = task % L;
    math::mul_scalar_mod(a.limb(t, i), per_limb[i], r.limb(t, i), a.n, ctx_->modulus(i));
  });
  return r;
}

Ciphertext Evaluator::adjust_by_rescale(const Ciphertext& a, std::size_t target_level, double target_scale) const {
  const Context& ctx = *ctx_;
  const double q = static_cast<double>(ctx.modulus(target_level + 1).value());
  const long double c = std::round(static_cast<long double>(target_scale) * q / static_cast<long double>(a.scale));
  const double reached = static_cast<double>(static_cast<long double>(a.scale) * c / q);
  if (c < 1 || !scales_equal(reached, target_scale))
    throw ParameterError("CKKS: cannot align a ciphertext at level " + std::to_string(a.level) + " and scale " +
                         log2s(a.scale) + " with one at level " + std::to_string(target_level) + " and scale " +
                         log2s(target_scale) + ": the adjusting constant would be " +
                         std::to_string(static_cast<double>(c)) + "; rescale the first operand before adding");
  Ciphertext x = mod_drop_to(a, target_level + 1);
  x = multiply_residues(x, integer_residues(ctx, c, x.level));
  x = rescale(x);
  x.scale = target_scale;  // off by a relative 1/(2c) at most (checked above)
  last_alignment_ = "multiplied the level-" + std::to_string(a.level) + " operand (scale " + log2s(a.scale) +
                    ") by " + std::to_string(static_cast<double>(c)) + " and rescaled it onto level " +
                    std::to_string(target_level) + " at scale " + log2s(target_scale);
  return x;
}

void Evaluator::align(Ciphertext& a, Ciphertext& b) const {
  check(a, "first operand");
  check(b, "second operand");
  last_alignment_.clear();
  if (scales_equal(a.scale, b.scale)) {
    if (a.level > b.level) a = mod_drop_to(a, b.level);
    if (b.level > a.level) b = mod_drop_to(b, a.level);
    return;
  }
  if (a.level != b.level) {
    if (a.level > b.level)
      a = adjust_by_rescale(a, b.level, b.scale);
    else
      b = adjust_by_rescale(b, a.level, a.scale);
    return;
  }
  Ciphertext& lo = a.scale < b.scale ? a : b;
  const Ciphertext& hi = a.scale < b.scale ? b : a;
  const double ratio = hi.scale / lo.scale;
  const double c = std::round(ratio);
  if (c >= 1 && c < 9.2e18 && scales_equal(lo.scale * c, hi.scale)) {
    lo = multiply_integer(lo, static_cast<std::int64_t>(c));
    lo.scale = hi.scale;
    last_alignment_ = "multiplied the lower-scale operand by the integer " + std::to_string(static_cast<long long>(c));
    return;
  }
  throw ParameterError("CKKS: operands at level " + std::to_string(a.level) + " have scales " + log2s(a.scale) +
                       " and " + log2s(b.scale) + " whose ratio " + std::to_string(ratio) +
                       " is not an integer; rescale one of them or keep an extra level so they can be aligned");
}

// ---------------------------------------------------------------- addition

Ciphertext Evaluator::add_sub(const Ciphertext& a0, const Ciphertext& b0, bool subtract) const {
  check(a0, "first operand");
  check(b0, "second operand");
  Ciphertext ta, tb;  // copies only when alignment has to change an operand
  const Ciphertext* pa = &a0;
  const Ciphertext* pb = &b0;
  last_alignment_.clear();
  if (a0.level != b0.level || !scales_equal(a0.scale, b0.scale)) {
    ta = a0;
    tb = b0;
    align(ta, tb);
    pa = &ta;
    pb = &tb;
  }
  const Ciphertext& a = *pa;
  const Ciphertext& b = *pb;
  const std::size_t L = a.limbs();
  const std::size_t size = std::max(a.size, b.size);
  Ciphertext r = zero_ciphertext(*ctx_, size, a.level, a.scale);
  detail::for_limbs(size * L, [&](std::size_t task) {
    const std::size_t t = task / L, i = task % L;
    const auto& q = ctx_->modulus(i);
    std::uint64_t* out = r.limb(t, i);
    if (t < a.size && t < b.size) {
      if (subtract)
        math::sub_mod(a.limb(t, i), b.limb(t, i), out, a.n, q);
      else
        math::add_mod(a.limb(t, i), b.limb(t, i), out, a.n, q);
    } else if (t < a.size) {
      std::memcpy(out, a.limb(t, i), a.n * sizeof(std::uint64_t));
    } else if (subtract) {
      math::neg_mod(b.limb(t, i), out, a.n, q);
    } else {
      std::memcpy(out, b.limb(t, i), a.n * sizeof(std::uint64_t));
    }
  });
  return r;
}

Ciphertext Evaluator::add(const Ciphertext& a, const Ciphertext& b) const { return add_sub(a, b, false); }
Ciphertext Evaluator::sub(const Ciphertext& a, const Ciphertext& b) const { return add_sub(a, b, true); }

Ciphertext Evaluator::negate(const Ciphertext& a) const {
  check(a, "ciphertext");
  const std::size_t L = a.limbs();
  Ciphertext r = zero_ciphertext(*ctx_, a.size, a.level, a.scale);
  detail::for_limbs(a.size * L, [&](std::size_t task) {
    const std::size_t t = task / L, i = task % L;
    math::neg_mod(a.limb(t, i), r.limb(t, i), a.n, ctx_->modulus(i));
  });
  return r;
}

Ciphertext Evaluator::add_sub_plain(const Ciphertext& a, const Plaintext& p0, bool subtract) const {
  check(a, "ciphertext");
  check(p0);
  last_alignment_.clear();
  const Context& ctx = *ctx_;
  Ciphertext x = a;
  Plaintext scaled_p;  // only used when the plaintext needs an integer factor
  const Plaintext* p = &p0;
  if (!scales_equal(x.scale, p->scale)) {
    if (x.level > p->level) {
      x = adjust_by_rescale(x, p->level, p->scale);
    } else {
      const bool ct_low = x.scale < p->scale;
      const double ratio = ct_low ? p->scale / x.scale : x.scale / p->scale;
      const double c = std::round(ratio);
      const double lo = ct_low ? x.scale : p->scale, hi = ct_low ? p->scale : x.scale;
      if (!(c >= 1 && c < 9.2e18 && scales_equal(lo * c, hi)))
        throw ParameterError("CKKS: plaintext scale " + log2s(p->scale) + " does not match the ciphertext scale " +
                             log2s(x.scale) + "; encode the plaintext at the ciphertext's scale");
      if (ct_low) {
        x = multiply_integer(x, static_cast<std::int64_t>(c));
        x.scale = p->scale;
        last_alignment_ = "multiplied the ciphertext by the integer " + std::to_string(static_cast<long long>(c));
      } else {
        scaled_p = p0;
        const auto res = integer_residues(ctx, static_cast<long double>(c), p0.level);
        for (std::size_t i = 0; i < p0.limbs(); ++i)
          math::mul_scalar_mod(p0.limb(i), res[i], scaled_p.limb(i), p0.n, ctx.modulus(i));
        scaled_p.scale = x.scale;
        p = &scaled_p;
        last_alignment_ = "multiplied the plaintext by the integer " + std::to_string(static_cast<long long>(c));
      }
    }
  }
  if (x.level > p->level) x = mod_drop_to(x, p->level);
  x.c1_seed.reset();
  detail::for_limbs(x.limbs(), [&](std::size_t i) {
    const auto& q = ctx.modulus(i);
    if (subtract)
      math::sub_mod(x.limb(0, i), p->limb(i), x.limb(0, i), x.n, q);
    else
      math::add_mod(x.limb(0, i), p->limb(i), x.limb(0, i), x.n, q);
  });
  return x;
}

Ciphertext Evaluator::add_plain(const Ciphertext& a, const Plaintext& p) const { return add_sub_plain(a, p, false); }
Ciphertext Evaluator::sub_plain(const Ciphertext& a, const Plaintext& p) const { return add_sub_plain(a, p, true); }

Plaintext Evaluator::const_plain(std::complex<double> c, double scale, std::size_t level) const {
  const Context& ctx = *ctx_;
  const std::size_t n = ctx.n();
  Plaintext p;
  p.n = n;
  p.level = level;
  p.scale = scale;
  p.params = ctx.hash();
  p.data.assign((level + 1) * n, 0);
  const auto re = integer_residues(ctx, static_cast<long double>(c.real()) * scale, level);
  if (c.imag() == 0.0) {
    // A constant polynomial is the same value at every evaluation point.
    for (std::size_t i = 0; i <= level; ++i) std::fill(p.limb(i), p.limb(i) + n, re[i]);
    return p;
  }
  // a + b X^(N/2): X^(N/2) evaluates to i at every slot point.
  const auto im = integer_residues(ctx, static_cast<long double>(c.imag()) * scale, level);
  detail::for_limbs(level + 1, [&](std::size_t i) {
    std::uint64_t* x = p.limb(i);
    x[0] = re[i];
    x[n / 2] = im[i];
    ctx.ntt(i).forward(x);
  });
  return p;
}

Ciphertext Evaluator::add_const(const Ciphertext& a, std::complex<double> c) const {
  check(a, "ciphertext");
  return add_plain(a, const_plain(c, a.scale, a.level));
}

Ciphertext Evaluator::sub_const(const Ciphertext& a, std::complex<double> c) const {
  check(a, "ciphertext");
  return sub_plain(a, const_plain(c, a.scale, a.level));
}

// ---------------------------------------------------------------- multiplication

namespace {

// d0 = x0*y0, d1 = x0*y1 + x1*y0, d2 = x1*y1 for one limb.
void tensor_limb(const std::uint64_t* x0, const std::uint64_t* x1, const std::uint64_t* y0, const std::uint64_t* y1,
                 std::uint64_t* d0, std::uint64_t* d1, std::uint64_t* d2, std::size_t n, const math::Modulus& q) {
  if (detail::ifma_serves(q)) {
    math::mul_mod(x0, y0, d0, n, q);
    math::mul_mod(x0, y1, d1, n, q);
    math::mul_add_mod(x1, y0, d1, n, q);
    math::mul_mod(x1, y1, d2, n, q);
    return;
  }
  for (std::size_t c = 0; c < n; ++c) {
    d0[c] = q.mul(x0[c], y0[c]);
    // Both products < q^2 and q < 2^61, so the sum is below q*2^64.
    d1[c] = q.reduce(static_cast<u128>(x0[c]) * y1[c] + static_cast<u128>(x1[c]) * y0[c]);
    d2[c] = q.mul(x1[c], y1[c]);
  }
}

}  // namespace

void Evaluator::prepare_product(const Ciphertext& a0, const Ciphertext& b0, ProductOperands& out) const {
  check(a0, "first operand");
  check(b0, "second operand");
  if (a0.size != 2 || b0.size != 2)
    throw ParameterError("CKKS multiply: operands must have 2 polynomials; relinearize first");
  out.level = std::min(a0.level, b0.level);
  out.a = a0.level > out.level ? &(out.dropped_a = mod_drop_to(a0, out.level)) : &a0;
  out.b = b0.level > out.level ? &(out.dropped_b = mod_drop_to(b0, out.level)) : &b0;
}

Ciphertext Evaluator::multiply(const Ciphertext& a0, const Ciphertext& b0) const {
  ProductOperands ops;
  prepare_product(a0, b0, ops);
  const Ciphertext* a = ops.a;
  const Ciphertext* b = ops.b;
  const std::size_t level = ops.level;
  const std::size_t L = level + 1, n = a->n;
  Ciphertext r = zero_ciphertext(*ctx_, 3, level, a->scale * b->scale);
  detail::for_limbs(L, [&](std::size_t i) {
    tensor_limb(a->limb(0, i), a->limb(1, i), b->limb(0, i), b->limb(1, i), r.limb(0, i), r.limb(1, i),
                r.limb(2, i), n, ctx_->modulus(i));
  });
  return r;
}

Ciphertext Evaluator::square(const Ciphertext& a) const { return multiply(a, a); }

Ciphertext Evaluator::relinearize(const Ciphertext& a, const RelinKey& rk) const {
  check(a, "ciphertext");
  detail::check_hash(*ctx_, rk.params, "relinearization key");
  if (a.size == 2) return a;
  const std::size_t L = a.limbs(), n = a.n;
  const Decomposition d = decompose_scratch(a.poly(2), a.level);
  Ciphertext r = zero_ciphertext(*ctx_, 2, a.level, a.scale);
  key_switch(d, rk.key, nullptr, r.poly(0), r.poly(1));
  detail::for_limbs(2 * L, [&](std::size_t task) {
    const std::size_t t = task / L, i = task % L;
    math::add_mod(r.limb(t, i), a.limb(t, i), r.limb(t, i), n, ctx_->modulus(i));
  });
  return r;
}

Ciphertext Evaluator::multiply_relin(const Ciphertext& a0, const Ciphertext& b0, const RelinKey& rk) const {
  detail::check_hash(*ctx_, rk.params, "relinearization key");
  ProductOperands ops;
  prepare_product(a0, b0, ops);
  const Ciphertext* a = ops.a;
  const Ciphertext* b = ops.b;
  const std::size_t level = ops.level;
  const std::size_t L = level + 1, n = a->n;
  check_scale_fits(*ctx_, a->scale * b->scale, level, "multiply");
  // d0, d1 go straight into the result; d2 into scratch for key switching.
  Ciphertext r = zero_ciphertext(*ctx_, 2, level, a->scale * b->scale);
  std::uint64_t* d2 = detail::thread_buffer(3, L * n);
  detail::for_limbs(L, [&](std::size_t i) {
    tensor_limb(a->limb(0, i), a->limb(1, i), b->limb(0, i), b->limb(1, i), r.limb(0, i), r.limb(1, i), d2 + i * n,
                n, ctx_->modulus(i));
  });
  const Decomposition d = decompose_scratch(d2, level);
  std::uint64_t* k = detail::thread_buffer(3, 2 * L * n);  // d2 is no longer needed
  key_switch(d, rk.key, nullptr, k, k + L * n);
  detail::for_limbs(2 * L, [&](std::size_t task) {
    const std::size_t t = task / L, i = task % L;
    math::add_mod(r.limb(t, i), k + (t * L + i) * n, r.limb(t, i), n, ctx_->modulus(i));
  });
  return r;
}

Ciphertext Evaluator::square_relin(const Ciphertext& a, const RelinKey& rk) const { return multiply_relin(a, a, rk); }

Ciphertext Evaluator::multiply_plain(const Ciphertext& a0, const Plaintext& p) const {
  check(a0, "ciphertext");
  check(p);
  const std::size_t level = std::min(a0.level, p.level);
  const Ciphertext a = a0.level > level ? mod_drop_to(a0, level) : a0;
  const std::size_t L = level + 1;
  check_scale_fits(*ctx_, a.scale * p.scale, level, "multiply_plain");
  Ciphertext r = zero_ciphertext(*ctx_, a.size, level, a.scale * p.scale);
  detail::for_limbs(a.size * L, [&](std::size_t task) {
    const std::size_t t = task / L, i = task % L;
    math::mul_mod(a.limb(t, i), p.limb(i), r.limb(t, i), a.n, ctx_->modulus(i));
  });
  return r;
}

Ciphertext Evaluator::multiply_const(const Ciphertext& a, std::complex<double> c, double const_scale) const {
  check(a, "ciphertext");
  if (!(std::isfinite(const_scale) && const_scale >= 1))
    throw ParameterError("CKKS multiply_const: the constant's scale must be a finite number >= 1");
  check_scale_fits(*ctx_, a.scale * const_scale, a.level, "multiply_const");
  if (c.imag() == 0.0) {
    Ciphertext r =
        multiply_residues(a, integer_residues(*ctx_, static_cast<long double>(c.real()) * const_scale, a.level));
    r.scale = a.scale * const_scale;
    return r;
  }
  return multiply_plain(a, const_plain(c, const_scale, a.level));
}

Ciphertext Evaluator::multiply_const(const Ciphertext& a, std::complex<double> c) const {
  check(a, "ciphertext");
  return multiply_const(a, c, static_cast<double>(ctx_->modulus(a.level).value()));
}

Ciphertext Evaluator::multiply_integer(const Ciphertext& a, std::int64_t k) const {
  check(a, "ciphertext");
  return multiply_residues(a, integer_residues(*ctx_, static_cast<long double>(k), a.level));
}

// ---------------------------------------------------------------- key switching

Evaluator::Decomposition Evaluator::decompose(const std::uint64_t* poly, std::size_t level) const {
  return decompose_impl(poly, level, false);
}

Evaluator::Decomposition Evaluator::decompose_scratch(const std::uint64_t* poly, std::size_t level) const {
  return decompose_impl(poly, level, true);
}

Evaluator::Decomposition Evaluator::decompose_impl(const std::uint64_t* poly, std::size_t level, bool scratch) const {
  const Context& ctx = *ctx_;
  const std::size_t n = ctx.n(), L = level + 1, np = ctx.num_p();
  Decomposition d;
  d.level = level;
  d.digits = ctx.num_digits(level);
  d.ext_limbs = L + np;
  const std::size_t K = d.ext_limbs;
  std::uint64_t* coef = detail::thread_buffer(0, L * n);
  detail::for_limbs(L, [&](std::size_t i) {
    std::memcpy(coef + i * n, poly + i * n, n * sizeof(std::uint64_t));
    ctx.ntt(i).inverse(coef + i * n);
  });
  d.alpha = ctx.alpha();
  if (scratch) {
    d.data = detail::thread_buffer(1, d.digits * K * n);
  } else {
    d.owned = std::unique_ptr<std::uint64_t[]>(new std::uint64_t[d.digits * K * n]);
    d.data = d.owned.get();
  }
  // ModUp of every digit straight into its block, then the NTTs.
  detail::for_limbs(d.digits, [&](std::size_t j) {
    const auto [b, e] = ctx.digit_range(level, j);
    std::uint64_t* block = d.data + j * K * n;
    ctx.modup(level, j).convert(coef + b * n, block, n);
    std::memcpy(block + (K - (e - b)) * n, poly + b * n, (e - b) * n * sizeof(std::uint64_t));
  });
  detail::for_limbs(d.digits * K, [&](std::size_t task) {
    const std::size_t j = task / K, t = task % K;
    const auto [b, e] = ctx.digit_range(level, j);
    if (t >= K - (e - b)) return;  // own primes: already in NTT form
    // Block position t holds extended limb k.
    const std::size_t k = t < b ? t : t + (e - b);
    ctx.ntt(k < L ? k : ctx.num_q() + (k - L)).forward(d.data + (j * K + t) * n);
  });
  return d;
}

void Evaluator::key_switch(const Decomposition& d, const KeySwitchKey& key, const std::uint32_t* perm,
                           std::uint64_t* out0, std::uint64_t* out1) const {
  const Context& ctx = *ctx_;
  const std::size_t n = ctx.n(), L = d.level + 1, K = d.ext_limbs, ext = ctx.num_extended();
  if (key.digits != ctx.num_digits(ctx.max_level()) || key.b.size() != key.digits * ext * n ||
      key.a.size() != key.b.size())
    throw ParameterError("CKKS key switching: the key has the wrong shape (was it expanded from its seed?)");
  std::uint64_t* acc = detail::thread_buffer(2, 2 * K * n);
  detail::for_limbs(K, [&](std::size_t k) {
    const std::size_t kk = k < L ? k : ctx.num_q() + (k - L);
    const auto& q = ctx.modulus(kk);
    const std::size_t beta = d.digits;
    std::uint64_t* o0 = acc + k * n;
    std::uint64_t* o1 = acc + (K + k) * n;
    std::array<const std::uint64_t*, 64> dig{}, kb{}, ka{};
    for (std::size_t j = 0; j < beta; ++j) {
      dig[j] = d.limb(j, k, n);
      kb[j] = key.b_limb(j, kk, n, ext);
      ka[j] = key.a_limb(j, kk, n, ext);
    }
    const detail::InnerProductArgs args{dig.data(), kb.data(), ka.data(), beta, perm, o0, o1, n};
    if (detail::inner_product_ifma_ok(q, beta))
      detail::inner_product_ifma(args, q);
    else
      detail::inner_product_portable(args, q);  // exact 128-bit sums (beta <= 64, q < 2^61: no overflow)
  });
  // ModDown: subtract the P-part lifted to Q, divide by P.
  std::uint64_t* outs[2] = {out0, out1};
  detail::mod_down(ctx, acc, 2, d.level, outs);
}

// ---------------------------------------------------------------- rotations

Ciphertext Evaluator::rotate_with(const Ciphertext& a, const Decomposition& d, std::uint64_t galois_elt,
                                  const GaloisKeys& gk) const {
  auto it = gk.keys.find(galois_elt);
  if (it == gk.keys.end())
    throw ParameterError("CKKS: no Galois key for element " + std::to_string(galois_elt) +
                         "; create the Galois keys with this rotation step (or conjugation)");
  const auto& perm = ctx_->galois_permutation(galois_elt);
  const std::size_t L = a.limbs(), n = a.n;
  // With the transposed key: (k0, k1) switches c1 to sigma^-1(s); then
  // sigma(c0 + k0) + sigma(k1)*s = sigma(c0 + c1*s).
  std::uint64_t* k = detail::thread_buffer(3, 2 * L * n);
  key_switch(d, it->second, nullptr, k, k + L * n);
  Ciphertext r = zero_ciphertext(*ctx_, 2, a.level, a.scale);
  detail::for_limbs(2 * L, [&](std::size_t task) {
    const std::size_t t = task / L, i = task % L;
    std::uint64_t* src = k + (t * L + i) * n;
    if (t == 0) math::add_mod(src, a.limb(0, i), src, n, ctx_->modulus(i));
    math::permute(src, perm.data(), r.limb(t, i), n);
  });
  return r;
}

Ciphertext Evaluator::apply_galois(const Ciphertext& a, std::uint64_t galois_elt, const GaloisKeys& gk) const {
  check(a, "ciphertext");
  detail::check_hash(*ctx_, gk.params, "Galois key set");
  if (a.size != 2) throw ParameterError("CKKS rotate: relinearize the ciphertext first");
  if (galois_elt == 1) return a;
  if (!gk.has(galois_elt))
    throw ParameterError("CKKS: no Galois key for element " + std::to_string(galois_elt) +
                         "; create the Galois keys with this rotation step (or conjugation)");
  const Decomposition d = decompose_scratch(a.poly(1), a.level);
  return rotate_with(a, d, galois_elt, gk);
}

Ciphertext Evaluator::rotate(const Ciphertext& a, int step, const GaloisKeys& gk) const {
  return apply_galois(a, ctx_->galois_element(step), gk);
}

Ciphertext Evaluator::conjugate(const Ciphertext& a, const GaloisKeys& gk) const {
  return apply_galois(a, ctx_->conjugation_element(), gk);
}

std::vector<Ciphertext> Evaluator::rotate_hoisted(const Ciphertext& a, std::span<const int> steps,
                                                  const GaloisKeys& gk) const {
  check(a, "ciphertext");
  detail::check_hash(*ctx_, gk.params, "Galois key set");
  if (a.size != 2) throw ParameterError("CKKS rotate: relinearize the ciphertext first");
  for (int s : steps) {
    const auto g = ctx_->galois_element(s);
    if (g != 1 && !gk.has(g))
      throw ParameterError("CKKS: no Galois key for rotation step " + std::to_string(s) +
                           "; create the Galois keys with this step");
  }
  std::vector<Ciphertext> out;
  out.reserve(steps.size());
  const Decomposition d = decompose(a.poly(1), a.level);
  for (int s : steps) {
    const auto g = ctx_->galois_element(s);
    if (g == 1) {
      Ciphertext c = a;
      c.c1_seed.reset();
      out.push_back(std::move(c));
    } else {
      out.push_back(rotate_with(a, d, g, gk));
    }
  }
  return out;
}

}  // namespace encmol::ckks
