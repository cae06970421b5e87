// End-to-end test of `encmol audit`: a CM model trained on a small QM7
// subset gives back its training molecules, and the report command writes a
// Markdown report with its plots.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "encmol/chem/readers.hpp"
#include "encmol/core/file_io.hpp"

namespace fs = std::filesystem;

namespace {

int run_encmol(const std::string& args, const fs::path& out, const fs::path& err) {
  const std::string cmd = std::string(ENCMOL_BINARY_DIR) + "/encmol " + args + " >" +
                          out.string() + " 2>" + err.string();
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST(AuditCli, ReconstructRecoversEveryTrainingMoleculeAndReportIsWritten) {
  const fs::path dir = fs::temp_directory_path() / ("encmol_audit_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto molecules = encmol::chem::read_molecules(fs::path(ENCMOL_SOURCE_DIR) / "data/qm7.xyz.gz");
  molecules.resize(160);
  encmol::chem::write_xyz(dir / "small.xyz", molecules);
  const fs::path out = dir / "out.txt", err = dir / "err.txt";

  ASSERT_EQ(run_encmol("train " + (dir / "small.xyz").string() +
                           " -t ae_pbe0 -r cm -k laplacian --sigma 3000 --lambda 1e-8"
                           " --test-size 40 -o " + (dir / "m.encmol").string(),
                       out, err),
            0)
      << encmol::core::read_file_text(err);

  ASSERT_EQ(run_encmol("audit reconstruct --model " + (dir / "m.encmol").string() + " -o " +
                           (dir / "rec.xyz").string() + " --reference " +
                           (dir / "small.xyz").string() + " --json",
                       out, err),
            0)
      << encmol::core::read_file_text(err);
  const auto summary = nlohmann::json::parse(encmol::core::read_file_text(out));
  // Every one of the 120 training molecules comes back exactly.
  const auto recovered = encmol::chem::read_molecules(dir / "rec.xyz");
  EXPECT_EQ(recovered.size(), 120u);
  EXPECT_EQ(summary["training_rows"], 120) << summary.dump(2);
  EXPECT_EQ(summary["exact"], 120) << summary.dump(2);
  EXPECT_EQ(summary["exact_rate"], 1.0) << summary.dump(2);

  ASSERT_EQ(run_encmol("audit report --model " + (dir / "m.encmol").string() + " --data " +
                           (dir / "small.xyz").string() +
                           " --shadows 4 --budget 64 --eval-size 10 -o " +
                           (dir / "report.md").string(),
                       out, err),
            0)
      << encmol::core::read_file_text(err);
  const std::string report = encmol::core::read_file_text(dir / "report.md");
  EXPECT_NE(report.find("econstruct"), std::string::npos);
  EXPECT_NE(report.find("embership"), std::string::npos);
  EXPECT_NE(report.find("xtraction"), std::string::npos);

  // A missing model gives a clear error naming it.
  EXPECT_EQ(run_encmol("audit reconstruct --model " + (dir / "nope.encmol").string() + " -o " +
                           (dir / "x.xyz").string(),
                       out, err),
            1);
  EXPECT_NE(encmol::core::read_file_text(err).find("nope.encmol"), std::string::npos);
  fs::remove_all(dir);
}
