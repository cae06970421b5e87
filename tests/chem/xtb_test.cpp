// GFN2-xTB single points: agreement with the xtb program, invariances, batch
// runs for any thread count, errors, and no files or output left behind.
#include "encmol/chem/xtb.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "chem_test_util.hpp"
#include "encmol/chem/elements.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"

namespace encmol::chem {
namespace {

namespace fs = std::filesystem;
using testing::expect_input_error;
using testing::TempDir;

const std::vector<Molecule>& qm7() {
  static const auto molecules = read_molecules(ENCMOL_SOURCE_DIR "/data/qm7.xyz.gz");
  return molecules;
}
const std::vector<Molecule>& c7o2h10() {
  static const auto molecules = read_molecules(ENCMOL_SOURCE_DIR "/data/c7o2h10.xyz.gz");
  return molecules;
}

// A spread of QM7 molecules: methane, the first ones holding N, O and S, the
// largest, and every 500th.
std::vector<Molecule> qm7_sample() {
  const auto& all = qm7();
  std::vector<std::size_t> picks = {0};
  for (int z : {7, 8, 16}) {
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (std::count(all[i].charges.begin(), all[i].charges.end(), z) > 0) {
        picks.push_back(i);
        break;
      }
    }
  }
  picks.push_back(static_cast<std::size_t>(
      std::max_element(all.begin(), all.end(),
                       [](const Molecule& a, const Molecule& b) { return a.size() < b.size(); }) -
      all.begin()));
  for (std::size_t i = 500; i < all.size(); i += 500) picks.push_back(i);
  std::vector<Molecule> out;
  for (std::size_t i : picks) out.push_back(all[i]);
  return out;
}

Molecule methyl_radical() {  // 9 electrons: a doublet
  return {
      "methyl",
      {6, 1, 1, 1},
      {{{0.0, 0.0, 0.0}}, {{1.079, 0.0, 0.0}}, {{-0.5395, 0.9344, 0.0}}, {{-0.5395, -0.9344, 0.0}}},
      {}};
}

Molecule ammonium() {  // NH4+ with total charge +1: 10 electrons
  const double a = 1.03 / std::sqrt(3.0);
  return {"ammonium",
          {7, 1, 1, 1, 1},
          {{{0.0, 0.0, 0.0}}, {{a, a, a}}, {{-a, -a, a}}, {{-a, a, -a}}, {{a, -a, -a}}},
          {}};
}

// ---- the xtb program as the reference ---------------------------------------

struct ProgramResult {
  double energy_hartree = NAN;
  double gap_ev = NAN;
  double dipole_debye = NAN;
};

double number_after(const std::string& text, const std::string& label) {
  const std::size_t at = text.find(label);
  if (at == std::string::npos) return NAN;
  return std::strtod(text.c_str() + at + label.size(), nullptr);
}

// Runs `xtb mol.xyz --gfn 2 --sp --chrg C --json` in a fresh directory and
// parses the summary of its output ("TOTAL ENERGY", "HOMO-LUMO GAP") and the
// dipole vector of xtbout.json. (The "full:" dipole row of the output is
// assembled from Mulliken charges and atomic dipoles and printed with 3
// decimals; the JSON vector is the one libxtb returns.)
ProgramResult run_xtb_program(const Molecule& m, int charge) {
  TempDir dir("xtbprog");
  {
    std::ofstream xyz(dir.path() / "mol.xyz");
    xyz << m.size() << "\n" << m.name << "\n";
    char line[128];
    for (std::size_t i = 0; i < m.size(); ++i) {
      std::snprintf(line, sizeof(line), "%s %.10f %.10f %.10f\n",
                    std::string(element_symbol(m.charges[i])).c_str(), m.positions[i][0],
                    m.positions[i][1], m.positions[i][2]);
      xyz << line;
    }
  }
  const std::string command = "cd '" + dir.path().string() +
                              "' && OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 xtb mol.xyz --gfn 2 "
                              "--sp --json --chrg " +
                              std::to_string(charge) + " > out.txt 2>&1";
  const int rc = std::system(command.c_str());
  const auto read = [&](const char* name) {
    std::ifstream in(dir.path() / name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  const std::string out = read("out.txt");
  EXPECT_EQ(rc, 0) << "the xtb program (Debian package xtb, see scripts/install_deps.sh) "
                      "failed on "
                   << m.name << ":\n"
                   << out;
  ProgramResult r;
  r.energy_hartree = number_after(out, "TOTAL ENERGY");
  r.gap_ev = number_after(out, "HOMO-LUMO GAP");
  const std::string json = read("xtbout.json");
  const std::size_t at = json.find("\"dipole\": [");
  if (at != std::string::npos) {
    std::string row = json.substr(at + 11, json.find(']', at) - at - 11);
    std::replace(row.begin(), row.end(), ',', ' ');
    std::istringstream in(row);
    double x, y, z;
    if (in >> x >> y >> z) r.dipole_debye = std::sqrt(x * x + y * y + z * z) * 2.541746473;
  }
  return r;
}

// The xtb program stores orbital energies in eV converted with its own
// Hartree (27.21138505 eV) and prints the gap from them.
constexpr double kXtbProgramEvPerHartree = 27.21138505;

void expect_matches_program(const Molecule& m, int charge) {
  XtbOptions options;
  options.total_charge = charge;
  const XtbResult ours = xtb_single_point(m, options);
  const ProgramResult ref = run_xtb_program(m, charge);
  // The program converts Å with 0.52917726 Å/bohr, we with CODATA 2018; the
  // geometries differ by 1e-7 relative, the energies by less than 1e-8 Eh.
  EXPECT_NEAR(ours.energy_hartree, ref.energy_hartree, 1e-7) << m.name;
  EXPECT_NEAR(ours.gap_hartree * kXtbProgramEvPerHartree, ref.gap_ev, 1e-6) << m.name;
  EXPECT_NEAR(ours.dipole_debye, ref.dipole_debye, 1e-6) << m.name;  // JSON: 8 decimals (e bohr)
}

TEST(Xtb, AgreesWithTheXtbProgram) {
  auto molecules = qm7_sample();
  molecules.push_back(c7o2h10().front());
  molecules.push_back(c7o2h10().back());
  for (const auto& m : molecules) expect_matches_program(m, 0);
}

TEST(Xtb, OpenShellAndChargedMoleculesAgreeWithTheXtbProgram) {
  expect_matches_program(methyl_radical(), 0);  // odd electron count: one unpaired
  expect_matches_program(ammonium(), 1);
  expect_matches_program(qm7()[1], 1);  // a radical cation
}

TEST(Xtb, KnownMethaneValues) {
  // QM7 molecule 1 (methane), GFN2-xTB / xtb 6.5.1: a regression anchor.
  const XtbResult r = xtb_single_point(qm7().front());
  EXPECT_NEAR(r.energy_hartree, -4.1750912855, 1e-8);
  EXPECT_GT(r.gap_hartree, 0.5);  // CH4 has a large gap (about 17 eV)
  EXPECT_LT(r.gap_hartree, 0.7);
  EXPECT_LT(r.dipole_debye, 1e-3);  // tetrahedral: no dipole
}

// ---- invariances -------------------------------------------------------------

Molecule moved(const Molecule& m, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> gauss;
  // Random rotation from a normalized random quaternion.
  double q[4];
  double norm = 0;
  for (double& x : q) {
    x = gauss(rng);
    norm += x * x;
  }
  for (double& x : q) x /= std::sqrt(norm);
  const double w = q[0], x = q[1], y = q[2], z = q[3];
  const double r[3][3] = {{1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)},
                          {2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)},
                          {2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)}};
  const Vec3 shift = {7.5, -3.25, 11.0};
  std::vector<std::size_t> order(m.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  Molecule out = m;
  for (std::size_t i = 0; i < m.size(); ++i) {
    const Vec3& p = m.positions[order[i]];
    out.charges[i] = m.charges[order[i]];
    for (int k = 0; k < 3; ++k) {
      out.positions[i][k] = r[k][0] * p[0] + r[k][1] * p[1] + r[k][2] * p[2] + shift[k];
    }
  }
  return out;
}

TEST(Xtb, InvariantUnderRotationTranslationAndPermutation) {
  auto molecules = qm7_sample();
  molecules.push_back(c7o2h10()[100]);
  molecules.push_back(methyl_radical());
  for (const auto& m : molecules) {
    const XtbResult a = xtb_single_point(m);
    for (unsigned seed : {1u, 2u}) {
      const XtbResult b = xtb_single_point(moved(m, seed));
      // The SCC convergence thresholds at accuracy 1 bound the agreement; the
      // energy is variational (error quadratic in the charges), the orbital
      // energies are not (1.4e-6 Eh seen).
      EXPECT_NEAR(a.energy_hartree, b.energy_hartree, 1e-7) << m.name;
      EXPECT_NEAR(a.gap_hartree, b.gap_hartree, 5e-6) << m.name;
      EXPECT_NEAR(a.dipole_debye, b.dipole_debye, 1e-4) << m.name;
    }
  }
}

// ---- batches -----------------------------------------------------------------

class ThreadCount {
 public:
  explicit ThreadCount(unsigned n) : saved_(core::thread_count()) { core::set_thread_count(n); }
  ~ThreadCount() { core::set_thread_count(saved_); }

 private:
  unsigned saved_;
};

TEST(Xtb, BatchEqualsSinglePointsForAnyThreadCount) {
  std::vector<Molecule> molecules;
  for (std::size_t i = 0; i < 30; ++i) molecules.push_back(qm7()[i * 233]);
  for (std::size_t i = 0; i < 6; ++i) molecules.push_back(c7o2h10()[i * 1000]);
  molecules.push_back(methyl_radical());
  std::vector<XtbResult> singles;
  for (const auto& m : molecules) singles.push_back(xtb_single_point(m));
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    ThreadCount guard(threads);
    std::size_t calls = 0, last = 0;
    const auto batch = xtb_single_points(molecules, {}, [&](std::size_t done, std::size_t total) {
      ++calls;
      EXPECT_EQ(total, molecules.size());
      EXPECT_EQ(done, last + 1);
      last = done;
    });
    ASSERT_EQ(batch.size(), molecules.size());
    EXPECT_EQ(calls, molecules.size());
    for (std::size_t i = 0; i < molecules.size(); ++i) {
      // Bit-identical: each molecule runs on one thread with one BLAS thread.
      EXPECT_EQ(batch[i].energy_hartree, singles[i].energy_hartree) << threads << " " << i;
      EXPECT_EQ(batch[i].gap_hartree, singles[i].gap_hartree) << threads << " " << i;
      EXPECT_EQ(batch[i].dipole_debye, singles[i].dipole_debye) << threads << " " << i;
    }
  }
  EXPECT_TRUE(xtb_single_points({}).empty());
}

TEST(Xtb, OptionsChangeTheResult) {
  const Molecule& m = qm7()[3];
  const XtbResult base = xtb_single_point(m);
  XtbOptions hot;
  hot.electronic_temperature = 5000.0;  // smearing lowers the free energy
  EXPECT_LT(xtb_single_point(m, hot).energy_hartree, base.energy_hartree - 1e-6);
  XtbOptions tight;
  tight.accuracy = 0.01;
  EXPECT_NEAR(xtb_single_point(m, tight).energy_hartree, base.energy_hartree, 1e-5);
  // The anion of the same molecule is a different electronic state.
  XtbOptions anion;
  anion.total_charge = -1;
  EXPECT_GT(std::abs(xtb_single_point(m, anion).energy_hartree - base.energy_hartree), 0.01);
}

// ---- errors ----------------------------------------------------------------------

TEST(Xtb, RefusesElementsWithoutGfn2Parameters) {
  Molecule m = methyl_radical();
  m.name = "francium-methyl";
  m.charges[0] = 87;
  expect_input_error([&] { xtb_single_point(m); },
                     {"francium-methyl", "Fr", "Z = 87", "Z = 1 to 86"});
  m.charges[0] = 86;  // radon is covered
  m.charges[1] = m.charges[2] = m.charges[3] = 1;
  EXPECT_NO_THROW(xtb_single_point(m));
}

TEST(Xtb, RefusesBadMoleculesAndCharges) {
  Molecule clash = ammonium();
  clash.positions[1] = clash.positions[0];
  expect_input_error([&] { xtb_single_point(clash); }, {"ammonium", "coincident"});
  XtbOptions options;
  options.total_charge = 12;  // NH4 has 11 electrons
  expect_input_error([&] { xtb_single_point(ammonium(), options); },
                     {"ammonium", "total charge 12", "-1 electrons"});
  options.total_charge = 11;
  expect_input_error([&] { xtb_single_point(ammonium(), options); }, {"ammonium", "0 electrons"});
  Molecule empty;
  empty.name = "nothing";
  expect_input_error([&] { xtb_single_point(empty); }, {"nothing", "no atoms"});
}

TEST(Xtb, UnconvergedScfIsAnInputErrorWithXtbsMessage) {
  XtbOptions options;
  options.max_iterations = 1;
  const Molecule& m = c7o2h10()[7];
  expect_input_error([&] { xtb_single_point(m, options); },
                     {m.name, "did not converge", "within 1 iterations"});
}

TEST(Xtb, InvalidOptionsAreParameterErrors) {
  const Molecule m = ammonium();
  for (const auto& bad : {XtbOptions{0.0, 250, 300.0, 0}, XtbOptions{2000.0, 250, 300.0, 0},
                          XtbOptions{1.0, 0, 300.0, 0}, XtbOptions{1.0, 250, -1.0, 0},
                          XtbOptions{1.0, 250, NAN, 0}}) {
    EXPECT_THROW(xtb_single_point(m, bad), ParameterError);
    EXPECT_THROW(xtb_single_points({m}, bad), ParameterError);
  }
}

TEST(Xtb, BatchChecksEveryMoleculeFirstAndReportsTheLowestFailure) {
  std::vector<Molecule> molecules(qm7().begin(), qm7().begin() + 6);
  molecules[4].charges[0] = 92;  // uranium
  std::size_t progress_calls = 0;
  expect_input_error(
      [&] {
        xtb_single_points(molecules, {}, [&](std::size_t, std::size_t) { ++progress_calls; });
      },
      {"molecule 5", molecules[4].name, "Z = 92"});
  EXPECT_EQ(progress_calls, 0u);  // refused before any computation

  // Every molecule fails to converge in one iteration: molecule 1 is reported
  // for any number of threads.
  XtbOptions options;
  options.max_iterations = 1;
  std::vector<Molecule> hard(c7o2h10().begin(), c7o2h10().begin() + 8);
  for (unsigned threads : {1u, 2u, 4u}) {
    ThreadCount guard(threads);
    expect_input_error([&] { xtb_single_points(hard, options); },
                       {"molecule 1 (molecule '" + hard[0].name + "')", "did not converge"});
  }
}

// ---- side effects ------------------------------------------------------------

class WorkingDirectory {
 public:
  explicit WorkingDirectory(const fs::path& dir) : saved_(fs::current_path()) {
    fs::current_path(dir);
  }
  ~WorkingDirectory() { fs::current_path(saved_); }

 private:
  fs::path saved_;
};

TEST(Xtb, LeavesNoFilesAndPrintsNothing) {
  TempDir dir("xtbcwd");
  {
    WorkingDirectory cwd(dir.path());
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    xtb_single_point(qm7()[10]);
    xtb_single_point(methyl_radical());
    {
      ThreadCount guard(2);
      xtb_single_points({qm7()[11], qm7()[12], qm7()[13]});
    }
    XtbOptions fail;
    fail.max_iterations = 1;
    EXPECT_THROW(xtb_single_point(c7o2h10()[7], fail), InputError);
    std::fflush(stdout);
    const std::string out = ::testing::internal::GetCapturedStdout();
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(out, "");
    EXPECT_EQ(err, "");
  }
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    left.push_back(entry.path().filename().string());
  }
  EXPECT_TRUE(left.empty()) << "xTB left files behind, e.g. " << (left.empty() ? "" : left[0]);
}

}  // namespace
}  // namespace encmol::chem
