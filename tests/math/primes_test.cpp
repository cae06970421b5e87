#include "encmol/math/primes.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "encmol/core/error.hpp"

namespace encmol::math {
namespace {

bool trial_division_prime(std::uint64_t n) {
  if (n < 2) return false;
  for (std::uint64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

TEST(Primes, IsPrimeMatchesTrialDivision) {
  for (std::uint64_t n = 0; n < 20000; ++n) ASSERT_EQ(is_prime(n), trial_division_prime(n)) << n;
  for (std::uint64_t n = (1ull << 40) - 3000; n < (1ull << 40); ++n) {
    ASSERT_EQ(is_prime(n), trial_division_prime(n)) << n;
  }
}

TEST(Primes, IsPrimeKnownHardCases) {
  // Strong pseudoprimes to several small bases and Carmichael numbers.
  EXPECT_FALSE(is_prime(3215031751ull));         // spsp(2,3,5,7)
  EXPECT_FALSE(is_prime(3825123056546413051ull));  // spsp to bases 2..23
  EXPECT_FALSE(is_prime(561));
  EXPECT_FALSE(is_prime(41041));
  EXPECT_TRUE(is_prime(18446744073709551557ull));  // largest 64-bit prime
  EXPECT_FALSE(is_prime(18446744073709551615ull));
  EXPECT_TRUE(is_prime(2305843009213693951ull));   // 2^61 - 1
  EXPECT_FALSE(is_prime(4611686014132420609ull));  // (2^31-1)^2
}

TEST(Primes, GeneratedPrimesAreNttFriendly) {
  for (int bits : {20, 30, 40, 49, 50, 55, 60, 61}) {
    for (std::size_t n : {std::size_t{1024}, std::size_t{1} << 13, std::size_t{1} << 16}) {
      if (bits < 22 && n > 1024) continue;
      const auto ps = generate_ntt_primes(bits, 4, n);
      ASSERT_EQ(ps.size(), 4u);
      std::set<std::uint64_t> uniq(ps.begin(), ps.end());
      EXPECT_EQ(uniq.size(), 4u);
      for (std::size_t i = 0; i < ps.size(); ++i) {
        const std::uint64_t p = ps[i];
        EXPECT_TRUE(is_prime(p));
        EXPECT_EQ(p % (2 * n), 1u);
        EXPECT_EQ(64 - __builtin_clzll(p), bits);
        if (i > 0) {
          EXPECT_LT(p, ps[i - 1]);  // searched downward
        }
      }
      // Excluding the first gives the next ones.
      const auto more = generate_ntt_primes(bits, 3, n, std::span(ps.data(), 1));
      EXPECT_EQ(more[0], ps[1]);
    }
  }
}

TEST(Primes, NearPrimesAreCloseAndDistinct) {
  const std::size_t n = 1 << 15;
  const auto ps = generate_ntt_primes_near(40, 10, n);
  ASSERT_EQ(ps.size(), 10u);
  const double target = std::ldexp(1.0, 40);
  double prev = 0;
  std::set<std::uint64_t> uniq(ps.begin(), ps.end());
  EXPECT_EQ(uniq.size(), 10u);
  for (std::uint64_t p : ps) {
    EXPECT_TRUE(is_prime(p));
    EXPECT_EQ(p % (2 * n), 1u);
    const double d = std::abs(static_cast<double>(p) - target);
    EXPECT_GE(d, prev);  // ordered by distance
    prev = d;
    EXPECT_LT(d / target, 1e-3);
  }
  const auto top = generate_ntt_primes_near(61, 3, n);
  for (std::uint64_t p : top) EXPECT_LT(p, std::uint64_t{1} << 61);
}

TEST(Primes, ErrorsAreClear) {
  EXPECT_THROW(generate_ntt_primes(10, 5, 1024), ParameterError);  // 2N > 2^10
  EXPECT_THROW(generate_ntt_primes(62, 1, 1024), ParameterError);
  EXPECT_THROW(generate_ntt_primes(30, 1, 1000), ParameterError);  // not a power of two
  EXPECT_THROW(generate_ntt_primes(20, 1000, 1 << 12), ParameterError);
  try {
    generate_ntt_primes(20, 1000, 1 << 12);
  } catch (const ParameterError& e) {
    EXPECT_NE(std::string(e.what()).find("requested"), std::string::npos);
  }
}

TEST(Primes, MinimalPrimitiveRoot) {
  const std::uint64_t p = generate_ntt_primes(40, 1, 1 << 10)[0];
  const Modulus q(p);
  const std::uint64_t order = 1 << 11;
  const std::uint64_t g = minimal_primitive_root(order, q);
  EXPECT_EQ(q.pow(g, order), 1u);
  EXPECT_EQ(q.pow(g, order / 2), p - 1);
  // No smaller primitive root exists.
  for (std::uint64_t x = 2; x < g && x < 5000; ++x) {
    EXPECT_NE(q.pow(x, order / 2), p - 1) << x;
  }
  EXPECT_THROW(minimal_primitive_root(p - 2, Modulus(p)), ParameterError);
}

}  // namespace
}  // namespace encmol::math
