#include "encmol/audit/extraction.hpp"

#include <gtest/gtest.h>

#include "audit_test_util.hpp"
#include "encmol/core/error.hpp"

namespace encmol::audit {
namespace {

using namespace testing;

struct Victim {
  std::vector<chem::Molecule> data = qm7_range(0, 600);
  ml::Model model = train_small(qm7_range(0, 150), chem::RepresentationKind::CoulombMatrix, 1e-10,
                                qm7_range(0, 600));
};

const Victim& victim() {
  static const Victim v;
  return v;
}

ExtractionOptions small_options() {
  ExtractionOptions o;
  o.max_budget = 256;
  o.eval_size = 100;
  o.tolerance = 1.0;
  o.seed = 11;
  return o;
}

TEST(Extraction, SurrogateImprovesWithQueriesAndTrainingSetIsExcluded) {
  const auto r = audit_extraction(victim().model, victim().data, small_options());
  EXPECT_EQ(r.excluded_training, 150u);  // the attacker's data must be disjoint
  EXPECT_EQ(r.pool, 450u);
  EXPECT_EQ(r.eval_size, 100u);
  ASSERT_EQ(r.points.front().queries, 16u);
  ASSERT_EQ(r.points.back().queries, 256u);
  EXPECT_LT(r.points.back().mae_vs_victim, 0.7 * r.points.front().mae_vs_victim);
  ASSERT_TRUE(r.victim_mae_vs_truth.has_value());
  ASSERT_TRUE(r.points.back().mae_vs_truth.has_value());
  for (const auto& p : r.points) EXPECT_LE(p.rmse_vs_victim + 1e-12, 10 * p.mae_vs_victim + 1e-9);
  // Budget bookkeeping is consistent with the curve.
  for (const auto& p : r.points) {
    if (r.queries_to_tolerance && p.queries >= *r.queries_to_tolerance) continue;
    EXPECT_GT(p.mae_vs_victim, r.tolerance);
  }
}

TEST(Extraction, GenerousToleranceIsReachedEarly) {
  auto o = small_options();
  o.tolerance = 1e6;
  const auto r = audit_extraction(victim().model, victim().data, o);
  ASSERT_TRUE(r.queries_to_tolerance.has_value());
  EXPECT_EQ(*r.queries_to_tolerance, 16u);
  EXPECT_EQ(r.largest_safe_budget, 0u);
}

TEST(Extraction, DeterministicAndPerturbedQueriesExtendThePool) {
  auto o = small_options();
  o.max_budget = 600;
  o.budgets = {64, 600};
  o.perturbed_copies = 2;
  const auto a = audit_extraction(victim().model, victim().data, o);
  const auto b = audit_extraction(victim().model, victim().data, o);
  EXPECT_EQ(a.available_queries, 600u);  // 350 originals + perturbed copies
  ASSERT_EQ(a.points.size(), 2u);
  EXPECT_EQ(a.points[1].queries, 600u);
  EXPECT_EQ(a.points[1].mae_vs_victim, b.points[1].mae_vs_victim);
  o.seed = 12;
  const auto c = audit_extraction(victim().model, victim().data, o);
  EXPECT_NE(a.points[1].mae_vs_victim, c.points[1].mae_vs_victim);
}

TEST(Extraction, RoundedAnswersAndCrossValidatedSurrogate) {
  auto o = small_options();
  o.budgets = {64, 128};
  o.round_step = 1.0;
  const auto rounded = audit_extraction(victim().model, victim().data, o);
  o.round_step = 0.0;
  o.surrogate_cv = true;
  const auto cv = audit_extraction(victim().model, victim().data, o);
  ASSERT_EQ(rounded.points.size(), 2u);
  ASSERT_EQ(cv.points.size(), 2u);
  EXPECT_GT(cv.points[1].mae_vs_victim, 0.0);
}

TEST(Extraction, RejectsBadOptions) {
  auto o = small_options();
  o.eval_size = 1000;  // more than the attacker has
  EXPECT_THROW(audit_extraction(victim().model, victim().data, o), InputError);
  o = small_options();
  o.target = 3;
  EXPECT_THROW(audit_extraction(victim().model, victim().data, o), InputError);
  o = small_options();
  o.tolerance = -1;
  EXPECT_THROW(audit_extraction(victim().model, victim().data, o), InputError);
  o = small_options();
  o.max_budget = 2;
  EXPECT_THROW(audit_extraction(victim().model, victim().data, o), InputError);
  o = small_options();
  o.perturbed_copies = 1;
  o.perturbation_sigma = 0;
  EXPECT_THROW(audit_extraction(victim().model, victim().data, o), InputError);
}

}  // namespace
}  // namespace encmol::audit

namespace encmol::audit {
namespace {

// A victim that stores no training molecule: the surrogate is its own family (quadratic on cMBDF,
// same coef0 and lambda), and no attacker molecule can be matched to a training row.
TEST(Extraction, SameFamilySurrogateForAQuadraticVictim) {
  ml::TrainOptions o;
  o.family = ml::ModelFamily::Quadratic;
  o.representation = chem::RepresentationKind::Cmbdf;
  o.representation_options = chem::capacity_for(victim().data);
  o.targets = {"ae_pbe0"};
  o.units = {"kcal/mol"};
  o.coef0s = {2.0};
  o.lambdas = {1e-3};
  const ml::Model quadratic = ml::train(qm7_range(0, 150), o).model;
  ExtractionOptions e = small_options();
  e.budgets = {16, 64, 256};
  const auto r = audit_extraction(quadratic, victim().data, e);
  EXPECT_EQ(r.excluded_training, 0u);
  EXPECT_EQ(r.pool, 600u);
  ASSERT_EQ(r.points.size(), 3u);
  EXPECT_LT(r.points.back().mae_vs_victim, 0.7 * r.points.front().mae_vs_victim);
}

}  // namespace
}  // namespace encmol::audit
