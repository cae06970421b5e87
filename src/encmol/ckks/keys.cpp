#include "encmol/ckks/keys.hpp"

#include <numeric>

#include "encmol/ckks/detail.hpp"
#include "encmol/core/error.hpp"
#include "encmol/math/poly_ops.hpp"

namespace encmol::ckks {

void expand_uniform(const Context& ctx, const math::Seed& seed, std::size_t polys,
                    std::span<const std::size_t> limbs, std::uint64_t* out) {
  // One sequential stream: the expansion must not depend on the thread count.
  math::Prng prng(seed);
  const std::size_t n = ctx.n();
  for (std::size_t t = 0; t < polys; ++t)
    for (std::size_t i = 0; i < limbs.size(); ++i)
      math::sample_uniform(prng, ctx.modulus(limbs[i]), out + (t * limbs.size() + i) * n, n);
}

std::vector<std::size_t> level_limbs(std::size_t level) {
  std::vector<std::size_t> v(level + 1);
  std::iota(v.begin(), v.end(), std::size_t{0});
  return v;
}

std::vector<std::size_t> extended_limbs(const Context& ctx) { return level_limbs(ctx.num_extended() - 1); }

void SecretKey::expand(const Context& ctx) {
  detail::check_hash(ctx, params, "secret key");
  if (coeffs.size() != ctx.n()) throw ParameterError("CKKS secret key: expected " + std::to_string(ctx.n()) + " coefficients");
  for (auto c : coeffs)
    if (c < -1 || c > 1) throw ParameterError("CKKS secret key: coefficients must be -1, 0 or 1");
  const auto limbs = extended_limbs(ctx);
  ntt.assign(limbs.size() * ctx.n(), 0);
  detail::small_to_ntt(ctx, coeffs.data(), limbs, ntt.data());
}

void PublicKey::expand(const Context& ctx) {
  detail::check_hash(ctx, params, "public key");
  const auto limbs = extended_limbs(ctx);
  a.assign(limbs.size() * ctx.n(), 0);
  expand_uniform(ctx, seed, 1, limbs, a.data());
}

void KeySwitchKey::expand(const Context& ctx) {
  const auto limbs = extended_limbs(ctx);
  a.assign(digits * limbs.size() * ctx.n(), 0);
  expand_uniform(ctx, seed, digits, limbs, a.data());
}

KeyGenerator::KeyGenerator(std::shared_ptr<const Context> ctx) : ctx_(std::move(ctx)) {
  if (!ctx_) throw ParameterError("CKKS KeyGenerator: null context");
  sk_.params = ctx_->hash();
  sk_.coeffs.resize(ctx_->n());
  math::Prng prng(math::random_seed());
  math::sample_ternary(prng, sk_.coeffs.data(), sk_.coeffs.size());
  sk_.expand(*ctx_);
}

KeyGenerator::KeyGenerator(std::shared_ptr<const Context> ctx, SecretKey sk) : ctx_(std::move(ctx)), sk_(std::move(sk)) {
  if (!ctx_) throw ParameterError("CKKS KeyGenerator: null context");
  detail::check_hash(*ctx_, sk_.params, "secret key");
  if (sk_.ntt.size() != ctx_->num_extended() * ctx_->n()) sk_.expand(*ctx_);
}

PublicKey make_public_key(const Context& ctx, const SecretKey& sk, const math::Seed& seed) {
  detail::check_hash(ctx, sk.params, "secret key");
  const std::size_t n = ctx.n();
  PublicKey pk;
  pk.params = ctx.hash();
  pk.seed = seed;
  pk.expand(ctx);
  const auto limbs = extended_limbs(ctx);
  pk.b.assign(limbs.size() * n, 0);
  math::Prng prng(math::random_seed());
  detail::sample_error_ntt(ctx, prng, limbs, pk.b.data());
  detail::for_limbs(limbs.size(), [&](std::size_t i) {
    const auto& q = ctx.modulus(limbs[i]);
    std::vector<std::uint64_t> as(n);
    math::mul_mod(pk.a.data() + i * n, sk.ntt.data() + i * n, as.data(), n, q);
    math::sub_mod(pk.b.data() + i * n, as.data(), pk.b.data() + i * n, n, q);
  });
  return pk;
}

PublicKey KeyGenerator::create_public_key() const { return make_public_key(*ctx_, sk_, math::random_seed()); }

KeySwitchKey KeyGenerator::make_switch_key(const std::vector<std::uint64_t>& s_prime,
                                           const std::vector<std::uint64_t>& under) const {
  const Context& ctx = *ctx_;
  const std::size_t n = ctx.n();
  const std::size_t ext = ctx.num_extended();
  const auto limbs = extended_limbs(ctx);
  KeySwitchKey key;
  key.digits = ctx.num_digits(ctx.max_level());
  key.seed = math::random_seed();
  key.expand(ctx);
  key.b.assign(key.digits * ext * n, 0);
  math::Prng prng(math::random_seed());
  for (std::size_t j = 0; j < key.digits; ++j) {
    std::uint64_t* bj = key.b.data() + j * ext * n;
    const std::uint64_t* aj = key.a.data() + j * ext * n;
    detail::sample_error_ntt(ctx, prng, limbs, bj);
    // Plain copies: lambdas may not capture structured bindings before C++20 in clang 14.
    const auto range = ctx.digit_range(ctx.max_level(), j);
    const std::size_t first = range.first, last = range.second;
    detail::for_limbs(ext, [&](std::size_t k) {
      const auto& q = ctx.modulus(k);
      std::vector<std::uint64_t> tmp(n);
      math::mul_mod(aj + k * n, under.data() + k * n, tmp.data(), n, q);
      math::sub_mod(bj + k * n, tmp.data(), bj + k * n, n, q);
      if (k >= first && k < last) {
        math::mul_scalar_mod(s_prime.data() + k * n, ctx.p_mod_q(k), tmp.data(), n, q);
        math::add_mod(bj + k * n, tmp.data(), bj + k * n, n, q);
      }
    });
  }
  return key;
}

RelinKey KeyGenerator::create_relin_key() const {
  const Context& ctx = *ctx_;
  const std::size_t n = ctx.n();
  std::vector<std::uint64_t> s2(sk_.ntt.size());
  detail::for_limbs(ctx.num_extended(), [&](std::size_t k) {
    math::mul_mod(sk_.ntt.data() + k * n, sk_.ntt.data() + k * n, s2.data() + k * n, n, ctx.modulus(k));
  });
  RelinKey rk;
  rk.params = ctx.hash();
  rk.key = make_switch_key(s2, sk_.ntt);
  return rk;
}

GaloisKeys KeyGenerator::create_galois_keys_for_elements(std::span<const std::uint64_t> elements) const {
  const Context& ctx = *ctx_;
  const std::size_t n = ctx.n();
  GaloisKeys gk;
  gk.params = ctx.hash();
  for (auto g : elements) {
    if (gk.has(g)) continue;
    // sigma_g^-1 = sigma_{g^-1}; g^-1 = g^(N-1) mod 2N (the unit group has order N).
    const std::uint64_t m = 2 * n;
    std::uint64_t g_inv = 1, base = g % m;
    for (std::uint64_t e = n - 1; e; e >>= 1) {
      if (e & 1) g_inv = g_inv * base % m;
      base = base * base % m;
    }
    const auto& perm = ctx.galois_permutation(g_inv);
    std::vector<std::uint64_t> s_inv(sk_.ntt.size());
    detail::for_limbs(ctx.num_extended(), [&](std::size_t k) {
      math::permute(sk_.ntt.data() + k * n, perm.data(), s_inv.data() + k * n, n);
    });
    gk.keys.emplace(g, make_switch_key(sk_.ntt, s_inv));
  }
  return gk;
}

GaloisKeys KeyGenerator::create_galois_keys(std::span<const int> steps, bool conjugation) const {
  std::vector<std::uint64_t> elements;
  for (int s : steps) {
    const auto g = ctx_->galois_element(s);
    if (g != 1) elements.push_back(g);
  }
  if (conjugation) elements.push_back(ctx_->conjugation_element());
  return create_galois_keys_for_elements(elements);
}

}  // namespace encmol::ckks
