#include "encmol/ckks/detail.hpp"

#include <array>
#include <cmath>
#include <memory>

#include "encmol/core/binary.hpp"
#include "encmol/core/error.hpp"
#include "encmol/math/poly_ops.hpp"

namespace encmol::ckks::detail {

void check_hash(const Context& ctx, const ParamHash& got, const char* what) {
  if (got != ctx.hash())
    throw ParameterError(std::string("CKKS: the ") + what + " was made with other parameters (hash " +
                         core::to_hex(got).substr(0, 16) + "… , expected " + core::to_hex(ctx.hash()).substr(0, 16) +
                         "…); use the keys and context it belongs to");
}

std::uint64_t* thread_buffer(std::size_t slot, std::size_t count) {
  struct Buffer {
    std::unique_ptr<std::uint64_t[]> data;
    std::size_t size = 0;
  };
  thread_local std::array<Buffer, 8> buffers;
  Buffer& b = buffers.at(slot);
  if (b.size < count) {
    b.data.reset();
    b.data = std::unique_ptr<std::uint64_t[]>(new std::uint64_t[count]);
    b.size = count;
  }
  return b.data.get();
}

bool ifma_serves(const math::Modulus& q) {
  return math::effective_simd_path(math::default_simd_path(), q.value()) == math::SimdPath::Avx512Ifma;
}

namespace {
template <class T>
void small_to_ntt_impl(const Context& ctx, const T* coeffs, std::span<const std::size_t> limbs,
                       std::uint64_t* out) {
  const std::size_t n = ctx.n();
  for_limbs(limbs.size(), [&](std::size_t t) {
    const std::size_t k = limbs[t];
    // Errors (|e| <= 6 sigma <= 384) and ternary values are far below every
    // prime (>= 2^20): a negative value maps to q + e, branch-free.
    const std::uint64_t q = ctx.modulus(k).value();
    std::uint64_t* o = out + t * n;
    for (std::size_t c = 0; c < n; ++c) {
      const auto x = static_cast<std::int64_t>(coeffs[c]);
      o[c] = static_cast<std::uint64_t>(x) + (x < 0 ? q : 0);
    }
    ctx.ntt(k).forward(o);
  });
}
}  // namespace

void small_to_ntt(const Context& ctx, const std::int64_t* coeffs, std::span<const std::size_t> limbs,
                  std::uint64_t* out) {
  small_to_ntt_impl(ctx, coeffs, limbs, out);
}
void small_to_ntt(const Context& ctx, const std::int8_t* coeffs, std::span<const std::size_t> limbs,
                  std::uint64_t* out) {
  small_to_ntt_impl(ctx, coeffs, limbs, out);
}

void sample_error_ntt(const Context& ctx, math::Prng& prng, std::span<const std::size_t> limbs,
                      std::uint64_t* out) {
  std::vector<std::int64_t> e(ctx.n());
  math::sample_gaussian(prng, ctx.params().sigma, e.data(), e.size());
  small_to_ntt(ctx, e.data(), limbs, out);
}

void mod_down(const Context& ctx, std::uint64_t* acc, std::size_t polys, std::size_t level,
              std::uint64_t* const* outs) {
  const std::size_t n = ctx.n(), L = level + 1, np = ctx.num_p(), K = L + np;
  for_limbs(polys * np, [&](std::size_t task) {
    const std::size_t t = task / np, m = task % np;
    ctx.ntt(ctx.num_q() + m).inverse(acc + (t * K + L + m) * n);
  });
  // Exact, centered lift of x = c mod P: the fast conversion gives
  // sum_k y_k (P/p_k) = x + u P with y_k = [x_k (P/p_k)^-1]_{p_k}; the
  // multiple v = round(sum_k y_k / p_k) makes it x' = x - vP in [-P/2, P/2),
  // so the result round(c / P) has rounding noise only (no u*s term, no bias).
  const auto& pb = ctx.p_base();
  auto* v = reinterpret_cast<std::uint8_t*>(thread_buffer(4, polys * n / 8 + 1));
  std::vector<double> inv_p(np);
  for (std::size_t m = 0; m < np; ++m) inv_p[m] = 1.0 / static_cast<double>(pb[m].value());
  for_limbs(polys, [&](std::size_t t) {
    const std::uint64_t* x = acc + (t * K + L) * n;
    std::uint64_t* y = thread_buffer(kTaskSlot, n);
    std::uint8_t* vt = v + t * n;
    // f accumulates in a double buffer placed after y (same allocation).
    double* f = reinterpret_cast<double*>(thread_buffer(kTaskSlot + 1, n));
    for (std::size_t c = 0; c < n; ++c) f[c] = 0.5;  // + 0.5: truncation below rounds (f >= 0)
    for (std::size_t m = 0; m < np; ++m) {
      math::mul_scalar_mod(x + m * n, pb.inv_punctured(m), y, n, pb[m]);
      const double ip = inv_p[m];
      for (std::size_t c = 0; c < n; ++c) f[c] += static_cast<double>(y[c]) * ip;
    }
    for (std::size_t c = 0; c < n; ++c) vt[c] = static_cast<std::uint8_t>(f[c]);
  });
  std::uint64_t* conv = thread_buffer(5, polys * L * n);
  for_limbs(polys, [&](std::size_t t) { ctx.moddown(level).convert(acc + (t * K + L) * n, conv + t * L * n, n); });
  for_limbs(polys * L, [&](std::size_t task) {
    const std::size_t t = task / L, i = task % L;
    const auto& qi = ctx.modulus(i);
    std::array<std::uint64_t, 66> multiple{};
    for (std::size_t k = 0; k < np + 2; ++k) multiple[k] = qi.mul(qi.reduce(std::uint64_t{k}), ctx.p_mod_q(i));
    std::uint64_t* c = conv + (t * L + i) * n;
    const std::uint8_t* vt = v + t * n;
    for (std::size_t j = 0; j < n; ++j) c[j] = qi.sub(c[j], multiple[vt[j]]);
    ctx.ntt(i).forward(c);
    // (acc - c) * P^-1: two vectorised passes beat one scalar Barrett pass.
    math::sub_mod(acc + (t * K + i) * n, c, c, n, qi);
    math::mul_scalar_mod(c, ctx.p_inv_mod_q(i), outs[t] + i * n, n, qi);
  });
}

Ciphertext zero_ciphertext(const Context& ctx, std::size_t size, std::size_t level, double scale) {
  Ciphertext ct;
  ct.n = ctx.n();
  ct.size = size;
  ct.level = level;
  ct.scale = scale;
  ct.params = ctx.hash();
  ct.data.assign(size * (level + 1) * ct.n, 0);
  return ct;
}

}  // namespace encmol::ckks::detail
