// Local families (local-krr, quadratic) and Δ-learning: training, prediction,
// the primal quadratic model against its dual form, model-file round trips.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "encmol/core/binary.hpp"
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
  TrainOptions opt = testing::synthetic_options(family, rep);
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
      // Default grids of 5 coef0 / 9 sigma values (perhaps extended past an edge), each with
      // the 2 explicit lambdas (never extended).
      EXPECT_GE(r.cv.size(), family == ModelFamily::Quadratic ? 10u : 18u);
      for (const CvRow& row : r.cv) EXPECT_TRUE(row.lambda == 1e-6 || row.lambda == 1e-3);
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

TEST(TrainLocal, DefaultGridsStepPastTheEdgeTheBestScoreLandsOn) {
  const auto mols = testing::synthetic_molecules(90, 8);
  TrainOptions opt = local_options(ModelFamily::Quadratic, chem::RepresentationKind::Cmbdf);
  opt.lambdas = {};  // default lambdas may be extended too
  const TrainResult r = train(mols, opt);
  std::set<double> coef0s, lambdas;
  for (const CvRow& row : r.cv) coef0s.insert(row.sigma), lambdas.insert(row.lambda);
  // Every grid point was cross-validated with every lambda.
  EXPECT_EQ(r.cv.size(), coef0s.size() * lambdas.size());
  // The default grids, and steps past them by their own ratio (x2 for coef0, x10 for lambda).
  for (double c : {0.5, 1.0, 2.0, 4.0, 8.0}) EXPECT_EQ(coef0s.count(c), 1u) << c;
  for (double c : coef0s) {
    const double steps = std::log2(c / 0.5);
    EXPECT_NEAR(steps, std::round(steps), 1e-9) << c;
  }
  for (double l : lambdas) {
    const double steps = std::log10(l);
    EXPECT_NEAR(steps, std::round(steps), 1e-9) << l;
  }
  EXPECT_LE(coef0s.size() + lambdas.size(), 5u + default_lambdas().size() + 4u);
  // A chosen value on the edge of an extended grid has been stepped past as far as allowed.
  const double chosen = r.cv[r.best].sigma;
  if (coef0s.size() == 5) {
    EXPECT_NE(chosen, *coef0s.rbegin()) << "the best coef0 is on the top edge, not extended";
    EXPECT_NE(chosen, *coef0s.begin()) << "the best coef0 is on the bottom edge, not extended";
  }
  // An explicit grid is never extended.
  opt.coef0s = {1.0, 2.0};
  opt.lambdas = {1e-6, 1e-3};
  EXPECT_EQ(train(mols, opt).cv.size(), 4u);
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
    EXPECT_NEAR(baseline(static_cast<Eigen::Index>(i), 0), 0.9 * test[i].properties.at("energy"),
                1e-6);  // 627.509474 vs CODATA digits
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

namespace encmol::ml {
namespace {

TEST(AtomicPca, KeepsDistancesOfLowRankAtomsAndRefusesTheUnknown) {
  // Atoms of each element on an r-dimensional affine subspace of R^d: r
  // components keep every same-element distance exactly.
  const int d = 12, r = 4;
  auto atoms = testing::random_atomic_features(60, r, 7);
  std::mt19937_64 rng(8);
  std::normal_distribution<double> n01;
  Eigen::MatrixXd lift(r, d);
  for (Eigen::Index i = 0; i < lift.size(); ++i) lift.data()[i] = n01(rng);
  Eigen::RowVectorXd shift(d);
  for (Eigen::Index i = 0; i < d; ++i) shift(i) = n01(rng);
  chem::AtomicFeatures high = atoms;
  high.values = (atoms.values * lift).rowwise() + shift;
  const AtomicPca pca = AtomicPca::fit(high, r);
  ASSERT_EQ(pca.elements.size(), 3u);
  for (const auto& e : pca.elements) {
    EXPECT_NEAR(e.retained, 1.0, 1e-9);
    EXPECT_LT(
        (e.basis.transpose() * e.basis - Eigen::MatrixXd::Identity(r, r)).cwiseAbs().maxCoeff(),
        1e-10);
  }
  const chem::AtomicFeatures low = pca.project(high);
  ASSERT_EQ(low.dimension(), static_cast<std::size_t>(r));
  for (std::size_t a = 0; a < high.atom_count(); ++a)
    for (std::size_t b = 0; b < a; ++b)
      if (high.charges[a] == high.charges[b]) {
        const auto ia = static_cast<Eigen::Index>(a), ib = static_cast<Eigen::Index>(b);
        EXPECT_NEAR((low.values.row(ia) - low.values.row(ib)).norm(),
                    (high.values.row(ia) - high.values.row(ib)).norm(), 1e-9);
      }
  // Fewer components lose variance and say so.
  const AtomicPca two = AtomicPca::fit(high, 2);
  for (const auto& e : two.elements) EXPECT_LT(e.retained, 0.999);
  EXPECT_THROW(AtomicPca::fit(high, d), ParameterError);
  EXPECT_THROW(AtomicPca::fit(high, 0), ParameterError);
  chem::AtomicFeatures foreign = high;
  foreign.charges[0] = 9;
  EXPECT_THROW(pca.project(foreign), InputError);
}

TEST(AtomicPca, ModelsStoreItAndFormatTwoStillLoads) {
  const auto mols = testing::synthetic_molecules(90, 31);
  const Split split = random_split(mols.size(), 70, 4);
  const auto train_set = select(mols, split.train), test = select(mols, split.test);
  TrainOptions opt = local_options(ModelFamily::Quadratic, chem::RepresentationKind::Cmbdf);
  opt.atom_pca = 12;
  const TrainResult q = train(train_set, opt);
  ASSERT_TRUE(q.model.atom_projection.active());
  EXPECT_EQ(q.model.atom_input_dimension(), 12u);
  EXPECT_EQ(std::get<QuadraticAtomicModel>(q.model.body).elements.front().linear.rows(), 12);
  const Model back = decode_model(encode_model(q.model), "test");
  EXPECT_EQ((back.predict(test) - q.model.predict(test)).cwiseAbs().maxCoeff(), 0.0);
  // Format 2 = format 4 without the projection's u64 (0) and the atom frame
  // before the body, and a local-krr body that starts with f64 sigma instead
  // of the blocks (u64 count 1, u64 begin, u64 end, f64 sigma, f64 weight).
  opt = local_options(ModelFamily::LocalKrr, chem::RepresentationKind::Cmbdf);
  const Model plain = train(train_set, opt).model;
  core::Bytes payload = encode_model(plain);
  core::ByteWriter body;
  std::get<LocalKrr>(plain.body).write(body);
  const std::size_t provenance =
      (8 + plain.info.dataset.size()) + 8 + 4 + 8 + (8 + plain.info.encmol_version.size()) + 8;
  core::ByteWriter frame;
  plain.atom_frame.write(frame);
  ASSERT_FALSE(plain.atom_frame.empty());
  const std::size_t projection_at = payload.size() - provenance - body.size() - frame.size() - 8;
  for (std::size_t k = 0; k < 8; ++k) ASSERT_EQ(payload[projection_at + k], 0);
  const auto at = [&](std::size_t k) { return payload.begin() + static_cast<std::ptrdiff_t>(k); };
  const std::size_t body_at = projection_at + 8 + frame.size();
  payload.erase(at(body_at + 32), at(body_at + 40));   // weight
  payload.erase(at(projection_at), at(body_at + 24));  // projection, frame, count, begin, end
  const Model v2 = decode_model(payload, "v2", 2);
  EXPECT_FALSE(v2.atom_projection.active());
  EXPECT_EQ((v2.predict(test) - plain.predict(test)).cwiseAbs().maxCoeff(), 0.0);
  // --pca is for atomic families only.
  opt = local_options(ModelFamily::GlobalKrr, chem::RepresentationKind::Cmbdf);
  opt.atom_pca = 12;
  EXPECT_THROW(train(train_set, opt), InputError);
}

}  // namespace
}  // namespace encmol::ml

namespace encmol::ml {
namespace {

TEST(CompositeRepresentation, SumsOneGaussianPerBlock) {
  const auto mols = testing::synthetic_molecules(100, 41);
  const Split split = random_split(mols.size(), 80, 5);
  const auto train_set = select(mols, split.train), test = select(mols, split.test);
  // The composite atom vector is the FCHL19 vector followed by the cMBDF one.
  const auto both = chem::RepresentationSpec::fit(chem::RepresentationKind::Fchl19Cmbdf, mols);
  const auto f = chem::RepresentationSpec::fit(chem::RepresentationKind::Fchl19, mols);
  const auto c = chem::RepresentationSpec::fit(chem::RepresentationKind::Cmbdf, mols);
  ASSERT_EQ(both.atom_blocks(), (std::vector<std::size_t>{f.atom_dimension(), c.atom_dimension()}));
  const auto xb = both.featurize_atoms(test), xf = f.featurize_atoms(test),
             xc = c.featurize_atoms(test);
  EXPECT_EQ(xb.columns(0, f.atom_dimension()).values, xf.values);
  EXPECT_EQ(xb.columns(f.atom_dimension(), both.atom_dimension()).values, xc.values);
  TrainOptions opt = local_options(ModelFamily::LocalKrr, chem::RepresentationKind::Fchl19Cmbdf);
  opt.block_weights = {0.5, 2.0};
  const TrainResult r = train(train_set, opt);
  EXPECT_EQ(r.grid_parameter, "weight");
  EXPECT_EQ(r.cv.size(), 4u);
  const auto& body = std::get<LocalKrr>(r.model.body);
  ASSERT_EQ(body.blocks.size(), 2u);
  EXPECT_EQ(body.blocks[1].begin, f.atom_dimension());
  EXPECT_EQ(body.blocks[1].weight, r.sigma);
  // The prediction is the weighted sum of the two blocks' local Gaussians.
  const double s0[] = {body.blocks[0].sigma}, s1[] = {body.blocks[1].sigma};
  const auto train_f = f.featurize_atoms(train_set), train_c = c.featurize_atoms(train_set);
  const Eigen::MatrixXd k =
      local_gram(xf, train_f, s0)[0] + body.blocks[1].weight * local_gram(xc, train_c, s1)[0];
  const Eigen::MatrixXd expect = k * body.alpha + r.model.baseline_values(test);
  const Eigen::MatrixXd got = r.model.predict(test);
  EXPECT_LT((got - expect).cwiseAbs().maxCoeff(), 1e-9 * (1 + expect.cwiseAbs().maxCoeff()));
  const Errors e = prediction_errors(got, label_matrix(test, opt.targets));
  const Errors base =
      prediction_errors(r.model.baseline.evaluate(test), label_matrix(test, opt.targets));
  EXPECT_LT(e.mae[0], 0.5 * base.mae[0]);
  const Model back = decode_model(encode_model(r.model), "test");
  EXPECT_EQ(std::get<LocalKrr>(back.body).blocks, body.blocks);
  EXPECT_EQ((back.predict(test) - got).cwiseAbs().maxCoeff(), 0.0);
  opt.sigmas = {1.0};
  EXPECT_THROW(train(train_set, opt), InputError);
  opt.sigmas.clear();
  opt.atom_pca = 8;
  EXPECT_THROW(train(train_set, opt), InputError);  // local-krr: a projection would mix the blocks
}

// The quadratic model's kernel is one dot product of the whole joined vector,
// so it takes --pca on fchl19+cmbdf: one projection of the joined vector.
TEST(CompositeRepresentation, QuadraticProjectsTheJoinedVector) {
  const auto mols = testing::synthetic_molecules(100, 41);
  const Split split = random_split(mols.size(), 80, 5);
  const auto train_set = select(mols, split.train), test = select(mols, split.test);
  TrainOptions opt = local_options(ModelFamily::Quadratic, chem::RepresentationKind::Fchl19Cmbdf);
  opt.atom_pca = 8;
  const TrainResult r = train(train_set, opt);
  ASSERT_TRUE(r.model.atom_projection.active());
  EXPECT_EQ(r.model.atom_input_dimension(), 8u);
  const auto spec = chem::RepresentationSpec::fit(chem::RepresentationKind::Fchl19Cmbdf, mols);
  EXPECT_EQ(r.model.atom_projection.input_dimension, spec.atom_dimension());
  const Eigen::MatrixXd got = r.model.predict(test);
  const Errors e = prediction_errors(got, label_matrix(test, opt.targets));
  const Errors base =
      prediction_errors(r.model.baseline.evaluate(test), label_matrix(test, opt.targets));
  EXPECT_LT(e.mae[0], 0.5 * base.mae[0]);
  const Model back = decode_model(encode_model(r.model), "test");
  EXPECT_EQ((back.predict(test) - got).cwiseAbs().maxCoeff(), 0.0);
}

}  // namespace
}  // namespace encmol::ml
