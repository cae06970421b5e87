// append_to_xyz_comments: pairs appended, every other byte kept, and refusal
// of texts whose values would not read back.
#include "encmol/chem/xyz_annotate.hpp"

#include <gtest/gtest.h>

#include "chem_test_util.hpp"
#include "encmol/chem/readers.hpp"

namespace encmol::chem {
namespace {

using testing::expect_input_error;

const char* const kTwoBlocks =
    "5\n"
    "Properties=species:S:1:pos:R:3 name=0001.xyz ae_pbe0=-417.031 ae_dftb=-431.787271961\n"
    "C 1.041682 -0.056200 -0.071481\n"
    "H 2.130894 -0.056202 -0.071496\n"
    "H 0.678598 0.174941 0.930785\n"
    "H 0.678613 0.694746 -0.767018\n"
    "H 0.678614 -1.038134 -0.377199\n"
    "\n"
    "2\r\n"
    "name=h2 smiles=\"[H][H]\"\r\n"
    "H 0 0 0\r\n"
    "H 0 0 0.74\r\n";

TEST(XyzAnnotate, AppendsToCommentLinesAndKeepsEverythingElse) {
  const auto out = append_to_xyz_comments(
      kTwoBlocks, {"xtb_energy=-4.1750912855 xtb_gap=0.6242 xtb_dipole=0.000001", "x=1"}, "t.xyz");
  ASSERT_TRUE(out.has_value());
  std::string expected = kTwoBlocks;
  const std::string first = "ae_dftb=-431.787271961";
  expected.insert(expected.find(first) + first.size(),
                  " xtb_energy=-4.1750912855 xtb_gap=0.6242 xtb_dipole=0.000001");
  const std::string second = "smiles=\"[H][H]\"";
  expected.insert(expected.find(second) + second.size(), " x=1");  // before the \r
  EXPECT_EQ(*out, expected);

  const auto molecules = read_xyz_text(*out, "t.xyz");
  ASSERT_EQ(molecules.size(), 2u);
  EXPECT_DOUBLE_EQ(molecules[0].properties.at("xtb_energy"), -4.1750912855);
  EXPECT_DOUBLE_EQ(molecules[0].properties.at("ae_pbe0"), -417.031);
  EXPECT_EQ(molecules[0].properties.size(), 5u);
  EXPECT_EQ(molecules[1].text_properties.at("smiles"), "[H][H]");
  EXPECT_DOUBLE_EQ(molecules[1].properties.at("x"), 1.0);
}

TEST(XyzAnnotate, EmptyCommentLinesBecomeKeyValueLines) {
  const auto out = append_to_xyz_comments("1\n\nHe 0 0 0\n", {"e=-2.5"}, "he.xyz");
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, "1\n e=-2.5\nHe 0 0 0\n");
}

TEST(XyzAnnotate, RefusesTextsWhoseValuesWouldNotReadBack) {
  // Free-text comment: the appended pairs would be read as text.
  EXPECT_FALSE(append_to_xyz_comments("1\nhelium atom\nHe 0 0 0\n", {"e=1"}, "a.xyz"));
  // Block count differs from the number of additions.
  EXPECT_FALSE(append_to_xyz_comments(kTwoBlocks, {"e=1"}, "a.xyz"));
  EXPECT_FALSE(append_to_xyz_comments(kTwoBlocks, {"e=1", "e=2", "e=3"}, "a.xyz"));
  // Fewer atom lines than counted.
  EXPECT_FALSE(append_to_xyz_comments("3\nname=x\nHe 0 0 0\n", {"e=1"}, "a.xyz"));
  // A QM9-format block: its trailing lines break the simple block structure.
  const std::string qm9 =
      "1\ngdb 1\t157.7118\t157.70997\t157.70699\t0.\t13.21\t-0.3877\t0.1171\t0.5048\t35.3641\t"
      "0.044749\t-40.47893\t-40.476062\t-40.475117\t-40.498597\t6.469\t\n"
      "He 0 0 0 0\n1341.307\t1341.3284\nC\tC\t\nInChI=1S/CH4/h1H4\tInChI=1S/CH4/h1H4\n";
  EXPECT_FALSE(append_to_xyz_comments(qm9, {"e=1"}, "q.xyz"));
}

TEST(XyzAnnotate, RejectsBadAdditionsAndExistingKeys) {
  expect_input_error([] { append_to_xyz_comments("1\nname=a\nHe 0 0 0\n", {"e"}, "a.xyz"); },
                     {"a.xyz", "molecule 1", "'e'"});
  expect_input_error([] { append_to_xyz_comments("1\nname=a\nHe 0 0 0\n", {"e=abc"}, "a.xyz"); },
                     {"'e=abc'"});
  expect_input_error([] { append_to_xyz_comments("1\nname=a\nHe 0 0 0\n", {"=1"}, "a.xyz"); },
                     {"'=1'"});
  expect_input_error([] { append_to_xyz_comments("1\nname=a e=2\nHe 0 0 0\n", {"e=1"}, "a.xyz"); },
                     {"a.xyz", "'a'", "already has the property 'e'"});
}

}  // namespace
}  // namespace encmol::chem
