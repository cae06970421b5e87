// The nn model family through ml::train: it beats the dressed-atom baseline,
// round-trips through the model file bit for bit, refuses bad options and
// hostile files with clear errors; and early stopping stops and keeps the
// best weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <string>

#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/ml/model_file.hpp"
#include "encmol/ml/network_training.hpp"
#include "encmol/ml/split.hpp"
#include "encmol/ml/train.hpp"
#include "ml_test_util.hpp"
#include "network_test_util.hpp"

namespace encmol::ml {
namespace {

TrainOptions nn_options(chem::RepresentationKind rep) {
  TrainOptions opt = testing::synthetic_options(ModelFamily::Network, rep);
  opt.network.depth = 1;
  opt.network.width = 16;
  opt.network.epochs = 150;
  opt.network.patience = 50;
  opt.network.learning_rate = 3e-3;
  opt.network.batch_molecules = 16;
  opt.seed = 5;
  return opt;
}

TEST(NetworkFamily, BeatsTheBaselineAndRoundTripsBitForBit) {
  const auto mols = testing::synthetic_molecules(160, 21);
  const Split split = random_split(mols.size(), 130, 3);
  const auto train_set = select(mols, split.train), test = select(mols, split.test);
  for (auto rep : {chem::RepresentationKind::Cmbdf, chem::RepresentationKind::Fchl19}) {
    const TrainOptions opt = nn_options(rep);
    const TrainResult r = train(train_set, opt);
    ASSERT_EQ(r.model.family(), ModelFamily::Network);
    EXPECT_EQ(to_string(r.model.family()), "nn");
    const auto& net = std::get<AtomicNetwork>(r.model.body);
    EXPECT_EQ(net.depth, 1u);
    EXPECT_EQ(net.multiplicative_depth(), 3u);
    EXPECT_EQ(r.model.training_size(), train_set.size());
    EXPECT_GT(r.model.info.cv_score, 0.0);
    ASSERT_EQ(r.notes.size(), 1u);
    EXPECT_NE(r.notes[0].find("validation MAE"), std::string::npos) << r.notes[0];

    const Eigen::MatrixXd p = r.model.predict(test);
    const Eigen::MatrixXd y = label_matrix(test, opt.targets);
    const Errors e = prediction_errors(p, y);
    const Errors base = prediction_errors(r.model.baseline.evaluate(test), y);
    EXPECT_LT(e.mae[0], 0.5 * base.mae[0]) << chem::to_string(rep);
    EXPECT_LT(e.mae[1], base.mae[1]) << chem::to_string(rep);

    const Model back = decode_model(encode_model(r.model), "test");
    EXPECT_EQ(back.family(), ModelFamily::Network);
    EXPECT_EQ((back.predict(test) - p).cwiseAbs().maxCoeff(), 0.0);
    EXPECT_NE(back.describe().find("encrypted depth: 3"), std::string::npos) << back.describe();
    EXPECT_EQ(back.describe_json()["multiplicative_depth"], 3);
  }
}

TEST(NetworkFamily, SameSeedSameModelAndTheGridPicksByValidation) {
  const auto mols = testing::synthetic_molecules(80, 8);
  TrainOptions opt = nn_options(chem::RepresentationKind::Cmbdf);
  opt.network.epochs = 30;
  opt.network_depths = {0, 1};
  opt.network_powers = {2, 3};
  core::set_thread_count(1);
  const TrainResult a = train(mols, opt);
  core::set_thread_count(2);
  const TrainResult b = train(mols, opt);
  core::set_thread_count(0);
  EXPECT_EQ(encode_model(a.model), encode_model(b.model));  // same bits on 1 and 2 threads
  ASSERT_EQ(a.notes.size(), 5u);                            // four grid points and the choice
  EXPECT_NE(a.notes.back().find("chosen by validation loss"), std::string::npos);
  opt.seed = 6;
  EXPECT_NE(encode_model(train(mols, opt).model), encode_model(a.model));
}

TEST(NetworkFamily, BadOptionsAreClearErrors) {
  const auto mols = testing::synthetic_molecules(30, 4);
  TrainOptions opt = nn_options(chem::RepresentationKind::CoulombMatrix);
  try {
    (void)train(mols, opt);
    FAIL() << "a global representation was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("atomic representation"), std::string::npos) << e.what();
  }
  opt.representation = chem::RepresentationKind::Cmbdf;
  opt.network_powers = {2, 4};
  try {
    (void)train(mols, opt);
    FAIL() << "power 4 was accepted";
  } catch (const ParameterError& e) {
    EXPECT_NE(std::string(e.what()).find("power 4"), std::string::npos) << e.what();
  }
  opt.network_powers.clear();
  opt.network.learning_rate = -1;
  EXPECT_THROW((void)train(mols, opt), ParameterError);
  opt = nn_options(chem::RepresentationKind::Cmbdf);
  opt.network_widths = std::vector<std::size_t>(65, 4);
  EXPECT_THROW((void)train(mols, opt), ParameterError);  // grid too large
  opt = nn_options(chem::RepresentationKind::Cmbdf);
  opt.network_depths = {1, 2};
  opt.network.validation_fraction = 0;
  EXPECT_THROW((void)train(mols, opt), ParameterError);  // a grid needs validation molecules
}

TEST(NetworkFamily, HostileModelFilesAreRefused) {
  const auto mols = testing::synthetic_molecules(40, 2);
  TrainOptions opt = nn_options(chem::RepresentationKind::Cmbdf);
  opt.network.epochs = 3;
  const core::Bytes good = encode_model(train(mols, opt).model);
  // Every truncation is refused with a FormatError, never a crash.
  for (std::size_t n = 0; n < good.size(); n += std::max<std::size_t>(1, good.size() / 200)) {
    const core::Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW((void)decode_model(cut, "cut"), FormatError) << n;
  }
  // Patch the network header (u32 depth 1, width 16, power 2, u8 skip 1) in
  // the payload: a huge width or a bad power is refused before any allocation.
  const std::uint8_t header[] = {1, 0, 0, 0, 16, 0, 0, 0, 2, 0, 0, 0, 1};
  const auto at = std::search(good.begin(), good.end(), std::begin(header), std::end(header));
  ASSERT_NE(at, good.end());
  const auto offset = static_cast<std::size_t>(at - good.begin());
  core::Bytes bad = good;
  bad[offset + 4] = 0xff;
  bad[offset + 5] = 0xff;
  bad[offset + 6] = 0xff;
  bad[offset + 7] = 0x7f;
  try {
    (void)decode_model(bad, "wide");
    FAIL() << "a huge width was accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("width"), std::string::npos) << e.what();
  }
  bad = good;
  bad[offset + 8] = 7;
  EXPECT_THROW((void)decode_model(bad, "power"), FormatError);
  // A weight that is not finite: the decoded model's validation refuses it.
  bad = good;
  const double nan = std::nan("");
  std::memcpy(&bad[offset + 13 + 4 + 8 * 40], &nan, 8);  // inside the first network's mean/scale/W0
  EXPECT_THROW((void)decode_model(bad, "nan"), FormatError);
}

TEST(NetworkTraining, EarlyStoppingStopsAndKeepsTheBestWeights) {
  // Few noisy molecules and a wide network: the validation loss bottoms out
  // early, so a short patience stops long before the epoch limit.
  const auto atoms = testing::random_atomic_features(60, 6, 90, {1, 6}, 6);
  Eigen::MatrixXd labels = testing::random_network(6, 1, {1, 6}, 1, 3, 2, false, 91).predict(atoms);
  std::mt19937_64 rng(92);
  std::normal_distribution<double> noise(0.0, 0.5);
  for (Eigen::Index i = 0; i < labels.rows(); ++i) labels(i, 0) = 4.0 * labels(i, 0) + noise(rng);
  NetworkOptions o;
  o.depth = 2;
  o.width = 32;
  o.weight_decay = 0;
  o.learning_rate = 1e-2;
  o.epochs = 3000;
  o.patience = 40;
  o.validation_fraction = 0.25;
  o.ridge_init = false;  // random weights: the initial network is not the best one
  const NetworkFit fit = train_atomic_network(atoms, labels, {1.0}, o);
  ASSERT_LT(fit.train_loss.size(), 3000u);
  EXPECT_EQ(fit.train_loss.size(), fit.best_epoch + o.patience);
  EXPECT_NE(fit.stop_reason.find("no better validation loss"), std::string::npos)
      << fit.stop_reason;
  ASSERT_GE(fit.best_epoch, 1u);
  const double best = *std::min_element(fit.validation_loss.begin(), fit.validation_loss.end());
  EXPECT_EQ(fit.validation_loss[fit.best_epoch - 1], best);
  EXPECT_EQ(fit.best_loss, best);
  // The kept weights are those of the best epoch: their validation loss is it.
  ASSERT_EQ(fit.validation.size(), 15u);
  const auto val_atoms = atoms.select(fit.validation);
  Eigen::MatrixXd val_labels(15, 1);
  for (std::size_t i = 0; i < 15; ++i)
    val_labels(static_cast<Eigen::Index>(i), 0) =
        labels(static_cast<Eigen::Index>(fit.validation[i]), 0);
  EXPECT_NEAR(network_loss(fit.network, val_atoms, val_labels, {1.0}, 0.0), best,
              1e-12 * (1 + best));
  // Overfitting happened after the best epoch (the training loss kept falling).
  EXPECT_LT(fit.train_loss.back(), fit.train_loss[fit.best_epoch - 1]);
}

}  // namespace
}  // namespace encmol::ml
