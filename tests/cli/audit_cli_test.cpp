// End-to-end test of `encmol audit`: a CM model trained on a small QM7
// subset gives back its training molecules, and the report command writes a
// Markdown report with its plots.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_test_util.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/core/file_io.hpp"

namespace fs = std::filesystem;
using encmol::test::run_encmol;

TEST(AuditCli, ReconstructRecoversEveryTrainingMoleculeAndReportIsWritten) {
  const fs::path dir = fs::temp_directory_path() / ("encmol_audit_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto molecules = encmol::chem::read_molecules(fs::path(ENCMOL_SOURCE_DIR) / "data/qm7.xyz.gz");
  molecules.resize(160);
  encmol::chem::write_xyz(dir / "small.xyz", molecules);
  const std::string small = (dir / "small.xyz").string();
  const std::string model = (dir / "m.encmol").string();

  auto r = run_encmol("train " + small +
                          " -t ae_pbe0 -r cm -k laplacian --sigma 3000 --lambda 1e-8"
                          " --test-size 40 -o " + model,
                      dir);
  ASSERT_EQ(r.code, 0) << r.err;

  r = run_encmol("audit reconstruct --model " + model + " -o " + (dir / "rec.xyz").string() +
                     " --reference " + small + " --json",
                 dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto summary = nlohmann::json::parse(r.out);
  // Every one of the 120 training molecules comes back exactly.
  EXPECT_EQ(summary["training_rows"], 120) << summary.dump(2);
  EXPECT_EQ(summary["exact"], 120) << summary.dump(2);
  EXPECT_EQ(summary["exact_rate"], 1.0) << summary.dump(2);
  EXPECT_EQ(encmol::chem::read_molecules(dir / "rec.xyz").size(), 120u);

  r = run_encmol("audit report --model " + model + " --data " + small +
                     " --shadows 4 --budget 64 --eval-size 10 -o " + (dir / "report.md").string(),
                 dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string report = encmol::core::read_file_text(dir / "report.md");
  EXPECT_NE(report.find("econstruct"), std::string::npos);
  EXPECT_NE(report.find("embership"), std::string::npos);
  EXPECT_NE(report.find("xtraction"), std::string::npos);

  // A missing model gives a clear error naming it.
  r = run_encmol("audit reconstruct --model " + (dir / "nope.encmol").string() + " -o " +
                     (dir / "x.xyz").string(),
                 dir);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("nope.encmol"), std::string::npos) << r.err;
  fs::remove_all(dir);
}
