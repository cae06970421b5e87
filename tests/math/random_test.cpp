#include "encmol/math/random.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "encmol/core/error.hpp"

namespace encmol::math {
namespace {

Seed fixed_seed(std::uint8_t v) {
  Seed s;
  s.fill(v);
  return s;
}

TEST(Random, OsSeedsDiffer) {
  const Seed a = random_seed(), b = random_seed();
  EXPECT_NE(a, b);
}

TEST(Random, PrngIsDeterministicPerSeedAndMatchesChaCha20) {
  Prng a(fixed_seed(1)), b(fixed_seed(1)), c(fixed_seed(2));
  std::vector<std::uint8_t> xa(10000), xb(10000), xc(10000);
  // Uneven chunk sizes must not change the stream.
  a.fill(xa);
  b.fill(std::span(xb).subspan(0, 4095));
  b.fill(std::span(xb).subspan(4095, 2));
  b.fill(std::span(xb).subspan(4097));
  c.fill(xc);
  EXPECT_EQ(xa, xb);
  EXPECT_NE(xa, xc);
  // RFC 8439 §2.4.2 style check: all-zero key and nonce, counter 0 keystream starts 76 b8 e0 ad.
  Prng z(fixed_seed(0));
  std::array<std::uint8_t, 4> head;
  z.fill(head);
  EXPECT_EQ(head[0], 0x76);
  EXPECT_EQ(head[1], 0xb8);
  EXPECT_EQ(head[2], 0xe0);
  EXPECT_EQ(head[3], 0xad);
}

TEST(Random, UniformBelowAndModQ) {
  Prng prng(fixed_seed(3));
  EXPECT_THROW(prng.uniform_below(0), ParameterError);
  EXPECT_EQ(prng.uniform_below(1), 0u);
  // Chi-square on 10 buckets of a non-power-of-two bound.
  const std::uint64_t q = 1000003;
  const Modulus m(q);
  const std::size_t n = 200000;
  std::vector<std::uint64_t> v(n);
  sample_uniform(prng, m, v.data(), n);
  std::vector<double> buckets(10, 0);
  for (auto x : v) {
    ASSERT_LT(x, q);
    buckets[x * 10 / q] += 1;
  }
  double chi2 = 0;
  for (double b : buckets) chi2 += (b - n / 10.0) * (b - n / 10.0) / (n / 10.0);
  EXPECT_LT(chi2, 30.0);  // 9 dof: p ~ 4e-4
  // Large modulus: top bucket reached, mean near q/2.
  const Modulus big((std::uint64_t{1} << 61) - 1);
  sample_uniform(prng, big, v.data(), n);
  long double mean = 0;
  for (auto x : v) {
    ASSERT_LT(x, big.value());
    mean += static_cast<long double>(x) / n;
  }
  EXPECT_NEAR(static_cast<double>(mean / big.value()), 0.5, 0.01);
  for (int i = 0; i < 1000; ++i) ASSERT_LT(prng.uniform_below(7), 7u);
  // Same seed, same samples.
  Prng p1(fixed_seed(9)), p2(fixed_seed(9));
  std::vector<std::uint64_t> s1(100), s2(100);
  sample_uniform(p1, m, s1.data(), 100);
  sample_uniform(p2, m, s2.data(), 100);
  EXPECT_EQ(s1, s2);
}

TEST(Random, TernaryFrequencies) {
  Prng prng(fixed_seed(4));
  const std::size_t n = 300000;
  std::vector<std::int8_t> v(n);
  sample_ternary(prng, v.data(), n);
  std::map<int, double> count;
  for (auto x : v) {
    ASSERT_GE(x, -1);
    ASSERT_LE(x, 1);
    count[x] += 1;
  }
  for (int k : {-1, 0, 1}) EXPECT_NEAR(count[k] / n, 1.0 / 3, 0.005);
  Prng a(fixed_seed(5)), b(fixed_seed(5));
  std::vector<std::int8_t> va(1000), vb(1000);
  sample_ternary(a, va.data(), 1000);
  sample_ternary(b, vb.data(), 1000);
  EXPECT_EQ(va, vb);
}

TEST(Random, GaussianMomentsAndTailCut) {
  Prng prng(fixed_seed(6));
  const std::size_t n = 1000000;
  const double sigma = 3.2;
  std::vector<std::int64_t> v(n);
  sample_gaussian(prng, sigma, v.data(), n);
  double mean = 0, var = 0;
  std::int64_t max_abs = 0;
  std::map<std::int64_t, double> hist;
  for (auto x : v) {
    mean += static_cast<double>(x);
    hist[x] += 1;
    max_abs = std::max<std::int64_t>(max_abs, x < 0 ? -x : x);
  }
  mean /= n;
  for (auto x : v) var += (x - mean) * (x - mean);
  const double sd = std::sqrt(var / n);
  EXPECT_NEAR(mean, 0.0, 0.02);  // std error 0.0032
  EXPECT_NEAR(sd, sigma, 0.02);
  EXPECT_LE(max_abs, static_cast<std::int64_t>(std::floor(6 * sigma)));
  // Point probabilities near the centre match exp(-x^2 / 2 sigma^2).
  double norm = 0;
  for (int k = -19; k <= 19; ++k) norm += std::exp(-k * k / (2 * sigma * sigma));
  for (int k = -4; k <= 4; ++k) {
    const double expect = std::exp(-k * k / (2 * sigma * sigma)) / norm;
    EXPECT_NEAR(hist[k] / n, expect, 0.003) << k;
  }
  EXPECT_NEAR(hist[3] / hist[-3], 1.0, 0.05);  // symmetric
  // Determinism.
  Prng a(fixed_seed(7)), b(fixed_seed(7));
  std::vector<std::int64_t> va(1000), vb(1000);
  sample_gaussian(a, sigma, va.data(), 1000);
  sample_gaussian(b, sigma, vb.data(), 1000);
  EXPECT_EQ(va, vb);
}

TEST(Random, GaussianLargeSigmaAndBadSigma) {
  Prng prng(fixed_seed(8));
  const std::size_t n = 200000;
  const double sigma = 1 << 20;
  std::vector<std::int64_t> v(n);
  sample_gaussian(prng, sigma, v.data(), n);
  double var = 0, mean = 0;
  for (auto x : v) {
    mean += static_cast<double>(x);
    var += static_cast<double>(x) * static_cast<double>(x);
    ASSERT_LE(std::llabs(x), static_cast<long long>(6 * sigma));
  }
  mean /= n;
  EXPECT_NEAR(mean / sigma, 0.0, 0.01);
  EXPECT_NEAR(std::sqrt(var / n) / sigma, 1.0, 0.01);
  EXPECT_THROW(sample_gaussian(prng, 0.0, v.data(), 1), ParameterError);
  EXPECT_THROW(sample_gaussian(prng, -1.0, v.data(), 1), ParameterError);
  EXPECT_THROW(sample_gaussian(prng, std::nan(""), v.data(), 1), ParameterError);
  sample_gaussian(prng, 0.1, v.data(), 10);  // 6 sigma < 1: all zero
  for (int i = 0; i < 10; ++i) EXPECT_EQ(v[i], 0);
}

}  // namespace
}  // namespace encmol::math
