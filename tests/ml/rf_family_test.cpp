// The random-feature family (rf) through ml::train: accuracy against the
// dressed-atom baseline, model-file round trips, determinism for a seed, the
// (PCA, feature count) grid, Δ-learning, and clear errors for bad options or files.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "encmol/core/error.hpp"
#include "encmol/ml/model_file.hpp"
#include "encmol/ml/random_features.hpp"
#include "encmol/ml/split.hpp"
#include "encmol/ml/train.hpp"
#include "ml_test_util.hpp"

namespace encmol::ml {
namespace {

TrainOptions rf_options(chem::RepresentationKind rep) {
  TrainOptions opt = testing::synthetic_options(ModelFamily::RandomFeatures, rep);
  opt.feature_counts = {256};
  opt.lambdas = {1e-6, 1e-3};
  opt.folds = 3;
  return opt;
}

struct Sets {
  std::vector<chem::Molecule> train, test;
};

Sets synthetic_split(int count, std::uint64_t seed, std::size_t train_size) {
  const auto mols = testing::synthetic_molecules(count, seed);
  const Split split = random_split(mols.size(), train_size, 3);
  return {select(mols, split.train), select(mols, split.test)};
}

TEST(TrainRf, BeatsTheBaselineAndRoundTripsBitForBit) {
  const Sets s = synthetic_split(160, 21, 130);
  for (auto rep : {chem::RepresentationKind::Fchl19, chem::RepresentationKind::Cmbdf}) {
    const TrainOptions opt = rf_options(rep);
    const TrainResult r = train(s.train, opt);
    ASSERT_EQ(r.model.family(), ModelFamily::RandomFeatures);
    EXPECT_EQ(r.grid_parameter, "sigma");
    EXPECT_EQ(r.cv.size(), 12u);  // 6 default sigmas x 2 lambdas
    for (const auto& row : r.cv) EXPECT_EQ(row.features, 256u);
    EXPECT_EQ(r.model.info.folds, 3u);
    EXPECT_EQ(r.model.training_size(), s.train.size());
    const auto& body = std::get<RandomFeatureModel>(r.model.body);
    EXPECT_EQ(body.map.feature_count(), 256u);
    EXPECT_EQ(body.map.sigma, r.sigma);
    EXPECT_EQ(body.lambda, r.lambda);
    const Eigen::MatrixXd p = r.model.predict(s.test);
    const Eigen::MatrixXd y = label_matrix(s.test, opt.targets);
    const Errors e = prediction_errors(p, y);
    const Errors base = prediction_errors(r.model.baseline.evaluate(s.test), y);
    EXPECT_LT(e.mae[0], 0.5 * base.mae[0]) << chem::to_string(rep);
    EXPECT_LT(e.mae[1], base.mae[1]) << chem::to_string(rep);

    const Model back = decode_model(encode_model(r.model), "test");
    EXPECT_EQ(back.family(), ModelFamily::RandomFeatures);
    EXPECT_EQ((back.predict(s.test) - p).cwiseAbs().maxCoeff(), 0.0);
    const auto path = std::filesystem::temp_directory_path() / "encmol_rf_family_test.encmol";
    r.model.save(path);
    const Model loaded = Model::load(path);
    std::filesystem::remove(path);
    EXPECT_EQ((loaded.predict(s.test) - p).cwiseAbs().maxCoeff(), 0.0);
    EXPECT_NE(loaded.describe().find("random features: orthogonal, 256"), std::string::npos);
    EXPECT_EQ(loaded.describe_json()["family"], "rf");
  }
}

TEST(TrainRf, TheSeedFixesTheModel) {
  const Sets s = synthetic_split(90, 5, 70);
  TrainOptions opt = rf_options(chem::RepresentationKind::Cmbdf);
  opt.targets = {"energy"};
  opt.units = {"Ha"};
  opt.feature_kind = RandomFeatureKind::Fourier;
  const Model a = train(s.train, opt).model;
  const Model b = train(s.train, opt).model;
  EXPECT_EQ(encode_model(a), encode_model(b));
  opt.feature_seed = 43;
  const Model c = train(s.train, opt).model;
  const auto& wa = std::get<RandomFeatureModel>(a.body).weights;
  const auto& wc = std::get<RandomFeatureModel>(c.body).weights;
  ASSERT_EQ(wa.rows(), wc.rows());
  EXPECT_GT((wa - wc).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ(std::get<RandomFeatureModel>(c.body).map.seed, 43u);
  EXPECT_EQ(std::get<RandomFeatureModel>(c.body).map.kind, RandomFeatureKind::Fourier);
}

TEST(TrainRf, CrossValidatesFeatureCountsAndProjections) {
  const Sets s = synthetic_split(100, 8, 80);
  TrainOptions opt = rf_options(chem::RepresentationKind::Cmbdf);
  opt.feature_counts = {64, 256};
  opt.pca_dimensions = {0, 6};
  opt.sigmas = {2.0};
  opt.lambdas = {1e-4};
  const TrainResult r = train(s.train, opt);
  // One row per map even though (sigma, lambda) is a single point.
  ASSERT_EQ(r.cv.size(), 4u);
  EXPECT_EQ(r.cv[0].pca, 0u);
  EXPECT_EQ(r.cv[0].features, 64u);
  EXPECT_EQ(r.cv[3].pca, 6u);
  EXPECT_EQ(r.cv[3].features, 256u);
  EXPECT_EQ(r.best, best_cv_row(r.cv));
  const auto& body = std::get<RandomFeatureModel>(r.model.body);
  EXPECT_EQ(body.map.feature_count(), r.cv[r.best].features);
  EXPECT_EQ(body.map.pca, r.cv[r.best].pca);
  EXPECT_DOUBLE_EQ(r.model.info.cv_score, r.cv[r.best].score);
  // The fit of the chosen map is what a single-map training gives.
  opt.feature_counts = {r.cv[r.best].features};
  opt.pca_dimensions = {r.cv[r.best].pca};
  const TrainResult single = train(s.train, opt);
  EXPECT_TRUE(single.cv.empty());
  EXPECT_EQ((single.model.predict(s.test) - r.model.predict(s.test)).cwiseAbs().maxCoeff(), 0.0);
}

TEST(TrainRf, DeltaLearningAddsTheBaselineBack) {
  auto mols = testing::synthetic_molecules(110, 9);
  for (auto& m : mols) m.properties["xtb_energy"] = m.properties["energy"] / 627.509474 * 0.9;
  TrainOptions opt = rf_options(chem::RepresentationKind::Cmbdf);
  opt.targets = {"energy"};
  opt.units = {"kcal/mol"};
  opt.delta = {DeltaSource::XtbEnergy};
  const Split split = random_split(mols.size(), 90, 2);
  const auto train_set = select(mols, split.train), test = select(mols, split.test);
  const TrainResult r = train(train_set, opt);
  ASSERT_TRUE(r.model.baseline.delta.active());
  const Eigen::MatrixXd y = label_matrix(test, opt.targets);
  const Errors e = prediction_errors(r.model.predict(test), y);
  opt.delta.clear();
  const Errors direct = prediction_errors(train(train_set, opt).model.predict(test), y);
  EXPECT_LT(e.mae[0], direct.mae[0]);
  const Model back = decode_model(encode_model(r.model), "test");
  EXPECT_EQ((back.predict(test) - r.model.predict(test)).cwiseAbs().maxCoeff(), 0.0);
}

TEST(TrainRf, BadOptionsAreClearErrors) {
  const auto mols = testing::synthetic_molecules(30, 4);
  TrainOptions opt = rf_options(chem::RepresentationKind::CoulombMatrix);
  EXPECT_THROW(train(mols, opt), InputError);
  opt = rf_options(chem::RepresentationKind::Cmbdf);
  opt.feature_counts = {0};
  EXPECT_THROW(train(mols, opt), ParameterError);
  opt.feature_counts = {kMaxRandomFeatures + 1};
  EXPECT_THROW(train(mols, opt), ParameterError);
  opt.feature_counts = {64};
  opt.pca_dimensions = {100000};
  EXPECT_THROW(train(mols, opt), ParameterError);
  opt.pca_dimensions = {};
  opt.sigmas = {-1.0};
  EXPECT_THROW(train(mols, opt), ParameterError);
  opt.sigmas = {};
  opt.folds = 1;
  EXPECT_THROW(train(mols, opt), ParameterError);
  EXPECT_THROW(parse_random_feature_kind("gaussian"), InputError);
  EXPECT_EQ(parse_model_family("RF"), ModelFamily::RandomFeatures);
  EXPECT_EQ(parse_model_family("random-features"), ModelFamily::RandomFeatures);
}

// Without --features, D plus the per-element baseline's counts fill a
// 2,048-slot block of the encrypted query (two molecules per N = 2^13
// ciphertext; 2,048 features and the counts took a whole ciphertext).
TEST(TrainRf, DefaultFeatureCountFillsA2048SlotQueryBlock) {
  for (std::size_t e : {0u, 1u, 3u, 5u, 9u})
    EXPECT_EQ(default_random_feature_counts(e), std::vector<std::size_t>{2048 - e});
  const auto mols = testing::synthetic_molecules(24, 4);
  TrainOptions opt = rf_options(chem::RepresentationKind::Cmbdf);
  opt.feature_counts = {};
  opt.sigmas = {4.0};
  opt.lambdas = {1e-3};
  opt.folds = 2;
  const Model m = train(mols, opt).model;
  ASSERT_TRUE(m.baseline.per_element);
  ASSERT_GE(m.baseline.elements.size(), 2u);
  EXPECT_EQ(std::get<RandomFeatureModel>(m.body).map.feature_count() + m.baseline.elements.size(),
            2048u);
}

TEST(TrainRf, HostileModelFilesAreRefused) {
  const Sets s = synthetic_split(40, 12, 40 - 1);
  TrainOptions opt = rf_options(chem::RepresentationKind::Cmbdf);
  opt.feature_counts = {32};
  opt.targets = {"energy"};
  opt.units = {"Ha"};
  const core::Bytes good = encode_model(train(s.train, opt).model);
  // Every truncation is refused with a FormatError (never a crash or a huge allocation).
  for (std::size_t cut = 0; cut < good.size(); cut += std::max<std::size_t>(1, good.size() / 97)) {
    const core::Bytes shorter(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_THROW(decode_model(shorter, "cut"), FormatError) << cut;
  }
  // A flipped bit of the stored digest of the frequencies is detected.
  const Model m = decode_model(good, "ok");
  const core::Digest digest = std::get<RandomFeatureModel>(m.body).map.digest();
  core::Bytes flipped = good;
  auto at = std::search(flipped.begin(), flipped.end(), digest.begin(), digest.end());
  ASSERT_NE(at, flipped.end());
  *at ^= 1;
  EXPECT_THROW(decode_model(flipped, "flipped"), FormatError);
  // So is a seed that does not regenerate the stored frequencies (the map is
  // written with the digest of the frequencies it holds, made from seed 42).
  Model reseeded = m;
  std::get<RandomFeatureModel>(reseeded.body).map.seed += 1;
  EXPECT_THROW(decode_model(encode_model(reseeded), "reseeded"), FormatError);
  // A huge feature count in a short file is refused before anything is generated.
  core::Bytes huge = good;
  const auto& map = std::get<RandomFeatureModel>(m.body).map;
  core::ByteWriter pattern;
  pattern.u32(static_cast<std::uint32_t>(map.elements[0]));
  pattern.u64(map.counts[0]);
  const core::Bytes needle = pattern.take();
  auto pos = std::search(huge.begin(), huge.end(), needle.begin(), needle.end());
  ASSERT_NE(pos, huge.end());
  core::ByteWriter replacement;
  replacement.u32(static_cast<std::uint32_t>(map.elements[0]));
  replacement.u64(kMaxRandomFeatures / 2);
  const core::Bytes rep = replacement.take();
  std::copy(rep.begin(), rep.end(), pos);
  EXPECT_THROW(decode_model(huge, "huge"), FormatError);
  // An unknown family byte.
  core::Bytes family = good;
  family[0] = 4;
  EXPECT_THROW(decode_model(family, "family"), FormatError);
}

}  // namespace
}  // namespace encmol::ml
