// `encmol party ...`: three parties train together from the command line on
// disjoint parts of bundled QM7; a missing or corrupt piece stops the run
// with a message that says what is wrong.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_test_util.hpp"
#include "encmol/chem/readers.hpp"

namespace {

namespace fs = std::filesystem;
using encmol::test::CliRun;

class PartyCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("encmol_party_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const auto all = encmol::chem::read_molecules(fs::path(ENCMOL_SOURCE_DIR) / "data/qm7.xyz.gz");
    for (int i = 0; i < 3; ++i) {
      encmol::chem::write_xyz(dir_ / ("party" + std::to_string(i + 1) + ".xyz"),
                              {all.begin() + 100 * i, all.begin() + 100 * (i + 1)});
    }
    encmol::chem::write_xyz(dir_ / "test.xyz", {all.begin() + 2000, all.begin() + 2100});
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static CliRun run(const std::string& args) {
    return encmol::test::run_encmol(args + " --threads 2", dir_);
  }
  static std::string p(const std::string& name) { return (dir_ / name).string(); }
  static fs::path dir_;
};
fs::path PartyCli::dir_;

TEST_F(PartyCli, ThreePartiesTrainOneModel) {
  CliRun r = run("party init -o " + p("s") +
                 " --parties 3 -t ae_pbe0 --units kcal/mol --delta xtb --like " + p("party1.xyz") +
                 " --elements H,C,N,O,S --features 96 --sigma 30 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["features"], 96);
  for (int i = 1; i <= 3; ++i) {
    const std::string n = std::to_string(i);
    ASSERT_EQ(run("party keygen -s " + p("s") + " -p " + n + " --secret-key " + p("k" + n) +
                  " --public-share " + p("pub" + n))
                  .code,
              0);
  }
  const std::string publics = p("pub1") + "," + p("pub2") + "," + p("pub3");
  for (int i = 1; i <= 3; ++i) {
    const std::string n = std::to_string(i);
    r = run("party contribute -s " + p("s") + " -p " + n + " --public-shares " + publics + " " +
            p("party" + n + ".xyz") + " -o " + p("c" + n));
    ASSERT_EQ(r.code, 0) << r.err;
  }
  // The aggregator needs every party.
  r = run("party aggregate -s " + p("s") + " " + p("c1") + " " + p("c2") + " -o " + p("a"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("missing contribution of party 3"), std::string::npos) << r.err;
  ASSERT_EQ(run("party aggregate -s " + p("s") + " " + p("c1") + " " + p("c2") + " " + p("c3") +
                " -o " + p("a"))
                .code,
            0);
  for (int i = 1; i <= 3; ++i) {
    const std::string n = std::to_string(i);
    ASSERT_EQ(run("party decrypt-share -s " + p("s") + " --secret-key " + p("k" + n) +
                  " --aggregate " + p("a") + " -o " + p("d" + n))
                  .code,
              0);
  }
  // Decryption needs every share: two of three are refused.
  r = run("party finish -s " + p("s") + " --aggregate " + p("a") + " " + p("d1") + " " + p("d2") +
          " -o " + p("m"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("missing decryption share of party 3"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(p("m")));
  r = run("party finish -s " + p("s") + " --aggregate " + p("a") + " " + p("d1") + " " + p("d2") +
          " " + p("d3") + " -o " + p("m") + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["molecules"], 300.0);
  // The joint model is an ordinary model file.
  r = run("predict -m " + p("m") + " " + p("test.xyz") + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const double mae = nlohmann::json::parse(r.out)["errors"]["mae"][0].get<double>();
  EXPECT_LT(mae, 15.0);  // kcal/mol: a Δ-xTB model of 300 molecules, not noise
  // A corrupted share file is refused by its checksum, naming the file.
  auto bytes = encmol::core::read_file_bytes(p("d2"), 1 << 30);
  bytes[bytes.size() / 3] ^= 4;
  encmol::core::write_file_atomic(p("d2x"), bytes);
  r = run("party finish -s " + p("s") + " --aggregate " + p("a") + " " + p("d1") + " " + p("d2x") +
          " " + p("d3") + " -o " + p("m2"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("d2x"), std::string::npos) << r.err;
}

}  // namespace
