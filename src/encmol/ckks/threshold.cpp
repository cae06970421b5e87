#include "encmol/ckks/threshold.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "encmol/ckks/detail.hpp"
#include "encmol/core/error.hpp"
#include "encmol/math/poly_ops.hpp"

namespace encmol::ckks {
namespace {

using math::i128;
using math::u128;

// x mod q for a signed 128-bit x, in [0, q).
std::uint64_t residue(i128 x, const math::Modulus& q) {
  const bool negative = x < 0;
  const u128 magnitude = negative ? static_cast<u128>(-(x + 1)) + 1 : static_cast<u128>(x);
  const std::uint64_t r = q.reduce_any(magnitude);
  return negative && r != 0 ? q.value() - r : r;
}

// Little-endian multi-word helpers for the CRT decoding.
using Words = std::vector<std::uint64_t>;

bool less(const Words& a, const Words& b) {
  for (std::size_t i = a.size(); i-- > 0;) {
    if (a[i] != b[i]) return a[i] < b[i];
  }
  return false;
}

Words subtract(const Words& a, const Words& b) {  // a - b, a >= b
  Words out(a.size());
  std::uint64_t borrow = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const u128 d = static_cast<u128>(a[i]) - b[i] - borrow;
    out[i] = static_cast<std::uint64_t>(d);
    borrow = static_cast<std::uint64_t>(d >> 64) != 0 ? 1 : 0;
  }
  return out;
}

// The 64 bits of x starting at bit `start` (zeros beyond its end).
std::uint64_t bits_at(const Words& x, std::size_t start) {
  const std::size_t w = start / 64, b = start % 64;
  const std::uint64_t lo = w < x.size() ? x[w] : 0;
  const std::uint64_t hi = w + 1 < x.size() ? x[w + 1] : 0;
  return b == 0 ? lo : (lo >> b) | (hi << (64 - b));
}

// x = quotient * 2^shift + remainder (shift < 64).
struct Split {
  u128 quotient = 0;
  std::uint64_t remainder = 0;
  bool overflow = false;  // x >= 2^(shift + 127)
};

Split split(const Words& x, unsigned shift) {
  Split s;
  s.remainder = x[0] & ((std::uint64_t{1} << shift) - 1);
  s.quotient = (static_cast<u128>(bits_at(x, shift + 64)) << 64) | bits_at(x, shift);
  s.overflow = (s.quotient >> 127) != 0;
  s.quotient &= ~(u128{1} << 127);
  for (std::size_t bit = shift + 128; bit < 64 * x.size(); bit += 64) {
    if (bits_at(x, bit) != 0) s.overflow = true;
  }
  return s;
}

}  // namespace

PublicKey public_key_share(const Context& ctx, const SecretKey& share, const math::Seed& crs) {
  return make_public_key(ctx, share, crs);
}

PublicKey combine_public_key_shares(const Context& ctx, std::span<const PublicKey> shares) {
  if (shares.empty()) throw ParameterError("threshold key generation: no public key shares");
  const std::size_t words = ctx.num_extended() * ctx.n();
  PublicKey joint;
  joint.params = ctx.hash();
  joint.seed = shares.front().seed;
  joint.b.assign(words, 0);
  const auto limbs = extended_limbs(ctx);
  for (std::size_t s = 0; s < shares.size(); ++s) {
    const PublicKey& share = shares[s];
    detail::check_hash(ctx, share.params, "public key share");
    if (share.seed != joint.seed) {
      throw ParameterError("public key share " + std::to_string(s + 1) +
                           " was made from another common reference seed");
    }
    if (share.b.size() != words) {
      throw ParameterError("public key share " + std::to_string(s + 1) + " has the wrong size");
    }
    for (std::size_t i = 0; i < limbs.size(); ++i) {
      const std::size_t o = i * ctx.n();
      math::add_mod(joint.b.data() + o, share.b.data() + o, joint.b.data() + o, ctx.n(),
                    ctx.modulus(limbs[i]));
    }
  }
  joint.expand(ctx);
  return joint;
}

DecryptionShare partial_decrypt(const Context& ctx, const Ciphertext& ct, const SecretKey& share,
                                double smudging_sigma) {
  detail::check_hash(ctx, share.params, "secret key share");
  detail::check_hash(ctx, ct.params, "ciphertext");
  if (ct.size != 2) throw ParameterError("threshold decryption takes size-2 ciphertexts");
  const std::size_t n = ctx.n();
  DecryptionShare out;
  out.params = ctx.hash();
  out.level = ct.level;
  out.data.assign(ct.limbs() * n, 0);
  std::vector<std::int64_t> smudge(n);
  math::Prng prng(math::random_seed());
  math::sample_gaussian(prng, smudging_sigma, smudge.data(), n);
  detail::for_limbs(ct.limbs(), [&](std::size_t i) {
    const auto& q = ctx.modulus(i);
    std::uint64_t* d = out.data.data() + i * n;
    math::embed_signed(smudge.data(), d, n, q);
    ctx.ntt(i).forward(d);
    math::mul_add_mod(ct.limb(1, i), share.ntt.data() + i * n, d, n, q);
  });
  return out;
}

Plaintext combine_decryption_shares(const Context& ctx, const Ciphertext& ct,
                                    std::span<const DecryptionShare> shares) {
  detail::check_hash(ctx, ct.params, "ciphertext");
  if (shares.empty()) throw ParameterError("threshold decryption: no decryption shares");
  const std::size_t n = ctx.n();
  Plaintext pt;
  pt.params = ctx.hash();
  pt.n = n;
  pt.level = ct.level;
  pt.scale = ct.scale;
  pt.data.assign(ct.poly(0), ct.poly(0) + ct.limbs() * n);
  for (std::size_t s = 0; s < shares.size(); ++s) {
    const DecryptionShare& share = shares[s];
    detail::check_hash(ctx, share.params, "decryption share");
    if (share.level != ct.level || share.data.size() != ct.limbs() * n) {
      throw ParameterError("decryption share " + std::to_string(s + 1) +
                           " is for another ciphertext level");
    }
    for (std::size_t i = 0; i < ct.limbs(); ++i) {
      math::add_mod(pt.limb(i), share.data.data() + i * n, pt.limb(i), n, ctx.modulus(i));
    }
  }
  return pt;
}

Plaintext encode_integers(const Context& ctx, std::span<const math::i128> values, unsigned shift,
                          std::size_t level) {
  const std::size_t n = ctx.n();
  if (values.size() > n) throw ParameterError("encode_integers: more values than coefficients");
  if (level > ctx.max_level())
    throw ParameterError("encode_integers: level above the parameters' top");
  if (shift > 63) throw ParameterError("encode_integers: shift above 63 bits");
  Plaintext pt;
  pt.params = ctx.hash();
  pt.n = n;
  pt.level = level;
  pt.scale = std::ldexp(1.0, static_cast<int>(shift));
  pt.data.assign((level + 1) * n, 0);
  detail::for_limbs(level + 1, [&](std::size_t i) {
    const auto& q = ctx.modulus(i);
    const std::uint64_t lift = q.reduce_any(u128{1} << shift);
    std::uint64_t* out = pt.limb(i);
    for (std::size_t j = 0; j < values.size(); ++j)
      out[j] = q.reduce_product(static_cast<u128>(residue(values[j], q)) * lift);
    ctx.ntt(i).forward(out);
  });
  return pt;
}

std::vector<math::i128> decode_integers(const Context& ctx, const Plaintext& pt, unsigned shift,
                                        std::size_t count, std::uint64_t max_noise) {
  detail::check_hash(ctx, pt.params, "plaintext");
  const std::size_t n = ctx.n();
  if (count > n) throw ParameterError("decode_integers: more values than coefficients");
  if (shift == 0 || shift > 63) throw ParameterError("decode_integers: shift must lie in 1..63");
  if (max_noise >= std::uint64_t{1} << (shift - 1)) {
    throw ParameterError("decode_integers: the noise bound must be below 2^(shift - 1)");
  }
  std::vector<std::uint64_t> coeffs(pt.data);
  detail::for_limbs(pt.limbs(), [&](std::size_t i) { ctx.ntt(i).inverse(coeffs.data() + i * n); });
  const math::RnsBase& base = ctx.q_base(pt.level);
  Words q(base.product());
  Words half(q.size());
  for (std::size_t w = 0; w < q.size(); ++w) {
    half[w] = (q[w] >> 1) | (w + 1 < q.size() ? q[w + 1] << 63 : 0);
  }
  std::vector<math::i128> out(count);
  const std::uint64_t unit = std::uint64_t{1} << shift;
  for (std::size_t j = 0; j < count; ++j) {
    Words x = base.compose(coeffs.data() + j, n);
    x.resize(q.size(), 0);
    const bool negative = !less(x, half);
    const Words magnitude = negative ? subtract(q, x) : x;
    Split s = split(magnitude, shift);
    // Round to the nearest multiple of 2^shift; the distance is the noise.
    std::uint64_t noise = s.remainder;
    if (s.remainder >= unit / 2) {
      noise = unit - s.remainder;
      s.quotient += 1;
    }
    if (s.overflow || (s.quotient >> 127) != 0 || noise > max_noise) {
      throw FormatError("threshold decryption: coefficient " + std::to_string(j) +
                        " is not a valid encoding (noise beyond its bound): a decryption share or "
                        "the ciphertext is corrupt or from another key");
    }
    const auto value = static_cast<math::i128>(s.quotient);
    out[j] = negative ? -value : value;
  }
  return out;
}

}  // namespace encmol::ckks
