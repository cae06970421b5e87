#include "encmol/chem/elements.hpp"

#include <gtest/gtest.h>

#include "chem_test_util.hpp"
#include "encmol/chem/molecule.hpp"

namespace encmol::chem {
namespace {

using testing::expect_input_error;

TEST(Elements, SymbolsAndNumbersRoundTrip) {
  for (int z = 1; z <= kMaxAtomicNumber; ++z) {
    const auto symbol = element_symbol(z);
    EXPECT_EQ(find_atomic_number(symbol), z) << symbol;
  }
  EXPECT_EQ(element_symbol(1), "H");
  EXPECT_EQ(element_symbol(6), "C");
  EXPECT_EQ(element_symbol(17), "Cl");
  EXPECT_EQ(element_symbol(26), "Fe");
  EXPECT_EQ(element_symbol(79), "Au");
  EXPECT_EQ(element_symbol(92), "U");
  EXPECT_EQ(element_symbol(118), "Og");
}

TEST(Elements, ParsingIsCaseInsensitive) {
  EXPECT_EQ(find_atomic_number("c"), 6);
  EXPECT_EQ(find_atomic_number("CL"), 17);
  EXPECT_EQ(find_atomic_number("cl"), 17);
  EXPECT_EQ(find_atomic_number("sI"), 14);
  EXPECT_EQ(find_atomic_number("o"), 8);
}

TEST(Elements, UnknownSymbols) {
  EXPECT_FALSE(find_atomic_number(""));
  EXPECT_FALSE(find_atomic_number("Xx"));
  EXPECT_FALSE(find_atomic_number("Car"));
  EXPECT_FALSE(find_atomic_number(" C"));
  expect_input_error([] { atomic_number("Xx", "a.xyz line 3"); },
                     {"a.xyz line 3", "unknown element 'Xx'"});
  EXPECT_THROW(element_symbol(0), InputError);
  EXPECT_THROW(element_symbol(119), InputError);
}

Molecule water() {
  Molecule m;
  m.name = "water";
  m.charges = {8, 1, 1};
  m.positions = {{0.0, 0.0, 0.0}, {0.9572, 0.0, 0.0}, {-0.24, 0.927, 0.0}};
  return m;
}

TEST(Molecule, ValidateAcceptsWater) {
  EXPECT_NO_THROW(validate_molecule(water(), "ctx"));
  EXPECT_EQ(molecular_formula(water()), "H2O");
}

TEST(Molecule, FormulaHillOrder) {
  Molecule m;
  m.charges = {8, 6, 1, 6, 1, 1, 1, 1, 1, 7};
  EXPECT_EQ(molecular_formula(m), "C2H6NO");
  m.charges = {17, 11};
  EXPECT_EQ(molecular_formula(m), "ClNa");
}

TEST(Molecule, ValidateRejects) {
  auto m = water();
  m.charges.clear();
  m.positions.clear();
  expect_input_error([&] { validate_molecule(m, "f.xyz line 1"); }, {"f.xyz line 1", "no atoms"});
  m = water();
  m.positions.pop_back();
  expect_input_error([&] { validate_molecule(m, "ctx"); },
                     {"ctx", "3 nuclear charges but 2 positions"});
  m = water();
  m.charges[1] = 0;
  expect_input_error([&] { validate_molecule(m, "ctx"); }, {"atom 2", "not an element"});
  m = water();
  m.charges[2] = 119;
  expect_input_error([&] { validate_molecule(m, "ctx"); }, {"atom 3"});
  m = water();
  m.positions[1][2] = std::numeric_limits<double>::quiet_NaN();
  expect_input_error([&] { validate_molecule(m, "ctx"); }, {"atom 2", "non-finite"});
  m = water();
  m.positions[2] = {0.9572, 0.05, 0.0};
  expect_input_error([&] { validate_molecule(m, "ctx"); }, {"atoms 2 and 3", "coincident"});
}

TEST(Molecule, CoincidenceCheckScalesAndFindsFarPairs) {
  // A long chain where the coincident pair is far apart in input order.
  Molecule m;
  for (int i = 0; i < 5000; ++i) {
    m.charges.push_back(6);
    m.positions.push_back({1.5 * i, 0.0, 0.0});
  }
  EXPECT_NO_THROW(validate_molecule(m, "ctx"));
  m.positions[4999] = {1.5 * 17 + 0.05, 0.0, 0.0};
  expect_input_error([&] { validate_molecule(m, "ctx"); }, {"atoms 18 and 5000"});
}

}  // namespace
}  // namespace encmol::chem
