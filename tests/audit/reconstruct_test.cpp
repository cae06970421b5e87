#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <limits>

#include "audit_test_util.hpp"
#include "encmol/audit/reconstruct.hpp"
#include "encmol/chem/coulomb_matrix.hpp"
#include "encmol/chem/representation.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"

#include <Eigen/SVD>

namespace encmol::audit {
namespace {

using namespace testing;

std::vector<chem::Molecule> known_molecules() {
  return {methane(), benzene(), water(), acetylene(), qm7()[0], qm7()[1234], qm7()[7000]};
}

TEST(ReconstructCm, ExactOnKnownMoleculesIncludingSymmetricOnes) {
  for (const auto& m : known_molecules()) {
    std::vector<double> cm(chem::coulomb_matrix_size(25));
    chem::sorted_coulomb_matrix(m, 25, cm);
    const CmInversion inv = invert_coulomb_matrix(cm, 25);
    EXPECT_EQ(chem::molecular_formula(inv.molecule), chem::molecular_formula(m)) << m.name;
    EXPECT_LT(inv.distance_residual, 1e-8) << m.name;
    const MatchResult match = compare_molecules(inv.molecule, m);
    EXPECT_TRUE(match.exact()) << m.name;
    EXPECT_LT(match.rmsd, 1e-7) << m.name;
    // The recovered molecule has the same Coulomb-matrix values (the order of
    // symmetry-equivalent atoms may differ: their row norms tie).
    std::vector<double> again(cm.size());
    chem::sorted_coulomb_matrix(inv.molecule, 25, again);
    std::sort(again.begin(), again.end());
    std::sort(cm.begin(), cm.end());
    for (std::size_t i = 0; i < cm.size(); ++i) EXPECT_NEAR(again[i], cm[i], 1e-6 * (1 + std::abs(cm[i])));
  }
}

TEST(ReconstructCm, SingleAtomAndDiatomic) {
  const chem::Molecule he{"he", {2}, {{1, 2, 3}}, {}};
  const chem::Molecule co{"co", {6, 8}, {{0, 0, 0}, {0, 0, 1.128}}, {}};
  for (const auto& m : {he, co}) {
    std::vector<double> cm(chem::coulomb_matrix_size(3));
    chem::sorted_coulomb_matrix(m, 3, cm);
    EXPECT_TRUE(compare_molecules(invert_coulomb_matrix(cm, 3).molecule, m).exact()) << m.name;
  }
}

TEST(ReconstructCm, RejectsMalformedVectors) {
  std::vector<double> cm(chem::coulomb_matrix_size(5));
  chem::sorted_coulomb_matrix(water(), 5, cm);
  EXPECT_THROW(invert_coulomb_matrix(std::span<const double>(cm).first(cm.size() - 1), 5), InputError);
  auto bad = cm;
  bad[0] = 37.0;  // not 0.5 Z^2.4 of any element
  EXPECT_THROW(invert_coulomb_matrix(bad, 5), InputError);
  bad = cm;
  bad[1] = -1.0;  // negative Coulomb term
  EXPECT_THROW(invert_coulomb_matrix(bad, 5), InputError);
  bad = cm;
  bad[1] = 1e6;  // atoms 0.00005 Å apart
  EXPECT_THROW(invert_coulomb_matrix(bad, 5), InputError);
  bad = cm;
  bad.back() = 0.5;  // value in the zero padding
  EXPECT_THROW(invert_coulomb_matrix(bad, 5), InputError);
  bad = cm;
  bad[2] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(invert_coulomb_matrix(bad, 5), InputError);
  EXPECT_THROW(invert_coulomb_matrix(std::vector<double>(cm.size(), 0.0), 5), InputError);
}

chem::BagLayout layout_of(const chem::RepresentationSpec& spec) {
  chem::BagLayout layout;
  layout.elements = spec.elements();
  layout.capacity = spec.element_capacity();
  layout.bags = spec.bags();
  layout.dimension = spec.dimension();
  return layout;
}

TEST(ReconstructBob, CompositionDistancesAndGeometryOfKnownMolecules) {
  const auto molecules = known_molecules();
  const auto spec = chem::RepresentationSpec::fit(chem::RepresentationKind::BagOfBonds, molecules);
  for (const auto& m : molecules) {
    const BobInversion inv = invert_bag_of_bonds(spec.featurize(m), layout_of(spec));
    chem::Molecule composition;
    composition.charges = inv.charges;
    EXPECT_EQ(chem::molecular_formula(composition), chem::molecular_formula(m)) << m.name;
    EXPECT_TRUE(same_pair_distances(inv.pairs, pair_distances(m))) << m.name;
    if (m.name == "benzene") continue;  // not unique, see the next test
    if (!inv.geometry) {
      EXPECT_TRUE(inv.budget_exhausted) << m.name;  // the search may give up, never fail silently
      EXPECT_GT(m.size(), 12u) << m.name;
      continue;
    }
    EXPECT_TRUE(compare_molecules(*inv.geometry, m).exact()) << m.name;
    EXPECT_TRUE(same_pair_distances(pair_distances(*inv.geometry), pair_distances(m), 1e-6)) << m.name;
  }
}

TEST(ReconstructBob, BagOfBondsIsNotInjective) {
  // Benzene's bags (C-C, C-H, H-H distance multisets) are also those of a
  // non-congruent 3-D arrangement (two stacked C3H3 triangles); the search
  // finds that one first. Both reproduce every distance multiset exactly.
  const chem::Molecule m = benzene();
  const auto spec = chem::RepresentationSpec::fit(chem::RepresentationKind::BagOfBonds, {m});
  const BobInversion inv = invert_bag_of_bonds(spec.featurize(m), layout_of(spec));
  ASSERT_TRUE(inv.geometry.has_value());
  EXPECT_TRUE(same_pair_distances(pair_distances(*inv.geometry), pair_distances(m), 1e-6));
  const MatchResult match = compare_molecules(*inv.geometry, m);
  EXPECT_TRUE(match.same_composition);
  EXPECT_GT(match.rmsd, 0.5);
  // Not planar, unlike benzene.
  const Eigen::MatrixXd x = positions_matrix(*inv.geometry);
  const Eigen::MatrixXd c = x.rowwise() - x.colwise().mean();
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(c);
  EXPECT_GT(svd.singularValues()(2), 1.0);
  // Its Bag of Bonds is benzene's.
  const auto a = spec.featurize(m);
  const auto b = spec.featurize(*inv.geometry);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-9 * (1 + a[i]));
}

TEST(ReconstructBob, SmallSymmetricQm7MoleculesAreRecoveredExactly) {
  // Ethane, ethylene, ... : equivalent atoms make the comparison's atom
  // pairing ambiguous (regression test for compare_molecules).
  std::vector<chem::Molecule> small;
  for (const auto& m : qm7()) {
    if (m.size() <= 8) small.push_back(m);
  }
  ASSERT_GE(small.size(), 5u);
  const auto spec = chem::RepresentationSpec::fit(chem::RepresentationKind::BagOfBonds, small);
  for (const auto& m : small) {
    const BobInversion inv = invert_bag_of_bonds(spec.featurize(m), layout_of(spec));
    ASSERT_TRUE(inv.geometry.has_value()) << m.name;
    EXPECT_TRUE(compare_molecules(*inv.geometry, m).exact()) << m.name << " " << chem::molecular_formula(m);
  }
}

TEST(ReconstructBob, BudgetIsRespectedAndReported) {
  const auto m = qm7()[7000];
  const auto spec = chem::RepresentationSpec::fit(chem::RepresentationKind::BagOfBonds, {m});
  BobSearchOptions tiny;
  tiny.node_budget = 3;
  const BobInversion inv = invert_bag_of_bonds(spec.featurize(m), layout_of(spec), tiny);
  EXPECT_TRUE(inv.budget_exhausted);
  EXPECT_FALSE(inv.geometry.has_value());
  EXPECT_LE(inv.nodes, 4u);
}

TEST(ReconstructBob, RejectsMalformedVectors) {
  const auto spec = chem::RepresentationSpec::fit(chem::RepresentationKind::BagOfBonds, {water(), methane()});
  const auto layout = layout_of(spec);
  auto f = spec.featurize(water());
  EXPECT_THROW(invert_bag_of_bonds(std::span<const double>(f).first(f.size() - 1), layout), InputError);
  // Drop one O-H distance: the bag no longer matches the composition.
  auto bad = f;
  for (const auto& bag : layout.bags) {
    if (!bag.self && bag.z_a == 1 && bag.z_b == 8) bad[bag.offset] = 0.0;
  }
  EXPECT_THROW(invert_bag_of_bonds(bad, layout), InputError);
  bad = f;
  bad[layout.bags.front().offset] = 3.0;  // not a self term
  EXPECT_THROW(invert_bag_of_bonds(bad, layout), InputError);
  EXPECT_THROW(invert_bag_of_bonds(std::vector<double>(f.size(), 0.0), layout), InputError);
}

TEST(ReconstructModel, CmModelGivesBackEveryTrainingMolecule) {
  const auto train = qm7_range(0, 150);
  const ml::Model model = train_small(train, chem::RepresentationKind::CoulombMatrix);
  auto reference = qm7_range(0, 400);  // holds the training molecules among others
  const ReconstructionReport r = reconstruct_model(model, &reference);
  EXPECT_EQ(r.training_rows, 150u);
  EXPECT_EQ(r.geometries, 150u);
  EXPECT_EQ(r.with_reference, 150u);
  EXPECT_EQ(r.composition_recovered, 150u);
  EXPECT_EQ(r.distances_recovered, 150u);
  EXPECT_EQ(r.exact, 150u);
  EXPECT_DOUBLE_EQ(r.exact_rate(), 1.0);
  for (const auto& item : r.items) {
    ASSERT_TRUE(item.reference.has_value());
    EXPECT_EQ(*item.reference, item.row);  // training rows keep the input order
    EXPECT_LT(*item.rmsd, 1e-6);
  }
  // Without reference: geometries but nothing compared.
  const ReconstructionReport blind = reconstruct_model(model, nullptr);
  EXPECT_EQ(blind.geometries, 150u);
  EXPECT_EQ(blind.with_reference, 0u);
  EXPECT_EQ(blind.exact_rate(), 0.0);
}

TEST(ReconstructModel, BobModelGivesCompositionsAndMostGeometries) {
  const auto train = qm7_range(1000, 1100);
  const ml::Model model = train_small(train, chem::RepresentationKind::BagOfBonds);
  const ReconstructionReport r = reconstruct_model(model, &train);
  EXPECT_EQ(r.with_reference, 100u);
  EXPECT_EQ(r.composition_recovered, 100u);
  EXPECT_EQ(r.distances_recovered, 100u);
  EXPECT_GE(r.exact, 80u);
  // Every geometry the search assembles reproduces all distance multisets,
  // so on QM7 each is the training molecule.
  EXPECT_EQ(r.exact, r.geometries);
}

TEST(ReconstructModel, DeterministicForAnyThreadCount) {
  const auto train = qm7_range(0, 60);
  const ml::Model model = train_small(train, chem::RepresentationKind::CoulombMatrix);
  core::set_thread_count(1);
  const auto a = reconstruct_model(model, nullptr);
  core::set_thread_count(2);
  const auto b = reconstruct_model(model, nullptr);
  core::set_thread_count(0);
  ASSERT_EQ(a.items.size(), b.items.size());
  for (std::size_t i = 0; i < a.items.size(); ++i) {
    EXPECT_EQ(a.items[i].molecule->positions, b.items[i].molecule->positions);
  }
}

TEST(ReconstructModel, MatchTrainingRowsFindsExactlyTheTrainingSet) {
  const auto data = qm7_range(0, 300);
  const auto train = qm7_range(100, 200);
  const ml::Model model = train_small(train, chem::RepresentationKind::CoulombMatrix, 1e-10, data);
  const auto matches = match_training_rows(model, data);
  ASSERT_EQ(matches.size(), 100u);
  for (std::size_t r = 0; r < matches.size(); ++r) {
    ASSERT_TRUE(matches[r].has_value());
    EXPECT_EQ(*matches[r], 100 + r);
  }
}

}  // namespace
}  // namespace encmol::audit
