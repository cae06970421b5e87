// Helpers shared by the `encmol audit` commands (audit_cli.hpp).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <sstream>

#include "encmol/chem/readers.hpp"
#include "encmol/cli/audit_cli.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"

namespace encmol::cli::audit_cli {

/// Molecules of `paths`, or the bundled QM7 set when none are given.
std::vector<chem::Molecule> load_data(std::vector<std::string> paths,
                                      std::uint64_t embedding_seed) {
  if (paths.empty()) {
    const auto qm7 = bundled_data_dir() / "qm7.xyz.gz";
    spdlog::info("no --data given: using the bundled QM7 set {}", qm7.string());
    paths.push_back(qm7.string());
  }
  chem::ReadOptions options;
  options.seed = embedding_seed;
  return load_molecules(paths, options);
}

/// Text safe for gnuplot's enhanced mode, which reads '_' and '^' as sub/superscripts.
std::string plain(std::string s) {
  for (char& c : s) {
    if (c == '_' || c == '^' || c == '{' || c == '}' || c == '@' || c == '&') c = ' ';
  }
  return s;
}

std::string percent(double x) { return fmt::format("{:.2f} %", 100.0 * x); }

/// Draws a plot; a missing gnuplot is reported, not fatal (the numbers matter more).
bool try_plot(const PlotSpec& spec, const std::string& path) {
  try {
    render_plot_png(spec, path);
    spdlog::info("wrote {}", path);
    return true;
  } catch (const IoError& e) {
    spdlog::warn("plot {} not drawn: {}", path, e.what());
    return false;
  }
}

}  // namespace encmol::cli::audit_cli
