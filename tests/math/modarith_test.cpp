#include "encmol/math/modarith.hpp"

#include <gtest/gtest.h>

#include <random>

#include "encmol/core/error.hpp"

namespace encmol::math {
namespace {

std::vector<std::uint64_t> moduli_for_bits(int bits) {
  // Edge moduli of each size: smallest, largest, a power of two, odd values.
  std::vector<std::uint64_t> out;
  const std::uint64_t lo = std::uint64_t{1} << (bits - 1);
  const std::uint64_t hi = (bits == 64) ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
  out.push_back(lo);
  out.push_back(lo + 1);
  out.push_back(hi);
  out.push_back(hi - 2);
  out.push_back(lo + (hi - lo) / 3);
  std::erase_if(out, [](std::uint64_t q) { return q < 2; });
  return out;
}

TEST(Modulus, RejectsOutOfRange) {
  EXPECT_THROW(Modulus(0), ParameterError);
  EXPECT_THROW(Modulus(1), ParameterError);
  EXPECT_THROW(Modulus(std::uint64_t{1} << 61), ParameterError);
  EXPECT_NO_THROW(Modulus((std::uint64_t{1} << 61) - 1));
  EXPECT_NO_THROW(Modulus(2));
}

TEST(Modulus, OperationsMatchNaive128BitArithmetic) {
  std::mt19937_64 rng(1);
  for (int bits = 2; bits <= 61; ++bits) {
    for (std::uint64_t qv : moduli_for_bits(bits)) {
      const Modulus q(qv);
      ASSERT_EQ(q.bits(), bits);
      std::uniform_int_distribution<std::uint64_t> dq(0, qv - 1);
      std::vector<std::uint64_t> vals = {0, 1 % qv, qv - 1, qv / 2};
      for (int i = 0; i < 60; ++i) vals.push_back(dq(rng));
      for (std::uint64_t a : vals) {
        for (std::uint64_t b : {vals[0], vals[2], vals[3], dq(rng), dq(rng)}) {
          const u128 p = static_cast<u128>(a) * b;
          ASSERT_EQ(q.mul(a, b), static_cast<std::uint64_t>(p % qv)) << qv << " " << a << " " << b;
          ASSERT_EQ(q.add(a, b), static_cast<std::uint64_t>((static_cast<u128>(a) + b) % qv));
          ASSERT_EQ(q.sub(a, b), static_cast<std::uint64_t>((static_cast<u128>(a) + qv - b) % qv));
          const std::uint64_t ws = shoup_precompute(b, qv);
          ASSERT_EQ(mul_shoup(a, b, ws, qv), static_cast<std::uint64_t>(p % qv));
          // Shoup holds for any 64-bit multiplicand (lazy NTT inputs up to 4q).
          const std::uint64_t big = a + 3 * qv;
          const std::uint64_t lazy = mul_shoup_lazy(big, b, ws, qv);
          ASSERT_LT(lazy, 2 * qv);
          ASSERT_EQ(lazy % qv, static_cast<std::uint64_t>(static_cast<u128>(big) * b % qv));
        }
        ASSERT_EQ(q.neg(a), (qv - a) % qv);
        // 64-bit reduce of arbitrary words, 128-bit reduce up to q*2^64.
        const std::uint64_t w = rng();
        ASSERT_EQ(q.reduce(w), w % qv);
        ASSERT_EQ(q.reduce(~std::uint64_t{0}), (~std::uint64_t{0}) % qv);
        const u128 big = (static_cast<u128>(a) << 64) | rng();
        ASSERT_EQ(q.reduce(big), static_cast<std::uint64_t>(big % qv));
        const u128 top = (static_cast<u128>(qv - 1) << 64) | ~std::uint64_t{0};
        ASSERT_EQ(q.reduce(top), static_cast<std::uint64_t>(top % qv));
        // Product-domain reduction: anything below 2^(2k), incl. (q-1)^2 + (q-1).
        const u128 edge = static_cast<u128>(qv - 1) * (qv - 1) + (qv - 1);
        ASSERT_EQ(q.reduce_product(edge), static_cast<std::uint64_t>(edge % qv));
        const u128 lim = static_cast<u128>(1) << (2 * bits);
        const u128 below = ((static_cast<u128>(rng()) << 64) | rng()) % lim;
        ASSERT_EQ(q.reduce_product(below), static_cast<std::uint64_t>(below % qv));
        ASSERT_EQ(q.reduce_product(lim - 1), static_cast<std::uint64_t>((lim - 1) % qv));
        const u128 any = (static_cast<u128>(rng()) << 64) | rng();
        ASSERT_EQ(q.reduce_any(any), static_cast<std::uint64_t>(any % qv));
      }
    }
  }
}

TEST(Modulus, Shoup52MatchesDefinition) {
  std::mt19937_64 rng(2);
  for (int bits = 20; bits <= 50; ++bits) {
    const std::uint64_t qv = (std::uint64_t{1} << (bits - 1)) + (rng() >> (65 - bits)) + 1;
    std::uniform_int_distribution<std::uint64_t> dq(0, qv - 1);
    for (int i = 0; i < 200; ++i) {
      const std::uint64_t w = dq(rng);
      const std::uint64_t ws = shoup_precompute52(w, qv);
      ASSERT_EQ(static_cast<u128>(ws), (static_cast<u128>(w) << 52) / qv);
      // The 52-bit Shoup product identity used by the IFMA kernels.
      const std::uint64_t a = rng() & ((std::uint64_t{1} << 52) - 1);
      const auto qh = static_cast<std::uint64_t>((static_cast<u128>(a) * ws) >> 52);
      const std::uint64_t mask = (std::uint64_t{1} << 52) - 1;
      const std::uint64_t r = (a * w - qh * qv) & mask;
      ASSERT_LT(r, 2 * qv);
      ASSERT_EQ(r % qv, static_cast<std::uint64_t>(static_cast<u128>(a) * w % qv));
    }
  }
}

TEST(Modulus, PowAndInverse) {
  const Modulus q(1152921504606584833ull);  // 60-bit prime
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200; ++i) {
    const std::uint64_t a = rng() % q.value();
    if (a == 0) continue;
    const std::uint64_t inv = q.inverse(a);
    EXPECT_EQ(q.mul(a, inv), 1u);
    EXPECT_EQ(q.pow(a, q.value() - 1), 1u);  // Fermat
  }
  EXPECT_EQ(q.pow(5, 0), 1u);
  EXPECT_THROW(q.inverse(0), ParameterError);
  const Modulus composite(15);
  EXPECT_THROW(composite.inverse(6), ParameterError);
  EXPECT_EQ(composite.mul(composite.inverse(7), 7), 1u);
}

}  // namespace
}  // namespace encmol::math
