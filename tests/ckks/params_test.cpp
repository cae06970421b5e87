#include <gtest/gtest.h>

#include <cmath>

#include "ckks_test_util.hpp"
#include "encmol/core/error.hpp"

namespace encmol::ckks {
namespace {

TEST(Params, SecurityBoundTable) {
  EXPECT_EQ(max_log2_pq_128(12), 109);
  EXPECT_EQ(max_log2_pq_128(13), 218);
  EXPECT_EQ(max_log2_pq_128(14), 438);
  EXPECT_EQ(max_log2_pq_128(15), 881);
  EXPECT_EQ(max_log2_pq_128(16), 1747);
}

TEST(Params, ForCircuitPicksSmallestSecureRing) {
  for (int depth : {1, 3, 6, 12, 20}) {
    const auto ps = Parameters::for_circuit(depth, 40, 0);
    EXPECT_EQ(ps.q.size(), static_cast<std::size_t>(depth) + 1);
    EXPECT_LE(ps.log2_pq(), max_log2_pq_128(ps.log_n));
    EXPECT_FALSE(ps.allow_insecure);
    // Even the lightest key switching (every prime its own digit) would not fit one size down.
    if (ps.log_n > 12) {
      EXPECT_GT(50.0 + 40.0 * depth + 50.0, max_log2_pq_128(ps.log_n - 1)) << depth;
    }
    for (auto p : ps.p) EXPECT_LT(p, std::uint64_t{1} << 50);  // IFMA-friendly special primes
    EXPECT_LT(ps.q[0], std::uint64_t{1} << 50);
    for (std::size_t i = 1; i < ps.q.size(); ++i)
      EXPECT_NEAR(std::log2(static_cast<double>(ps.q[i])), 40.0, 0.01);
    EXPECT_NO_THROW(Context c(ps));
  }
  // Slots force the ring degree up.
  EXPECT_GE(Parameters::for_circuit(1, 40, 1 << 14).log_n, 15);
  // Fixed dnum is honoured.
  const auto ps = Parameters::for_circuit(6, 40, 0, 7);
  EXPECT_EQ(ps.dnum, 7u);
  EXPECT_EQ(ps.alpha(), 1u);
  EXPECT_EQ(ps.p.size(), 2u);  // 50 + 6*40 + 2*50 = 390 <= 438: room for the extra special prime
  CircuitOptions plain;
  plain.extra_special_prime = false;
  EXPECT_EQ(Parameters::for_circuit(6, 40, 0, 7, plain).p.size(), 1u);
  EXPECT_THROW(Parameters::for_circuit(100, 40, 0), ParameterError);
  EXPECT_THROW(Parameters::for_circuit(45, 40, 0), ParameterError);  // > 1747 bits
}

TEST(Params, SecurityRefusalAndOptIn) {
  // 50 + 5*40 + 50 = 300 bits at N = 2^13 (bound 218).
  const std::vector<int> qb = {50, 40, 40, 40, 40, 40};
  EXPECT_THROW(Parameters::from_bit_sizes(13, qb, {50}, 6, 40), SecurityError);
  const auto ps = Parameters::from_bit_sizes(13, qb, {50}, 6, 40, /*allow_insecure=*/true);
  EXPECT_TRUE(ps.allow_insecure);
  EXPECT_NO_THROW(Context c(ps));
  // The flag is what lets it through: clearing it makes the context refuse.
  auto strict = ps;
  strict.allow_insecure = false;
  EXPECT_THROW(Context c(strict), SecurityError);
  // The same chain fits 128 bits at N = 2^14.
  EXPECT_NO_THROW(Parameters::from_bit_sizes(14, qb, {50}, 6, 40));
}

TEST(Params, NarrowErrorIsRefusedUnlessInsecureIsAllowed) {
  // A hostile parameter file could keep log2(PQ) in bounds but shrink the
  // error until RLWE is easy; the 128-bit table assumes sigma = 3.2.
  auto ps = Parameters::for_circuit(3, 40, 0);
  ps.sigma = 0.01;
  EXPECT_THROW(ps.validate(), SecurityError);
  ps.sigma = 3.19;
  EXPECT_NO_THROW(ps.validate());
  ps.sigma = 1.0;
  ps.allow_insecure = true;
  EXPECT_NO_THROW(ps.validate());
}

TEST(Params, ValidationCatchesInconsistencies) {
  const auto good = Parameters::from_bit_sizes(13, {50, 40, 40}, {50}, 3, 40);
  auto ps = good;
  ps.q[1] += 2;  // not prime (even) / not 1 mod 2N
  EXPECT_THROW(ps.validate(), ParameterError);
  ps = good;
  ps.p[0] = ps.q[0];
  EXPECT_THROW(ps.validate(), ParameterError);
  ps = good;
  ps.dnum = 4;
  EXPECT_THROW(ps.validate(), ParameterError);
  ps = good;
  ps.dnum = 1;  // one digit of 130 bits needs P >= 2^129
  EXPECT_THROW(ps.validate(), ParameterError);
  ps = good;
  ps.log_n = 11;
  EXPECT_THROW(ps.validate(), ParameterError);
  ps = good;
  ps.p.clear();
  EXPECT_THROW(ps.validate(), ParameterError);
  EXPECT_THROW(Parameters::from_bit_sizes(13, {50, 40}, {50}, 3, 40), ParameterError);
}

TEST(Params, HashIsCanonical) {
  const auto a = Parameters::from_bit_sizes(13, {50, 40, 40}, {50}, 3, 40);
  const auto b = Parameters::from_bit_sizes(13, {50, 40, 40}, {50}, 3, 40);
  EXPECT_EQ(a.hash(), b.hash());
  auto c = a;
  c.allow_insecure = true;  // a policy flag, not part of the mathematics
  EXPECT_EQ(a.hash(), c.hash());
  c = a;
  c.dnum = 1;
  EXPECT_NE(a.hash(), c.hash());
  c = a;
  c.default_scale *= 2;
  EXPECT_NE(a.hash(), c.hash());
  EXPECT_FALSE(a.describe().empty());
}

// One end-to-end check at a 128-bit parameter set chosen by for_circuit.
TEST(Params, SecureParameterSetEndToEnd) {
  // depth 3 at scale 2^40 lands on N = 2^14 with room for the extra special prime.
  const auto ps = Parameters::for_circuit(3, 40, 0);
  ASSERT_FALSE(ps.allow_insecure);
  EXPECT_EQ(ps.log_n, 14);
  EXPECT_GT(ps.p.size(), ps.alpha());
  test::Suite s(ps);
  const int one[] = {1};
  const auto gk = s.keygen.create_galois_keys(one, false);
  const auto a = test::random_values(s.ctx->slots(), 1.0, 50), b = test::random_values(s.ctx->slots(), 1.0, 51);
  test::cvec want(a.size());
  for (std::size_t k = 0; k < a.size(); ++k) want[k] = a[(k + 1) % a.size()] * b[(k + 1) % a.size()];
  auto ct = s.evaluator.rescale(s.evaluator.multiply_relin(s.encrypt(a), s.encrypt(b), s.relin));
  ct = s.evaluator.rotate(ct, 1, gk);
  const double bits = test::precision_bits(s.decrypt(ct), want);
  std::printf("[precision] 128-bit set (%s): multiply+rescale+rotate %.1f bits\n", ps.describe().c_str(), bits);
  EXPECT_GE(bits, 23.0);  // N = 2^14: rescaling noise ~2^-25
}

}  // namespace
}  // namespace encmol::ckks

namespace encmol::ckks {
namespace {

TEST(Params, DigitCountMustBeAchievable) {
  // 5 primes: dnum 4 would need alpha 2, which gives 3 digits.
  EXPECT_THROW(Parameters::from_bit_sizes(14, {50, 40, 40, 40, 40}, {50, 50}, 4, 40), ParameterError);
  EXPECT_NO_THROW(Parameters::from_bit_sizes(14, {50, 40, 40, 40, 40}, {50, 50}, 3, 40));
  // The automatic choice only picks achievable counts, and the test-only ring override works.
  CircuitOptions opt;
  opt.allow_insecure = true;
  opt.insecure_log_n = 12;
  const auto ps = Parameters::for_circuit(3, 40, 0, 0, opt);
  EXPECT_EQ(ps.log_n, 12);
  EXPECT_NO_THROW(ps.validate());
}

}  // namespace
}  // namespace encmol::ckks
