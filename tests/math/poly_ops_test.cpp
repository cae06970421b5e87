#include "encmol/math/poly_ops.hpp"

#include <gtest/gtest.h>

#include <random>

#include "encmol/core/error.hpp"
#include "math_test_util.hpp"

namespace encmol::math {
namespace {

using testing::random_residues;
using testing::supported_paths;

const int kBits[] = {2, 20, 30, 40, 49, 50, 51, 55, 60, 61};

std::uint64_t some_modulus(int bits, std::mt19937_64& rng) {
  // Arbitrary (not necessarily prime) moduli, largest of their size half the time.
  const std::uint64_t top = (std::uint64_t{1} << bits) - 1;
  return (rng() & 1) ? top : (std::uint64_t{1} << (bits - 1)) + (rng() % (top >> 1)) + 1;
}

TEST(PolyOps, ElementwiseMatchesNaiveOnEveryPath) {
  std::mt19937_64 rng(23);
  for (int bits : kBits) {
    const std::uint64_t qv = some_modulus(bits, rng);
    const Modulus q(qv);
    for (std::size_t n : {1u, 7u, 8u, 9u, 64u, 1003u}) {
      auto a = random_residues(rng, n, qv), b = random_residues(rng, n, qv);
      a[0] = qv - 1;
      b[0] = qv - 1;
      std::vector<std::uint64_t> out(n), acc = random_residues(rng, n, qv);
      add_mod(a.data(), b.data(), out.data(), n, q);
      for (std::size_t j = 0; j < n; ++j) ASSERT_EQ(out[j], (a[j] + b[j]) % qv);
      sub_mod(a.data(), b.data(), out.data(), n, q);
      for (std::size_t j = 0; j < n; ++j) ASSERT_EQ(out[j], (a[j] + qv - b[j]) % qv);
      neg_mod(a.data(), out.data(), n, q);
      for (std::size_t j = 0; j < n; ++j) ASSERT_EQ(out[j], (qv - a[j]) % qv);
      const std::uint64_t s = rng();
      add_scalar_mod(a.data(), s, out.data(), n, q);
      for (std::size_t j = 0; j < n; ++j) ASSERT_EQ(out[j], (a[j] + s % qv) % qv);
      for (SimdPath path : supported_paths()) {
        mul_mod(a.data(), b.data(), out.data(), n, q, path);
        for (std::size_t j = 0; j < n; ++j) ASSERT_EQ(out[j], mul_mod_naive(a[j], b[j], qv));
        auto acc2 = acc;
        mul_add_mod(a.data(), b.data(), acc2.data(), n, q, path);
        for (std::size_t j = 0; j < n; ++j) {
          ASSERT_EQ(acc2[j], (mul_mod_naive(a[j], b[j], qv) + acc[j]) % qv) << to_string(path);
        }
        mul_scalar_mod(a.data(), s, out.data(), n, q, path);
        for (std::size_t j = 0; j < n; ++j) ASSERT_EQ(out[j], mul_mod_naive(a[j], s % qv, qv));
      }
      // Aliasing out == a.
      auto c = a;
      mul_mod(c.data(), b.data(), c.data(), n, q);
      for (std::size_t j = 0; j < n; ++j) ASSERT_EQ(c[j], mul_mod_naive(a[j], b[j], qv));
    }
  }
}

TEST(PolyOps, RescaleHelpersAndEmbedding) {
  std::mt19937_64 rng(29);
  const std::size_t n = 100;
  for (int bits : {30, 50, 61}) {
    const std::uint64_t qv = some_modulus(bits, rng);
    const Modulus q(qv);
    auto a = random_residues(rng, n, qv);
    std::vector<std::uint64_t> b(n), out(n);
    for (auto& x : b) x = rng();
    b[0] = ~std::uint64_t{0};
    reduce_mod(b.data(), out.data(), n, q);
    for (std::size_t j = 0; j < n; ++j) ASSERT_EQ(out[j], b[j] % qv);
    const std::uint64_t s = rng();
    sub_mul_scalar_mod(a.data(), b.data(), s, out.data(), n, q);
    for (std::size_t j = 0; j < n; ++j) {
      const std::uint64_t d = (a[j] + qv - b[j] % qv) % qv;
      ASSERT_EQ(out[j], mul_mod_naive(d, s % qv, qv));
    }
    std::vector<std::int64_t> sv = {0, 1, -1, INT64_MIN, INT64_MAX, -static_cast<std::int64_t>(qv)};
    std::vector<std::uint64_t> e(sv.size());
    embed_signed(sv.data(), e.data(), sv.size(), q);
    for (std::size_t j = 0; j < sv.size(); ++j) {
      const i128 v = sv[j];
      i128 r = v % static_cast<i128>(qv);
      if (r < 0) r += qv;
      ASSERT_EQ(e[j], static_cast<std::uint64_t>(r));
    }
    std::vector<std::int8_t> tv = {-1, 0, 1, -128, 127};
    std::vector<std::uint64_t> te(tv.size());
    embed_signed(tv.data(), te.data(), tv.size(), q);
    for (std::size_t j = 0; j < tv.size(); ++j) {
      const std::int64_t v = tv[j];
      ASSERT_EQ(te[j], static_cast<std::uint64_t>(((v % static_cast<std::int64_t>(qv)) +
                                                   static_cast<std::int64_t>(qv)) %
                                                  static_cast<std::int64_t>(qv)));
    }
  }
}

TEST(PolyOps, WideAccumulationIsExact) {
  std::mt19937_64 rng(31);
  const std::size_t n = 50;
  const Modulus q((std::uint64_t{1} << 61) - 1);
  std::vector<u128> acc(n, 0);
  std::vector<std::uint64_t> expect(n, 0);
  for (int term = 0; term < 60; ++term) {
    auto a = random_residues(rng, n, q.value()), b = random_residues(rng, n, q.value());
    mul_accumulate_wide(a.data(), b.data(), acc.data(), n);
    for (std::size_t j = 0; j < n; ++j) expect[j] = q.add(expect[j], q.mul(a[j], b[j]));
  }
  std::vector<std::uint64_t> out(n);
  reduce_wide(acc.data(), out.data(), n, q);
  EXPECT_EQ(out, expect);
}

TEST(PolyOps, AutomorphismComposesAndRejectsEvenElements) {
  const std::size_t n = 64;
  const Modulus q(97);
  std::mt19937_64 rng(37);
  auto a = random_residues(rng, n, 97);
  std::vector<std::uint64_t> b(n), c(n), d(n);
  automorphism_coeff(a.data(), 5, b.data(), n, q);
  automorphism_coeff(b.data(), 3, c.data(), n, q);
  automorphism_coeff(a.data(), 15, d.data(), n, q);  // (X^5)^3 = X^15
  EXPECT_EQ(c, d);
  automorphism_coeff(a.data(), 1, b.data(), n, q);
  EXPECT_EQ(a, b);
  // X -> X^(2n-1) twice is the identity.
  automorphism_coeff(a.data(), 2 * n - 1, b.data(), n, q);
  automorphism_coeff(b.data(), 2 * n - 1, c.data(), n, q);
  EXPECT_EQ(c, a);
  EXPECT_THROW(automorphism_coeff(a.data(), 4, b.data(), n, q), ParameterError);
  EXPECT_THROW(automorphism_coeff(a.data(), 2 * n + 1, b.data(), n, q), ParameterError);
}

}  // namespace
}  // namespace encmol::math
