#include "encmol/ckks/encoder.hpp"

#include <cmath>
#include <numbers>

#include "encmol/ckks/detail.hpp"
#include "encmol/core/error.hpp"
#include "encmol/math/ntt.hpp"

namespace encmol::ckks {

Encoder::Encoder(std::shared_ptr<const Context> ctx) : ctx_(std::move(ctx)) {
  if (!ctx_) throw ParameterError("CKKS Encoder: null context");
  const std::size_t n = ctx_->n();
  half_ = n / 2;
  const int log_half = ctx_->log_n() - 1;
  roots_.resize(half_);
  twist_.resize(half_);
  // Twiddles in long double so that they are correctly rounded doubles.
  const long double pi = std::numbers::pi_v<long double>;
  for (std::size_t k = 0; k < half_; ++k) {
    const long double a = 2.0L * pi * static_cast<long double>(k) / static_cast<long double>(half_);
    roots_[k] = {static_cast<double>(std::cos(a)), static_cast<double>(std::sin(a))};
    const long double b = pi * static_cast<long double>(k) / static_cast<long double>(n);
    twist_[k] = {static_cast<double>(std::cos(b)), static_cast<double>(std::sin(b))};
  }
  slot_index_.resize(half_);
  const std::uint64_t m = 2 * n;
  std::uint64_t g = 1;
  for (std::size_t k = 0; k < half_; ++k) {
    slot_index_[k] = static_cast<std::uint32_t>((g - 1) / 4);
    g = g * 5 % m;
  }
  bitrev_.resize(half_);
  for (std::size_t i = 0; i < half_; ++i) bitrev_[i] = math::bit_reverse(static_cast<std::uint32_t>(i), log_half);
}

void Encoder::fft(std::vector<std::complex<double>>& a, bool inverse) const {
  const std::size_t h = half_;
  for (std::size_t i = 0; i < h; ++i)
    if (i < bitrev_[i]) std::swap(a[i], a[bitrev_[i]]);
  for (std::size_t len = 2; len <= h; len <<= 1) {
    const std::size_t step = h / len;
    const std::size_t half_len = len / 2;
    for (std::size_t i = 0; i < h; i += len) {
      for (std::size_t j = 0; j < half_len; ++j) {
        std::complex<double> w = roots_[j * step];
        if (inverse) w = std::conj(w);
        const std::complex<double> u = a[i + j];
        const std::complex<double> v = a[i + j + half_len] * w;
        a[i + j] = u + v;
        a[i + j + half_len] = u - v;
      }
    }
  }
  if (inverse) {
    const double inv = 1.0 / static_cast<double>(h);
    for (auto& x : a) x *= inv;
  }
}

std::vector<double> Encoder::slots_to_coeffs(std::span<const std::complex<double>> values) const {
  if (values.size() > half_)
    throw InputError("CKKS encode: " + std::to_string(values.size()) + " values exceed the " +
                     std::to_string(half_) + " slots of N=2^" + std::to_string(ctx_->log_n()));
  std::vector<std::complex<double>> a(half_, {0.0, 0.0});
  for (std::size_t k = 0; k < values.size(); ++k) {
    if (!std::isfinite(values[k].real()) || !std::isfinite(values[k].imag()))
      throw InputError("CKKS encode: value " + std::to_string(k) + " is not a finite number");
    a[slot_index_[k]] = values[k];
  }
  fft(a, true);
  std::vector<double> coeffs(2 * half_);
  for (std::size_t j = 0; j < half_; ++j) {
    const std::complex<double> w = a[j] * std::conj(twist_[j]);
    coeffs[j] = w.real();
    coeffs[j + half_] = w.imag();
  }
  return coeffs;
}

std::vector<std::complex<double>> Encoder::coeffs_to_slots(std::span<const long double> coeffs) const {
  if (coeffs.size() != 2 * half_) throw ParameterError("CKKS decode: expected N coefficients");
  std::vector<std::complex<double>> a(half_);
  for (std::size_t j = 0; j < half_; ++j)
    a[j] = std::complex<double>(static_cast<double>(coeffs[j]), static_cast<double>(coeffs[j + half_])) * twist_[j];
  fft(a, false);
  std::vector<std::complex<double>> out(half_);
  for (std::size_t k = 0; k < half_; ++k) out[k] = a[slot_index_[k]];
  return out;
}

Plaintext Encoder::from_scaled_coeffs(std::span<const long double> scaled, double scale, std::size_t level) const {
  const Context& ctx = *ctx_;
  const std::size_t n = ctx.n();
  if (scaled.size() != n) throw ParameterError("CKKS encode: expected N coefficients");
  if (level > ctx.max_level())
    throw ParameterError("CKKS encode: level " + std::to_string(level) + " exceeds the maximum level " +
                         std::to_string(ctx.max_level()));
  if (!(std::isfinite(scale) && scale > 0))
    throw ParameterError("CKKS encode: scale must be a positive finite number");
  const double log_q = ctx.q_base(level).log2_product();
  std::vector<std::int64_t> small(n);
  std::vector<long double> big;  // only filled when some |coefficient| >= 2^63
  long double max_abs = 0;
  bool any_big = false;
  const long double two63 = std::ldexp(1.0L, 63);
  for (std::size_t c = 0; c < n; ++c) {
    const long double v = std::round(scaled[c]);
    if (!std::isfinite(v)) throw InputError("CKKS encode: value times scale is not finite");
    max_abs = std::max(max_abs, std::fabs(v));
    if (std::fabs(v) < two63) {
      small[c] = static_cast<std::int64_t>(v);
    } else {
      any_big = true;
    }
  }
  if (max_abs > 0 && std::log2(static_cast<double>(max_abs)) + 1.0 >= log_q)
    throw ParameterError("CKKS encode: values times scale reach 2^" +
                         std::to_string(static_cast<int>(std::log2(static_cast<double>(max_abs)))) +
                         ", which does not fit the modulus at level " + std::to_string(level) + " (2^" +
                         std::to_string(static_cast<int>(log_q)) + "); lower the scale or the values");
  Plaintext pt;
  pt.n = n;
  pt.level = level;
  pt.scale = scale;
  pt.params = ctx.hash();
  pt.data.assign((level + 1) * n, 0);
  detail::for_limbs(level + 1, [&](std::size_t i) {
    const auto& q = ctx.modulus(i);
    std::uint64_t* out = pt.limb(i);
    for (std::size_t c = 0; c < n; ++c) {
      const std::int64_t x = small[c];
      out[c] = x >= 0 ? q.reduce(static_cast<std::uint64_t>(x)) : q.neg(q.reduce(static_cast<std::uint64_t>(-x)));
    }
    if (any_big) {
      const auto qv = static_cast<long double>(q.value());
      for (std::size_t c = 0; c < n; ++c) {
        const long double v = std::round(scaled[c]);
        if (std::fabs(v) < two63) continue;
        // fmod is exact; v is an integer held exactly in the long double.
        const auto r = static_cast<std::uint64_t>(std::fmod(std::fabs(v), qv));
        out[c] = v < 0 ? q.neg(r) : r;
      }
    }
    ctx.ntt(i).forward(out);
  });
  return pt;
}

Plaintext Encoder::encode(std::span<const std::complex<double>> values, double scale, std::size_t level) const {
  const auto coeffs = slots_to_coeffs(values);
  std::vector<long double> scaled(coeffs.size());
  for (std::size_t c = 0; c < coeffs.size(); ++c)
    scaled[c] = static_cast<long double>(coeffs[c]) * static_cast<long double>(scale);
  return from_scaled_coeffs(scaled, scale, level);
}

Plaintext Encoder::encode(std::span<const double> values, double scale, std::size_t level) const {
  std::vector<std::complex<double>> v(values.begin(), values.end());
  return encode(std::span<const std::complex<double>>(v), scale, level);
}

Plaintext Encoder::encode(std::span<const double> values) const {
  return encode(values, ctx_->params().default_scale, ctx_->max_level());
}

Plaintext Encoder::encode(std::span<const std::complex<double>> values) const {
  return encode(values, ctx_->params().default_scale, ctx_->max_level());
}

Plaintext Encoder::encode_constant(std::complex<double> value, double scale, std::size_t level) const {
  if (!std::isfinite(value.real()) || !std::isfinite(value.imag()))
    throw InputError("CKKS encode: constant is not a finite number");
  // m = a + b X^(N/2): X^(N/2) is i at every slot point.
  std::vector<long double> scaled(ctx_->n(), 0.0L);
  scaled[0] = static_cast<long double>(value.real()) * static_cast<long double>(scale);
  scaled[half_] = static_cast<long double>(value.imag()) * static_cast<long double>(scale);
  return from_scaled_coeffs(scaled, scale, level);
}

std::vector<std::complex<double>> Encoder::decode_complex(const Plaintext& pt) const {
  const Context& ctx = *ctx_;
  detail::check_hash(ctx, pt.params, "plaintext");
  const std::size_t n = ctx.n();
  if (pt.n != n || pt.level > ctx.max_level() || pt.data.size() != (pt.level + 1) * n)
    throw ParameterError("CKKS decode: plaintext shape does not match the parameters");
  std::vector<std::uint64_t> coef(pt.data);
  detail::for_limbs(pt.level + 1, [&](std::size_t i) { ctx.ntt(i).inverse(coef.data() + i * n); });
  std::vector<long double> values(n);
  const long double inv_scale = 1.0L / static_cast<long double>(pt.scale);
  if (pt.level == 0) {
    const std::uint64_t q = ctx.modulus(0).value();
    for (std::size_t c = 0; c < n; ++c) {
      const std::uint64_t x = coef[c];
      const long double v = x > q / 2 ? -static_cast<long double>(q - x) : static_cast<long double>(x);
      values[c] = v * inv_scale;
    }
  } else {
    const auto& base = ctx.q_base(pt.level);
    core::parallel_for_ranges(
        n,
        [&](std::size_t b, std::size_t e) {
          for (std::size_t c = b; c < e; ++c) values[c] = base.compose_centered(coef.data() + c, n) * inv_scale;
        },
        1024);
  }
  return coeffs_to_slots(values);
}

std::vector<double> Encoder::decode(const Plaintext& pt) const {
  const auto z = decode_complex(pt);
  std::vector<double> out(z.size());
  for (std::size_t k = 0; k < z.size(); ++k) out[k] = z[k].real();
  return out;
}

}  // namespace encmol::ckks
