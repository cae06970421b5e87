// Helpers of the end-to-end CLI tests: run the real `encmol` executable with
// stdout and stderr captured, and build small input files.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>

#include "encmol/chem/molecule.hpp"
#include "encmol/core/file_io.hpp"

namespace encmol::test {

struct CliRun {
  int code = -1;  // exit status (-1: killed by a signal)
  std::string out;
  std::string err;
};

/// Runs `encmol ARGS` (a shell word list; paths must not contain spaces),
/// capturing its output in files inside `scratch`.
inline CliRun run_encmol(const std::string& args, const std::filesystem::path& scratch) {
  const auto out = scratch / "stdout.txt";
  const auto err = scratch / "stderr.txt";
  const std::string cmd = std::string(ENCMOL_BINARY_DIR) + "/encmol " + args + " >" +
                          out.string() + " 2>" + err.string();
  const int status = std::system(cmd.c_str());
  CliRun r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = core::read_file_text(out);
  r.err = core::read_file_text(err);
  return r;
}

/// The first value column of a `name,value...` CSV (header skipped), by name.
inline std::map<std::string, double> first_column_by_name(const std::string& text) {
  std::map<std::string, double> m;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    const auto c = line.find(',');
    m[line.substr(0, c)] = std::stod(line.substr(c + 1));
  }
  return m;
}

/// A 40-carbon chain: larger than any QM7 molecule, for capacity errors.
inline chem::Molecule oversized_molecule() {
  chem::Molecule big;
  big.name = "big";
  for (int i = 0; i < 40; ++i) {
    big.charges.push_back(6);
    big.positions.push_back({1.5 * i, 0.0, 0.0});
  }
  return big;
}

}  // namespace encmol::test
