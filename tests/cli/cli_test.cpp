// End-to-end tests of the encmol executable on a small QM7 subset: train,
// info, predict, learning-curve, and the error paths a user meets.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "encmol/chem/readers.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/ml/model.hpp"
#include "cli_test_util.hpp"

namespace fs = std::filesystem;

namespace {

using Result = encmol::test::CliRun;

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("encmol_cli_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    auto molecules = encmol::chem::read_molecules(fs::path(ENCMOL_SOURCE_DIR) / "data/qm7.xyz.gz");
    molecules.resize(150);
    encmol::chem::write_xyz(dir_ / "small.xyz", molecules);
    // A molecule larger than anything in the subset (for the capacity error).
    encmol::chem::write_xyz(dir_ / "big.xyz", {encmol::test::oversized_molecule()});
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static Result run(const std::string& args) { return encmol::test::run_encmol(args, dir_); }
  static std::string path(const std::string& name) { return (dir_ / name).string(); }

  static fs::path dir_;
};
fs::path CliTest::dir_;

std::vector<std::vector<std::string>> read_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

}  // namespace

TEST_F(CliTest, TrainInfoPredictRoundTrip) {
  const auto trained =
      run("train " + path("small.xyz") +
          " -t ae_pbe0 -r cm -k laplacian --sigma 1000,10000 --lambda 1e-8,1e-4 --folds 3"
          " --test-size 30 -o " + path("m.encmol") + " --json --threads 2");
  ASSERT_EQ(trained.code, 0) << trained.err;
  const auto j = nlohmann::json::parse(trained.out);
  EXPECT_EQ(j["training_size"], 120);
  EXPECT_EQ(j["cross_validation"].size(), 4u);
  const double mae = j["held_out"]["mae"][0];
  // 120 training molecules of QM7 with a CM/Laplacian model: tens of kcal/mol
  // at worst; a broken pipeline gives hundreds.
  EXPECT_GT(mae, 0.0);
  EXPECT_LT(mae, 60.0);

  const auto info = run("info " + path("m.encmol") + " --json");
  ASSERT_EQ(info.code, 0) << info.err;
  const auto ji = nlohmann::json::parse(info.out);
  EXPECT_EQ(ji["training_size"], 120);
  EXPECT_EQ(ji["targets"][0]["name"], "ae_pbe0");
  EXPECT_EQ(ji["family"], "krr");
  EXPECT_EQ(ji["kernel"]["kind"], "laplacian");
  const auto text_info = run("info " + path("m.encmol"));
  EXPECT_NE(text_info.out.find("Coulomb"), std::string::npos) << text_info.out;

  const auto predicted = run("predict -m " + path("m.encmol") + " " + path("small.xyz") +
                             " -o " + path("pred.csv"));
  ASSERT_EQ(predicted.code, 0) << predicted.err;
  EXPECT_NE(predicted.err.find("MAE"), std::string::npos) << predicted.err;
  const auto rows = read_csv(encmol::core::read_file_text(path("pred.csv")));
  ASSERT_EQ(rows.size(), 151u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"name", "ae_pbe0"}));
  // The CLI's numbers are the library's numbers, printed round-trip exact.
  const auto model = encmol::ml::Model::load(path("m.encmol"));
  const auto molecules = encmol::chem::read_molecules(path("small.xyz"));
  const Eigen::MatrixXd expected = model.predict(molecules);
  for (std::size_t i = 0; i < molecules.size(); ++i) {
    EXPECT_EQ(rows[i + 1][0], molecules[i].name);
    EXPECT_EQ(std::stod(rows[i + 1][1]), expected(static_cast<Eigen::Index>(i), 0)) << i;
  }
}

TEST_F(CliTest, RandomFeatureFamilyTrainsPredictsAndDescribes) {
  const auto trained = run("train " + path("small.xyz") +
                           " -t ae_pbe0 --units kcal/mol -f rf -r cmbdf --features 128,256 --lambda 1e-6,1e-3"
                           " --folds 3 --test-size 30 -o " + path("rf.encmol") + " --json --cv-output " +
                           path("rf_cv.csv"));
  ASSERT_EQ(trained.code, 0) << trained.err;
  const auto j = nlohmann::json::parse(trained.out);
  EXPECT_EQ(j["family"], "rf");
  EXPECT_EQ(j["grid_parameter"], "sigma");
  EXPECT_EQ(j["cross_validation"].size(), 24u);  // 2 feature counts x 6 sigmas x 2 lambdas
  EXPECT_EQ(j["cross_validation"][0]["features"], 128);
  const double mae = j["held_out"]["mae"][0];
  EXPECT_GT(mae, 0.0);
  EXPECT_LT(mae, 60.0);  // 120 QM7 molecules; a broken model is off by hundreds
  const auto cv = read_csv(encmol::core::read_file_text(path("rf_cv.csv")));
  ASSERT_EQ(cv.size(), 25u);
  EXPECT_EQ(cv[0][0], "features");

  const auto info = run("info " + path("rf.encmol") + " --json");
  ASSERT_EQ(info.code, 0) << info.err;
  const auto ji = nlohmann::json::parse(info.out);
  EXPECT_EQ(ji["family"], "rf");
  EXPECT_EQ(ji["random_features"]["kind"], "orthogonal");
  EXPECT_EQ(ji["random_features"]["seed"], 42);
  const auto predicted = run("predict -m " + path("rf.encmol") + " " + path("small.xyz") + " -o " + path("rf.csv"));
  ASSERT_EQ(predicted.code, 0) << predicted.err;
  const auto rows = read_csv(encmol::core::read_file_text(path("rf.csv")));
  ASSERT_EQ(rows.size(), 151u);
  const auto model = encmol::ml::Model::load(path("rf.encmol"));
  const Eigen::MatrixXd expected = model.predict(encmol::chem::read_molecules(path("small.xyz")));
  EXPECT_EQ(std::stod(rows[5][1]), expected(4, 0));

  auto r = run("train " + path("small.xyz") + " -t ae_pbe0 -f rf -r cm -o " + path("x.encmol"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("atomic representation"), std::string::npos) << r.err;
  r = run("train " + path("small.xyz") + " -t ae_pbe0 -f rf -r cmbdf --features 12x -o " + path("x.encmol"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--features"), std::string::npos) << r.err;
  r = run("train " + path("small.xyz") + " -t ae_pbe0 -f krr -r cmbdf --pca 8 -o " + path("x.encmol"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("atomic families"), std::string::npos) << r.err;
  r = run("train " + path("small.xyz") + " -t ae_pbe0 -f local-krr -r cmbdf --pca 8,16 -o " + path("x.encmol"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("grid only for rf"), std::string::npos) << r.err;
  r = run("train " + path("small.xyz") + " -t ae_pbe0 -f rf -r cmbdf --rf-kind gaussian -o " + path("x.encmol"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("gaussian"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("x.encmol")));
}

TEST_F(CliTest, LearningCurveWritesCsvAndPng) {
  const auto r = run("learning-curve " + path("small.xyz") +
                     " -t ae_pbe0 -r bob -k laplacian --sigma 10000 --lambda 1e-8"
                     " --test-size 40 --sizes 25,50,110 -o " + path("curve.csv"));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto rows = read_csv(encmol::core::read_file_text(path("curve.csv")));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0][0], "n_train");
  EXPECT_EQ(rows[1][0], "25");
  EXPECT_EQ(rows[3][0], "110");
  // More data must help on average: the largest set beats the smallest.
  EXPECT_LT(std::stod(rows[3][4]), std::stod(rows[1][4]));
  const auto png = encmol::core::read_file_bytes(path("curve.png"));
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png[1], 'P');
  EXPECT_EQ(png[2], 'N');
  EXPECT_EQ(png[3], 'G');
}

TEST_F(CliTest, ErrorsAreClearAndExitWithOne) {
  auto r = run("train " + path("missing.xyz") + " -t ae_pbe0 -o " + path("x.encmol"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("missing.xyz"), std::string::npos) << r.err;

  r = run("train " + path("small.xyz") + " -t no_such_property -o " + path("x.encmol"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no_such_property"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("x.encmol")));

  r = run("train " + path("small.xyz") + " -t ae_pbe0 -k cubic -o " + path("x.encmol"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cubic"), std::string::npos) << r.err;

  r = run("train " + path("small.xyz") + " -t ae_pbe0 --sigma abc -o " + path("x.encmol"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--sigma"), std::string::npos) << r.err;

  // A corrupt model file is refused, naming the file.
  const auto good = run("train " + path("small.xyz") +
                        " -t ae_pbe0 --sigma 1000 --lambda 1e-8 -o " + path("c.encmol"));
  ASSERT_EQ(good.code, 0) << good.err;
  auto bytes = encmol::core::read_file_bytes(path("c.encmol"));
  bytes[bytes.size() / 2] ^= 0x10;
  encmol::core::write_file_atomic(path("corrupt.encmol"), bytes);
  r = run("info " + path("corrupt.encmol"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("corrupt.encmol"), std::string::npos) << r.err;

  // A molecule the model's representation cannot hold.
  r = run("predict -m " + path("c.encmol") + " " + path("big.xyz"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("big"), std::string::npos) << r.err;

  // Usage errors come from the argument parser with a non-zero code.
  r = run("train");
  EXPECT_NE(r.code, 0);
  r = run("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("learning-curve"), std::string::npos);
}
