// read_molecules on files and directories, labels, property matrices and the writer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "chem_test_util.hpp"
#include "encmol/chem/molecule.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/core/file_io.hpp"

namespace encmol::chem {
namespace {

namespace fs = std::filesystem;
using testing::expect_input_error;
using testing::TempDir;

void write(const fs::path& path, const std::string& text) { core::write_file_atomic(path, text); }

constexpr const char* kH2 = "2\n\nH 0 0 0\nH 0 0 0.74\n";
constexpr const char* kWater = "3\n\nO 0 0 0.1173\nH 0 0.7572 -0.4692\nH 0 -0.7572 -0.4692\n";
constexpr const char* kMethaneMol =
    "methane\n  handmade      3D\n\n  2  1  0  0  0  0  0  0  0  0999 V2000\n"
    "    0.0000    0.0000    0.0000 C   0  0\n    0.6291    0.6291    0.6291 H   0  0\n"
    "  1  2  1  0\nM  END\n";

TEST(ReadMolecules, DispatchByExtensionAndGzip) {
  TempDir dir("dispatch");
  write(dir.path() / "a.xyz", kH2);
  write(dir.path() / "b.sdf", kMethaneMol);
  write(dir.path() / "c.smi", "O water\n");
  write(dir.path() / "d.csv", "smiles,y\nC,1.5\n");
  write(dir.path() / "e.unknown", kH2);
  EXPECT_EQ(read_molecules(dir.path() / "a.xyz").front().name, "a.xyz");
  EXPECT_EQ(read_molecules(dir.path() / "b.sdf").front().name, "methane");
  EXPECT_EQ(read_molecules(dir.path() / "c.smi").front().name, "water");
  EXPECT_DOUBLE_EQ(read_molecules(dir.path() / "d.csv").front().properties.at("y"), 1.5);
  expect_input_error([&] { read_molecules(dir.path() / "e.unknown"); }, {"e.unknown", "format"});
  ReadOptions forced;
  forced.format = "xyz";
  EXPECT_EQ(read_molecules(dir.path() / "e.unknown", forced).front().size(), 2u);

  // write_xyz to .gz, then read it back (gzip detected) with exact values.
  Molecule m = read_molecules(dir.path() / "a.xyz").front();
  m.name = "h2 molecule";
  m.properties["energy"] = -1.1372838344885023;
  m.properties["tiny"] = 1e-300;
  m.text_properties["smiles"] = "[H][H]";
  m.text_properties["count"] = "12";
  m.positions[1][2] = 0.1 + 0.2 + 0.64;
  write_xyz(dir.path() / "out.xyz.gz", {m, m});
  const auto back = read_molecules(dir.path() / "out.xyz.gz");
  ASSERT_EQ(back.size(), 2u);
  for (const auto& b : back) {
    EXPECT_EQ(b.name, "h2 molecule");
    EXPECT_EQ(b.charges, m.charges);
    EXPECT_EQ(b.positions, m.positions);  // bit-exact
    EXPECT_EQ(b.properties, m.properties);
    EXPECT_EQ(b.text_properties, m.text_properties);  // "12" stays text
  }
  write_xyz(dir.path() / "plain.xyz", {m});
  EXPECT_EQ(core::read_file_text(dir.path() / "plain.xyz"), format_xyz({m}));
}

TEST(ReadMolecules, MissingFile) {
  EXPECT_THROW(read_molecules("/nonexistent/encmol/x.xyz"), IoError);
}

TEST(ReadMolecules, DirectoryWithLabelsCsv) {
  TempDir dir("labels");
  write(dir.path() / "b.xyz", kWater);
  write(dir.path() / "a.xyz", kH2);
  write(dir.path() / "c.mol", kMethaneMol);
  write(dir.path() / "labels.csv",
        "name, energy, gap\nc, -40.5, 0.5\na.xyz, -1.17, 0.6\nb, -76.4, 0.3\n");
  write(dir.path() / "notes.txt", "not a labels file\n");  // labels.csv wins
  const auto mols = read_molecules(dir.path());
  ASSERT_EQ(mols.size(), 3u);
  EXPECT_EQ(mols[0].name, "a.xyz");
  EXPECT_EQ(mols[1].name, "b.xyz");
  EXPECT_EQ(mols[2].name, "c.mol");
  EXPECT_EQ(molecular_formula(mols[1]), "H2O");
  EXPECT_DOUBLE_EQ(mols[0].properties.at("energy"), -1.17);
  EXPECT_DOUBLE_EQ(mols[1].properties.at("gap"), 0.3);
  EXPECT_DOUBLE_EQ(mols[2].properties.at("energy"), -40.5);
  const Eigen::MatrixXd y = property_matrix(mols, {"gap", "energy"}, "ctx");
  ASSERT_EQ(y.rows(), 3);
  ASSERT_EQ(y.cols(), 2);
  EXPECT_DOUBLE_EQ(y(0, 0), 0.6);
  EXPECT_DOUBLE_EQ(y(2, 1), -40.5);
  EXPECT_EQ(common_property_names(mols), (std::vector<std::string>{"energy", "gap"}));
}

TEST(ReadMolecules, DirectoryWithHeaderlessWhitespaceLabels) {
  TempDir dir("hof");
  write(dir.path() / "0001.xyz", kH2);
  write(dir.path() / "0002.xyz", kWater);
  write(dir.path() / "hof.txt", "0002.xyz -76.4 -80.1\n0001.xyz -1.5 -2.5\n");
  const auto mols = read_molecules(dir.path());
  ASSERT_EQ(mols.size(), 2u);
  EXPECT_DOUBLE_EQ(mols[0].properties.at("y1"), -1.5);
  EXPECT_DOUBLE_EQ(mols[1].properties.at("y2"), -80.1);
  // An explicit labels file outside the directory.
  TempDir other("hof_other");
  write(other.path() / "l.csv", "file,e\n0001.xyz,1\n0002.xyz,2\n");
  ReadOptions options;
  options.labels_csv = other.path() / "l.csv";
  const auto relabeled = read_molecules(dir.path(), options);
  EXPECT_DOUBLE_EQ(relabeled[1].properties.at("e"), 2.0);
  EXPECT_EQ(relabeled[1].properties.count("y1"), 0u);
}

TEST(ReadMoleculesErrors, DirectoryLabelProblems) {
  TempDir dir("labelerr");
  write(dir.path() / "a.xyz", kH2);
  write(dir.path() / "b.xyz", kWater);
  const fs::path labels = dir.path() / "labels.csv";
  write(labels, "name,e\na.xyz,1\n");
  expect_input_error([&] { read_molecules(dir.path()); }, {"labels.csv", "no labels", "'b.xyz'"});
  write(labels, "name,e\na.xyz,1\nb.xyz,2\nc.xyz,3\n");
  expect_input_error([&] { read_molecules(dir.path()); },
                     {"labels.csv line 4", "'c.xyz'", "names no molecule"});
  write(labels, "name,e\na.xyz,1\nb.xyz,2\na.xyz,3\n");
  expect_input_error([&] { read_molecules(dir.path()); },
                     {"labels.csv line 4", "duplicate", "line 2"});
  write(labels, "name,e\na.xyz,1\nb.xyz,\n");
  expect_input_error([&] { read_molecules(dir.path()); }, {"labels.csv line 3", "missing value"});
  write(labels, "name,e\na.xyz,1\nb.xyz,abc\n");
  expect_input_error([&] { read_molecules(dir.path()); }, {"labels.csv line 3", "'abc'"});
  write(labels, "name,e\na.xyz,1,7\nb.xyz,2\n");
  expect_input_error([&] { read_molecules(dir.path()); }, {"labels.csv line 2", "3 fields"});
  write(labels, "");
  expect_input_error([&] { read_molecules(dir.path()); }, {"labels.csv", "empty"});
  fs::remove(labels);
  write(dir.path() / "x.csv", "name,e\n");
  write(dir.path() / "y.txt", "a.xyz 1\n");
  expect_input_error([&] { read_molecules(dir.path()); },
                     {"several possible labels files", "x.csv", "y.txt"});
  fs::remove(dir.path() / "x.csv");
  fs::remove(dir.path() / "y.txt");
  // Without labels the molecules come without properties.
  EXPECT_TRUE(read_molecules(dir.path())[0].properties.empty());
  // A broken molecule file is reported with its own path and line.
  write(dir.path() / "c.xyz", "1\n\nC 0 zero 0\n");
  expect_input_error([&] { read_molecules(dir.path()); }, {"c.xyz line 3", "'zero'"});
  write(dir.path() / "c.xyz", std::string(kH2) + kH2);
  expect_input_error([&] { read_molecules(dir.path()); }, {"c.xyz", "exactly one"});
}

TEST(ReadMoleculesErrors, EmptyDirectoryAndEmptyFile) {
  TempDir dir("empty");
  expect_input_error([&] { read_molecules(dir.path()); },
                     {dir.path().string(), "no molecule files"});
  write(dir.path() / "e.xyz", "");
  expect_input_error([&] { read_molecules(dir.path() / "e.xyz"); }, {"e.xyz", "no molecules"});
  write(dir.path() / "e.sdf", "");
  expect_input_error([&] { read_molecules(dir.path() / "e.sdf"); }, {"e.sdf", "no molecules"});
}

TEST(PropertyMatrix, NamesTheFirstMoleculeLackingAProperty) {
  std::vector<Molecule> mols(3);
  for (std::size_t i = 0; i < mols.size(); ++i) {
    mols[i].name = "m" + std::to_string(i + 1);
    mols[i].properties = {{"a", 1.0 * static_cast<double>(i)}, {"b", 2.0}};
  }
  mols[1].properties.erase("b");
  expect_input_error(
      [&] {
        property_matrix(mols, {"a", "b"}, "train.xyz");
      },
      {"train.xyz", "molecule 2", "'m2'", "no property 'b'", "every molecule has: a"});
  const auto y = property_matrix(mols, {"a"}, "ctx");
  EXPECT_DOUBLE_EQ(y(2, 0), 2.0);
  EXPECT_EQ(common_property_names(mols), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(common_property_names({}).empty());
}

TEST(WriteXyz, RejectsWhatCannotBeWritten) {
  Molecule m;
  m.charges = {1};
  m.positions = {{0, 0, 0}};
  m.properties["bad key"] = 1.0;
  expect_input_error([&] { format_xyz({m}); }, {"molecule 1", "'bad key'"});
  m.properties.clear();
  m.charges = {0};
  expect_input_error([&] { format_xyz({m}); }, {"atom 1", "not an element"});
}

}  // namespace
}  // namespace encmol::chem
