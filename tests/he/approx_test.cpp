#include "encmol/he/approx.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "encmol/core/error.hpp"
#include "he_test_util.hpp"

namespace encmol::he {
namespace {

double plain_max_error(const ChebyshevPoly& p, double a, double b, int squarings = 0) {
  double err = 0;
  const int n = 20000;
  for (int i = 0; i <= n; ++i) {
    const double t = a + (b - a) * i / n;
    double v = p.evaluate(t);
    for (int r = 0; r < squarings; ++r) v *= v;
    err = std::max(err, std::fabs(v - std::exp(-t)));
  }
  return err;
}

TEST(ExpApprox, BoundHoldsAndIsTight) {
  for (double T : {1.0, 4.0, 16.0, 40.0, 80.0}) {
    for (std::size_t d = 2; d <= 120; d += 3) {
      const double bound = exp_neg_chebyshev_bound(0.0, T, d);
      if (!std::isfinite(bound)) continue;
      const ChebyshevPoly p = exp_neg_chebyshev(0.0, T, d);
      const double err = plain_max_error(p, 0.0, T);
      EXPECT_LE(err, bound) << "T " << T << " degree " << d;
      if (err > 1e-12) {
        EXPECT_LE(bound, 100.0 * err) << "T " << T << " degree " << d << ": bound too loose";
      }
    }
  }
  // A shifted interval carries the e^-a factor.
  const ChebyshevPoly p = exp_neg_chebyshev(3.0, 9.0, 10);
  const double err = plain_max_error(p, 3.0, 9.0);
  EXPECT_LE(err, exp_neg_chebyshev_bound(3.0, 9.0, 10));
  EXPECT_GE(err * 100, exp_neg_chebyshev_bound(3.0, 9.0, 10));
  // The generic derivative bound is valid too, but e^(T/2) looser.
  EXPECT_LE(plain_max_error(exp_neg_chebyshev(0.0, 16.0, 30), 0.0, 16.0),
            chebyshev_interpolation_bound(30, 0, 16, 1));
}

TEST(ExpApprox, ScalingSquaringBoundHolds) {
  for (int r : {1, 2, 3, 4}) {
    const double T = 30.0;
    const double U = T / std::ldexp(1.0, r);
    for (std::size_t d : {4u, 6u, 9u, 12u}) {
      ChebyshevPoly p = exp_neg_chebyshev(0.0, U, d);
      const double eps = exp_neg_chebyshev_bound(0.0, U, d);
      p.b = T;  // same coefficients, now as a function of t in [0, T]: exp(-t/2^r)
      const double err = plain_max_error(p, 0.0, T, r);
      EXPECT_LE(err, scaling_squaring_bound(eps, r)) << "r " << r << " degree " << d;
    }
  }
}

TEST(ExpApprox, ChooserMeetsTargetWithMinimalDepth) {
  for (double T : {2.0, 10.0, 30.0, 100.0}) {
    for (double target : {1e-3, 1e-6, 1e-9}) {
      const ExpApproximation a = choose_exp_approximation(T, target);
      EXPECT_LE(a.error_bound, target);
      EXPECT_EQ(a.depth, chebyshev_depth(a.poly, a.baby) + a.squarings);
      EXPECT_FALSE(a.normalized_input);
      const double U = T / std::ldexp(1.0, a.squarings);
      EXPECT_LE(plain_max_error(a.poly, 0.0, T, a.squarings), a.error_bound) << a.describe();
      // No direct polynomial of smaller depth meets the target.
      for (std::size_t d = 1; d < 600; ++d)
        if (plan_chebyshev(d).depth + 1 < a.depth) {
          const double b = exp_neg_chebyshev_bound(0.0, T, d);
          EXPECT_GT(b, target) << "T " << T << " degree " << d;
        }
      (void)U;
    }
  }
  ExpApproxOptions o;
  o.affine_in_polynomial = false;
  EXPECT_EQ(choose_exp_approximation(10.0, 1e-6, o).depth + 1,
            choose_exp_approximation(10.0, 1e-6).depth);
  EXPECT_THROW(choose_exp_approximation(-1.0, 1e-6), InputError);
  EXPECT_THROW(choose_exp_approximation(10.0, 0.0), InputError);
  ExpApproxOptions w;
  w.weighted = true;
  for (double T : {10.0, 24.0, 60.0}) {  // weighted: never deeper (counting the weights)
    const auto aw = choose_exp_approximation(T, 1e-6, w), au = choose_exp_approximation(T, 1e-6);
    EXPECT_LE(exp_weighted_depth(aw), exp_weighted_depth(au)) << T;
    EXPECT_LE(aw.error_bound, 1e-6);
  }
  o.max_depth = 2;
  EXPECT_THROW(choose_exp_approximation(50.0, 1e-9, o), ParameterError);
}

class ExpEncrypted : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { s_ = std::make_unique<test::Suite>(test::params(12, 10)); }
  static void TearDownTestSuite() { s_.reset(); }
  static std::unique_ptr<test::Suite> s_;

  void check(const ExpApproximation& a, bool normalized_input) {
    const double T = a.T;
    const auto t = test::uniform(s_->slots(), 0.0, T, 77);
    std::vector<double> in = t;
    if (normalized_input)
      for (auto& v : in) v = 2 * v / T - 1;
    const auto ct = s_->encrypt(in);
    ASSERT_EQ(a.normalized_input, normalized_input);
    const auto out = evaluate_exp(s_->evaluator, ct, a, s_->relin);
    EXPECT_EQ(ct.level - out.level, static_cast<std::size_t>(a.depth)) << a.describe();
    EXPECT_EQ(out.scale, ct.scale);
    const auto got = s_->decrypt(out);
    double err = 0;
    for (std::size_t i = 0; i < t.size(); ++i)
      err = std::max(err, std::fabs(got[i] - std::exp(-t[i])));
    const double noise = 1e-6;  // CKKS at 2^40 through ~8 levels, values <= 1
    EXPECT_LE(err, a.error_bound + noise) << a.describe();
    std::printf("[exp] %s: max |enc - exp| = %.3g\n", a.describe().c_str(), err);
  }
};
std::unique_ptr<test::Suite> ExpEncrypted::s_;

TEST_F(ExpEncrypted, DirectWithinBoundPlusNoise) {
  check(choose_exp_approximation(16.0, 1e-5), false);
  ExpApproxOptions o;
  o.affine_in_polynomial = false;
  check(choose_exp_approximation(24.0, 1e-6, o), true);
  o.affine_in_polynomial = true;
  o.extra_depth = 1;
  check(choose_exp_approximation(30.0, 1e-7, o), false);
}

TEST_F(ExpEncrypted, WeightedExp) {
  const auto w = test::uniform(s_->slots(), -2, 2, 80);
  for (int r : {0, 2}) {
    ExpApproxOptions direct;
    direct.max_squarings = 0;
    ExpApproximation a = choose_exp_approximation(20.0, 1e-6, direct);
    ASSERT_EQ(a.squarings, 0);
    if (r > 0) {  // a scaling-and-squaring variant (weights applied after the squarings)
      a.squarings = r;
      a.poly = exp_neg_chebyshev(0.0, 5.0, 10);
      a.poly.b = 20.0;
      a.baby = 0;
      a.error_bound = scaling_squaring_bound(exp_neg_chebyshev_bound(0.0, 5.0, 10), r);
      a.depth = chebyshev_depth(a.poly) + r;
    }
    const auto t = test::uniform(s_->slots(), 0.0, 20.0, 81);
    const auto ct = s_->encrypt(t);
    const auto out = evaluate_exp_weighted(s_->evaluator, *s_->encoder, ct, a, w, s_->relin);
    EXPECT_EQ(ct.level - out.level, static_cast<std::size_t>(exp_weighted_depth(a)))
        << a.describe();
    EXPECT_EQ(exp_weighted_depth(a), a.depth + (a.squarings > 0 ? 1 : 0));
    const auto got = s_->decrypt(out);
    double err = 0;
    for (std::size_t i = 0; i < t.size(); ++i)
      err = std::max(err, std::fabs(got[i] - w[i] * std::exp(-t[i])));
    EXPECT_LE(err, 2.0 * a.error_bound + 1e-6) << a.describe();
  }
}

TEST_F(ExpEncrypted, ScalingAndSquaringWithinBoundPlusNoise) {
  ExpApproximation a;
  a.method = ExpApproximation::Method::scaling_squaring;
  a.T = 40.0;
  a.squarings = 3;
  a.poly = exp_neg_chebyshev(0.0, 5.0, 10);
  a.poly.b = 40.0;
  a.error_bound = scaling_squaring_bound(exp_neg_chebyshev_bound(0.0, 5.0, 10), 3);
  a.depth = chebyshev_depth(a.poly) + 3;
  a.baby = plan_chebyshev(10).baby;
  a.nonscalar_mults = plan_chebyshev(10).nonscalar_mults + 3;
  check(a, false);
}

}  // namespace
}  // namespace encmol::he
