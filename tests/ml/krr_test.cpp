#include "encmol/ml/baseline.hpp"
#include "encmol/ml/krr.hpp"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <random>

#include "encmol/core/error.hpp"
#include "encmol/ml/kernels.hpp"
#include "encmol/ml/split.hpp"
#include "ml_test_util.hpp"

namespace encmol::ml {
namespace {

using testing::random_features;

TEST(Krr, InterpolatesAtTinyLambda) {
  const FeatureMatrix x = random_features(40, 6, 11);
  Eigen::MatrixXd y(40, 2);
  for (int i = 0; i < 40; ++i) {
    y(i, 0) = std::sin(x(i, 0)) + x(i, 1) * x(i, 2);
    y(i, 1) = 10 * x(i, 3) - 3;
  }
  for (Kernel k : {Kernel{KernelKind::Gaussian, 1.0, 1, 1, 2}, Kernel{KernelKind::Laplacian, 2.0, 1, 1, 2}}) {
    const Eigen::MatrixXd kk = gram_symmetric(k, x);
    const Eigen::MatrixXd alpha = solve_krr(kk, 1e-12, y);
    const Eigen::MatrixXd fit = kk * alpha;
    EXPECT_LT((fit - y).cwiseAbs().maxCoeff(), 1e-6) << to_string(k.kind);
  }
}

TEST(Krr, MatchesDirectSolveAndPerTargetSolves) {
  const FeatureMatrix x = random_features(60, 5, 12);
  const Eigen::MatrixXd y = Eigen::MatrixXd(random_features(60, 3, 13));
  const Kernel k{KernelKind::Gaussian, 0.8, 1, 1, 2};
  const Eigen::MatrixXd kk = gram_symmetric(k, x);
  const double lambda = 1e-3;
  const Eigen::MatrixXd alpha = solve_krr(kk, lambda, y);
  const Eigen::MatrixXd a = kk + lambda * Eigen::MatrixXd::Identity(60, 60);
  const Eigen::MatrixXd direct = a.fullPivLu().solve(y);
  EXPECT_LT((alpha - direct).cwiseAbs().maxCoeff(), 1e-8 * direct.cwiseAbs().maxCoeff());
  for (int t = 0; t < 3; ++t) {
    const Eigen::MatrixXd one = solve_krr(kk, lambda, y.col(t));
    EXPECT_LT((one - alpha.col(t)).cwiseAbs().maxCoeff(), 1e-12 * alpha.cwiseAbs().maxCoeff());
  }
}

TEST(Krr, NotPositiveDefiniteIsAClearError) {
  const Eigen::MatrixXd ones = Eigen::MatrixXd::Ones(5, 5);
  const Eigen::MatrixXd y = Eigen::MatrixXd::Ones(5, 1);
  try {
    (void)solve_krr(ones, 0.0, y);
    FAIL();
  } catch (const ParameterError& e) {
    EXPECT_NE(std::string(e.what()).find("larger lambda"), std::string::npos);
  }
  EXPECT_THROW((void)solve_krr(ones, -1.0, y), ParameterError);
  EXPECT_THROW((void)solve_krr(ones, 1.0, Eigen::MatrixXd::Ones(4, 1)), ParameterError);
}

TEST(Baseline, RecoversDressedAtomEnergies) {
  // Labels that are exactly per-element sums are recovered exactly.
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int> count(0, 9);
  const std::vector<int> elements = {1, 6, 7, 8};
  const Eigen::Vector4d energy(-0.6, -38.1, -54.7, -75.2);
  Eigen::MatrixXd counts(80, 4), y(80, 2);
  for (int i = 0; i < 80; ++i) {
    for (int e = 0; e < 4; ++e) counts(i, e) = count(rng);
    y(i, 0) = counts.row(i).dot(energy);
    y(i, 1) = 2.0 * counts(i, 0);
  }
  const Baseline b = Baseline::fit(counts, elements, y, true);
  ASSERT_EQ(b.coefficients.rows(), 4);
  for (int e = 0; e < 4; ++e) {
    EXPECT_NEAR(b.coefficients(e, 0), energy(e), 1e-9);
    EXPECT_NEAR(b.coefficients(e, 1), e == 0 ? 2.0 : 0.0, 1e-9);
  }
  EXPECT_NEAR(b.mean(0), 0.0, 1e-9);
  EXPECT_LT((b.evaluate(counts) - y).cwiseAbs().maxCoeff(), 1e-8);
  // Without per-element terms: just the mean.
  const Baseline m = Baseline::fit(counts, elements, y, false);
  EXPECT_NEAR(m.mean(0), y.col(0).mean(), 1e-9);
  EXPECT_EQ(m.coefficients.size(), 0);
}

TEST(Baseline, CollinearCountsAreFine) {
  // Isomers: every molecule has the same composition (collinear columns).
  Eigen::MatrixXd counts(10, 3);
  Eigen::MatrixXd y(10, 1);
  for (int i = 0; i < 10; ++i) {
    counts.row(i) << 7, 10, 2;
    y(i, 0) = -100.0 + i;
  }
  const Baseline b = Baseline::fit(counts, {1, 6, 8}, y, true);
  EXPECT_TRUE(b.coefficients.allFinite());
  EXPECT_NEAR(b.evaluate(counts).col(0).mean(), y.col(0).mean(), 1e-9);
}

TEST(Baseline, LargeIsomerSetGivesTheMinimumNormFit) {
  // C7H10O2-like: thousands of identical composition rows. The fit must stay
  // the minimum-norm one (coefficients ~ label / atoms), not blow up through
  // rounding-level pivots, or plain predictions lose precision.
  const int n = 6000;
  Eigen::MatrixXd counts(n, 3);
  Eigen::MatrixXd y(n, 2);
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.0, 0.01);
  for (int i = 0; i < n; ++i) {
    counts.row(i) << 10, 7, 2;
    y(i, 0) = -422.5 + noise(rng);
    y(i, 1) = 0.25 + noise(rng);
  }
  const Baseline b = Baseline::fit(counts, {1, 6, 8}, y, true);
  ASSERT_TRUE(b.coefficients.allFinite());
  EXPECT_LT(b.coefficients.cwiseAbs().maxCoeff(), 100.0) << b.coefficients;
  const Eigen::MatrixXd fitted = b.evaluate(counts);
  EXPECT_NEAR(fitted(0, 0), y.col(0).mean(), 1e-9);
  EXPECT_NEAR(fitted(0, 1), y.col(1).mean(), 1e-12);
}

TEST(Labels, MissingAndElementErrorsNameTheMolecule) {
  auto mols = testing::synthetic_molecules(3, 1);
  mols[1].properties.erase("energy");
  try {
    (void)label_matrix(mols, {"energy"});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("syn1"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("energy"), std::string::npos);
  }
  EXPECT_THROW((void)element_count_matrix(mols, {1, 6}), InputError);
}

TEST(Split, DeterministicPermutationsAndFolds) {
  const auto a = random_permutation(1000, 7), b = random_permutation(1000, 7), c = random_permutation(1000, 8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::vector<std::size_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) ASSERT_EQ(sorted[i], i);
  // mt19937_64's output is fixed by the C++ standard and the shuffle is ours,
  // so this permutation is the same on every platform.
  EXPECT_EQ(random_permutation(10, 7), (std::vector<std::size_t>{0, 7, 4, 9, 3, 1, 2, 8, 6, 5}));
  const Split s = random_split(1000, 700, 3);
  EXPECT_EQ(s.train.size(), 700u);
  EXPECT_EQ(s.test.size(), 300u);
  const auto folds = fold_assignment(10, 3, 1);
  std::vector<int> sizes(3, 0);
  for (auto f : folds) ++sizes[f];
  EXPECT_EQ(sizes, (std::vector<int>{4, 3, 3}));
  EXPECT_THROW((void)fold_assignment(3, 4, 1), ParameterError);
  EXPECT_THROW((void)random_split(10, 11, 1), InputError);
}

}  // namespace
}  // namespace encmol::ml
