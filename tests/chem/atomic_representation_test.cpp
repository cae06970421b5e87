// RepresentationSpec with an atomic kind (FCHL19): per-atom stacks, the
// per-element bagged global vector, element checks and the stored form.
#include <gtest/gtest.h>

#include <cmath>

#include "encmol/chem/cmbdf.hpp"
#include "encmol/chem/fchl19.hpp"
#include "encmol/chem/representation.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"

namespace encmol::chem {
namespace {

Molecule methanol() {
  return {"methanol",
          {6, 8, 1, 1, 1, 1},
          {Vec3{-0.0467, 0.6631, 0.0}, Vec3{-0.0467, -0.7570, 0.0}, Vec3{-1.0839, 0.9764, 0.0},
           Vec3{0.4476, 1.0880, 0.8830}, Vec3{0.4476, 1.0880, -0.8900}, Vec3{0.8549, -1.0800, 0.0}},
          {}};
}

Molecule water() { return {"water", {8, 1, 1}, {Vec3{0, 0, 0}, Vec3{0.96, 0, 0}, Vec3{0, 1.0, 0}}, {}}; }

TEST(AtomicRepresentation, StacksMatchTheFeaturizerAndOffsetsFollowMolecules) {
  const std::vector<Molecule> mols{methanol(), water(), methanol()};
  const auto spec = RepresentationSpec::fit(RepresentationKind::Fchl19, mols);
  ASSERT_TRUE(spec.is_atomic());
  EXPECT_EQ(spec.elements(), (std::vector<int>{1, 6, 8}));
  EXPECT_EQ(spec.atom_dimension(), fchl19_dimension(Fchl19Parameters{}, 3));
  EXPECT_EQ(spec.element_capacity(), (std::vector<std::size_t>{4, 1, 1}));
  EXPECT_EQ(spec.dimension(), 6 * spec.atom_dimension());
  const AtomicFeatures f = spec.featurize_atoms(mols);
  EXPECT_EQ(f.offsets, (std::vector<std::size_t>{0, 6, 9, 15}));
  EXPECT_EQ(f.charges, (std::vector<int>{6, 8, 1, 1, 1, 1, 8, 1, 1, 6, 8, 1, 1, 1, 1}));
  std::vector<double> direct(3 * spec.atom_dimension());
  fchl19_atoms(water(), spec.elements(), Fchl19Parameters{}, direct);
  for (std::size_t k = 0; k < direct.size(); ++k) EXPECT_EQ(f.values.data()[6 * spec.atom_dimension() + k], direct[k]);
  core::set_thread_count(1);
  const AtomicFeatures serial = spec.featurize_atoms(mols);
  core::set_thread_count(0);
  EXPECT_TRUE(serial.values == f.values);
}

TEST(AtomicRepresentation, GlobalFormBagsAtomsByElementSortedByNorm) {
  const std::vector<Molecule> mols{methanol(), water()};
  const auto spec = RepresentationSpec::fit(RepresentationKind::Fchl19, mols);
  const std::size_t d = spec.atom_dimension();
  const std::vector<double> bag = spec.featurize(water());
  ASSERT_EQ(bag.size(), spec.dimension());
  std::vector<double> atoms(3 * d);
  spec.featurize_atoms(water(), atoms);
  auto norm = [&](const double* v) {
    double s = 0;
    for (std::size_t k = 0; k < d; ++k) s += v[k] * v[k];
    return s;
  };
  // H block (capacity 4): the two hydrogens, larger norm first, then zeros.
  const double n1 = norm(atoms.data() + d), n2 = norm(atoms.data() + 2 * d);
  const double* first = atoms.data() + (n1 >= n2 ? 1 : 2) * d;
  for (std::size_t k = 0; k < d; ++k) EXPECT_EQ(bag[k], first[k]);
  EXPECT_GE(norm(bag.data()), norm(bag.data() + d));
  for (std::size_t k = 2 * d; k < 4 * d; ++k) EXPECT_EQ(bag[k], 0.0);
  // C block (capacity 1) empty for water; O block holds the oxygen.
  for (std::size_t k = 4 * d; k < 5 * d; ++k) EXPECT_EQ(bag[k], 0.0);
  for (std::size_t k = 0; k < d; ++k) EXPECT_EQ(bag[5 * d + k], atoms[k]);
  // Atom order does not matter.
  Molecule swapped = water();
  std::swap(swapped.charges[0], swapped.charges[2]);
  std::swap(swapped.positions[0], swapped.positions[2]);
  const std::vector<double> bag2 = spec.featurize(swapped);
  for (std::size_t k = 0; k < bag.size(); ++k) EXPECT_NEAR(bag2[k], bag[k], 1e-12);
}

TEST(AtomicRepresentation, ElementAndCapacityErrorsNameTheMolecule) {
  const auto spec = RepresentationSpec::fit(RepresentationKind::Fchl19, {water()});
  Molecule sulfur = water();
  sulfur.name = "thio";
  sulfur.charges[0] = 16;
  std::vector<double> out(3 * spec.atom_dimension());
  try {
    spec.featurize_atoms(sulfur, out);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("thio"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(" S"), std::string::npos) << e.what();
  }
  // Per-atom vectors take any number of atoms of a known element; the bagged
  // global vector only up to the capacity.
  const Molecule big = methanol();
  const auto spec2 = RepresentationSpec::fit(RepresentationKind::Fchl19, {water(), Molecule{"co", {6, 8}, {Vec3{0, 0, 0}, Vec3{1.13, 0, 0}}, {}}});
  std::vector<double> atoms(big.size() * spec2.atom_dimension());
  EXPECT_NO_THROW(spec2.featurize_atoms(big, atoms));
  EXPECT_THROW(spec2.featurize(big), InputError);
}

TEST(AtomicRepresentation, StoredFormRoundTripsWithParametersAndRejectsBadOnes) {
  RepresentationOptions options;
  options.fchl19.n2 = 12;
  options.fchl19.rcut = 6.0;
  const auto spec = RepresentationSpec::fit(RepresentationKind::Fchl19, {methanol()}, options);
  core::ByteWriter w;
  spec.write(w);
  core::ByteReader r(w.data(), "spec");
  const auto back = RepresentationSpec::read(r);
  EXPECT_EQ(back, spec);
  EXPECT_EQ(back.fchl19_parameters().n2, 12u);
  EXPECT_EQ(back.atom_dimension(), spec.atom_dimension());
  // A grid size beyond the cap in the stored parameters is refused.
  core::Bytes bad = w.data();
  core::ByteWriter head;
  RepresentationSpec::fit(RepresentationKind::Fchl19, {methanol()}).write(head);
  ASSERT_EQ(bad.size(), head.size());
  // n2 is the first field after the header (kind, max atoms, elements, dimension).
  const std::size_t n2_at = 1 + 8 + 8 + 3 * (4 + 8) + 8;
  bad[n2_at] = 0xff;
  bad[n2_at + 1] = 0xff;
  core::ByteReader rb(bad, "spec");
  EXPECT_THROW(RepresentationSpec::read(rb), FormatError);
}

}  // namespace
}  // namespace encmol::chem

namespace encmol::chem {
namespace {

TEST(AtomicRepresentation, CmbdfSpecStacksAndRoundTrips) {
  const std::vector<Molecule> mols{methanol(), water()};
  RepresentationOptions options;
  options.cmbdf.switch_width = 0.5;
  const auto spec = RepresentationSpec::fit(RepresentationKind::Cmbdf, mols, options);
  ASSERT_TRUE(spec.is_atomic());
  EXPECT_EQ(spec.atom_dimension(), cmbdf_dimension(options.cmbdf));
  const AtomicFeatures f = spec.featurize_atoms(mols);
  std::vector<double> direct(6 * spec.atom_dimension());
  cmbdf_atoms(methanol(), options.cmbdf, direct);
  for (std::size_t k = 0; k < direct.size(); ++k) EXPECT_EQ(f.values.data()[k], direct[k]);
  core::ByteWriter w;
  spec.write(w);
  core::ByteReader r(w.data(), "spec");
  const auto back = RepresentationSpec::read(r);
  EXPECT_EQ(back, spec);
  EXPECT_EQ(back.cmbdf_parameters().switch_width, 0.5);
  EXPECT_EQ(parse_representation_kind("cMBDF"), RepresentationKind::Cmbdf);
  EXPECT_NE(spec.describe().find("cMBDF"), std::string::npos);
}

}  // namespace
}  // namespace encmol::chem
