#include <gtest/gtest.h>

#include <string>

#include "chem_test_util.hpp"
#include "encmol/chem/molecule.hpp"
#include "encmol/chem/readers.hpp"

namespace encmol::chem {
namespace {

using testing::expect_input_error;

// Water as an RDKit-style V2000 record with two data items.
constexpr const char* kWaterV2000 =
    "water\n"
    "     RDKit          3D\n"
    "\n"
    "  3  2  0  0  0  0  0  0  0  0999 V2000\n"
    "    0.0000    0.0000    0.1173 O   0  0  0  0  0  0  0  0  0  0  0  0\n"
    "    0.0000    0.7572   -0.4692 H   0  0  0  0  0  0  0  0  0  0  0  0\n"
    "    0.0000   -0.7572   -0.4692 H   0  0  0  0  0  0  0  0  0  0  0  0\n"
    "  1  2  1  0\n"
    "  1  3  1  0\n"
    "M  END\n"
    ">  <energy>\n"
    "-76.4\n"
    "\n"
    "> <comment>\n"
    "two\n"
    "lines\n"
    "\n"
    "$$$$\n";

// Methane with an unnamed V2000 record and a compact (hand-written) layout.
constexpr const char* kMethaneNoName =
    "\n"
    "  handmade\n"
    "\n"
    "  5  4  0  0  0  0  0  0  0  0999 V2000\n"
    "   -1234.5678    0.0000    0.0000 C   0  0\n"
    "    0.6291    0.6291    0.6291 H   0  0\n"
    "   -0.6291   -0.6291    0.6291 H   0  0\n"
    "   -0.6291    0.6291   -0.6291 H   0  0\n"
    "    0.6291   -0.6291   -0.6291 H   0  0\n"
    "1 2 1\n"
    "  1  3  1  0\n"
    "  1  4  1  0\n"
    "  1  5  1  0\n"
    "M  CHG  1   1   0\n"
    "M  END\n"
    "$$$$\n";

TEST(SdfReader, V2000WithDataItems) {
  const auto mols = read_sdf_text(kWaterV2000, "w.sdf");
  ASSERT_EQ(mols.size(), 1u);
  EXPECT_EQ(mols[0].name, "water");
  EXPECT_EQ(mols[0].charges, (std::vector<int>{8, 1, 1}));
  EXPECT_DOUBLE_EQ(mols[0].positions[0][2], 0.1173);
  EXPECT_DOUBLE_EQ(mols[0].positions[2][1], -0.7572);
  EXPECT_DOUBLE_EQ(mols[0].properties.at("energy"), -76.4);
  EXPECT_EQ(mols[0].text_properties.at("comment"), "two\nlines");
}

TEST(SdfReader, MultiRecordAndDefaultNames) {
  // A molfile without $$$$ at the end is accepted as the last record.
  std::string text = std::string(kWaterV2000) + kMethaneNoName + kWaterV2000;
  text.resize(text.size() - 5);
  const auto mols = read_sdf_text(text, "multi.sdf");
  ASSERT_EQ(mols.size(), 3u);
  EXPECT_EQ(mols[0].name, "water");
  EXPECT_EQ(mols[1].name, "multi.sdf#2");
  EXPECT_EQ(molecular_formula(mols[1]), "CH4");
  EXPECT_DOUBLE_EQ(mols[1].positions[0][0], -1234.5678);
  EXPECT_DOUBLE_EQ(mols[1].positions[4][1], -0.6291);
  EXPECT_EQ(mols[2].name, "water");
  EXPECT_DOUBLE_EQ(mols[2].properties.at("energy"), -76.4);
}

TEST(SdfReader, SingleUnnamedRecordTakesSourceName) {
  const auto mols = read_sdf_text(kMethaneNoName, "methane.mol");
  ASSERT_EQ(mols.size(), 1u);
  EXPECT_EQ(mols[0].name, "methane.mol");
}

constexpr const char* kEthanolV3000 =
    "ethanol\n"
    "  encmol          3D\n"
    "\n"
    "  0  0  0     0  0            999 V3000\n"
    "M  V30 BEGIN CTAB\n"
    "M  V30 COUNTS 3 2 0 0 0\n"
    "M  V30 BEGIN ATOM\n"
    "M  V30 1 C -0.0469 -0.4089 0.0000 0\n"
    "M  V30 2 C 1.4613 -0.3622 0.0000 0 -\n"
    "M  V30 CHG=0\n"
    "M  V30 3 O 1.9312 0.9785 0.0000 0\n"
    "M  V30 END ATOM\n"
    "M  V30 BEGIN BOND\n"
    "M  V30 1 1 1 2\n"
    "M  V30 2 1 2 3\n"
    "M  V30 END BOND\n"
    "M  V30 END CTAB\n"
    "M  END\n"
    "> <dipole>\n"
    "1.69\n"
    "\n"
    "$$$$\n";

TEST(SdfReader, V3000) {
  const auto mols = read_sdf_text(std::string(kEthanolV3000) + kWaterV2000, "e.sdf");
  ASSERT_EQ(mols.size(), 2u);
  EXPECT_EQ(mols[0].name, "ethanol");
  EXPECT_EQ(mols[0].charges, (std::vector<int>{6, 6, 8}));
  EXPECT_DOUBLE_EQ(mols[0].positions[1][0], 1.4613);
  EXPECT_DOUBLE_EQ(mols[0].positions[2][1], 0.9785);
  EXPECT_DOUBLE_EQ(mols[0].properties.at("dipole"), 1.69);
  EXPECT_EQ(mols[1].name, "water");
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return text.replace(pos, from.size(), to);
}

TEST(SdfReaderErrors, Empty) {
  expect_input_error([] { read_sdf_text("", "e.sdf"); }, {"e.sdf", "no molecules"});
  expect_input_error([] { read_sdf_text("\n\n", "e.sdf"); }, {"e.sdf", "no molecules"});
}

TEST(SdfReaderErrors, UnknownElement) {
  const auto bad =
      replace(kWaterV2000, "-0.4692 H   0  0  0  0  0  0  0  0  0  0  0  0\n    0.0000   -0.7572",
              "-0.4692 Q   0  0  0  0  0  0  0  0  0  0  0  0\n    0.0000   -0.7572");
  expect_input_error([&] { read_sdf_text(bad, "u.sdf"); }, {"u.sdf line 6", "unknown element 'Q'"});
  const auto bad3000 = replace(kEthanolV3000, "3 O 1.9312", "3 R# 1.9312");
  expect_input_error([&] { read_sdf_text(bad3000, "u.sdf"); },
                     {"u.sdf line 11", "unknown element 'R#'"});
}

TEST(SdfReaderErrors, AtomCountMismatch) {
  const auto more = replace(kWaterV2000, "  3  2  0", "  4  2  0");
  expect_input_error([&] { read_sdf_text(more, "c.sdf"); },
                     {"c.sdf line 8", "atom count on line 4"});
  const auto fewer = replace(kWaterV2000, "  3  2  0", "  2  2  0");
  expect_input_error([&] { read_sdf_text(fewer, "c.sdf"); }, {"c.sdf line 7", "bond line"});
  const auto v3000 = replace(kEthanolV3000, "COUNTS 3 2", "COUNTS 4 2");
  expect_input_error([&] { read_sdf_text(v3000, "c.sdf"); },
                     {"c.sdf line 7", "declares 4 atoms", "has 3"});
  const auto huge = replace(kWaterV2000, "  3  2  0", "999  2  0");
  expect_input_error([&] { read_sdf_text(huge, "c.sdf"); }, {"c.sdf line 8", "atom line 4 of 999"});
  const auto bad_count = replace(kWaterV2000, "  3  2  0", "  x  2  0");
  expect_input_error([&] { read_sdf_text(bad_count, "c.sdf"); }, {"c.sdf line 4"});
}

TEST(SdfReaderErrors, CoordinatesAndGeometry) {
  const auto text_coord = replace(kWaterV2000, "    0.0000    0.7572", "    0.0000    abcdef");
  expect_input_error([&] { read_sdf_text(text_coord, "g.sdf"); }, {"g.sdf line 6", "'abcdef'"});
  const auto nan_coord = replace(kWaterV2000, "    0.0000    0.7572", "    0.0000       nan");
  expect_input_error([&] { read_sdf_text(nan_coord, "g.sdf"); }, {"g.sdf line 6", "not finite"});
  const auto same =
      replace(kWaterV2000, "    0.0000    0.7572   -0.4692", "    0.0000   -0.7572   -0.4692");
  expect_input_error([&] { read_sdf_text(same, "g.sdf"); },
                     {"g.sdf", "line 1", "atoms 2 and 3", "coincident"});
}

TEST(SdfReaderErrors, StructureProblems) {
  const auto no_end = replace(kWaterV2000, "M  END\n", "");
  expect_input_error([&] { read_sdf_text(no_end, "s.sdf"); }, {"s.sdf", "M  END"});
  const auto two_d = replace(kWaterV2000, "RDKit          3D", "RDKit          2D");
  expect_input_error([&] { read_sdf_text(two_d, "s.sdf"); }, {"s.sdf line 2", "2D"});
  expect_input_error([] { read_sdf_text("name\nprog\n", "s.sdf"); }, {"s.sdf", "header"});
  const auto junk = replace(kWaterV2000, ">  <energy>", "junk");
  expect_input_error([&] { read_sdf_text(junk, "s.sdf"); }, {"s.sdf line 11", "data item"});
  const auto dup = replace(kWaterV2000, "> <comment>", "> <energy>");
  expect_input_error([&] { read_sdf_text(dup, "s.sdf"); }, {"s.sdf line 14", "twice"});
  const auto open_atoms = replace(kEthanolV3000, "M  V30 END ATOM\n", "");
  expect_input_error([&] { read_sdf_text(open_atoms, "s.sdf"); }, {"s.sdf line 12", "END ATOM"});
}

}  // namespace
}  // namespace encmol::chem
