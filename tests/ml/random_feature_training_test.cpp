#include "encmol/ml/random_feature_training.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include <Eigen/Cholesky>

#include "encmol/chem/representation.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/split.hpp"
#include "ml_test_util.hpp"

namespace encmol::ml {
namespace {

TEST(RandomFeatureRidge, EqualsADirectDenseSolve) {
  const auto x = testing::random_atomic_features(40, 5, 61);
  RandomFeatureOptions o;
  o.features = 60;
  o.sigma = 1.5;
  const Eigen::MatrixXd phi = RandomFeatureMap::make(o, x).features(x);
  const Eigen::MatrixXd y = testing::random_features(40, 3, 62);
  const Eigen::MatrixXd g = gram_lower(phi);
  for (double lambda : {1e-6, 1e-2, 10.0}) {
    Eigen::MatrixXd w;
    ASSERT_TRUE(solve_ridge(g, lambda, phi.transpose() * y, w));
    const Eigen::MatrixXd a = phi.transpose() * phi + lambda * Eigen::MatrixXd::Identity(60, 60);
    const Eigen::MatrixXd ref = a.ldlt().solve(phi.transpose() * y);
    EXPECT_LT((w - ref).norm(), 1e-8 * ref.norm()) << lambda;
    // The normal equations hold.
    EXPECT_LT((a * w - phi.transpose() * y).norm(), 1e-9 * (phi.transpose() * y).norm()) << lambda;
  }
  // A Gram matrix that is not positive definite is reported, not solved.
  Eigen::MatrixXd w;
  EXPECT_FALSE(solve_ridge(-Eigen::MatrixXd::Identity(4, 4), 0.5, Eigen::MatrixXd::Ones(4, 1), w));
}

// The downdated fold Grams give what refitting every fold from scratch gives.
TEST(RandomFeatureCv, FoldDowndatingEqualsRefittingFromScratch) {
  const auto x = testing::random_atomic_features(60, 5, 71);
  RandomFeatureOptions o;
  o.features = 48;
  o.sigma = 1.1;
  const Eigen::MatrixXd phi = RandomFeatureMap::make(o, x).features(x);
  const std::vector<int> elements{1, 6, 8};
  Eigen::MatrixXd counts = Eigen::MatrixXd::Zero(60, 3);
  for (std::size_t i = 0; i < 60; ++i)
    for (std::size_t a = x.offsets[i]; a < x.offsets[i + 1]; ++a)
      counts(static_cast<Eigen::Index>(i), x.charges[a] == 1 ? 0 : x.charges[a] == 6 ? 1 : 2) += 1;
  Eigen::MatrixXd labels = counts * Eigen::Vector3d(-0.5, -38.0, -75.0);
  labels.conservativeResize(60, 2);
  labels.col(1) = testing::random_features(60, 1, 72).col(0);
  labels.col(0) += 0.1 * phi.col(3) + 0.3 * phi.col(17);
  const std::vector<double> lambdas{1e-5, 1e-2};
  const std::vector<double> scale{2.0, 0.5};
  for (bool per_element : {true, false}) {
    const auto rows = cross_validate_random_features(phi, gram_lower(phi), lambdas, labels, counts,
                                                     elements, per_element, 4, 9, scale);
    ASSERT_EQ(rows.size(), 2u);
    const auto fold = fold_assignment(60, 4, 9);
    for (std::size_t l = 0; l < 2; ++l) {
      Eigen::MatrixXd pred(60, 2);
      double sum_abs = 0;
      for (std::size_t f = 0; f < 4; ++f) {
        std::vector<Eigen::Index> tr, va;
        for (Eigen::Index i = 0; i < 60; ++i)
          (fold[static_cast<std::size_t>(i)] == f ? va : tr).push_back(i);
        const Eigen::MatrixXd c_tr =
            per_element ? Eigen::MatrixXd(counts(tr, Eigen::all)) : Eigen::MatrixXd(tr.size(), 0);
        const Eigen::MatrixXd c_va =
            per_element ? Eigen::MatrixXd(counts(va, Eigen::all)) : Eigen::MatrixXd(va.size(), 0);
        const Baseline base = Baseline::fit(c_tr, elements, labels(tr, Eigen::all), per_element);
        const Eigen::MatrixXd r = labels(tr, Eigen::all) - base.evaluate(c_tr);
        const Eigen::MatrixXd p = phi(tr, Eigen::all);
        const Eigen::MatrixXd w =
            (p.transpose() * p + lambdas[l] * Eigen::MatrixXd::Identity(48, 48))
                .ldlt()
                .solve(p.transpose() * r);
        pred(va, Eigen::all) = phi(va, Eigen::all) * w + base.evaluate(c_va);
        sum_abs = std::max(sum_abs, w.col(0).cwiseAbs().sum());
      }
      ASSERT_TRUE(rows[l].ok);
      const Errors e = prediction_errors(pred, labels);
      for (std::size_t t = 0; t < 2; ++t) {
        EXPECT_NEAR(rows[l].mae[t], e.mae[t], 1e-8 * e.mae[t])
            << per_element << " " << l << " " << t;
        EXPECT_NEAR(rows[l].rmse[t], e.rmse[t], 1e-8 * e.rmse[t]);
      }
      EXPECT_NEAR(rows[l].score, 0.5 * (e.mae[0] / 2.0 + e.mae[1] / 0.5), 1e-8 * rows[l].score);
      EXPECT_NEAR(rows[l].sum_abs_alpha[0], sum_abs, 1e-6 * sum_abs);
    }
  }
}

class RandomFeatureFitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto mols = testing::synthetic_molecules(160, 81);
    const auto split = random_split(mols.size(), 120, 3);
    train_ = select(mols, split.train);
    test_ = select(mols, split.test);
    spec_ = chem::RepresentationSpec::fit(chem::RepresentationKind::Cmbdf, mols);
    labels_ = label_matrix(train_, {"energy", "second"});
    counts_ = element_count_matrix(train_, spec_.elements());
    for (Eigen::Index t = 0; t < 2; ++t) {
      const Eigen::MatrixXd r =
          labels_ - Baseline::fit(counts_, spec_.elements(), labels_, true).evaluate(counts_);
      scale_.push_back(std::sqrt((r.col(t).array() - r.col(t).mean()).square().mean()));
    }
  }
  std::vector<chem::Molecule> train_, test_;
  chem::RepresentationSpec spec_;
  Eigen::MatrixXd labels_, counts_;
  std::vector<double> scale_;
};

TEST_F(RandomFeatureFitTest, SearchPicksTheBestRowAndRefitsWithIt) {
  const auto atoms = spec_.featurize_atoms(train_);
  RandomFeatureOptions o;
  o.features = 400;
  RandomFeatureSearch s;
  s.lambdas = {1e-6, 1e-3, 1e0};
  s.folds = 3;
  const RandomFeatureFit fit =
      fit_random_features(atoms, labels_, counts_, spec_.elements(), true, scale_, o, s);
  ASSERT_EQ(fit.cv.size(), default_random_feature_sigmas(1.0).size() * 3);
  EXPECT_EQ(fit.cv[fit.best].sigma, fit.sigma);
  EXPECT_EQ(fit.cv[fit.best].lambda, fit.lambda);
  for (const auto& row : fit.cv)
    if (row.ok) {
      EXPECT_GE(row.score, fit.cv[fit.best].score);
    }
  EXPECT_EQ(fit.folds, 3u);
  fit.model.validate(spec_.atom_dimension(), 2, spec_.elements());
  EXPECT_EQ(fit.model.map.feature_count(), 400u);
  EXPECT_EQ(fit.model.map.sigma, fit.sigma);

  // The final weights are the ridge solution with the chosen pair on all molecules.
  const Eigen::MatrixXd phi = fit.model.features(atoms);
  const Eigen::MatrixXd r = labels_ - fit.baseline.evaluate(counts_);
  const Eigen::MatrixXd ref =
      (phi.transpose() * phi + fit.lambda * Eigen::MatrixXd::Identity(400, 400))
          .ldlt()
          .solve(phi.transpose() * r);
  EXPECT_LT((fit.model.weights - ref).norm(), 1e-6 * ref.norm());

  // It learned something: held-out errors well below the baseline's alone.
  const auto test_atoms = spec_.featurize_atoms(test_);
  const Eigen::MatrixXd test_labels = label_matrix(test_, {"energy", "second"});
  const Eigen::MatrixXd base = fit.baseline.evaluate(element_count_matrix(test_, spec_.elements()));
  const Errors model_err = prediction_errors(fit.model.predict(test_atoms) + base, test_labels);
  const Errors base_err = prediction_errors(base, test_labels);
  for (std::size_t t = 0; t < 2; ++t) EXPECT_LT(model_err.mae[t], 0.7 * base_err.mae[t]) << t;
}

TEST_F(RandomFeatureFitTest, SinglePointSkipsCvAndBadInputsAreRejected) {
  const auto atoms = spec_.featurize_atoms(train_);
  RandomFeatureOptions o;
  o.features = 100;
  o.kind = RandomFeatureKind::Fourier;
  o.pca = 8;
  RandomFeatureSearch s;
  s.sigmas = {3.0};
  s.lambdas = {1e-4};
  const RandomFeatureFit fit =
      fit_random_features(atoms, labels_, counts_, spec_.elements(), false, scale_, o, s);
  EXPECT_TRUE(fit.cv.empty());
  EXPECT_EQ(fit.folds, 0u);
  EXPECT_EQ(fit.sigma, 3.0);
  EXPECT_FALSE(fit.baseline.per_element);
  EXPECT_EQ(fit.model.map.pca, 8u);
  s.lambdas = {-1.0};
  EXPECT_THROW(fit_random_features(atoms, labels_, counts_, spec_.elements(), false, scale_, o, s),
               ParameterError);
  s.lambdas = {1e-4, 1e-3};
  s.folds = 1;
  EXPECT_THROW(fit_random_features(atoms, labels_, counts_, spec_.elements(), false, scale_, o, s),
               ParameterError);
  s.folds = 2;
  EXPECT_THROW(fit_random_features(atoms, labels_.topRows(10), counts_, spec_.elements(), false,
                                   scale_, o, s),
               ParameterError);
  EXPECT_THROW(fit_random_features(atoms, labels_, counts_, spec_.elements(), false, {1.0}, o, s),
               ParameterError);
}

}  // namespace
}  // namespace encmol::ml
