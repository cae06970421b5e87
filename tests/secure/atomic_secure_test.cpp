// Encrypted evaluation of atomic models (quadratic atomic model, one-block
// power networks): encrypted vs plain within the plan's bound on real
// molecules, the client-side Δ baseline, hostile layouts, refusals and cards.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "encmol/chem/readers.hpp"
#include "encmol/core/error.hpp"
#include "encmol/he/linear.hpp"
#include "encmol/ml/split.hpp"
#include "encmol/ml/train.hpp"
#include "encmol/secure/atomic_plan.hpp"
#include "encmol/secure/plan.hpp"
#include "encmol/secure/roles.hpp"

using namespace encmol;

namespace {

struct Data {
  std::vector<chem::Molecule> train, test;
};

const Data& qm7_split() {
  static const Data d = [] {
    const auto all =
        chem::read_molecules(std::filesystem::path(ENCMOL_SOURCE_DIR) / "data" / "qm7.xyz.gz");
    const ml::Split s = ml::random_split(all.size(), 400, 7);
    Data out;
    out.train = ml::select(all, s.train);
    auto test = ml::select(all, s.test);
    test.resize(10);
    out.test = test;
    return out;
  }();
  return d;
}

ml::TrainOptions quadratic_options(std::vector<std::string> targets) {
  ml::TrainOptions o;
  o.family = ml::ModelFamily::Quadratic;
  o.representation = chem::RepresentationKind::Cmbdf;
  o.representation_options = chem::capacity_for(qm7_split().test);
  o.targets = std::move(targets);
  o.units.assign(o.targets.size(), "kcal/mol");
  o.coef0s = {2.0};
  o.lambdas = {1e-3};
  return o;
}

const ml::Model& quadratic_model() {
  static const ml::Model m = ml::train(qm7_split().train, quadratic_options({"ae_pbe0"})).model;
  return m;
}

secure::PlanOptions tolerance(double t) {
  secure::PlanOptions o;
  o.tolerance = t;
  return o;
}

// Encrypts, evaluates and decrypts `test`; every raw prediction must lie within the plan's bound of
// the plain model part, and the shown value is the rounded raw value plus the client's Δ baseline.
void check_round_trip(const ml::Model& model, const std::vector<chem::Molecule>& test,
                      const secure::PlanOptions& options) {
  secure::Server server(model, options);
  const secure::Plan& plan = server.plan();
  ASSERT_EQ(plan.family, secure::PlanFamily::Atomic);
  EXPECT_NO_THROW(
      plan.params.validate());  // 128-bit: validate() refuses less without allow_insecure
  EXPECT_FALSE(plan.params.allow_insecure);
  std::printf("%s", plan.describe().c_str());
  secure::Client client(server.card());
  const secure::EvalKeys keys = client.make_eval_keys();
  const secure::Result r = server.evaluate(client.encrypt(test), keys);
  const secure::Predictions p = client.decrypt(r, test);
  const Eigen::MatrixXd plain = model.predict(test);
  const Eigen::MatrixXd delta = model.baseline.delta.active()
                                    ? model.baseline.delta.evaluate(test)
                                    : Eigen::MatrixXd::Zero(plain.rows(), plain.cols());
  ASSERT_EQ(p.values.rows(), plain.rows());
  double worst = 0;
  for (Eigen::Index i = 0; i < plain.rows(); ++i)
    for (Eigen::Index t = 0; t < plain.cols(); ++t) {
      const auto& b = plan.budget[static_cast<std::size_t>(t)];
      const double err = std::fabs(p.raw(i, t) - (plain(i, t) - delta(i, t)));
      worst = std::max(worst, err / b.bound);
      EXPECT_LE(err, b.bound) << "molecule " << i << " target " << t;
      EXPECT_NEAR(p.values(i, t),
                  std::round(p.raw(i, t) / b.rounding_step) * b.rounding_step + delta(i, t), 1e-9);
    }
  std::printf("max |enc - plain| / bound = %.3g\n", worst);
  EXPECT_GT(worst, 0.0);  // the comparison saw real encrypted values
}

TEST(AtomicSecure, QuadraticMatchesPlainWithinTheBound) {
  const ml::Model& model = quadratic_model();
  check_round_trip(model, qm7_split().test, tolerance(0.05));
  const secure::Plan plan = secure::compile_plan(model, tolerance(0.05));
  EXPECT_EQ(plan.atomic.power, 2);
  EXPECT_EQ(plan.depth, 5);
  EXPECT_EQ(plan.budget[0].approximation, 0.0);  // exact circuit: noise and flood only
}

TEST(AtomicSecure, CubicNetworkTwoTargetsMatchesPlain) {
  ml::TrainOptions o = quadratic_options({"ae_pbe0", "ae_dftb"});
  o.family = ml::ModelFamily::Network;
  o.network.depth = 1;
  o.network.width = 12;
  o.network.power = 3;
  o.network.epochs = 5;
  // Small random weights: the cube of a ridge-initialized network's hidden bound (|u| <= radius
  // |A_i|, far above the values real atoms reach) needs a much looser tolerance; this test is about
  // the circuit.
  o.network.ridge_init = false;
  const ml::Model model = ml::train(qm7_split().train, o).model;
  const secure::Plan plan = secure::compile_plan(model, tolerance(0.05));
  EXPECT_EQ(plan.depth, 6);
  EXPECT_EQ(plan.rows, 12u);
  std::vector<chem::Molecule> test = qm7_split().test;
  test.resize(7);  // a partly filled last ciphertext
  check_round_trip(model, test, tolerance(0.05));
}

TEST(AtomicSecure, DeltaBaselineIsAddedByTheClientOnly) {
  ml::TrainOptions o = quadratic_options({"ae_pbe0"});
  o.delta = {ml::DeltaSource::XtbEnergy};
  const ml::Model model = ml::train(qm7_split().train, o).model;
  ASSERT_TRUE(model.baseline.delta.active());
  check_round_trip(model, qm7_split().test, tolerance(0.05));
  // The card names the baseline; decrypting without the molecules is refused.
  secure::Server server(model, tolerance(0.05));
  const secure::ModelCard card = secure::ModelCard::decode(server.card().encode(), "card");
  EXPECT_TRUE(card.delta.active());
  secure::Client client(card);
  const auto keys = client.make_eval_keys();
  const secure::Result r = server.evaluate(client.encrypt(qm7_split().test), keys);
  EXPECT_THROW(client.decrypt(r), InputError);
}

TEST(AtomicSecure, ServerRebuildsTheReplicasOfEveryAtom) {
  const ml::Model& model = quadratic_model();
  secure::Server server(model, tolerance(0.05));
  const secure::Plan& plan = server.plan();
  secure::Client client(server.card());
  const auto keys = client.make_eval_keys();
  const std::vector<chem::Molecule> one(qm7_split().test.begin(), qm7_split().test.begin() + 1);
  const auto vectors = client.query_vectors(one);
  ASSERT_EQ(vectors[0].size(), plan.atomic.windows * plan.period);
  std::vector<std::vector<double>> windows;
  for (std::size_t w = 0; w < plan.atomic.windows; ++w)
    windows.emplace_back(vectors[0].begin() + static_cast<std::ptrdiff_t>(w * plan.period),
                         vectors[0].begin() + static_cast<std::ptrdiff_t>((w + 1) * plan.period));
  std::vector<double> slots = he::matvec_input_layout(plan.matvec_plan(), windows);
  // Junk in every replica but the last block of each window (the one the server keeps).
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> junk(-1, 1);
  const std::size_t S = plan.atomic.window_stride;
  for (std::size_t s = 0; s < plan.atomic.windows * S; ++s)
    if (s % S < S - plan.period) slots[s] = junk(rng);
  const auto reply = server.evaluate_one(client.encrypt_slots(slots), keys, 1,
                                         ckks::Encryptor(server.context(), keys.public_key));
  const double honest = model.predict(one)(0, 0);
  EXPECT_NEAR(client.decrypt_slots(reply)[plan.output_slot(0, 0)], honest, plan.budget[0].bound);
  // Every other slot is masked to 0 (up to the flood).
  const auto all = client.decrypt_slots(reply);
  for (std::size_t s = 1; s < all.size(); s += 97)
    EXPECT_LE(std::fabs(all[s]), plan.budget[0].bound);
}

TEST(AtomicSecure, ClientRefusesMoleculesThePlanCannotHold) {
  const ml::Model& model = quadratic_model();
  secure::Server server(model, tolerance(0.05));
  secure::Client client(server.card());
  const auto& plan = server.plan();
  chem::Molecule many = qm7_split().test[0];
  // More hydrogens than the card's capacity: a row of H atoms 1.5 Å apart.
  const auto h = std::find(plan.atomic.elements.begin(), plan.atomic.elements.end(), 1);
  ASSERT_NE(h, plan.atomic.elements.end());
  const std::size_t cap =
      plan.atomic.capacity[static_cast<std::size_t>(h - plan.atomic.elements.begin())];
  for (std::size_t k = 0; k <= cap; ++k) {
    many.charges.push_back(1);
    many.positions.push_back({20.0 + 1.5 * static_cast<double>(k), 0.0, 0.0});
  }
  try {
    client.encrypt({many});
    FAIL() << "a molecule with too many H atoms was encrypted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("H atoms"), std::string::npos) << e.what();
  }
}

TEST(AtomicSecure, RefusesModelsWithoutACircuit) {
  ml::TrainOptions o = quadratic_options({"ae_pbe0"});
  o.family = ml::ModelFamily::Network;
  o.network.depth = 2;
  o.network.width = 8;
  o.network.epochs = 3;
  const ml::Model deep = ml::train(qm7_split().train, o).model;
  EXPECT_THROW(secure::compile_plan(deep, tolerance(0.05)), ParameterError);
  ml::Model old = quadratic_model();
  old.atom_frame = {};  // as read from a format-3 file
  try {
    secure::compile_plan(old, tolerance(0.05));
    FAIL();
  } catch (const ParameterError& e) {
    EXPECT_NE(std::string(e.what()).find("retrain"), std::string::npos);
  }
}

TEST(AtomicSecure, CardRoundTripAndHostileWindows) {
  const ml::Model& model = quadratic_model();
  const secure::ModelCard card = secure::ModelCard::from_model(model, tolerance(0.05));
  const secure::ModelCard back = secure::ModelCard::decode(card.encode(), "card");
  EXPECT_EQ(back.plan_hash(), card.plan_hash());
  EXPECT_EQ(back.plan.atomic.capacity, card.plan.atomic.capacity);
  auto hostile = [&](auto&& edit) {
    secure::ModelCard c = card;
    edit(c.plan);
    EXPECT_THROW(secure::ModelCard::decode(c.encode(), "card"), FormatError);
  };
  hostile([](secure::Plan& p) { p.atomic.windows = 3; });             // not 2^a + 2^b
  hostile([](secure::Plan& p) { p.atomic.window_stride = p.rows; });  // rows + C - 1 do not fit
  hostile([](secure::Plan& p) {  // windows x S wraps around 2^64 onto the query stride
    p.atomic.window_stride = (std::size_t{1} << 54) + p.query_stride / p.atomic.windows;
  });
  hostile([](secure::Plan& p) { p.atomic.capacity[0] = 1u << 20; });  // implausible capacity
  hostile([](secure::Plan& p) { p.atomic.input_norm[0] = -1.0; });    // negative ball
  hostile([](secure::Plan& p) { p.query_stride = p.slots; });         // windows x S != stride
  hostile([](secure::Plan& p) { p.atomic.power = 4; });
  hostile([](secure::Plan& p) { p.period = p.dimension; });
}

TEST(AtomicSecure, DefaultBudgetStaysBelowAnExactSolve) {
  const ml::Model& model = quadratic_model();
  const double d = static_cast<double>(model.atom_input_dimension());
  const double unknowns =
      (d + 1) * (d + 2) / 2 * static_cast<double>(model.representation.elements().size());
  const std::uint64_t budget = secure::default_query_budget(model);
  EXPECT_LE(static_cast<double>(budget), unknowns / 4 + 1);
  EXPECT_LE(budget, model.training_size() / 8);
  EXPECT_GE(budget, 1u);
}

}  // namespace

namespace {

// Random features with public features: the card carries the map, the client computes its features.
TEST(FeatureSecure, RandomFeaturesMatchPlainWithinTheBound) {
  ml::TrainOptions o = quadratic_options({"ae_pbe0", "ae_dftb"});
  o.family = ml::ModelFamily::RandomFeatures;
  o.feature_counts = {256};
  o.sigmas = {4.0};
  o.lambdas = {1e-6};
  o.delta = {ml::DeltaSource::XtbEnergy, ml::DeltaSource::None};
  const ml::Model model = ml::train(qm7_split().train, o).model;
  secure::Server server(model, tolerance(0.05));
  const secure::Plan& plan = server.plan();
  ASSERT_EQ(plan.family, secure::PlanFamily::Features);
  EXPECT_EQ(plan.depth, 2);
  EXPECT_EQ(plan.features.features, 256u);
  std::printf("%s", plan.describe().c_str());
  const secure::ModelCard card = secure::ModelCard::decode(server.card().encode(), "card");
  ASSERT_TRUE(card.feature_map.has_value());
  secure::Client client(card);
  const auto keys = client.make_eval_keys();
  std::vector<chem::Molecule> test = qm7_split().test;
  const secure::Predictions p = client.decrypt(server.evaluate(client.encrypt(test), keys), test);
  const Eigen::MatrixXd plain = model.predict(test);
  const Eigen::MatrixXd delta = model.baseline.delta.evaluate(test);
  double worst = 0;
  for (Eigen::Index i = 0; i < plain.rows(); ++i)
    for (Eigen::Index t = 0; t < 2; ++t) {
      const double err = std::fabs(p.raw(i, t) - (plain(i, t) - delta(i, t)));
      EXPECT_LE(err, plan.budget[static_cast<std::size_t>(t)].bound);
      worst = std::max(worst, err);
    }
  EXPECT_GT(worst, 0.0);
  // Public features: the default budget stays below the D + E answers that solve for the weights.
  EXPECT_LE(secure::default_query_budget(model), (256 + model.baseline.elements.size()) / 4);
  // A card whose map does not match its plan is refused.
  auto hostile = [&](auto&& edit) {
    secure::ModelCard bad = server.card();
    edit(bad);
    EXPECT_THROW(secure::ModelCard::decode(bad.encode(), "card"), FormatError);
  };
  hostile([](secure::ModelCard& c) { c.plan.features.features = 255; });  // map and plan disagree
  hostile([](secure::ModelCard& c) { c.plan.query_stride = c.plan.sum_block + 1; });
  hostile([](secure::ModelCard& c) {
    c.plan.sum_block = c.plan.period - 1;
  });  // block shorter than a molecule
  hostile([](secure::ModelCard& c) { c.plan.features.amplitude = 0.0; });
  hostile([](secure::ModelCard& c) { c.feature_map.reset(); });  // feature plan without its map
  // Junk outside a molecule's block never reaches a prediction: the weights there are 0.
  const std::vector<chem::Molecule> one(test.begin(), test.begin() + 1);
  std::vector<double> slots(plan.slots, 0.0);
  const auto v = client.query_vectors(one)[0];
  std::copy(v.begin(), v.end(), slots.begin());
  for (std::size_t s = plan.period; s < plan.slots; ++s) slots[s] = 0.5;
  const auto reply = server.evaluate_one(client.encrypt_slots(slots), keys, 1,
                                         ckks::Encryptor(server.context(), keys.public_key));
  EXPECT_NEAR(client.decrypt_slots(reply)[plan.output_slot(0, 0)], plain(0, 0) - delta(0, 0),
              plan.budget[0].bound);
}

}  // namespace
