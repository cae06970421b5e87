#include <gtest/gtest.h>

#include <string>

#include "chem_test_util.hpp"
#include "encmol/chem/molecule.hpp"
#include "encmol/chem/readers.hpp"

namespace encmol::chem {
namespace {

using testing::expect_input_error;

TEST(XyzReader, PlainSingleMolecule) {
  const auto mols = read_xyz_text(
      "3\n"
      "water, free comment\n"
      "O  0.000000  0.000000  0.117300\n"
      "h  0.000000  0.757200 -0.469200\n"
      "H  0.000000 -0.757200 -0.469200\n",
      "water.xyz");
  ASSERT_EQ(mols.size(), 1u);
  EXPECT_EQ(mols[0].name, "water.xyz");
  EXPECT_EQ(mols[0].charges, (std::vector<int>{8, 1, 1}));
  EXPECT_DOUBLE_EQ(mols[0].positions[0][2], 0.1173);
  EXPECT_DOUBLE_EQ(mols[0].positions[1][1], 0.7572);
  EXPECT_DOUBLE_EQ(mols[0].positions[2][2], -0.4692);
  EXPECT_TRUE(mols[0].properties.empty());
}

TEST(XyzReader, PlainMultiMoleculeCrlfAtomicNumbersAndExtraColumns) {
  const auto mols = read_xyz_text(
      "2\r\ncharge = 0\r\n1 0 0 0\r\n1 0 0 0.74\r\n"
      "\r\n"
      "1\r\n\r\nHe 1.5 -2.5 3e-1 0.25\r\n",
      "multi.xyz");
  ASSERT_EQ(mols.size(), 2u);
  EXPECT_EQ(mols[0].name, "multi.xyz#1");
  EXPECT_EQ(mols[1].name, "multi.xyz#2");
  EXPECT_EQ(mols[0].charges, (std::vector<int>{1, 1}));
  EXPECT_DOUBLE_EQ(mols[0].positions[1][2], 0.74);
  EXPECT_TRUE(mols[0].properties.empty());  // "charge = 0" is free text
  EXPECT_EQ(mols[1].charges, (std::vector<int>{2}));
  EXPECT_DOUBLE_EQ(mols[1].positions[0][2], 0.3);
}

TEST(XyzReader, ExtendedWithPropertiesQuotesAndColumnOrder) {
  const auto mols = read_xyz_text(
      "2\n"
      "energy=-1.5e2 Properties=forces:R:3:pos:R:3:tag:I:1:species:S:1 name=\"my mol\" "
      "note=\"say \\\"hi\\\"\" pbc=\"F F F\" gap=7 flag\n"
      "0.1 0.2 0.3  1.0 2.0 3.0  7  C\n"
      "0.1 0.2 0.3  1.0 2.0 4.1  8  o\n"
      "1\n"
      "Properties=Z:I:1:pos:R:3 energy=2.5\n"
      "7 0 0 0\n",
      "ext.xyz");
  ASSERT_EQ(mols.size(), 2u);
  EXPECT_EQ(mols[0].name, "my mol");
  EXPECT_EQ(mols[0].charges, (std::vector<int>{6, 8}));
  EXPECT_DOUBLE_EQ(mols[0].positions[1][0], 1.0);
  EXPECT_DOUBLE_EQ(mols[0].positions[1][2], 4.1);
  EXPECT_DOUBLE_EQ(mols[0].properties.at("energy"), -150.0);
  EXPECT_DOUBLE_EQ(mols[0].properties.at("gap"), 7.0);
  EXPECT_EQ(mols[0].text_properties.at("note"), "say \"hi\"");
  EXPECT_EQ(mols[0].text_properties.at("pbc"), "F F F");
  EXPECT_EQ(mols[0].text_properties.at("flag"), "T");
  EXPECT_EQ(mols[0].properties.count("name"), 0u);
  EXPECT_EQ(mols[1].name, "ext.xyz#2");
  EXPECT_EQ(mols[1].charges, (std::vector<int>{7}));
  EXPECT_DOUBLE_EQ(mols[1].properties.at("energy"), 2.5);
}

TEST(XyzReader, ReadsWhatAseWrites) {
  // Output of ase.io.write(..., format="extxyz") (ASE 3.22) for water with a
  // single-point calculator attached.
  const auto mols = read_xyz_text(
      "3\n"
      "Properties=species:S:1:pos:R:3:forces:R:3 name=\"water one\" dipole=1.85 tag=\"x y\" "
      "energy=-76.4 pbc=\"F F F\"\n"
      "H        0.00000000       0.00000000       0.11730000       1.00000000       1.00000000     "
      "  1.00000000\n"
      "H        0.00000000       0.75720000      -0.46920000       1.00000000       1.00000000     "
      "  1.00000000\n"
      "O        0.00000000      -0.75720000      -0.46920000       1.00000000       1.00000000     "
      "  1.00000000\n",
      "ase.extxyz");
  ASSERT_EQ(mols.size(), 1u);
  EXPECT_EQ(mols[0].name, "water one");
  EXPECT_EQ(mols[0].charges, (std::vector<int>{1, 1, 8}));
  EXPECT_DOUBLE_EQ(mols[0].positions[2][1], -0.7572);
  EXPECT_DOUBLE_EQ(mols[0].properties.at("energy"), -76.4);
  EXPECT_DOUBLE_EQ(mols[0].properties.at("dipole"), 1.85);
  EXPECT_EQ(mols[0].text_properties.at("tag"), "x y");
}

TEST(XyzReader, KeyValueCommentWithoutPropertiesSpec) {
  const auto mols = read_xyz_text("1\nname=x E=-3.25 tag=abc\nC 0 0 0\n", "kv.xyz");
  EXPECT_EQ(mols[0].name, "x");
  EXPECT_DOUBLE_EQ(mols[0].properties.at("E"), -3.25);
  EXPECT_EQ(mols[0].text_properties.at("tag"), "abc");
}

// Original QM9 file (dsgdb9nsd_000001.xyz, methane), with a "*^" exponent
// moved into a coordinate and a charge to test them.
constexpr const char* kQm9Methane =
    "5\n"
    "gdb 1\t157.7118\t157.70997\t157.70699\t0.\t13.21\t-0.3877\t0.1171\t0.5048\t35.3641\t0.044749\t"
    "-40.47893\t-40.476062\t-40.475117\t-40.498597\t6.469\t\n"
    "C\t-0.0126981359\t 1.0858041578\t 0.0080009958\t-0.535689\n"
    "H\t 0.002150416\t-0.0060313176\t 0.0019761204\t 0.133921\n"
    "H\t 1.0117308433\t 1.4637511618\t 0.0002765748\t 0.133922\n"
    "H\t-0.540815069\t 1.4475266138\t-0.8766437152\t 0.133923\n"
    "H\t-0.5238136345\t 1.4379326443\t 0.9063972942\t 1.2*^-6\n"
    "1341.307\t1341.3284\t1341.365\t1562.6731\t1562.7453\t3038.3205\t3151.6034\t3151.6788\t3151."
    "7078\n"
    "C\tC\t\n"
    "InChI=1S/CH4/h1H4\tInChI=1S/CH4/h1H4\n";

TEST(XyzReader, Qm9Format) {
  const auto mols = read_xyz_text(kQm9Methane, "dsgdb9nsd_000001.xyz");
  ASSERT_EQ(mols.size(), 1u);
  const Molecule& m = mols[0];
  EXPECT_EQ(m.name, "dsgdb9nsd_000001.xyz");
  EXPECT_EQ(m.charges, (std::vector<int>{6, 1, 1, 1, 1}));
  EXPECT_DOUBLE_EQ(m.positions[0][0], -0.0126981359);
  EXPECT_DOUBLE_EQ(m.positions[3][2], -0.8766437152);
  EXPECT_EQ(m.properties.size(), 15u);
  EXPECT_DOUBLE_EQ(m.properties.at("A"), 157.7118);
  EXPECT_DOUBLE_EQ(m.properties.at("mu"), 0.0);
  EXPECT_DOUBLE_EQ(m.properties.at("homo"), -0.3877);
  EXPECT_DOUBLE_EQ(m.properties.at("U0"), -40.47893);
  EXPECT_DOUBLE_EQ(m.properties.at("Cv"), 6.469);
  EXPECT_EQ(m.text_properties.at("smiles"), "C");
  EXPECT_EQ(m.text_properties.at("inchi"), "InChI=1S/CH4/h1H4");
  EXPECT_EQ(m.text_properties.at("gdb_index"), "1");
}

TEST(XyzReader, Qm9MathematicaExponentInPropertiesAndCoordinates) {
  const auto mols = read_xyz_text(
      "2\n"
      "gdb 7 1.2*^-6 2 3 4 5 6 7 8 9 10 11 12 13 14 -15\n"
      "H 0 0 0 0.1\n"
      "H 0 0 7.4*^-1 -0.1\n"
      "4401.1\n"
      "[H][H] [H][H]\n"
      "InChI=1S/H2/h1H InChI=1S/H2/h1H\n"
      "2\n"
      "gdb 8 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n"
      "H 0 0 0 0.1\n"
      "H 0 0 0.8 -0.1\n",
      "two.xyz");
  ASSERT_EQ(mols.size(), 2u);
  EXPECT_DOUBLE_EQ(mols[0].properties.at("A"), 1.2e-6);
  EXPECT_DOUBLE_EQ(mols[0].properties.at("Cv"), -15.0);
  EXPECT_DOUBLE_EQ(mols[0].positions[1][2], 0.74);
  EXPECT_DOUBLE_EQ(mols[1].positions[1][2], 0.8);  // a QM9 block without trailer lines
  EXPECT_EQ(mols[1].text_properties.at("gdb_index"), "8");
}

TEST(XyzReaderErrors, EmptyFile) {
  expect_input_error([] { read_xyz_text("", "e.xyz"); }, {"e.xyz", "no molecules"});
  expect_input_error([] { read_xyz_text("\n  \n", "e.xyz"); }, {"e.xyz", "no molecules"});
}

TEST(XyzReaderErrors, UnknownElement) {
  expect_input_error([] { read_xyz_text("2\n\nC 0 0 0\nXx 1 0 0\n", "u.xyz"); },
                     {"u.xyz line 4", "unknown element 'Xx'"});
  expect_input_error([] { read_xyz_text("1\n\n0 0 0 0\n", "u.xyz"); },
                     {"u.xyz line 3", "unknown element '0'"});
  expect_input_error([] { read_xyz_text("1\n\n119 0 0 0\n", "u.xyz"); },
                     {"u.xyz line 3", "unknown element"});
}

TEST(XyzReaderErrors, AtomCountTooLarge) {
  expect_input_error([] { read_xyz_text("3\n\nC 0 0 0\nH 1 0 0\n", "c.xyz"); },
                     {"c.xyz", "ends after 2 of the 3 atom lines", "line 1"});
}

TEST(XyzReaderErrors, AtomCountTooSmall) {
  expect_input_error([] { read_xyz_text("1\n\nC 0 0 0\nH 1 0 0\n", "c.xyz"); },
                     {"c.xyz line 4", "number of atoms", "'H 1 0 0'"});
}

TEST(XyzReaderErrors, BadCountLine) {
  expect_input_error([] { read_xyz_text("three\n\nC 0 0 0\n", "c.xyz"); },
                     {"c.xyz line 1", "'three'"});
  expect_input_error([] { read_xyz_text("0\n\n", "c.xyz"); }, {"c.xyz line 1", "out of range"});
  expect_input_error([] { read_xyz_text("-2\n\n", "c.xyz"); }, {"c.xyz line 1", "out of range"});
  expect_input_error([] { read_xyz_text("99999999999\n\n", "c.xyz"); },
                     {"c.xyz line 1", "out of range"});
  expect_input_error([] { read_xyz_text("10001\ncomment\n", "c.xyz"); }, {"c.xyz line 1", "10000"});
  expect_input_error([] { read_xyz_text("1\n", "c.xyz"); }, {"c.xyz", "line 1", "comment line"});
}

TEST(XyzReaderErrors, NonNumericAndNonFiniteCoordinates) {
  expect_input_error([] { read_xyz_text("1\n\nC 0 abc 0\n", "n.xyz"); },
                     {"n.xyz line 3", "'abc'", "not a number"});
  expect_input_error([] { read_xyz_text("2\n\nC 0 0 0\nC 1.5 0 nan\n", "n.xyz"); },
                     {"n.xyz line 4", "not finite"});
  expect_input_error([] { read_xyz_text("1\n\nC inf 0 0\n", "n.xyz"); },
                     {"n.xyz line 3", "not finite"});
  expect_input_error([] { read_xyz_text("1\n\nC 1e999 0 0\n", "n.xyz"); }, {"n.xyz line 3"});
  expect_input_error([] { read_xyz_text("1\n\nC 0 0\n", "n.xyz"); },
                     {"n.xyz line 3", "symbol x y z"});
  expect_input_error([] { read_xyz_text("1\n\nC 0 0 0 junk\n", "n.xyz"); },
                     {"n.xyz line 3", "column 5"});
}

TEST(XyzReaderErrors, CoincidentAtoms) {
  expect_input_error([] { read_xyz_text("1\n\nC 0 0 0\n2\n\nH 0 0 0\nH 0 0 0.01\n", "co.xyz"); },
                     {"co.xyz", "line 4", "atoms 1 and 2", "coincident"});
}

TEST(XyzReaderErrors, ExtendedXyzProblems) {
  expect_input_error(
      [] { read_xyz_text("1\nProperties=species:S:1:pos:R:3 a=\"open\nC 0 0 0\n", "x.xyz"); },
      {"x.xyz line 2", "unterminated"});
  expect_input_error([] { read_xyz_text("1\nProperties=species:S:1 e=1\nC 0 0 0\n", "x.xyz"); },
                     {"x.xyz line 2", "pos:R:3"});
  expect_input_error([] { read_xyz_text("1\nProperties=pos:R:3\n0 0 0\n", "x.xyz"); },
                     {"x.xyz line 2", "species"});
  expect_input_error([] { read_xyz_text("1\nProperties=species:S:1:pos:R\nC 0 0 0\n", "x.xyz"); },
                     {"x.xyz line 2", "triples"});
  expect_input_error(
      [] { read_xyz_text("1\nProperties=species:S:1:pos:R:3:f:R:3\nC 0 0 0\n", "x.xyz"); },
      {"x.xyz line 3", "7"});
  expect_input_error([] { read_xyz_text("1\ne=1 e=2\nC 0 0 0\n", "x.xyz"); },
                     {"x.xyz line 2", "'e'", "twice"});
  expect_input_error([] { read_xyz_text("1\ne=nan\nC 0 0 0\n", "x.xyz"); },
                     {"x.xyz line 2", "non-finite"});
}

TEST(XyzReaderErrors, Qm9Problems) {
  expect_input_error([] { read_xyz_text("1\ngdb 1 1 2 3\nC 0 0 0 0\n", "q.xyz"); },
                     {"q.xyz line 2", "expected 15"});
  expect_input_error(
      [] { read_xyz_text("1\ngdb 1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 x\nC 0 0 0 0\n", "q.xyz"); },
      {"q.xyz line 2", "Cv"});
  expect_input_error(
      [] { read_xyz_text("1\ngdb 1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\nC 0 0 0\n", "q.xyz"); },
      {"q.xyz line 3", "Mulliken"});
  expect_input_error(
      [] {
        read_xyz_text("1\ngdb 1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\nC 0 0 0 0\n1 2 x\n", "q.xyz");
      },
      {"q.xyz line 4", "frequencies"});
}

// Regression (chem_xyz_fuzz): a bare key with a stray quote was accepted, and the molecule could
// then not be written back.
TEST(XyzReader, KeysWithQuotesAreRefused) {
  const std::string text =
      "1\nProperties=species:S:1:pos:R:3 name=a 2x\" energy=-1\nH 0 0 0\n";
  expect_input_error([&] { read_xyz_text(text, "q.xyz"); }, {"q.xyz line 2", "quote"});
}

}  // namespace

}  // namespace encmol::chem
