// End-to-end test of the double-blind CLI flow with the real executable:
// train -> card -> keygen -> encrypt -> evaluate -> decrypt, compared with
// predict in the clear, plus the error paths (foreign keys, corrupt files,
// Laplacian card, molecule too large, query budget).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli_test_util.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/core/file_io.hpp"

namespace fs = std::filesystem;

namespace {

using encmol::test::CliRun;

class SecureCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("encmol_secure_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    auto all = encmol::chem::read_molecules(fs::path(ENCMOL_SOURCE_DIR) / "data/qm7.xyz.gz");
    std::vector<encmol::chem::Molecule> train(all.begin(), all.begin() + 200);
    std::vector<encmol::chem::Molecule> query(all.begin() + 200, all.begin() + 205);
    encmol::chem::write_xyz(dir_ / "train.xyz", train);
    encmol::chem::write_xyz(dir_ / "query.xyz", query);
    encmol::chem::write_xyz(dir_ / "big.xyz", {encmol::test::oversized_molecule()});
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static CliRun run(const std::string& args) {
    return encmol::test::run_encmol(args + " --threads 2", dir_);
  }
  static std::string p(const std::string& name) { return (dir_ / name).string(); }
  static std::map<std::string, double> csv(const std::string& text) {
    return encmol::test::first_column_by_name(text);
  }
  static fs::path dir_;
};
fs::path SecureCli::dir_;

TEST_F(SecureCli, DoubleBlindFlowMatchesPlainPredictions) {
  ASSERT_EQ(
      run("train " + p("train.xyz") + " -t ae_pbe0 --sigma 100 --lambda 0.1 -o " + p("m.model"))
          .code,
      0);
  CliRun r = run("card -m " + p("m.model") + " -o " + p("card") + " --tolerance 0.05 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto plan = nlohmann::json::parse(r.out);
  const double bound = plan["targets"][0]["bound"].get<double>();
  const double step = plan["targets"][0]["rounding_step"].get<double>();
  EXPECT_LE(bound, 0.05);
  // The card holds no training data: it is tiny next to the model.
  EXPECT_LT(fs::file_size(p("card")), 8192u);
  // The owner can demand more flooding: refused at this tolerance, granted at a looser one.
  const int flood_bits = plan["flood_bits"].get<int>();
  CliRun demand = run("card -m " + p("m.model") + " -o " + p("card_f") +
                      " --tolerance 0.05 --min-flood-bits 30");
  EXPECT_EQ(demand.code, 1);
  EXPECT_NE(demand.err.find("flooding"), std::string::npos) << demand.err;
  demand = run("card -m " + p("m.model") + " -o " + p("card_f") +
               " --tolerance 20 --min-flood-bits " + std::to_string(flood_bits + 8) + " --json");
  ASSERT_EQ(demand.code, 0) << demand.err;
  EXPECT_GE(nlohmann::json::parse(demand.out)["flood_bits"].get<int>(), flood_bits + 8);
  EXPECT_NE(run("card -m " + p("m.model") + " -o " + p("card_f") + " --min-flood-bits 41").code, 0);

  r = run("keygen --card " + p("card") + " --secret-key " + p("alice.key") + " --eval-keys " +
          p("alice.evk"));
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("keygen --card " + p("card") + " --secret-key " + p("bob.key") + " --eval-keys " +
          p("bob.evk"));
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("encrypt --card " + p("card") + " --key " + p("alice.key") + " " + p("query.xyz") +
          " -o " + p("q"));
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("evaluate -m " + p("m.model") + " --eval-keys " + p("alice.evk") + " --query " + p("q") +
          " -o " + p("res") + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["molecules"].get<int>(), 5);
  r = run("decrypt -k " + p("alice.key") + " -r " + p("res"));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto enc = csv(r.out);
  r = run("predict -m " + p("m.model") + " " + p("query.xyz"));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto plain = csv(r.out);
  ASSERT_EQ(enc.size(), 5u);
  for (const auto& [name, v] : plain) {
    ASSERT_TRUE(enc.count(name)) << name;
    EXPECT_LE(std::fabs(enc.at(name) - v), bound + 0.5 * step + 1e-9) << name;
  }

  // Bob cannot decrypt Alice's result; Alice's query with Bob's keys is refused.
  r = run("decrypt -k " + p("bob.key") + " -r " + p("res"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("key"), std::string::npos) << r.err;
  r = run("evaluate -m " + p("m.model") + " --eval-keys " + p("bob.evk") + " --query " + p("q") +
          " -o " + p("x"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("encrypted under key"), std::string::npos) << r.err;
  // Corrupt query: a clear error naming the file.
  auto bytes = encmol::core::read_file_bytes(p("q"), 1u << 30);
  bytes[bytes.size() / 2] ^= 1;
  encmol::core::write_file_atomic(p("q.bad"), bytes);
  r = run("evaluate -m " + p("m.model") + " --eval-keys " + p("alice.evk") + " --query " +
          p("q.bad") + " -o " + p("x"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("q.bad"), std::string::npos) << r.err;
  // A result where a query is expected, a card where a key is expected.
  r = run("decrypt -k " + p("card") + " -r " + p("res"));
  EXPECT_EQ(r.code, 1);
  // Molecule too large for the card.
  r = run("encrypt --key " + p("alice.key") + " " + p("big.xyz") + " -o " + p("q2"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("big"), std::string::npos) << r.err;
  // Query budget: 5 molecules already used by a budget of 7 -> the next 5 are refused.
  r = run("evaluate -m " + p("m.model") + " --eval-keys " + p("alice.evk") + " --query " + p("q") +
          " -o " + p("x") + " --query-budget 7 --budget-state " + p("budget.json"));
  EXPECT_EQ(r.code, 0) << r.err;
  r = run("evaluate -m " + p("m.model") + " --eval-keys " + p("alice.evk") + " --query " + p("q") +
          " -o " + p("x") + " --query-budget 7 --budget-state " + p("budget.json"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("budget"), std::string::npos) << r.err;
  // While a server holds the budget state, another refuses to run instead of losing counts.
  {
    const encmol::core::FileLock held(p("budget.json") + ".lock", "test");
    r = run("evaluate -m " + p("m.model") + " --eval-keys " + p("alice.evk") + " --query " +
            p("q") + " -o " + p("x") + " --query-budget 100 --budget-state " + p("budget.json"));
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("in use by another encmol process"), std::string::npos) << r.err;
  }
  // A tampered budget state (a negative count would wrap around) is refused, not trusted.
  encmol::core::write_file_atomic(p("budget_bad.json"),
                                  std::string("{\"") + std::string(64, 'a') + "\": -5}\n");
  r = run("evaluate -m " + p("m.model") + " --eval-keys " + p("alice.evk") + " --query " + p("q") +
          " -o " + p("x") + " --query-budget 7 --budget-state " + p("budget_bad.json"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("budget_bad.json"), std::string::npos) << r.err;
}

TEST_F(SecureCli, LaplacianModelGetsNoCard) {
  ASSERT_EQ(run("train " + p("train.xyz") +
                " -t ae_pbe0 -k laplacian --sigma 1000 --lambda 1e-3 -o " + p("l.model"))
                .code,
            0);
  const CliRun r = run("card -m " + p("l.model") + " -o " + p("lcard"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("Laplacian"), std::string::npos) << r.err;
}

TEST_F(SecureCli, HelpForEveryCommand) {
  for (const char* c : {"card", "keygen", "encrypt", "evaluate", "decrypt", "demo"}) {
    const CliRun r = run(std::string(c) + " --help");
    EXPECT_EQ(r.code, 0) << c;
    EXPECT_NE(r.out.find("--json"), std::string::npos) << c;
  }
}

}  // namespace

namespace {

// The atomic families through the same commands: a quadratic model learning the difference to xTB,
// whose baseline only the client computes (decrypt needs the query's molecules), and public random
// features.
TEST_F(SecureCli, AtomicAndFeatureFamiliesWithTheClientsOwnBaseline) {
  for (const std::string family : {"quadratic --coef0 2", "rf --features 128 --sigma 4"}) {
    SCOPED_TRACE(family);
    ASSERT_EQ(run("train " + p("train.xyz") + " -t ae_pbe0 --units kcal/mol -f " + family +
                  " -r cmbdf --lambda 1e-4 --delta xtb -o " + p("a.model"))
                  .code,
              0);
    CliRun r = run("card -m " + p("a.model") + " -o " + p("a.card") + " --tolerance 0.05 --json");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto plan = nlohmann::json::parse(r.out);
    EXPECT_EQ(plan["baseline"][0]["source"], "xtb-energy");
    // The plan reports its own circuit: no kernel and no exp approximation for these families.
    EXPECT_EQ(plan["circuit"], family.starts_with("quadratic") ? "atomic" : "features");
    EXPECT_EQ(plan["approximation"], "none (exact)");
    EXPECT_FALSE(plan.contains("exp_interval"));
    const double bound = plan["targets"][0]["bound"].get<double>();
    const double step = plan["targets"][0]["rounding_step"].get<double>();
    ASSERT_EQ(run("keygen --card " + p("a.card") + " --secret-key " + p("a.key") + " --eval-keys " +
                  p("a.evk"))
                  .code,
              0);
    ASSERT_EQ(run("encrypt --key " + p("a.key") + " " + p("query.xyz") + " -o " + p("a.q")).code,
              0);
    r = run("evaluate -m " + p("a.model") + " --eval-keys " + p("a.evk") + " --query " + p("a.q") +
            " -o " + p("a.r"));
    ASSERT_EQ(r.code, 0) << r.err;
    r = run("decrypt -k " + p("a.key") + " -r " + p("a.r"));
    EXPECT_EQ(r.code, 1);  // the baseline needs the molecules
    EXPECT_NE(r.err.find("--molecules"), std::string::npos) << r.err;
    r = run("decrypt -k " + p("a.key") + " -r " + p("a.r") + " --molecules " + p("query.xyz"));
    ASSERT_EQ(r.code, 0) << r.err;
    const auto enc = csv(r.out);
    r = run("predict -m " + p("a.model") + " " + p("query.xyz"));
    ASSERT_EQ(r.code, 0) << r.err;
    const auto plain = csv(r.out);
    ASSERT_EQ(enc.size(), 5u);
    for (const auto& [name, v] : plain) {
      ASSERT_TRUE(enc.count(name)) << name;
      // Printed with the rounding step's decimals, after the client's baseline was added.
      EXPECT_LE(std::fabs(enc.at(name) - v), bound + step + 1e-9) << name;
    }
  }
}

}  // namespace
