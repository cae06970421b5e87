#include "encmol/math/modarith.hpp"

#include <string>

#include "encmol/core/error.hpp"

namespace encmol::math {

namespace {

// floor(2^k / q) for k = 64 or 128, exact also when q is a power of two.
u128 floor_pow2_128_div(std::uint64_t q) {
  const u128 all = ~static_cast<u128>(0);  // 2^128 - 1
  const u128 quot = all / q;
  return (all % q == q - 1) ? quot + 1 : quot;
}

}  // namespace

Modulus::Modulus(std::uint64_t q) : q_(q) {
  if (q < 2 || q >= (std::uint64_t{1} << kMaxModulusBits)) {
    throw ParameterError("modulus " + std::to_string(q) + " is out of range: it must be in [2, 2^" +
                         std::to_string(kMaxModulusBits) + ")");
  }
  bits_ = 64 - __builtin_clzll(q);
  const u128 r = floor_pow2_128_div(q);
  ratio_hi_ = static_cast<std::uint64_t>(r >> 64);
  ratio_lo_ = static_cast<std::uint64_t>(r);
  const std::uint64_t all64 = ~std::uint64_t{0};
  ratio64_ = all64 / q + ((all64 % q == q - 1) ? 1 : 0);
  mu_ = static_cast<std::uint64_t>((static_cast<u128>(1) << (2 * bits_)) / q);
}

std::uint64_t Modulus::pow(std::uint64_t a, std::uint64_t e) const {
  std::uint64_t base = reduce(a);
  std::uint64_t result = 1 % q_;
  while (e != 0) {
    if (e & 1) result = mul(result, base);
    base = mul(base, base);
    e >>= 1;
  }
  return result;
}

std::uint64_t Modulus::inverse(std::uint64_t a) const {
  // Extended Euclid on signed 128-bit values (q < 2^61 keeps them small).
  i128 r0 = q_, r1 = reduce(a);
  i128 t0 = 0, t1 = 1;
  while (r1 != 0) {
    const i128 quot = r0 / r1;
    i128 tmp = r0 - quot * r1;
    r0 = r1;
    r1 = tmp;
    tmp = t0 - quot * t1;
    t0 = t1;
    t1 = tmp;
  }
  if (r0 != 1) {
    throw ParameterError(std::to_string(a) + " has no inverse modulo " + std::to_string(q_) +
                         " (they share a factor)");
  }
  if (t0 < 0) t0 += q_;
  return static_cast<std::uint64_t>(t0);
}

}  // namespace encmol::math
