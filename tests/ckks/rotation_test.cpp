#include <gtest/gtest.h>

#include <random>

#include "ckks_test_util.hpp"
#include "encmol/core/error.hpp"

namespace encmol::ckks {
namespace {

using test::cvec;
using test::precision_bits;

cvec conj_all(const cvec& v) {
  cvec r(v.size());
  for (std::size_t k = 0; k < v.size(); ++k) r[k] = std::conj(v[k]);
  return r;
}

std::vector<int> rotation_steps(std::size_t slots) {
  std::vector<int> steps = {1, -1, 2, -2, 3};
  for (std::size_t p = 4; p < slots; p <<= 1) steps.push_back(static_cast<int>(p));
  std::mt19937 rng(7);
  steps.push_back(static_cast<int>(rng() % slots));
  steps.push_back(-static_cast<int>(rng() % slots));
  return steps;
}

// N = 2^12 keeps 2^11 slots and a dozen Galois keys cheap.
class RotationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    s_ = std::make_unique<test::Suite>(test::test_params(12, 3, 2));
    steps_ = rotation_steps(s_->ctx->slots());
    gk_ = std::make_unique<GaloisKeys>(s_->keygen.create_galois_keys(steps_, true));
  }
  static void TearDownTestSuite() {
    gk_.reset();
    s_.reset();
  }
  static std::unique_ptr<test::Suite> s_;
  static std::unique_ptr<GaloisKeys> gk_;
  static std::vector<int> steps_;
};
std::unique_ptr<test::Suite> RotationTest::s_;
std::unique_ptr<GaloisKeys> RotationTest::gk_;
std::vector<int> RotationTest::steps_;

TEST_F(RotationTest, EveryStepAndConjugation) {
  const cvec v = test::random_values(s_->ctx->slots(), 1.0, 30);
  const auto ct = s_->encrypt(v);
  for (int step : steps_) {
    const double bits = precision_bits(s_->decrypt(s_->evaluator.rotate(ct, step, *gk_)), test::rotate_left(v, step));
    EXPECT_GE(bits, 24.0) << "step " << step;
  }
  EXPECT_GE(precision_bits(s_->decrypt(s_->evaluator.conjugate(ct, *gk_)), conj_all(v)), 24.0);
  // Rotation by 0 and by a multiple of the slot count is the identity.
  EXPECT_GE(precision_bits(s_->decrypt(s_->evaluator.rotate(ct, 0, *gk_)), v), 25.0);
  // Rotations compose: (rot 1 then rot 2) == rot 3, at a lower level too.
  const auto low = s_->evaluator.mod_drop_to(ct, 1);
  const auto r12 = s_->evaluator.rotate(s_->evaluator.rotate(low, 1, *gk_), 2, *gk_);
  EXPECT_GE(precision_bits(s_->decrypt(r12), test::rotate_left(v, 3)), 23.0);
}

TEST_F(RotationTest, HoistedEqualsIndividual) {
  const cvec v = test::random_values(s_->ctx->slots(), 1.0, 31);
  const auto ct = s_->encrypt(v);
  const auto hoisted = s_->evaluator.rotate_hoisted(ct, steps_, *gk_);
  ASSERT_EQ(hoisted.size(), steps_.size());
  for (std::size_t k = 0; k < steps_.size(); ++k) {
    const auto single = s_->evaluator.rotate(ct, steps_[k], *gk_);
    // Hoisted rotations extend c1 before the automorphism, single ones after:
    // both are valid lifts, so they agree within key-switching noise.
    EXPECT_GE(precision_bits(s_->decrypt(hoisted[k]), s_->decrypt(single)), 24.0) << "step " << steps_[k];
    EXPECT_GE(precision_bits(s_->decrypt(hoisted[k]), test::rotate_left(v, steps_[k])), 24.0);
  }
}

TEST_F(RotationTest, MissingKeyIsAClearError) {
  const auto ct = s_->encrypt(test::random_values(4, 1.0, 32));
  EXPECT_THROW(s_->evaluator.rotate(ct, 5, *gk_), ParameterError);
  const int five[] = {5};
  EXPECT_THROW(s_->evaluator.rotate_hoisted(ct, five, *gk_), ParameterError);
  GaloisKeys none;
  none.params = s_->ctx->hash();
  EXPECT_THROW(s_->evaluator.conjugate(ct, none), ParameterError);
}

// Key switching with every digit count: the same computation agrees with the
// cleartext and across digit counts within noise.
TEST(KeySwitchDigits, AllDigitCountsAgree) {
  const int depth = 4;  // 5 ciphertext primes
  const cvec a = test::random_values(2048, 1.0, 40), b = test::random_values(2048, 1.0, 41);
  cvec want(a.size());
  for (std::size_t k = 0; k < a.size(); ++k) want[k] = a[(k + 1) % a.size()] * b[(k + 1) % a.size()];
  want = conj_all(want);
  std::vector<cvec> results;
  for (std::size_t dnum : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{depth + 1}}) {
    test::Suite s(test::test_params(12, depth, dnum));
    EXPECT_EQ(s.ctx->dnum(), dnum);
    const int one[] = {1};
    const auto gk = s.keygen.create_galois_keys(one, true);
    auto ct = s.evaluator.rescale(s.evaluator.multiply_relin(s.encrypt(a), s.encrypt(b), s.relin));
    ct = s.evaluator.conjugate(s.evaluator.rotate(ct, 1, gk), gk);
    const auto got = s.decrypt(ct);
    const double bits = precision_bits(got, want);
    EXPECT_GE(bits, 21.0) << "dnum " << dnum;
    std::printf("[precision] dnum=%zu: multiply+relin+rescale+rotate+conjugate %.1f bits\n", dnum, bits);
    results.push_back(got);
  }
  for (std::size_t i = 1; i < results.size(); ++i) EXPECT_GE(precision_bits(results[i], results[0]), 20.0);
}

}  // namespace
}  // namespace encmol::ckks

namespace encmol::ckks {
namespace {

// Key switching at every level, including levels where the last digit is
// partial or absent (5 primes, 3 per digit).
TEST(KeySwitchLevels, RotateAndRelinearizeAtEveryLevel) {
  test::Suite s(test::test_params(12, 4, 2));
  ASSERT_EQ(s.ctx->alpha(), 3u);
  const int two[] = {2};
  const auto gk = s.keygen.create_galois_keys(two, false);
  const test::cvec v = test::random_values(s.ctx->slots(), 1.0, 60);
  test::cvec sq(v.size());
  for (std::size_t k = 0; k < v.size(); ++k) sq[k] = v[k] * v[k];
  for (std::size_t level = 0; level <= s.ctx->max_level(); ++level) {
    const auto ct = s.encrypt(v, level, std::ldexp(1.0, 40));
    EXPECT_GE(test::precision_bits(s.decrypt(s.evaluator.rotate(ct, 2, gk)), test::rotate_left(v, 2)), 24.0)
        << "level " << level;
    if (level > 0) {
      const auto m = s.evaluator.rescale(s.evaluator.square_relin(ct, s.relin));
      EXPECT_GE(test::precision_bits(s.decrypt(m), sq), 22.0) << "level " << level;
    }
  }
}

}  // namespace
}  // namespace encmol::ckks
