#include "encmol/audit/membership.hpp"

#include <gtest/gtest.h>

#include "audit_test_util.hpp"
#include "encmol/core/error.hpp"

namespace encmol::audit {
namespace {

using namespace testing;

TEST(AttackMetrics, AucAndLowFprTpr) {
  // Perfect separation.
  const auto perfect = evaluate_attack("p", {5, 4, 3, 2, 1, 0}, {1, 1, 1, 0, 0, 0});
  EXPECT_DOUBLE_EQ(perfect.auc, 1.0);
  EXPECT_DOUBLE_EQ(perfect.tpr_at_0_1pct, 1.0);
  // Inverted.
  EXPECT_DOUBLE_EQ(evaluate_attack("i", {0, 1, 2, 3}, {1, 1, 0, 0}).auc, 0.0);
  // All tied: chance, and no threshold has FPR <= 1 % except the empty one.
  const auto tied = evaluate_attack("t", {1, 1, 1, 1}, {1, 0, 1, 0});
  EXPECT_DOUBLE_EQ(tied.auc, 0.5);
  EXPECT_DOUBLE_EQ(tied.tpr_at_1pct, 0.0);
  // Hand-computed: scores 0.9(m) 0.8(n) 0.7(m) 0.6(n): pairs (m>n) = 3 of 4.
  const auto mixed = evaluate_attack("m", {0.9, 0.8, 0.7, 0.6}, {1, 0, 1, 0});
  EXPECT_DOUBLE_EQ(mixed.auc, 0.75);
  EXPECT_DOUBLE_EQ(mixed.tpr_at_1pct, 0.5);
  EXPECT_EQ(mixed.roc.front().fpr, 0.0);
  EXPECT_EQ(mixed.roc.back().tpr, 1.0);
  EXPECT_THROW(evaluate_attack("x", {1, 2}, {1}), ParameterError);
  EXPECT_THROW(evaluate_attack("x", {1, 2}, {1, 1}), ParameterError);
}

MembershipSetup setup_for(const std::vector<chem::Molecule>& population, double lambda,
                          std::uint64_t seed) {
  MembershipSetup s;
  s.population = population;
  s.member = random_membership(population.size(), population.size() / 2, seed);
  s.representation =
      chem::RepresentationSpec::fit(chem::RepresentationKind::CoulombMatrix, qm7_range(0, 600));
  s.kernel = ml::Kernel{ml::KernelKind::Laplacian, std::pow(10.0, 4.2), 1, 1, 2};
  s.lambda = lambda;
  s.target = "ae_pbe0";
  return s;
}

MembershipOptions fast_options() {
  MembershipOptions o;
  o.shadows = 8;
  o.seed = 3;
  return o;
}

TEST(Membership, OverfitModelIsClearlyAttackable) {
  const auto report = audit_membership(setup_for(qm7_range(0, 300), 1e-10, 1), fast_options());
  ASSERT_EQ(report.configs.size(), 3u);
  const auto& a = report.configs[0];
  EXPECT_EQ(a.name, "a-default");
  EXPECT_GT(a.loss.auc, 0.9);
  EXPECT_GT(a.lira_online.auc, 0.9);
  EXPECT_GT(a.lira_offline.auc, 0.9);
  EXPECT_GT(a.lira_online.tpr_at_1pct, 0.5);  // an interpolating model gives its members away
  EXPECT_LT(a.member_mae, 0.01);
  EXPECT_GT(a.non_member_mae, 1.0);
  // (b) uses a larger lambda, (c) rounds: members' answers are no longer exact.
  EXPECT_GT(report.configs[1].lambda, a.lambda);
  EXPECT_GT(report.configs[1].member_mae, a.member_mae);
  EXPECT_DOUBLE_EQ(report.configs[2].round_step, 1.0);
  EXPECT_GT(report.configs[2].member_mae, 0.1);
}

TEST(Membership, ModelTrainedOnDisjointDataIsAtChance) {
  MembershipSetup s = setup_for(qm7_range(0, 300), 1e-10, 1);
  s.target_training_override = qm7_range(300, 450);  // the "members" were never trained on
  const auto report = audit_membership(s, fast_options());
  for (const auto& c : report.configs) {
    for (const auto* m : {&c.loss, &c.lira_online, &c.lira_offline}) {
      EXPECT_GT(m->auc, 0.38) << c.name << " " << m->attack;
      EXPECT_LT(m->auc, 0.62) << c.name << " " << m->attack;
    }
  }
}

TEST(Membership, DeterministicForASeed) {
  const auto s = setup_for(qm7_range(0, 120), 1e-10, 5);
  const auto a = audit_membership(s, fast_options());
  const auto b = audit_membership(s, fast_options());
  for (std::size_t c = 0; c < 3; ++c) {
    EXPECT_EQ(a.configs[c].lira_online.auc, b.configs[c].lira_online.auc);
    EXPECT_EQ(a.configs[c].lira_offline.tpr_at_1pct, b.configs[c].lira_offline.tpr_at_1pct);
    EXPECT_EQ(a.configs[c].non_member_mae, b.configs[c].non_member_mae);
  }
  EXPECT_EQ(random_membership(50, 20, 9), random_membership(50, 20, 9));
  EXPECT_NE(random_membership(50, 20, 9), random_membership(50, 20, 10));
}

TEST(Membership, RejectsMalformedInput) {
  auto s = setup_for(qm7_range(0, 40), 1e-10, 1);
  auto o = fast_options();
  o.shadows = 1;
  EXPECT_THROW(audit_membership(s, o), InputError);
  o = fast_options();
  o.round_step = 0.0;
  EXPECT_THROW(audit_membership(s, o), InputError);
  auto few = s;
  few.member.assign(few.population.size(), 0);
  few.member[0] = 1;
  EXPECT_THROW(audit_membership(few, fast_options()), InputError);
  auto ragged = s;
  ragged.member.pop_back();
  EXPECT_THROW(audit_membership(ragged, fast_options()), InputError);
  auto unlabeled = s;
  unlabeled.population[3].properties.clear();
  EXPECT_THROW(audit_membership(unlabeled, fast_options()), InputError);
  auto bad_lambda = s;
  bad_lambda.lambda = -1;
  EXPECT_THROW(audit_membership(bad_lambda, fast_options()), InputError);
  EXPECT_THROW(random_membership(10, 11, 1), InputError);
}

}  // namespace
}  // namespace encmol::audit

namespace encmol::audit {
namespace {

// A family other than global KRR: target and shadows refit through ml::train at one hyper-parameter
// point.
TEST(Membership, QuadraticFamilyThroughRefitOptions) {
  const auto data = testing::qm7_range(0, 160);
  MembershipSetup setup;
  setup.population = data;
  setup.member = random_membership(data.size(), 80, 5);
  setup.target = "ae_pbe0";
  ml::TrainOptions o;
  o.family = ml::ModelFamily::Quadratic;
  o.representation = chem::RepresentationKind::Cmbdf;
  o.representation_options = chem::capacity_for(data);
  o.coef0s = {2.0};
  setup.family_training = o;
  setup.lambda = 1e-4;
  setup.representation = chem::RepresentationSpec::fit(chem::RepresentationKind::Cmbdf, data);
  MembershipOptions m;
  m.shadows = 4;
  const MembershipReport r = audit_membership(setup, m);
  ASSERT_EQ(r.configs.size(), 3u);
  EXPECT_EQ(r.model, "quadratic on cmbdf");
  // Members are fitted better than non-members, and a larger lambda narrows the gap.
  EXPECT_LT(r.configs[0].member_mae, r.configs[0].non_member_mae);
  EXPECT_GT(r.configs[0].loss.auc, 0.5);
  EXPECT_GT(r.configs[1].member_mae, r.configs[0].member_mae);
}

}  // namespace
}  // namespace encmol::audit
