// `encmol xtb`: xTB properties appended to XYZ text, reproducible gzip output,
// agreement with the values bundled in data/qm7.xyz.gz, other input formats,
// and the errors a user meets.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "cli_test_util.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/chem/xtb.hpp"
#include "encmol/core/file_io.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// The first `count` blocks of an XYZ text whose blocks have no blank lines.
std::string first_blocks(const std::string& text, std::size_t count) {
  std::string out;
  const auto lines = lines_of(text);
  std::size_t i = 0;
  for (std::size_t b = 0; b < count; ++b) {
    const std::size_t atoms = std::stoul(lines.at(i));
    for (std::size_t k = 0; k < atoms + 2; ++k) out += lines.at(i + k) + "\n";
    i += atoms + 2;
  }
  return out;
}

// Drops " xtb_energy=..." up to the end of every comment line (the xTB pairs
// are the last three of the bundled comment lines).
std::string without_xtb(const std::string& text) {
  std::string out;
  for (const auto& line : lines_of(text)) {
    const std::size_t at = line.find(" xtb_energy=");
    out += (at == std::string::npos ? line : line.substr(0, at)) + "\n";
  }
  return out;
}

class XtbCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("encmol_xtb_cli_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    bundled_ = first_blocks(
        encmol::core::read_text_maybe_gzip(fs::path(ENCMOL_SOURCE_DIR) / "data/qm7.xyz.gz"), 12);
    encmol::core::write_file_atomic(dir_ / "small.xyz", without_xtb(bundled_));
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static encmol::test::CliRun run(const std::string& args) {
    return encmol::test::run_encmol(args, dir_);
  }
  static std::string path(const std::string& name) { return (dir_ / name).string(); }

  static fs::path dir_;
  static std::string bundled_;  // first 12 molecules of data/qm7.xyz.gz, with xTB values
};
fs::path XtbCliTest::dir_;
std::string XtbCliTest::bundled_;

TEST_F(XtbCliTest, AppendsPropertiesReproducingTheBundledValues) {
  const auto r = run("--threads 2 xtb " + path("small.xyz") + " -o " + path("out.xyz.gz"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("GFN2-xTB for 12 molecules"), std::string::npos) << r.err;
  const std::string ours = encmol::core::read_text_maybe_gzip(path("out.xyz.gz"));
  // Every byte but the xTB values agrees with the bundled file; the values
  // agree to their last printed digit (BLAS rounding may differ across CPUs).
  EXPECT_EQ(without_xtb(ours), without_xtb(bundled_));
  const auto mine = encmol::chem::read_xyz_text(ours, "ours");
  const auto ref = encmol::chem::read_xyz_text(bundled_, "bundled");
  ASSERT_EQ(mine.size(), 12u);
  ASSERT_EQ(ref.size(), 12u);
  for (std::size_t i = 0; i < mine.size(); ++i) {
    for (const auto& [key, tolerance] :
         {std::pair{"xtb_energy", 2e-10}, std::pair{"xtb_gap", 2e-10},
          std::pair{"xtb_dipole", 2e-6}}) {
      EXPECT_NEAR(mine[i].properties.at(key), ref[i].properties.at(key), tolerance)
          << mine[i].name << " " << key;
    }
  }
  // The three pairs come last, energy and gap with 10 decimals, dipole with 6.
  const auto first_comment = lines_of(ours).at(1);
  const std::size_t at = first_comment.find(" xtb_energy=");
  ASSERT_NE(at, std::string::npos);
  EXPECT_TRUE(std::regex_match(
      first_comment.substr(at),
      std::regex(R"( xtb_energy=-\d+\.\d{10} xtb_gap=\d+\.\d{10} xtb_dipole=\d+\.\d{6})")))
      << first_comment;

  // Running again, on one thread, gives the same bytes.
  const auto again = run("--threads 1 -q xtb " + path("small.xyz") + " -o " + path("again.xyz.gz"));
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(encmol::core::read_file_text(path("again.xyz.gz")),
            encmol::core::read_file_text(path("out.xyz.gz")));
}

TEST_F(XtbCliTest, OtherFormatsAreWrittenAsExtendedXyz) {
  encmol::core::write_file_atomic(dir_ / "two.smi",
                                  std::string_view("CCO ethanol\nC=O formaldehyde\n"));
  const auto r = run("xtb " + path("two.smi") + " -o " + path("two.xyz"));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto molecules = encmol::chem::read_molecules(path("two.xyz"));
  ASSERT_EQ(molecules.size(), 2u);
  EXPECT_EQ(molecules[0].name, "ethanol");
  const auto direct = encmol::chem::xtb_single_point(molecules[0]);
  EXPECT_NEAR(molecules[0].properties.at("xtb_energy"), direct.energy_hartree, 6e-11);
  EXPECT_NEAR(molecules[0].properties.at("xtb_gap"), direct.gap_hartree, 6e-11);
  EXPECT_NEAR(molecules[0].properties.at("xtb_dipole"), direct.dipole_debye, 6e-7);
  EXPECT_GT(molecules[1].properties.at("xtb_dipole"), 1.0);  // formaldehyde is polar
}

TEST_F(XtbCliTest, ErrorsNameTheProblem) {
  // Input that already carries xTB values.
  encmol::core::write_file_atomic(dir_ / "done.xyz", std::string_view(bundled_));
  auto r = run("xtb " + path("done.xyz") + " -o " + path("x.xyz"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("already has the property 'xtb_energy'"), std::string::npos) << r.err;
  // Output that is not extended XYZ.
  r = run("xtb " + path("small.xyz") + " -o " + path("x.csv"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("name it .xyz or .extxyz"), std::string::npos) << r.err;
  // Element without GFN2 parameters.
  encmol::core::write_file_atomic(dir_ / "u.xyz", std::string_view("1\nname=uranium\nU 0 0 0\n"));
  r = run("xtb " + path("u.xyz") + " -o " + path("u_out.xyz"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("'uranium'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Z = 1 to 86"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("u_out.xyz")));
  // Output over the input.
  r = run("xtb " + path("small.xyz") + " -o " + path("small.xyz"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is also an input"), std::string::npos) << r.err;
}

}  // namespace
