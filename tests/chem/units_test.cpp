// Unit conversion: CODATA 2018 values, aliases, round trips and errors.
#include "encmol/chem/units.hpp"

#include <gtest/gtest.h>

#include "chem_test_util.hpp"
#include "encmol/core/error.hpp"

namespace encmol::chem {
namespace {

using testing::expect_input_error;

TEST(Units, EnergiesAgreeWithCodata2018) {
  // NIST CODATA 2018: Eh = 27.211386245988 eV = 4.3597447222071e-18 J;
  // Eh * NA = 2625.4996394799 kJ/mol = 627.50947406 kcal/mol (4.184 J/cal).
  EXPECT_NEAR(convert(1.0, "hartree", "eV"), 27.211386245988, 1e-11);
  EXPECT_NEAR(convert(1.0, "hartree", "meV"), 27211.386245988, 1e-8);
  EXPECT_NEAR(convert(1.0, "hartree", "kJ/mol"), 2625.4996394799, 1e-9);
  EXPECT_NEAR(convert(1.0, "hartree", "kcal/mol"), 627.5094740631, 1e-9);
  EXPECT_NEAR(convert(1.0, "kcal/mol", "kJ/mol"), 4.184, 1e-14);
  EXPECT_NEAR(convert(1.0, "eV", "kcal/mol"), 23.060547830619, 1e-9);
  EXPECT_NEAR(convert(1000.0, "meV", "eV"), 1.0, 1e-15);
  // QM7's methane atomization energy, kcal/mol -> hartree.
  EXPECT_NEAR(convert(-417.031, "kcal/mol", "Ha"), -0.664581, 1e-6);
}

TEST(Units, DipolesAgreeWithCodata2018) {
  // e * a0 = 8.4783536255e-30 C m, 1 D = 1e-21 / c C m = 3.33564095198e-30 C m.
  EXPECT_NEAR(convert(1.0, "e*bohr", "debye"), 2.541746473, 1e-9);
  EXPECT_NEAR(convert(1.0, "e*\xc3\x85", "D"), 4.80320471, 1e-8);
  EXPECT_NEAR(convert(1.0, "e*A", "e*bohr"), 1.0 / kAngstromPerBohr, 1e-12);
}

TEST(Units, IdentityIsExactAndRoundTripsAreTight) {
  const double x = -0.1234567890123456789;
  EXPECT_EQ(convert(x, "kcal/mol", "kcal/mol"), x);
  EXPECT_EQ(convert(x, "Hartree", "Eh"), x);  // aliases of one unit
  for (const char* a : {"hartree", "kcal/mol", "kJ/mol", "eV", "meV"}) {
    for (const char* b : {"hartree", "kcal/mol", "kJ/mol", "eV", "meV"}) {
      EXPECT_NEAR(convert(convert(x, a, b), b, a), x, 1e-15) << a << " -> " << b;
    }
  }
  EXPECT_NEAR(convert(convert(x, "debye", "e*bohr"), "e*bohr", "debye"), x, 1e-15);
}

TEST(Units, NamesAreMatchedWithoutCaseAndSpaces) {
  EXPECT_DOUBLE_EQ(conversion_factor("HARTREE", "kcal / mol"),
                   conversion_factor("hartree", "kcal/mol"));
  EXPECT_DOUBLE_EQ(conversion_factor("Ha", "KJ/MOL"), conversion_factor("Eh", "kJ/mol"));
  EXPECT_DOUBLE_EQ(conversion_factor("e\xc2\xb7"
                                     "bohr",
                                     "Debye"),
                   conversion_factor("e*bohr", "debye"));
  EXPECT_EQ(unit_kind(" eV "), UnitKind::kEnergy);
  EXPECT_EQ(unit_kind("mev"), UnitKind::kEnergy);
  EXPECT_EQ(unit_kind("D"), UnitKind::kDipole);
  EXPECT_EQ(unit_kind("e*angstrom"), UnitKind::kDipole);
  // MeV is not meV: a factor 1e9 must not slip through case folding.
  EXPECT_FALSE(unit_kind("MeV").has_value());
  EXPECT_FALSE(unit_kind("GHz").has_value());
  EXPECT_FALSE(unit_kind("").has_value());
}

TEST(Units, UnknownOrIncompatibleUnitsAreNamed) {
  expect_input_error([] { convert(1.0, "kcal", "hartree"); }, {"unknown unit 'kcal'", "kcal/mol"});
  expect_input_error([] { convert(1.0, "hartree", "MeV"); }, {"unknown unit 'MeV'"});
  expect_input_error([] { convert(1.0, "Bohr^3", "hartree"); }, {"'Bohr^3'"});
  expect_input_error([] { convert(1.0, "kcal/mol", "debye"); },
                     {"cannot convert 'kcal/mol' (an energy) to 'debye' (a dipole moment)"});
  expect_input_error([] { conversion_factor("e*bohr", "eV"); }, {"'e*bohr'", "'eV'"});
}

}  // namespace
}  // namespace encmol::chem
