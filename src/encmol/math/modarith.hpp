// Word-size modular arithmetic: Barrett reduction for arbitrary operands and
// Shoup multiplication for a fixed operand (twiddles, scalars). Everything is
// inline because it sits in the innermost loops of the NTT and of CKKS.
#pragma once

#include <cstdint>

namespace encmol::math {

__extension__ typedef unsigned __int128 u128;
__extension__ typedef __int128 i128;

/// Largest modulus bit size supported. 61 bits keeps 4q < 2^63, which the lazy
/// NTT butterflies need, and leaves room for sums of a few residues.
inline constexpr int kMaxModulusBits = 61;

/// A word-size modulus q, 2 <= q < 2^61, with its Barrett constants.
class Modulus {
 public:
  /// Throws ParameterError if q < 2 or q >= 2^61.
  explicit Modulus(std::uint64_t q);

  std::uint64_t value() const { return q_; }
  /// Bit length of q (q < 2^bits, q >= 2^(bits-1)).
  int bits() const { return bits_; }
  /// floor(2^128 / q) split into words; floor(2^64 / q).
  std::uint64_t barrett_hi() const { return ratio_hi_; }
  std::uint64_t barrett_lo() const { return ratio_lo_; }
  std::uint64_t barrett64() const { return ratio64_; }

  /// a mod q for any 64-bit a (Barrett with floor(2^64/q)).
  std::uint64_t reduce(std::uint64_t a) const {
    const std::uint64_t qhat = static_cast<std::uint64_t>((static_cast<u128>(a) * ratio64_) >> 64);
    const std::uint64_t r = a - qhat * q_;  // in [0, 2q)
    return csub(r);
  }

  /// a mod q for a < q * 2^64 (Barrett with floor(2^128/q)); the quotient
  /// estimate is at most 2 short, so the remainder needs two corrections.
  std::uint64_t reduce(u128 a) const {
    const auto al = static_cast<std::uint64_t>(a);
    const auto ah = static_cast<std::uint64_t>(a >> 64);
    const u128 ll = static_cast<u128>(al) * ratio_lo_;
    // ah < q < 2^61 and ratio_hi <= 2^63, so this sum cannot overflow 2^128.
    const u128 mid = static_cast<u128>(ah) * ratio_lo_ + (ll >> 64) +
                     static_cast<u128>(al) * ratio_hi_;
    // Only the low 64 bits of the quotient matter: the remainder is < 3q < 2^63.
    const std::uint64_t qhat = ah * ratio_hi_ + static_cast<std::uint64_t>(mid >> 64);
    return csub(csub(al - qhat * q_));
  }

  /// Reduces any 128-bit value (two Barrett steps).
  std::uint64_t reduce_any(u128 a) const {
    const auto ah = static_cast<std::uint64_t>(a >> 64);
    if (ah < q_) return reduce(a);
    const u128 b = (static_cast<u128>(reduce(ah)) << 64) | static_cast<std::uint64_t>(a);
    return reduce(b);
  }

  std::uint64_t add(std::uint64_t a, std::uint64_t b) const { return csub(a + b); }
  std::uint64_t sub(std::uint64_t a, std::uint64_t b) const {
    const std::uint64_t d = a - b;  // wraps when a < b; then d + q is the answer
    const std::uint64_t e = d + q_;
    return d < e ? d : e;
  }
  /// x - q if x >= q else x, for x < 2^63 + q. Written as an unsigned min
  /// (x - q wraps above x when x < q) so that compilers emit cmov, not a
  /// data-dependent branch that mispredicts on random residues.
  std::uint64_t csub(std::uint64_t x) const {
    const std::uint64_t d = x - q_;
    return d < x ? d : x;
  }
  std::uint64_t neg(std::uint64_t a) const { return a == 0 ? 0 : q_ - a; }
  /// a mod q for a < 2^(2*bits()), e.g. a product of two residues plus a
  /// residue: Barrett with mu = floor(2^(2k)/q) needs only one 64x64-bit
  /// product for the quotient (k = bits()); the estimate is at most 2 short.
  std::uint64_t reduce_product(u128 a) const {
    // Both shifts written on 64-bit halves: a variable 128-bit shift would
    // compile to a branch on the shift count.
    const auto lo = static_cast<std::uint64_t>(a);
    const auto hi = static_cast<std::uint64_t>(a >> 64);
    const std::uint64_t top = (hi << (65 - bits_)) | (lo >> (bits_ - 1));  // < 2^(k+1)
    const u128 p = static_cast<u128>(top) * mu_;
    const std::uint64_t qhat = (static_cast<std::uint64_t>(p >> 64) << (63 - bits_)) |
                               (static_cast<std::uint64_t>(p) >> (bits_ + 1));
    return csub(csub(lo - qhat * q_));  // lo - qhat*q < 3q
  }
  std::uint64_t mul(std::uint64_t a, std::uint64_t b) const {
    return reduce_product(static_cast<u128>(a) * b);
  }
  std::uint64_t pow(std::uint64_t a, std::uint64_t e) const;
  /// Throws ParameterError if gcd(a, q) != 1.
  std::uint64_t inverse(std::uint64_t a) const;

  bool operator==(const Modulus& other) const { return q_ == other.q_; }
  bool operator!=(const Modulus& other) const { return q_ != other.q_; }

 private:
  std::uint64_t q_ = 0;
  int bits_ = 0;
  std::uint64_t ratio_hi_ = 0;
  std::uint64_t ratio_lo_ = 0;
  std::uint64_t ratio64_ = 0;
  std::uint64_t mu_ = 0;  // floor(2^(2*bits) / q) < 2^(bits+1)
};

/// floor(w * 2^64 / q) for w < q: the Shoup companion of a fixed multiplicand.
inline std::uint64_t shoup_precompute(std::uint64_t w, std::uint64_t q) {
  return static_cast<std::uint64_t>((static_cast<u128>(w) << 64) / q);
}

/// a*w mod q in [0, 2q) for ANY 64-bit a (Shoup, no final correction).
inline std::uint64_t mul_shoup_lazy(std::uint64_t a, std::uint64_t w, std::uint64_t w_shoup,
                                    std::uint64_t q) {
  const auto qhat = static_cast<std::uint64_t>((static_cast<u128>(a) * w_shoup) >> 64);
  return a * w - qhat * q;
}

/// a*w mod q in [0, q) for any 64-bit a; w < q, w_shoup = shoup_precompute(w, q).
inline std::uint64_t mul_shoup(std::uint64_t a, std::uint64_t w, std::uint64_t w_shoup,
                               std::uint64_t q) {
  const std::uint64_t r = mul_shoup_lazy(a, w, w_shoup, q);
  const std::uint64_t d = r - q;  // branch-free: wraps above r when r < q
  return d < r ? d : r;
}

/// floor(w * 2^52 / q) for w < q < 2^52: Shoup companion for 52-bit (IFMA) lanes.
inline std::uint64_t shoup_precompute52(std::uint64_t w, std::uint64_t q) {
  return static_cast<std::uint64_t>((static_cast<u128>(w) << 52) / q);
}

/// Reference u128 arithmetic (slow, for tests and table setup).
inline std::uint64_t mul_mod_naive(std::uint64_t a, std::uint64_t b, std::uint64_t q) {
  return static_cast<std::uint64_t>(static_cast<u128>(a) * b % q);
}

}  // namespace encmol::math
