#include "encmol/ml/krr.hpp"
#include "encmol/ml/train.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "encmol/core/error.hpp"
#include "encmol/ml/split.hpp"
#include "ml_test_util.hpp"

namespace encmol::ml {
namespace {

// y = sin(3 x) on [0, 6]: a length scale of ~0.3. Gaussian kernel, sigma grid
// spanning far too narrow / right / far too wide.
TEST(CrossValidation, PicksTheRightSigma) {
  const int n = 120;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0.0, 6.0);
  FeatureMatrix x(n, 1);
  Eigen::MatrixXd y(n, 1);
  for (int i = 0; i < n; ++i) {
    x(i, 0) = u(rng);
    y(i, 0) = std::sin(3.0 * x(i, 0));
  }
  const Kernel k{KernelKind::Gaussian, 1, 1, 1, 2};
  const Eigen::MatrixXd measure = pairwise_symmetric(PairwiseMeasure::SquaredEuclidean, x);
  const std::vector<double> sigmas = {0.003, 0.3, 30.0};
  const auto rows = cross_validate(measure, k, sigmas, {1e-6}, y, Eigen::MatrixXd(n, 0), {}, false, 5, 9, {1.0});
  ASSERT_EQ(rows.size(), 3u);
  const std::size_t best = best_cv_row(rows);
  EXPECT_EQ(rows[best].sigma, 0.3);
  EXPECT_LT(rows[best].mae[0], 0.05);
  if (rows[0].ok) {
    EXPECT_GT(rows[0].mae[0], 0.3);  // too narrow: predicts ~ the mean
  }
}

// The fold slicing of the full measure matrix must give exactly what training
// each fold from scratch gives.
TEST(CrossValidation, MatchesFromScratchFolds) {
  const auto mols = testing::synthetic_molecules(60, 4);
  const auto spec = chem::RepresentationSpec::fit(chem::RepresentationKind::CoulombMatrix, mols);
  const FeatureMatrix x = spec.featurize(mols);
  const Eigen::MatrixXd y = label_matrix(mols, {"energy", "second"});
  const Eigen::MatrixXd counts = element_count_matrix(mols, spec.elements());
  const Kernel k{KernelKind::Laplacian, 50.0, 1, 1, 2};
  const Eigen::MatrixXd measure = pairwise_symmetric(PairwiseMeasure::Manhattan, x);
  const std::size_t folds = 4;
  const auto rows = cross_validate(measure, k, {50.0}, {1e-8}, y, counts, spec.elements(), true, folds, 21, {1.0, 1.0});
  ASSERT_TRUE(rows[0].ok);
  const auto fold = fold_assignment(mols.size(), folds, 21);
  Eigen::MatrixXd pred(y.rows(), y.cols());
  for (std::size_t f = 0; f < folds; ++f) {
    std::vector<std::size_t> tr, va;
    for (std::size_t i = 0; i < mols.size(); ++i) (fold[i] == f ? va : tr).push_back(i);
    FeatureMatrix xt(tr.size(), x.cols()), xv(va.size(), x.cols());
    Eigen::MatrixXd yt(tr.size(), 2), ct(tr.size(), counts.cols()), cv(va.size(), counts.cols());
    for (std::size_t a = 0; a < tr.size(); ++a) {
      xt.row(a) = x.row(tr[a]);
      yt.row(a) = y.row(tr[a]);
      ct.row(a) = counts.row(tr[a]);
    }
    for (std::size_t a = 0; a < va.size(); ++a) {
      xv.row(a) = x.row(va[a]);
      cv.row(a) = counts.row(va[a]);
    }
    const Baseline b = Baseline::fit(ct, spec.elements(), yt, true);
    const Eigen::MatrixXd alpha = solve_krr(gram_symmetric(k, xt), 1e-8, yt - b.evaluate(ct));
    const Eigen::MatrixXd p = gram(k, xv, xt) * alpha + b.evaluate(cv);
    for (std::size_t a = 0; a < va.size(); ++a) pred.row(va[a]) = p.row(a);
  }
  const Errors e = prediction_errors(pred, y);
  EXPECT_NEAR(rows[0].mae[0], e.mae[0], 1e-8 * e.mae[0]);
  EXPECT_NEAR(rows[0].mae[1], e.mae[1], 1e-8 * e.mae[1]);
  EXPECT_NEAR(rows[0].rmse[1], e.rmse[1], 1e-8 * e.rmse[1]);
}

TEST(TrainKrr, MultiTargetWithCvAndPredict) {
  const auto mols = testing::synthetic_molecules(150, 8);
  const Split split = random_split(mols.size(), 120, 1);
  const auto train = select(mols, split.train), test = select(mols, split.test);
  for (auto kernel : {KernelKind::Gaussian, KernelKind::Laplacian, KernelKind::Linear, KernelKind::Polynomial}) {
    for (auto rep : {chem::RepresentationKind::CoulombMatrix, chem::RepresentationKind::BagOfBonds}) {
      TrainOptions opt;
      opt.representation = rep;
      opt.representation_options = chem::capacity_for(mols);
      opt.kernel = kernel;
      opt.targets = {"energy", "second"};
      opt.units = {"Ha", ""};
      opt.lambdas = {1e-8, 1e-4};
      opt.folds = 3;
      int calls = 0;
      opt.progress = [&](std::string_view, double f) {
        EXPECT_GE(f, 0.0);
        EXPECT_LE(f, 1.0);
        ++calls;
      };
      const TrainResult r = train_krr(train, opt);
      EXPECT_GT(calls, 0);
      const std::size_t grid = (kernel == KernelKind::Gaussian || kernel == KernelKind::Laplacian) ? 16 : 2;
      EXPECT_EQ(r.cv.size(), grid);
      EXPECT_EQ(r.model.training_size(), 120u);
      EXPECT_EQ(r.model.global_krr().alpha.cols(), 2);
      EXPECT_EQ(r.model.info.folds, 3u);
      const Eigen::MatrixXd p = r.model.predict(test);
      const Eigen::MatrixXd y = label_matrix(test, opt.targets);
      const Errors e = prediction_errors(p, y);
      // Dressed atoms explain most of the energy; the kernel must do better than it.
      const Errors base = prediction_errors(r.model.baseline.evaluate(test), y);
      EXPECT_LT(e.mae[0], base.mae[0]) << to_string(kernel) << " " << chem::to_string(rep);
      EXPECT_EQ(r.model.global_krr().sum_abs_alpha().size(), 2);
      ASSERT_EQ(r.cv[r.best].sum_abs_alpha.size(), 2u);
      EXPECT_GT(r.cv[r.best].sum_abs_alpha[0], 0.0);
    }
  }
}

TEST(TrainKrr, FixedHyperParametersSkipCv) {
  const auto mols = testing::synthetic_molecules(40, 2);
  TrainOptions opt;
  opt.kernel = KernelKind::Laplacian;
  opt.sigmas = {100.0};
  opt.lambdas = {1e-10};
  opt.targets = {"energy"};
  const TrainResult r = train_krr(mols, opt);
  EXPECT_TRUE(r.cv.empty());
  EXPECT_EQ(r.sigma, 100.0);
  EXPECT_EQ(r.model.info.folds, 0u);
  EXPECT_TRUE(r.warnings.empty());
  // Interpolates the training labels at tiny lambda.
  const Eigen::MatrixXd p = r.model.predict(mols);
  EXPECT_LT((p - label_matrix(mols, {"energy"})).cwiseAbs().maxCoeff(), 1e-5);
  // A query the representation cannot hold is a clear InputError naming it.
  chem::Molecule big = mols[0];
  big.name = "too-big";
  for (int a = 0; a < 30; ++a) {
    big.charges.push_back(1);
    big.positions.push_back({10.0 + 1.5 * a, 0, 0});
  }
  try {
    (void)r.model.predict({big});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("too-big"), std::string::npos) << e.what();
  }
  chem::Molecule sulfur = mols[0];
  sulfur.charges[0] = 16;
  EXPECT_THROW((void)r.model.predict({sulfur}), InputError);
}

TEST(TrainKrr, BadInputsAreClearErrors) {
  const auto mols = testing::synthetic_molecules(10, 2);
  TrainOptions opt;
  EXPECT_THROW((void)train_krr(mols, opt), InputError);  // no target
  opt.targets = {"nope"};
  EXPECT_THROW((void)train_krr(mols, opt), InputError);
  opt.targets = {"energy"};
  opt.sigmas = {-1.0};
  EXPECT_THROW((void)train_krr(mols, opt), ParameterError);
  opt.sigmas = {1.0, 2.0};
  opt.folds = 1;
  EXPECT_THROW((void)train_krr(mols, opt), ParameterError);
  // A grid where nothing is positive definite: huge sigma, lambda 0.
  opt.folds = 2;
  opt.sigmas = {1e12, 1e13};
  opt.lambdas = {0.0};
  opt.kernel = KernelKind::Gaussian;
  EXPECT_THROW((void)train_krr(mols, opt), ParameterError);
}

TEST(LearningCurve, NestedSizesAndDecreasingError) {
  const auto mols = testing::synthetic_molecules(260, 6);
  const Split split = random_split(mols.size(), 200, 2);
  TrainOptions opt;
  opt.kernel = KernelKind::Laplacian;
  opt.targets = {"energy", "second"};
  opt.lambdas = {1e-8};
  opt.folds = 3;
  const auto sizes = default_learning_curve_sizes(200, 32);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{32, 64, 128, 200}));
  const auto points = learning_curve(select(mols, split.train), select(mols, split.test), opt, sizes);
  ASSERT_EQ(points.size(), 8u);
  EXPECT_EQ(points[0].n, 32u);
  EXPECT_EQ(points[0].target, "energy");
  EXPECT_EQ(points[1].target, "second");
  EXPECT_LT(points[6].mae, points[0].mae);
  for (const auto& p : points) {
    EXPECT_GT(p.rmse, 0.0);
    EXPECT_GE(p.rmse, p.mae);
    EXPECT_GT(p.sigma, 0.0);
  }
  EXPECT_THROW((void)learning_curve(select(mols, split.train), {}, opt, sizes), InputError);
}

}  // namespace
}  // namespace encmol::ml
