// `encmol train -f nn` end to end: train on a QM7 subset, `info` and
// `predict` on the saved model, and clear errors for nn options used wrongly.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_test_util.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/ml/model.hpp"

namespace fs = std::filesystem;

namespace {

class NnCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("encmol_nn_cli_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    auto molecules = encmol::chem::read_molecules(fs::path(ENCMOL_SOURCE_DIR) / "data/qm7.xyz.gz");
    molecules.resize(200);
    encmol::chem::write_xyz(dir_ / "small.xyz", molecules);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static encmol::test::CliRun run(const std::string& args) {
    return encmol::test::run_encmol(args, dir_);
  }
  static std::string path(const std::string& name) { return (dir_ / name).string(); }
  static fs::path dir_;
};
fs::path NnCliTest::dir_;

TEST_F(NnCliTest, TrainInfoPredict) {
  const auto trained =
      run("train " + path("small.xyz") +
          " -t ae_pbe0 --units kcal/mol -f nn -r cmbdf --depth 0,1 --width 8 --power 2 --epochs 40"
          " --test-size 40 -o " +
          path("nn.encmol") + " --json --threads 2");
  ASSERT_EQ(trained.code, 0) << trained.err;
  const auto j = nlohmann::json::parse(trained.out);
  EXPECT_EQ(j["family"], "nn");
  EXPECT_EQ(j["training_size"], 160);
  EXPECT_EQ(j["notes"].size(), 3u);  // two grid points and the choice
  const double mae = j["held_out"]["mae"][0];
  // 160 QM7 molecules: the dressed-atom baseline alone is off by tens of kcal/mol;
  // a broken network gives hundreds.
  EXPECT_GT(mae, 0.0);
  EXPECT_LT(mae, 40.0);

  const auto info = run("info " + path("nn.encmol") + " --json");
  ASSERT_EQ(info.code, 0) << info.err;
  const auto ji = nlohmann::json::parse(info.out);
  EXPECT_EQ(ji["family"], "nn");
  EXPECT_EQ(ji["width"], 8);
  const std::size_t depth = ji["depth"];
  EXPECT_EQ(ji["multiplicative_depth"], 1 + 2 * depth);
  const auto text = run("info " + path("nn.encmol"));
  EXPECT_NE(text.out.find("encrypted depth"), std::string::npos) << text.out;

  const auto predicted =
      run("predict -m " + path("nn.encmol") + " " + path("small.xyz") + " -o " + path("p.csv"));
  ASSERT_EQ(predicted.code, 0) << predicted.err;
  const auto model = encmol::ml::Model::load(path("nn.encmol"));
  const auto molecules = encmol::chem::read_molecules(path("small.xyz"));
  const Eigen::MatrixXd expected = model.predict(molecules);
  const std::string csv = encmol::core::read_file_text(path("p.csv"));
  const auto second_line = csv.find('\n') + 1;
  const auto comma = csv.find(',', second_line);
  EXPECT_EQ(std::stod(csv.substr(comma + 1, csv.find('\n', comma) - comma - 1)), expected(0, 0));
}

TEST_F(NnCliTest, BadOptionsAreClearErrors) {
  const std::string base =
      "train " + path("small.xyz") + " -t ae_pbe0 --test-size 40 -o " + path("bad.encmol");
  auto r = run(base + " -f nn -r cmbdf --power 4");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--power must be 2 or 3"), std::string::npos) << r.err;
  r = run(base + " -f nn -r cmbdf --depth 1.5");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--depth"), std::string::npos) << r.err;
  r = run(base + " -f nn -r cm");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("atomic representation"), std::string::npos) << r.err;
  r = run(base + " -f krr -r cm --epochs 10");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("nn family only"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("bad.encmol")));
}

}  // namespace
