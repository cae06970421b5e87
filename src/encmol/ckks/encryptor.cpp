#include "encmol/ckks/encryptor.hpp"

#include "encmol/ckks/detail.hpp"
#include "encmol/core/error.hpp"
#include "encmol/math/poly_ops.hpp"

namespace encmol::ckks {

Encryptor::Encryptor(std::shared_ptr<const Context> ctx, PublicKey pk) : ctx_(std::move(ctx)), pk_(std::move(pk)) {
  if (!ctx_) throw ParameterError("CKKS Encryptor: null context");
  detail::check_hash(*ctx_, pk_->params, "public key");
  const std::size_t want = ctx_->num_extended() * ctx_->n();
  if (pk_->b.size() != want) throw ParameterError("CKKS Encryptor: public key has the wrong size");
  if (pk_->a.size() != want) pk_->expand(*ctx_);
}

Encryptor::Encryptor(std::shared_ptr<const Context> ctx, SecretKey sk) : ctx_(std::move(ctx)), sk_(std::move(sk)) {
  if (!ctx_) throw ParameterError("CKKS Encryptor: null context");
  detail::check_hash(*ctx_, sk_->params, "secret key");
  if (sk_->ntt.size() != ctx_->num_extended() * ctx_->n()) sk_->expand(*ctx_);
}

void Encryptor::check(const Plaintext& pt) const {
  detail::check_hash(*ctx_, pt.params, "plaintext");
  if (pt.n != ctx_->n() || pt.level > ctx_->max_level() || pt.data.size() != pt.limbs() * pt.n)
    throw ParameterError("CKKS encrypt: plaintext shape does not match the parameters");
}

Ciphertext Encryptor::encrypt(const Plaintext& pt) const {
  check(pt);
  if (!pk_) return encrypt_symmetric(pt, math::random_seed());
  const Context& ctx = *ctx_;
  const std::size_t n = ctx.n();
  const std::size_t L = pt.limbs();
  // Limbs q_0..q_level then the special primes.
  std::vector<std::size_t> limbs = level_limbs(pt.level);
  for (std::size_t m = 0; m < ctx.num_p(); ++m) limbs.push_back(ctx.num_q() + m);
  const std::size_t K = limbs.size();
  Ciphertext ct = detail::zero_ciphertext(ctx, 2, pt.level, pt.scale);
  math::Prng prng(math::random_seed());
  std::vector<std::int8_t> v(n);
  math::sample_ternary(prng, v.data(), n);
  std::uint64_t* v_ntt = detail::thread_buffer(0, K * n);
  std::uint64_t* acc = detail::thread_buffer(2, 2 * K * n);
  detail::small_to_ntt(ctx, v.data(), limbs, v_ntt);
  detail::sample_error_ntt(ctx, prng, limbs, acc);
  detail::sample_error_ntt(ctx, prng, limbs, acc + K * n);
  detail::for_limbs(K, [&](std::size_t t) {
    const std::size_t k = limbs[t];
    const auto& q = ctx.modulus(k);
    math::mul_add_mod(v_ntt + t * n, pk_->b.data() + k * n, acc + t * n, n, q);
    math::mul_add_mod(v_ntt + t * n, pk_->a.data() + k * n, acc + (K + t) * n, n, q);
  });
  std::uint64_t* outs[2] = {ct.poly(0), ct.poly(1)};
  detail::mod_down(ctx, acc, 2, pt.level, outs);
  detail::for_limbs(L, [&](std::size_t i) {
    math::add_mod(ct.limb(0, i), pt.limb(i), ct.limb(0, i), n, ctx.modulus(i));
  });
  return ct;
}

Ciphertext Encryptor::encrypt_symmetric(const Plaintext& pt, const math::Seed& seed) const {
  check(pt);
  if (!sk_) throw ParameterError("CKKS encrypt_symmetric: this Encryptor holds a public key, not a secret key");
  const Context& ctx = *ctx_;
  const std::size_t n = ctx.n();
  const std::size_t L = pt.limbs();
  Ciphertext ct = detail::zero_ciphertext(ctx, 2, pt.level, pt.scale);
  ct.c1_seed = seed;
  expand_seeded_ciphertext(ctx, ct);
  math::Prng prng(math::random_seed());
  detail::sample_error_ntt(ctx, prng, level_limbs(pt.level), ct.poly(0));
  detail::for_limbs(L, [&](std::size_t i) {
    const auto& q = ctx.modulus(i);
    std::vector<std::uint64_t> as(n);
    math::mul_mod(ct.limb(1, i), sk_->ntt.data() + i * n, as.data(), n, q);
    math::sub_mod(ct.limb(0, i), as.data(), ct.limb(0, i), n, q);
    math::add_mod(ct.limb(0, i), pt.limb(i), ct.limb(0, i), n, q);
  });
  return ct;
}

Ciphertext Encryptor::encrypt_zero(std::size_t level, double scale) const {
  if (level > ctx_->max_level()) throw ParameterError("CKKS encrypt_zero: level exceeds the maximum level");
  Plaintext pt;
  pt.n = ctx_->n();
  pt.level = level;
  pt.scale = scale;
  pt.params = ctx_->hash();
  pt.data.assign(pt.limbs() * pt.n, 0);
  return encrypt(pt);
}

void expand_seeded_ciphertext(const Context& ctx, Ciphertext& ct) {
  if (!ct.c1_seed) throw ParameterError("CKKS: ciphertext has no seed to expand");
  if (ct.size != 2 || ct.n != ctx.n() || ct.data.size() != 2 * ct.limbs() * ct.n)
    throw ParameterError("CKKS: seeded ciphertext has the wrong shape");
  const auto limbs = level_limbs(ct.level);
  expand_uniform(ctx, *ct.c1_seed, 1, limbs, ct.poly(1));
}

Decryptor::Decryptor(std::shared_ptr<const Context> ctx, SecretKey sk) : ctx_(std::move(ctx)), sk_(std::move(sk)) {
  if (!ctx_) throw ParameterError("CKKS Decryptor: null context");
  detail::check_hash(*ctx_, sk_.params, "secret key");
  if (sk_.ntt.size() != ctx_->num_extended() * ctx_->n()) sk_.expand(*ctx_);
}

Plaintext Decryptor::decrypt(const Ciphertext& ct) const {
  const Context& ctx = *ctx_;
  detail::check_hash(ctx, ct.params, "ciphertext");
  const std::size_t n = ctx.n();
  if (ct.n != n || ct.level > ctx.max_level() || ct.size < 2 || ct.size > 3 ||
      ct.data.size() != ct.size * ct.limbs() * n)
    throw ParameterError("CKKS decrypt: ciphertext shape does not match the parameters");
  Plaintext pt;
  pt.n = n;
  pt.level = ct.level;
  pt.scale = ct.scale;
  pt.params = ctx.hash();
  pt.data.assign(ct.limbs() * n, 0);
  detail::for_limbs(ct.limbs(), [&](std::size_t i) {
    const auto& q = ctx.modulus(i);
    const std::uint64_t* s = sk_.ntt.data() + i * n;
    std::uint64_t* out = pt.limb(i);
    if (ct.size == 3) {
      // ((c2*s) + c1)*s + c0
      math::mul_mod(ct.limb(2, i), s, out, n, q);
      math::add_mod(out, ct.limb(1, i), out, n, q);
      math::mul_mod(out, s, out, n, q);
    } else {
      math::mul_mod(ct.limb(1, i), s, out, n, q);
    }
    math::add_mod(out, ct.limb(0, i), out, n, q);
  });
  return pt;
}

}  // namespace encmol::ckks
