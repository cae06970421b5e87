// The data sets shipped in data/ read back with the expected counts and values.
#include <gtest/gtest.h>

#include <cmath>

#include "encmol/chem/molecule.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/chem/xtb.hpp"

namespace encmol::chem {
namespace {

TEST(BundledData, Qm7) {
  const auto molecules = read_molecules(ENCMOL_SOURCE_DIR "/data/qm7.xyz.gz");
  ASSERT_EQ(molecules.size(), 7101u);
  const Molecule& methane = molecules.front();
  EXPECT_EQ(methane.name, "0001.xyz");
  EXPECT_EQ(molecular_formula(methane), "CH4");
  EXPECT_EQ(methane.charges, (std::vector<int>{6, 1, 1, 1, 1}));
  EXPECT_DOUBLE_EQ(methane.positions[0][0], 1.041682);
  EXPECT_DOUBLE_EQ(methane.positions[4][2], 0.228641);
  EXPECT_DOUBLE_EQ(methane.properties.at("ae_pbe0"), -417.031);
  EXPECT_DOUBLE_EQ(methane.properties.at("ae_dftb"), -431.787271961);
  EXPECT_EQ(molecules.back().name, "7172.xyz");
  EXPECT_DOUBLE_EQ(methane.properties.at("xtb_energy"), -4.1750912855);
  EXPECT_DOUBLE_EQ(methane.properties.at("xtb_gap"), 0.6246897963);
  EXPECT_DOUBLE_EQ(methane.properties.at("xtb_dipole"), 0.000003);
  EXPECT_EQ(
      common_property_names(molecules),
      (std::vector<std::string>{"ae_dftb", "ae_pbe0", "xtb_dipole", "xtb_energy", "xtb_gap"}));
  std::size_t max_atoms = 0;
  for (const auto& m : molecules) {
    max_atoms = std::max(max_atoms, m.size());
    for (int z : m.charges) EXPECT_TRUE(z == 1 || z == 6 || z == 7 || z == 8 || z == 16);
  }
  EXPECT_EQ(max_atoms, 23u);
  const auto y = property_matrix(molecules, {"ae_pbe0"}, "qm7");
  EXPECT_NEAR(y.minCoeff(), -2188.25, 1e-9);
  EXPECT_NEAR(y.maxCoeff(), -403.695, 1e-9);
}

TEST(BundledData, C7o2h10) {
  const auto molecules = read_molecules(ENCMOL_SOURCE_DIR "/data/c7o2h10.xyz.gz");
  ASSERT_EQ(molecules.size(), 6095u);
  for (const auto& m : molecules) ASSERT_EQ(molecular_formula(m), "C7H10O2") << m.name;
  const Molecule& first = molecules.front();
  EXPECT_EQ(first.name, "dsC7O2H10nsd_0001");
  EXPECT_DOUBLE_EQ(first.positions[0][0], -1.8396);
  EXPECT_DOUBLE_EQ(first.properties.at("A"), 3.1580357);
  EXPECT_DOUBLE_EQ(first.properties.at("U0"), -422.593067);
  EXPECT_DOUBLE_EQ(first.properties.at("Cv"), 34.695);
  EXPECT_EQ(first.text_properties.at("smiles"), "CC(C)(O)c1ccco1");
  EXPECT_EQ(molecules.back().name, "dsC7O2H10nsd_6095");
  EXPECT_DOUBLE_EQ(first.properties.at("xtb_energy"), -28.2083436144);
  EXPECT_DOUBLE_EQ(first.properties.at("xtb_gap"), 0.1733893499);
  EXPECT_DOUBLE_EQ(first.properties.at("xtb_dipole"), 1.807904);
  EXPECT_EQ(common_property_names(molecules),
            (std::vector<std::string>{"A", "B", "C", "Cv", "G", "H", "U", "U0", "alpha", "gap",
                                      "homo", "lumo", "mu", "r2", "xtb_dipole", "xtb_energy",
                                      "xtb_gap", "zpve"}));
}

// The bundled xTB values are what chem::xtb_single_point computes now (they
// are printed with 10 decimals of a hartree and 6 of a debye).
TEST(BundledData, XtbValuesMatchTheCode) {
  for (const char* file : {"/data/qm7.xyz.gz", "/data/c7o2h10.xyz.gz"}) {
    const auto molecules = read_molecules(std::string(ENCMOL_SOURCE_DIR) + file);
    for (std::size_t i = 0; i < molecules.size(); i += 997) {
      const Molecule& m = molecules[i];
      const XtbResult r = xtb_single_point(m);
      EXPECT_NEAR(m.properties.at("xtb_energy"), r.energy_hartree, 1e-9) << m.name;
      EXPECT_NEAR(m.properties.at("xtb_gap"), r.gap_hartree, 1e-9) << m.name;
      EXPECT_NEAR(m.properties.at("xtb_dipole"), r.dipole_debye, 1e-5) << m.name;
    }
  }
}

}  // namespace
}  // namespace encmol::chem
