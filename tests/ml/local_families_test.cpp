// Local families (local-krr, quadratic) and Δ-learning: training, prediction,
// the primal quadratic model against its dual form, model-file round trips.
#include <gtest/gtest.h>

#include <cmath>

#include "encmol/core/error.hpp"
#include "encmol/ml/delta.hpp"
#include "encmol/ml/local_kernel.hpp"
#include "encmol/ml/model_file.hpp"
#include "encmol/ml/quadratic_model.hpp"
#include "encmol/ml/split.hpp"
#include "encmol/ml/train.hpp"
#include "ml_test_util.hpp"

namespace encmol::ml {
namespace {

TEST(QuadraticModel, PrimalEqualsDualKernelPrediction) {
  const auto train = testing::random_atomic_features(40, 7, 11);
  const auto query = testing::random_atomic_features(15, 7, 12);
  const double coef0 = 1.7, scale = 2.5;
  Eigen::MatrixXd alpha(40, 2);
  std::mt19937_64 rng(5);
  std::normal_distribution<double> n01;
  for (Eigen::Index i = 0; i < alpha.size(); ++i) alpha.data()[i] = n01(rng);
  const std::vector<AtomKernel> kernel{AtomKernel::polynomial(2, coef0, scale)};
  const Eigen::MatrixXd dual = local_gram(query, train, kernel)[0] * alpha;
  const auto model = QuadraticAtomicModel::from_dual(train, alpha, coef0, scale, 1e-6);
  const Eigen::MatrixXd primal = model.predict(query);
  ASSERT_EQ(primal.rows(), 15);
  ASSERT_EQ(primal.cols(), 2);
  EXPECT_LT((primal - dual).cwiseAbs().maxCoeff(), 1e-9 * (1.0 + dual.cwiseAbs().maxCoeff()));
  // H is symmetric, so storing its upper triangle loses nothing.
  for (const auto& e : model.elements)
    for (const auto& h : e.quadratic) EXPECT_LT((h - h.transpose()).cwiseAbs().maxCoeff(), 1e-12);
}

TrainOptions local_options(ModelFamily family, chem::RepresentationKind rep) {
  TrainOptions opt;
  opt.family = family;
  opt.representation = rep;
  opt.targets = {"energy", "second"};
  opt.units = {"Ha", ""};
  opt.lambdas = {1e-6, 1e-3};
  opt.folds = 3;
  return opt;
}

TEST(TrainLocal, BothFamiliesBeatTheBaselineAndRoundTrip) {
  const auto mols = testing::synthetic_molecules(140, 21);
  const Split split = random_split(mols.size(), 110, 3);
  const auto train_set = select(mols, split.train), test = select(mols, split.test);
  for (auto family : {ModelFamily::LocalKrr, ModelFamily::Quadratic}) {
    for (auto rep : {chem::RepresentationKind::Fchl19, chem::RepresentationKind::Cmbdf}) {
      const TrainOptions opt = local_options(family, rep);
      const TrainResult r = train(train_set, opt);
      EXPECT_EQ(r.model.family(), family);
      EXPECT_EQ(r.cv.size(), family == ModelFamily::Quadratic ? 10u : 18u);
      EXPECT_EQ(r.grid_parameter, family == ModelFamily::Quadratic ? "coef0" : "sigma");
      const Eigen::MatrixXd p = r.model.predict(test);
      const Eigen::MatrixXd y = label_matrix(test, opt.targets);
      const Errors e = prediction_errors(p, y);
      const Errors base = prediction_errors(r.model.baseline.evaluate(test), y);
      EXPECT_LT(e.mae[0], 0.5 * base.mae[0]) << to_string(family) << " " << chem::to_string(rep);
      const Model back = decode_model(encode_model(r.model), "test");
      EXPECT_EQ(back.family(), family);
      EXPECT_EQ((back.predict(test) - p).cwiseAbs().maxCoeff(), 0.0);
    }
  }
}

TEST(TrainLocal, QuadraticNeedsAnAtomicRepresentation) {
  const auto mols = testing::synthetic_molecules(30, 4);
  TrainOptions opt = local_options(ModelFamily::Quadratic, chem::RepresentationKind::CoulombMatrix);
  EXPECT_THROW(train(mols, opt), InputError);
  opt = local_options(ModelFamily::Quadratic, chem::RepresentationKind::Fchl19);
  opt.coef0s = {-1.0};
  EXPECT_THROW(train(mols, opt), ParameterError);
}

TEST(Delta, LearnsTheCorrectionAndAddsTheBaselineBack) {
  // A baseline that carries most of the energy: the model of the difference
  // must predict the energy itself once the baseline is added back.
  auto mols = testing::synthetic_molecules(120, 9);
  for (auto& m : mols) m.properties["xtb_energy"] = m.properties["energy"] / 627.509474 * 0.9;
  TrainOptions opt = local_options(ModelFamily::LocalKrr, chem::RepresentationKind::Cmbdf);
  opt.targets = {"energy"};
  opt.units = {"kcal/mol"};
  opt.delta = {DeltaSource::XtbEnergy};
  const Split split = random_split(mols.size(), 100, 2);
  const auto train_set = select(mols, split.train), test = select(mols, split.test);
  const TrainResult r = train(train_set, opt);
  ASSERT_TRUE(r.model.baseline.delta.active());
  const Eigen::MatrixXd baseline = r.model.baseline.delta.evaluate(test);
  for (std::size_t i = 0; i < test.size(); ++i)
    EXPECT_NEAR(baseline(static_cast<Eigen::Index>(i), 0), 0.9 * test[i].properties.at("energy"), 1e-6);  // 627.509474 vs CODATA digits
  const Eigen::MatrixXd y = label_matrix(test, opt.targets);
  const Errors e = prediction_errors(r.model.predict(test), y);
  opt.delta.clear();
  const Errors direct = prediction_errors(train(train_set, opt).model.predict(test), y);
  EXPECT_LT(e.mae[0], direct.mae[0]);
  const Model back = decode_model(encode_model(r.model), "test");
  EXPECT_TRUE(back.baseline.delta.active());
  EXPECT_EQ((back.predict(test) - r.model.predict(test)).cwiseAbs().maxCoeff(), 0.0);
  // Energies need an energy unit to convert the xTB hartrees into.
  opt.delta = {DeltaSource::XtbEnergy};
  opt.units = {""};
  EXPECT_THROW(train(train_set, opt), InputError);
}

}  // namespace
}  // namespace encmol::ml
