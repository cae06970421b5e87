// Encrypted vs plain predictions of real molecules, refusals, masking,
// mismatched and corrupt files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "encmol/chem/readers.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/ml/split.hpp"
#include "encmol/ml/train.hpp"
#include "encmol/secure/budget.hpp"
#include "encmol/secure/plan.hpp"
#include "encmol/secure/roles.hpp"

using namespace encmol;

namespace {

const std::vector<chem::Molecule>& qm7() {
  static const auto m = chem::read_molecules(std::filesystem::path(ENCMOL_SOURCE_DIR) / "data" / "qm7.xyz.gz");
  return m;
}
const std::vector<chem::Molecule>& c7o2h10() {
  static const auto m = chem::read_molecules(std::filesystem::path(ENCMOL_SOURCE_DIR) / "data" / "c7o2h10.xyz.gz");
  return m;
}

struct Data {
  std::vector<chem::Molecule> train, test;
};

Data split(const std::vector<chem::Molecule>& all, std::size_t n_train, std::size_t n_test, std::uint64_t seed) {
  const ml::Split s = ml::random_split(all.size(), n_train, seed);
  Data d;
  d.train = ml::select(all, s.train);
  auto test = ml::select(all, s.test);
  test.resize(std::min(n_test, test.size()));
  d.test = test;
  return d;
}

ml::Model train(const Data& d, ml::KernelKind kind, std::vector<std::string> targets, double sigma, double lambda,
                bool per_element_baseline = true) {
  ml::TrainOptions o;
  o.baseline = per_element_baseline;
  o.kernel = kind;
  o.targets = std::move(targets);
  o.representation_options = chem::capacity_for(d.test);
  if (sigma > 0) o.sigmas = {sigma};
  o.lambdas = {lambda};
  o.degree = 2;
  return ml::train_krr(d.train, o).model;
}

std::filesystem::path tmp(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / "encmol_secure_tests";
  std::filesystem::create_directories(dir);
  return dir / name;
}

// Encrypts, evaluates, decrypts; checks every prediction within the plan's bound.
void check_round_trip(const ml::Model& model, const std::vector<chem::Molecule>& test,
                      const secure::PlanOptions& opt, double* max_err_out = nullptr) {
  secure::Server server(model, opt);
  const secure::Plan& plan = server.plan();
  std::printf("%s", plan.describe().c_str());
  secure::Client client(server.card());
  const secure::EvalKeys keys = client.make_eval_keys();
  const secure::Query q = client.encrypt(test);
  const secure::Result r = server.evaluate(q, keys);
  const secure::Predictions p = client.decrypt(r);
  const Eigen::MatrixXd plain = model.predict(test);
  double max_err = 0;
  for (Eigen::Index i = 0; i < plain.rows(); ++i)
    for (Eigen::Index t = 0; t < plain.cols(); ++t) {
      const double err = std::fabs(p.raw(i, t) - plain(i, t));
      const double bound = plan.budget[static_cast<std::size_t>(t)].bound;
      EXPECT_LE(err, bound) << "molecule " << i << " target " << t;
      EXPECT_LE(std::fabs(p.values(i, t) - plain(i, t)),
                bound + 0.5 * plan.budget[static_cast<std::size_t>(t)].rounding_step + 1e-12);
      max_err = std::max(max_err, err / bound);
    }
  std::printf("max |enc - plain| / bound = %.3g over %ld molecules\n", max_err, static_cast<long>(plain.rows()));
  // Every slot that is not a prediction decrypts to ~0 (masked before flooding).
  const auto slots = client.decrypt_slots(r.ciphertexts.front());
  std::vector<bool> result(plan.slots, false);
  for (std::size_t qq = 0; qq < plan.queries; ++qq)
    for (std::size_t t = 0; t < plan.targets; ++t) result[plan.output_slot(qq, t)] = true;
  double other = 0;
  for (std::size_t s = 0; s < slots.size(); ++s)
    if (!result[s]) other = std::max(other, std::fabs(slots[s]));
  // Non-result slots are scaled by the largest W_t: only flooding (+ noise) of that size may remain.
  double max_bound = 0;
  for (const auto& b : plan.budget) max_bound = std::max(max_bound, b.bound);
  EXPECT_LE(other, max_bound) << "a masked slot leaks a value";
  if (max_err_out) *max_err_out = max_err;
}

}  // namespace

TEST(SecureGaussian, EncryptedMatchesPlainOnQm7) {
  const Data d = split(qm7(), 300, 12, 7);
  const ml::Model model = train(d, ml::KernelKind::Gaussian, {"ae_pbe0"}, 100.0, 0.1);
  secure::PlanOptions opt;
  opt.tolerance = 0.05;
  check_round_trip(model, d.test, opt);
}

// A client that encrypts different vectors in different replicas of its query
// window would feed each training row its own query (and could isolate single
// rows). The server keeps one block per window and rebuilds the replicas, and
// forces the constant slot to 1: the hostile layout is answered exactly like
// the honest query of the kept block.
TEST(SecureLayout, HostileReplicasAndConstantAreOverridden) {
  const Data d = split(qm7(), 300, 3, 21);
  const ml::Model model = train(d, ml::KernelKind::Gaussian, {"ae_pbe0"}, 100.0, 0.1);
  secure::PlanOptions opt;
  opt.tolerance = 0.05;
  opt.max_batch = 2;
  secure::Server server(model, opt);
  const secure::Plan& plan = server.plan();
  ASSERT_EQ(plan.queries, 2u);
  secure::Client client(server.card());
  const secure::EvalKeys keys = client.make_eval_keys();
  const Eigen::MatrixXd plain = model.predict(d.test);
  const double bound = plan.budget[0].bound;
  // The test discriminates only if the molecules' predictions differ by far more than the bound.
  ASSERT_GT(std::fabs(plain(0, 0) - plain(1, 0)), 100 * bound);
  ASSERT_GT(std::fabs(plain(0, 0) - plain(2, 0)), 100 * bound);

  const auto xh = client.query_vectors(d.test);
  const he::MatVecPlan mv = plan.matvec_plan();
  const he::ReplicationLayout layout = plan.replication();
  // Honest layouts of molecules 1 (window 0) and 2 (window 1), then the kept block of each window
  // overwritten with molecule 0 and the constant slot zeroed (it would drop the mean).
  std::vector<double> hostile = he::matvec_input_layout(mv, {xh[1], xh[2]});
  for (std::size_t q = 0; q < 2; ++q) {
    const std::size_t source = q * plan.query_stride + layout.source_block() * plan.period;
    for (std::size_t j = 0; j < plan.period; ++j) hostile[source + j] = xh[0][j];
    hostile[source + plan.dimension + 1] = 0.0;
  }
  secure::Query q = client.encrypt({d.test[0], d.test[0]});
  ASSERT_EQ(q.ciphertexts.size(), 1u);
  q.ciphertexts[0] = client.encrypt_slots(hostile);
  const secure::Predictions p = client.decrypt(server.evaluate(q, keys));
  for (Eigen::Index i = 0; i < 2; ++i)
    EXPECT_LE(std::fabs(p.raw(i, 0) - plain(0, 0)), bound) << "window " << i << " answered the hostile replicas";
}

TEST(SecureLinearPolynomial, EncryptedMatchesPlain) {
  const Data d = split(qm7(), 200, 6, 11);
  secure::PlanOptions opt;
  opt.tolerance = 0.5;
  const ml::Model lin = train(d, ml::KernelKind::Linear, {"ae_pbe0"}, 0, 1e4);
  check_round_trip(lin, d.test, opt);
  const ml::Model poly = train(d, ml::KernelKind::Polynomial, {"ae_pbe0"}, 0, 1e-2);
  check_round_trip(poly, d.test, opt);
}

TEST(SecureMultiTarget, C7o2h10AllTargetsInOneEvaluation) {
  const Data d = split(c7o2h10(), 250, 5, 3);
  const ml::Model model = train(d, ml::KernelKind::Gaussian, {"U0", "homo", "lumo", "gap", "mu"}, 100.0, 0.1,
                                /*per_element_baseline=*/false);  // one composition: a per-element fit is singular
  secure::PlanOptions opt;
  opt.relative_tolerance = 2e-3;
  check_round_trip(model, d.test, opt);
}

TEST(SecureRefusal, LaplacianImpossibleToleranceAndLargeMolecule) {
  const Data d = split(qm7(), 120, 4, 5);
  const ml::Model lap = train(d, ml::KernelKind::Laplacian, {"ae_pbe0"}, 1000.0, 1e-3);
  try {
    secure::compile_plan(lap);
    FAIL() << "Laplacian accepted";
  } catch (const ParameterError& e) {
    EXPECT_NE(std::string(e.what()).find("L1"), std::string::npos);
  }
  const ml::Model g = train(d, ml::KernelKind::Gaussian, {"ae_pbe0"}, 100.0, 1e-6);
  secure::PlanOptions opt;
  opt.tolerance = 1e-12;
  try {
    secure::compile_plan(g, opt);
    FAIL() << "impossible tolerance accepted";
  } catch (const ParameterError& e) {
    EXPECT_NE(std::string(e.what()).find("tolerance"), std::string::npos);
  }
  // A molecule with more atoms than the card's representation holds is refused client-side.
  ml::TrainOptions o;
  o.kernel = ml::KernelKind::Gaussian;
  o.targets = {"ae_pbe0"};
  o.sigmas = {100.0};
  o.lambdas = {0.1};
  std::vector<chem::Molecule> small;
  for (const auto& m : qm7())
    if (m.charges.size() <= 8 && small.size() < 60) small.push_back(m);
  const ml::Model sm = ml::train_krr(small, o).model;
  secure::PlanOptions loose;
  loose.tolerance = 1.0;
  secure::Client client(secure::ModelCard::from_model(sm, loose));
  const chem::Molecule* big = nullptr;
  for (const auto& m : qm7())
    if (m.charges.size() > 15) {
      big = &m;
      break;
    }
  ASSERT_NE(big, nullptr);
  EXPECT_THROW(client.encrypt({*big}), InputError);
  // A molecule that fits the representation but lies outside the plan's interval.
  secure::Plan plan = client.card().plan;
  std::vector<double> far(plan.dimension, 0.0);
  far[0] = plan.max_query_norm * 1.01;
  EXPECT_THROW(secure::query_vector(plan, far, secure::element_counts(plan, small[0]), "far"), InputError);
}

TEST(SecureFiles, RoundTripCorruptTruncatedAndMismatched) {
  const Data d = split(qm7(), 150, 3, 9);
  const ml::Model model = train(d, ml::KernelKind::Gaussian, {"ae_pbe0"}, 100.0, 0.1);
  secure::PlanOptions opt;
  opt.tolerance = 0.1;
  secure::Server server(model, opt);
  const auto card_path = tmp("card.encmol");
  server.card().save(card_path);
  const secure::ModelCard card = secure::ModelCard::load(card_path);
  EXPECT_EQ(card.plan_hash(), server.card().plan_hash());

  secure::Client alice(card), bob(card);
  const auto key_path = tmp("alice.key");
  alice.save_secret_key(key_path);
  const secure::Client alice2 = secure::Client::load(key_path);
  EXPECT_EQ(alice2.key_id(), alice.key_id());

  const auto& ctx = *server.context();
  const auto ek_path = tmp("alice.evk");
  alice.make_eval_keys().save(ek_path, ctx);
  const secure::EvalKeys ek = secure::EvalKeys::load(ek_path, ctx);
  const secure::EvalKeys bob_keys = bob.make_eval_keys();

  const auto q_path = tmp("q.encmol");
  alice2.encrypt(d.test).save(q_path, ctx);
  const secure::Query q = secure::Query::load(q_path, ctx, card.plan.queries);
  // Alice's query with Bob's evaluation keys: clean FormatError naming the keys.
  try {
    server.evaluate(q, bob_keys);
    FAIL() << "foreign keys accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("key"), std::string::npos);
  }
  const auto r_path = tmp("r.encmol");
  server.evaluate(q, ek).save(r_path, ctx);
  const secure::Result r = secure::Result::load(r_path, ctx, card.plan.queries);
  const auto pred = alice.decrypt(r);
  const Eigen::MatrixXd plain = model.predict(d.test);
  for (Eigen::Index i = 0; i < plain.rows(); ++i) EXPECT_LE(std::fabs(pred.raw(i, 0) - plain(i, 0)), card.plan.budget[0].bound);
  EXPECT_THROW(bob.decrypt(r), FormatError);

  // The secret key file is readable by its owner only.
  const auto perms = std::filesystem::status(key_path).permissions();
  EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);

  // Replies are re-randomized: c1 is not a deterministic function of the
  // query, the keys and the model (else a client could solve for model data).
  const secure::Result again = server.evaluate(q, ek);
  ASSERT_EQ(again.ciphertexts.size(), r.ciphertexts.size());
  const auto& c1a = r.ciphertexts[0];
  const auto& c1b = again.ciphertexts[0];
  EXPECT_FALSE(std::equal(c1a.poly(1), c1a.poly(1) + c1a.limbs() * c1a.n, c1b.poly(1)));

  // Only declared molecules get an answer: a query claiming 1 molecule but
  // carrying more packed vectors gets zeros in the other result slots.
  if (card.plan.queries >= 2 && d.test.size() >= 2) {
    const std::size_t stride = card.plan.query_stride;
    const auto full = alice.decrypt_slots(r.ciphertexts[0]);
    secure::Query one = q;
    one.molecules = 1;
    const secure::Result partial = server.evaluate(one, ek);
    const auto slots = alice.decrypt_slots(partial.ciphertexts[0]);
    EXPECT_NEAR(slots[0], full[0], 2 * card.plan.budget[0].bound + 1e-6);
    EXPECT_GT(std::fabs(full[stride]), 1e-3);
    EXPECT_LT(std::fabs(slots[stride]), 1e-3 * std::fabs(full[stride]) + 1e-6)
        << "an undeclared packed query got an answer";
  }

  // Corrupt / truncated files of every kind are rejected with FormatError.
  for (const auto& path : {card_path, key_path, ek_path, q_path, r_path}) {
    auto bytes = core::read_file_bytes(path, std::uint64_t{1} << 32);
    auto flipped = bytes;
    flipped[flipped.size() / 2] ^= 0x40;
    const auto bad = tmp("bad.bin");
    core::write_file_atomic(bad, flipped);
    auto load_any = [&](const std::filesystem::path& p) {
      if (path == card_path) (void)secure::ModelCard::load(p);
      else if (path == key_path) (void)secure::Client::load(p);
      else if (path == ek_path) (void)secure::EvalKeys::load(p, ctx);
      else if (path == q_path) (void)secure::Query::load(p, ctx, card.plan.queries);
      else (void)secure::Result::load(p, ctx, card.plan.queries);
    };
    EXPECT_THROW(load_any(bad), FormatError) << path;
    core::write_file_atomic(bad, std::span(bytes.data(), bytes.size() / 3));
    EXPECT_THROW(load_any(bad), FormatError) << path;
  }
  // A query file given where a result is expected.
  EXPECT_THROW(secure::Result::load(q_path, ctx, card.plan.queries), FormatError);
  // Query budget.
  secure::ServerOptions so;
  so.query_budget = 2;
  secure::Server limited(model, card, so);
  EXPECT_THROW(limited.evaluate(q, ek), SecurityError);
}

TEST(SecureBudget, ChoosesHyperparametersUnderTheEncryptedBudget) {
  const Data d = split(qm7(), 200, 4, 13);
  secure::BudgetSearchOptions bo;
  bo.train.targets = {"ae_pbe0"};
  bo.train.kernel = ml::KernelKind::Gaussian;
  bo.train.lambdas = {1e-6, 1e-2, 1e-1, 1.0};
  bo.train.representation_options = chem::capacity_for(d.test);
  bo.plan.tolerance = 0.01;
  const secure::BudgetSearchResult r = secure::choose_hyperparameters_for_budget(d.train, bo);
  const secure::Plan plan = secure::compile_plan(r.train.model, bo.plan);
  EXPECT_LE(plan.budget[0].bound, 0.01);
  EXPECT_GT(r.candidates, 0u);
  EXPECT_EQ(r.skipped.size() + 1, r.candidates);
  // Choosing the baseline too: both are cross-validated, the pick is the best CV score that fits, which can be
  // no worse than the best fitting point of one baseline alone.
  bo.choose_baseline = true;
  const secure::BudgetSearchResult both = secure::choose_hyperparameters_for_budget(d.train, bo);
  EXPECT_LE(secure::compile_plan(both.train.model, bo.plan).budget[0].bound, 0.01);
  EXPECT_LE(both.train.cv[both.train.best].mae[0], r.train.cv[r.train.best].mae[0] + 1e-12);
}

// Exploration aid (not run by default): Sigma|alpha|, bound terms and MAE over a grid.
TEST(SecureExplore, DISABLED_Grid) {
  const std::size_t n = std::getenv("NTRAIN") ? std::strtoul(std::getenv("NTRAIN"), nullptr, 10) : 1000;
  const Data d = split(qm7(), n, 300, 1);
  for (double sigma : {25.0, 50.0, 100.0, 200.0, 400.0})
    for (double lambda : {1e-6, 1e-4, 1e-2, 1e-1, 1.0}) {
      const ml::Model m = train(d, ml::KernelKind::Gaussian, {"ae_pbe0"}, sigma, lambda);
      const Eigen::MatrixXd pr = m.predict(d.test);
      const double mae = (pr - ml::label_matrix(d.test, m.targets)).cwiseAbs().mean();
      secure::PlanOptions o;
      o.tolerance = 1e6;
      o.min_flood_bits = 0;
      o.max_flood_bits = 0;
      const secure::Plan p = secure::compile_plan(m, o);
      const auto& b = p.budget[0];
      std::printf("sigma %6.1f lambda %7.1e MAE %7.3f sum|a| %9.3g T %7.3g deg %d sq %d approx %9.3g noise %9.3g "
                  "N 2^%d scale %d\n",
                  sigma, lambda, mae, b.sum_abs_alpha, p.T, p.exp_degree, p.exp_squarings, b.approximation, b.noise,
                  p.params.log_n, p.scale_bits);
    }
}

// Exploration aid (not run by default): why a well-performing sigma fails the budget.
TEST(SecureExplore, DISABLED_Sigma) {
  const std::size_t n = std::getenv("NTRAIN") ? std::strtoul(std::getenv("NTRAIN"), nullptr, 10) : 4096;
  const double sigma = std::getenv("SIGMA") ? std::atof(std::getenv("SIGMA")) : 30.0;
  const double lambda = std::getenv("LAMBDA") ? std::atof(std::getenv("LAMBDA")) : 1e-2;
  const double tol = std::getenv("TOL") ? std::atof(std::getenv("TOL")) : 1e-2;
  const Data d = split(qm7(), n, 300, 42);
  const ml::Model m = train(d, ml::KernelKind::Gaussian, {"ae_pbe0"}, sigma, lambda);
  secure::PlanOptions o;
  o.tolerance = tol;
  try {
    std::printf("%s", secure::compile_plan(m, o).describe().c_str());
  } catch (const Error& e) {
    std::printf("%s\n", e.what());
  }
}
