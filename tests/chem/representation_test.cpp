#include "encmol/chem/representation.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "encmol/chem/bag_of_bonds.hpp"
#include "encmol/chem/coulomb_matrix.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"

namespace encmol::chem {
namespace {

Molecule h2() { return {"H2", {1, 1}, {Vec3{0, 0, 0}, Vec3{0.74, 0, 0}}, {}}; }

// Water, O at the origin, bond lengths 0.96 and 1.00 Å (asymmetric on purpose,
// so the two hydrogens have different row norms).
Molecule water() {
  return {"water",
          {8, 1, 1},
          {Vec3{0, 0, 0}, Vec3{0.96, 0, 0}, Vec3{0, 1.0, 0}},
          {}};
}

Molecule methanol() {
  return {"methanol",
          {6, 8, 1, 1, 1, 1},
          {Vec3{-0.0467, 0.6631, 0.0}, Vec3{-0.0467, -0.7570, 0.0}, Vec3{-1.0839, 0.9764, 0.0},
           Vec3{0.4476, 1.0880, 0.8830}, Vec3{0.4476, 1.0880, -0.8900}, Vec3{0.8549, -1.0800, 0.0}},
          {}};
}

double dist(const Vec3& a, const Vec3& b) {
  return std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
                   (a[2] - b[2]) * (a[2] - b[2]));
}

TEST(CoulombMatrix, H2HandComputed) {
  std::vector<double> out(coulomb_matrix_size(2));
  sorted_coulomb_matrix(h2(), 2, out);
  // 0.5 * 1^2.4 = 0.5 on the diagonal, 1*1/0.74 off it.
  ASSERT_EQ(out.size(), 3u);
  EXPECT_DOUBLE_EQ(out[0], 0.5);
  EXPECT_DOUBLE_EQ(out[1], 1.0 / 0.74);
  EXPECT_DOUBLE_EQ(out[2], 0.5);
}

TEST(CoulombMatrix, WaterHandComputedSortedAndPadded) {
  std::vector<double> out(coulomb_matrix_size(4));
  sorted_coulomb_matrix(water(), 4, out);
  const double o = 0.5 * std::pow(8.0, 2.4);  // 73.5167...
  EXPECT_NEAR(o, 73.51669471981023, 1e-10);
  const double oh1 = 8.0 / 0.96, oh2 = 8.0 / 1.0, hh = 1.0 / std::sqrt(0.96 * 0.96 + 1.0);
  // Row norms: O first, then the H at 0.96 Å (larger O-H term), then the other.
  const std::vector<double> expected = {o, oh1, 0.5, oh2, hh, 0.5, 0, 0, 0, 0};
  ASSERT_EQ(out.size(), expected.size());
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], expected[i], 1e-12) << i;
}

TEST(CoulombMatrix, PermutationInvariant) {
  const Molecule m = methanol();
  std::vector<std::size_t> perm = {3, 0, 5, 1, 4, 2};
  Molecule p = m;
  for (std::size_t i = 0; i < perm.size(); ++i) {
    p.charges[i] = m.charges[perm[i]];
    p.positions[i] = m.positions[perm[i]];
  }
  std::vector<double> a(coulomb_matrix_size(8)), b(coulomb_matrix_size(8));
  sorted_coulomb_matrix(m, 8, a);
  sorted_coulomb_matrix(p, 8, b);
  EXPECT_EQ(a, b);  // bit-identical
  // Rotation + translation invariance up to rounding.
  Molecule r = m;
  for (auto& x : r.positions) x = Vec3{-x[1] + 3.0, x[0] - 1.0, x[2] + 0.5};
  std::vector<double> c(coulomb_matrix_size(8));
  sorted_coulomb_matrix(r, 8, c);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], c[i], 1e-9);
}

TEST(CoulombMatrix, RowNormOrderDescending) {
  const Molecule m = methanol();
  const std::size_t n = m.size();
  std::vector<double> out(coulomb_matrix_size(n));
  sorted_coulomb_matrix(m, n, out);
  // Rebuild the sorted matrix from the triangle and check row norms descend.
  std::vector<double> full(n * n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j <= i; ++j) full[i * n + j] = full[j * n + i] = out[i * (i + 1) / 2 + j];
  double prev = 1e300;
  for (std::size_t i = 0; i < n; ++i) {
    double s = 0;
    for (std::size_t j = 0; j < n; ++j) s += full[i * n + j] * full[i * n + j];
    EXPECT_LE(s, prev * (1 + 1e-12));
    prev = s;
  }
  EXPECT_NEAR(full[0], 0.5 * std::pow(8.0, 2.4), 1e-12);  // O has the largest row
}

TEST(CoulombMatrix, RejectsCoincidentAtomsAndTooLarge) {
  Molecule bad = h2();
  bad.positions[1] = bad.positions[0];
  std::vector<double> out(coulomb_matrix_size(2));
  EXPECT_THROW(sorted_coulomb_matrix(bad, 2, out), InputError);
  std::vector<double> small(coulomb_matrix_size(2));
  try {
    sorted_coulomb_matrix(water(), 2, small);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("water"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("3 atoms"), std::string::npos);
  }
}

TEST(BagOfBonds, WaterHandComputed) {
  const auto layout = BagLayout::from_capacities({1, 8}, {2, 1});
  // Bags: self H (2), self O (1), H-H (1), H-O (2); O-O has size 0 and is omitted.
  ASSERT_EQ(layout.bags.size(), 4u);
  EXPECT_EQ(layout.dimension, 6u);
  std::vector<double> out(layout.dimension);
  bag_of_bonds(water(), layout, out);
  const double o = 0.5 * std::pow(8.0, 2.4);
  const std::vector<double> expected = {0.5, 0.5, o, 1.0 / std::sqrt(0.96 * 0.96 + 1.0), 8.0 / 0.96,
                                        8.0 / 1.0};
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], expected[i], 1e-12) << i;
}

TEST(BagOfBonds, PaddingAndPermutation) {
  const auto layout = BagLayout::from_capacities({1, 6, 8}, {5, 2, 1});
  std::vector<double> a(layout.dimension), b(layout.dimension);
  Molecule m = methanol();
  bag_of_bonds(m, layout, a);
  std::reverse(m.charges.begin(), m.charges.end());
  std::reverse(m.positions.begin(), m.positions.end());
  bag_of_bonds(m, layout, b);
  EXPECT_EQ(a, b);
  // Self H bag of 5 holds four 0.5 then one zero of padding.
  EXPECT_EQ(layout.bags[0].size, 5u);
  EXPECT_DOUBLE_EQ(a[3], 0.5);
  EXPECT_DOUBLE_EQ(a[4], 0.0);
  // Every bag is sorted descending.
  for (const auto& bag : layout.bags)
    for (std::size_t k = 1; k < bag.size; ++k) EXPECT_GE(a[bag.offset + k - 1], a[bag.offset + k]);
  // The C-O bag holds exactly Z_C Z_O / r_CO and one zero.
  const Molecule mm = methanol();
  for (const auto& bag : layout.bags) {
    if (!bag.self && bag.z_a == 6 && bag.z_b == 8) {
      EXPECT_EQ(bag.size, 2u);
      EXPECT_NEAR(a[bag.offset], 48.0 / dist(mm.positions[0], mm.positions[1]), 1e-12);
      EXPECT_EQ(a[bag.offset + 1], 0.0);
    }
  }
}

TEST(Representation, FitFeaturizeAndErrors) {
  const std::vector<Molecule> train = {water(), methanol()};
  const auto cm = RepresentationSpec::fit(RepresentationKind::CoulombMatrix, train);
  EXPECT_EQ(cm.max_atoms(), 6u);
  EXPECT_EQ(cm.dimension(), 21u);
  EXPECT_EQ(cm.elements(), (std::vector<int>{1, 6, 8}));
  const auto bob = RepresentationSpec::fit(RepresentationKind::BagOfBonds, train);
  EXPECT_EQ(bob.element_capacity(), (std::vector<std::size_t>{4, 1, 1}));
  // self 4+1+1, HH 6, HC 4, HO 4, CO 1 (CC, OO empty).
  EXPECT_EQ(bob.dimension(), 6u + 6 + 4 + 4 + 1);

  // Too many atoms / too many of an element / unknown element.
  Molecule big = methanol();
  big.name = "big";
  big.charges.push_back(1);
  big.positions.push_back(Vec3{5, 5, 5});
  try {
    (void)cm.featurize(big);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'big' has 7 atoms"), std::string::npos) << e.what();
  }
  try {
    (void)bob.featurize(big);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("5 H atoms"), std::string::npos) << e.what();
  }
  Molecule sulfur = h2();
  sulfur.name = "HS";
  sulfur.charges[0] = 16;
  for (const auto* spec : {&cm, &bob}) {
    try {
      (void)spec->featurize(sulfur);
      FAIL();
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("element S"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("HS"), std::string::npos) << e.what();
    }
  }
  // Headroom from capacity_for makes the bigger molecule fit.
  const auto roomy = RepresentationSpec::fit(RepresentationKind::BagOfBonds, train, capacity_for({big}));
  EXPECT_EQ(roomy.element_capacity()[0], 5u);
  EXPECT_NO_THROW((void)roomy.featurize(big));
  EXPECT_THROW((void)RepresentationSpec::fit(RepresentationKind::CoulombMatrix, {}), InputError);
  EXPECT_THROW(parse_representation_kind("soap"), InputError);
  EXPECT_EQ(parse_representation_kind("FCHL19"), RepresentationKind::Fchl19);
  EXPECT_EQ(parse_representation_kind("BoB"), RepresentationKind::BagOfBonds);
}

TEST(Representation, ParallelMatchesSerialAndRoundTrips) {
  std::vector<Molecule> many;
  for (int k = 0; k < 100; ++k) {
    Molecule m = k % 2 ? methanol() : water();
    for (auto& p : m.positions) p[0] *= 1.0 + 0.001 * k;
    many.push_back(m);
  }
  for (auto kind : {RepresentationKind::CoulombMatrix, RepresentationKind::BagOfBonds}) {
    const auto spec = RepresentationSpec::fit(kind, many);
    core::set_thread_count(2);
    const FeatureMatrix x = spec.featurize(many);
    core::set_thread_count(1);
    const FeatureMatrix y = spec.featurize(many);
    core::set_thread_count(0);
    EXPECT_TRUE(x == y);
    for (std::size_t i = 0; i < many.size(); ++i) {
      const auto row = spec.featurize(many[i]);
      for (std::size_t j = 0; j < row.size(); ++j) ASSERT_EQ(row[j], x(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)));
    }
    core::ByteWriter w;
    spec.write(w);
    core::ByteReader r(w.data(), "test");
    const auto back = RepresentationSpec::read(r);
    r.expect_end();
    EXPECT_EQ(back, spec);
    EXPECT_FALSE(spec.describe().empty());
    // Corrupt dimension field (last 8 bytes) is rejected.
    auto bytes = w.data();
    bytes[bytes.size() - 8] ^= 1;
    core::ByteReader bad(bytes, "test");
    EXPECT_THROW((void)RepresentationSpec::read(bad), FormatError);
  }
}

TEST(Representation, AllOfQm7) {
  const auto qm7 = read_molecules(std::string(ENCMOL_SOURCE_DIR) + "/data/qm7.xyz.gz");
  ASSERT_EQ(qm7.size(), 7101u);
  const auto cm = RepresentationSpec::fit(RepresentationKind::CoulombMatrix, qm7);
  EXPECT_EQ(cm.max_atoms(), 23u);
  EXPECT_EQ(cm.dimension(), 276u);
  EXPECT_EQ(cm.elements(), (std::vector<int>{1, 6, 7, 8, 16}));
  const FeatureMatrix x = cm.featurize(qm7);
  ASSERT_EQ(x.rows(), 7101);
  // Methane (0001.xyz): C first (largest row norm), then the four hydrogens.
  ASSERT_EQ(qm7[0].name, "0001.xyz");
  EXPECT_NEAR(x(0, 0), 0.5 * std::pow(6.0, 2.4), 1e-12);
  EXPECT_NEAR(x(0, 1), 6.0 / dist(qm7[0].positions[0], qm7[0].positions[1]), 0.05);
  EXPECT_NEAR(x(0, 1), 6.0 / 1.0892, 0.01);  // C-H bond of methane, 1.089 Å
  for (int j = 15; j < 276; ++j) EXPECT_EQ(x(0, j), 0.0);  // 5 atoms: 15 values, rest padding
  const auto bob = RepresentationSpec::fit(RepresentationKind::BagOfBonds, qm7);
  EXPECT_EQ(bob.element_capacity(), (std::vector<std::size_t>{16, 7, 3, 3, 1}));
  EXPECT_EQ(bob.featurize(qm7).rows(), 7101);
}

}  // namespace
}  // namespace encmol::chem
