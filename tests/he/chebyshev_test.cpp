#include "encmol/he/chebyshev.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>

#include "encmol/core/error.hpp"
#include "he_test_util.hpp"

namespace encmol::he {
namespace {

TEST(ChebyshevPlain, ClenshawMatchesTrigonometricDefinition) {
  ChebyshevPoly p;
  p.coeffs = test::uniform(12, -1, 1, 1);
  p.a = -3.0;
  p.b = 5.0;
  for (double x = -3.0; x <= 5.0; x += 0.01) {
    const double y = (2 * x - p.a - p.b) / (p.b - p.a);
    double want = 0;
    for (std::size_t k = 0; k < p.coeffs.size(); ++k)
      want += p.coeffs[k] * std::cos(k * std::acos(std::clamp(y, -1.0, 1.0)));
    EXPECT_NEAR(p.evaluate(x), want, 1e-12);
  }
}

TEST(ChebyshevPlain, InterpolationIsExactForPolynomialsAndBoundHolds) {
  const auto cubic = [](double x) { return 1.0 - 2.0 * x + 0.5 * x * x * x; };
  const ChebyshevPoly p = chebyshev_interpolate(cubic, -2.0, 3.0, 5);
  for (double x = -2.0; x <= 3.0; x += 0.05) EXPECT_NEAR(p.evaluate(x), cubic(x), 1e-12);
  // cos on [0, 4]: |cos^(d+1)| <= 1.
  for (std::size_t d : {4u, 8u, 12u}) {
    const ChebyshevPoly c =
        chebyshev_interpolate([](double x) { return std::cos(x); }, 0.0, 4.0, d);
    const double bound = chebyshev_interpolation_bound(d, 0.0, 4.0, 1.0);
    double err = 0;
    for (double x = 0; x <= 4.0; x += 1e-3)
      err = std::max(err, std::fabs(c.evaluate(x) - std::cos(x)));
    EXPECT_LE(err, bound) << "degree " << d;
    EXPECT_GE(err * 100, bound) << "degree " << d << ": bound too loose";
  }
}

TEST(ChebyshevPlan, DepthIsOptimalAndBabyStepsSaveMultiplications) {
  for (std::size_t d = 1; d <= 300; ++d) {
    const ChebyshevPlan p = plan_chebyshev(d);
    EXPECT_EQ(p.depth, static_cast<int>(std::bit_width(d))) << "degree " << d;  // ceil(log2(d+1))
    EXPECT_LE(p.nonscalar_mults, plan_chebyshev(d, 1).nonscalar_mults);
  }
  // One spare level buys baby steps: ~2 sqrt(d) + log d multiplications instead of ~d.
  EXPECT_LE(plan_chebyshev(63, 0, 1).nonscalar_mults, 20u);
  EXPECT_EQ(plan_chebyshev(63, 0, 1).depth, 7);
  EXPECT_LE(plan_chebyshev(255, 0, 1).nonscalar_mults, 40u);
  EXPECT_LE(plan_chebyshev(56).nonscalar_mults, 20u);  // 56 = 2^6 - 8: depth 6 with B = 8
  EXPECT_THROW(plan_chebyshev(10, 3), InputError);
  ChebyshevPoly bad;
  EXPECT_THROW(bad.validate(), InputError);
  bad.coeffs = {1.0, NAN};
  EXPECT_THROW(bad.validate(), InputError);
  bad.coeffs = {1.0};
  bad.a = 2.0;
  bad.b = 1.0;
  EXPECT_THROW(bad.validate(), InputError);
}

class ChebyshevEncrypted : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { s_ = std::make_unique<test::Suite>(test::params(12, 9)); }
  static void TearDownTestSuite() { s_.reset(); }
  static std::unique_ptr<test::Suite> s_;
};
std::unique_ptr<test::Suite> ChebyshevEncrypted::s_;

TEST_F(ChebyshevEncrypted, RandomPolynomialsMatchPlainWithClaimedDepth) {
  const std::size_t degrees[] = {0, 1, 2, 3, 5, 8, 13, 16, 27, 31, 45, 64, 100};
  unsigned seed = 100;
  for (std::size_t d : degrees) {
    for (bool normalized : {true, false}) {
      ChebyshevPoly p;
      p.coeffs = test::uniform(d + 1, -1, 1, ++seed);
      for (std::size_t k = 0; k <= d; ++k) p.coeffs[k] /= static_cast<double>(k + 1);
      if (!normalized) {
        p.a = -2.0;
        p.b = 6.0;
      }
      const int depth = chebyshev_depth(p);
      ASSERT_EQ(depth, std::max(1, static_cast<int>(std::bit_width(d))) + (normalized ? 0 : 1));
      if (depth > static_cast<int>(s_->ctx->max_level())) continue;
      const auto x = test::uniform(s_->slots(), p.a, p.b, ++seed);
      const auto ct = s_->encrypt(x);
      const auto out = evaluate_chebyshev(s_->evaluator, ct, p, s_->relin);
      EXPECT_EQ(ct.level - out.level, static_cast<std::size_t>(depth)) << "degree " << d;
      EXPECT_NEAR(out.scale / ct.scale, 1.0, 1e-9);
      const auto got = s_->decrypt(out);
      std::vector<double> want(x.size());
      for (std::size_t i = 0; i < x.size(); ++i) want[i] = p.evaluate(x[i]);
      const double bits = -std::log2(test::max_abs_diff(got, want, x.size()));
      EXPECT_GE(bits, 18.0) << "degree " << d << (normalized ? " on [-1,1]" : " on [-2,6]");
    }
  }
}

TEST_F(ChebyshevEncrypted, ForcedBabyStepsAndOutputScale) {
  ChebyshevPoly p;
  p.coeffs = test::uniform(30, -0.5, 0.5, 7);
  const auto x = test::uniform(s_->slots(), -1, 1, 8);
  const auto ct = s_->encrypt(x);
  for (std::size_t baby : {1u, 2u, 4u, 16u, 32u}) {
    ChebyshevEvalOptions o;
    o.baby = baby;
    o.output_scale = std::ldexp(1.0, 38);
    const auto out = evaluate_chebyshev(s_->evaluator, ct, p, s_->relin, o);
    EXPECT_EQ(ct.level - out.level, static_cast<std::size_t>(plan_chebyshev(29, baby).depth));
    EXPECT_EQ(plan_chebyshev(29, baby).baby, baby);
    EXPECT_EQ(out.scale, o.output_scale);
    const auto got = s_->decrypt(out);
    std::vector<double> want(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) want[i] = p.evaluate(x[i]);
    EXPECT_LE(test::max_abs_diff(got, want, x.size()), 1e-5) << "baby " << baby;
  }
}

TEST_F(ChebyshevEncrypted, WeightedEvaluationCostsNoExtraLevel) {
  for (std::size_t d : {0u, 3u, 22u, 40u}) {
    ChebyshevPoly p;
    p.coeffs = test::uniform(d + 1, -1, 1, 40 + static_cast<unsigned>(d));
    p.a = 0.0;
    p.b = 10.0;
    const auto x = test::uniform(s_->slots(), 0.0, 10.0, 50);
    const auto w = test::uniform(s_->slots() - 100, -3, 3, 51);  // the last 100 slots get weight 0
    const auto ct = s_->encrypt(x);
    const auto out = evaluate_chebyshev_weighted(s_->evaluator, *s_->encoder, ct, p, w, s_->relin);
    EXPECT_EQ(ct.level - out.level, static_cast<std::size_t>(chebyshev_depth(p)));
    const auto got = s_->decrypt(out);
    double err = 0, magnitude = 1.0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double want = i < w.size() ? w[i] * p.evaluate(x[i]) : 0.0;
      err = std::max(err, std::fabs(got[i] - want));
      magnitude = std::max(magnitude, std::fabs(want));
    }
    // CKKS noise is relative to the values' size (outputs reach tens here),
    // and its maximum over all slots varies with the fresh random keys: the
    // worst of 20 runs at degree 40 was 6e-7 of the largest output.
    EXPECT_LE(err, 4e-6 * magnitude) << "degree " << d << ", max |output| " << magnitude;
  }
  ChebyshevPoly p;
  p.coeffs = {1.0, 2.0};
  const auto ct = s_->encrypt(test::uniform(s_->slots(), -1, 1, 52));
  EXPECT_THROW(evaluate_chebyshev_weighted(s_->evaluator, *s_->encoder, ct, p, {}, s_->relin),
               InputError);
  const std::vector<double> bad = {1.0, NAN};
  EXPECT_THROW(evaluate_chebyshev_weighted(s_->evaluator, *s_->encoder, ct, p, bad, s_->relin),
               InputError);
}

TEST_F(ChebyshevEncrypted, TooFewLevelsIsAClearError) {
  ChebyshevPoly p;
  p.coeffs = test::uniform(200, -1, 1, 9);
  const auto ct = s_->evaluator.mod_drop_to(s_->encrypt(test::uniform(s_->slots(), -1, 1, 10)), 3);
  try {
    (void)evaluate_chebyshev(s_->evaluator, ct, p, s_->relin);
    FAIL() << "expected ParameterError";
  } catch (const ParameterError& e) {
    EXPECT_NE(std::string(e.what()).find("needs 8 levels"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace encmol::he
