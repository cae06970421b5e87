// Helpers shared by the CLI commands: options every command has, loading
// molecules, parsing lists, timing and memory reports, output files.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "encmol/chem/molecule.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/cli/progress.hpp"

namespace encmol::cli {

/// Options accepted before or after any command.
struct GlobalOptions {
  unsigned threads = 0;  // 0 = all cores
  bool quiet = false;
  bool verbose = false;
};

/// Folder of the bundled data sets: $ENCMOL_DATA_DIR if set, else the data/
/// folder of the source tree this binary was built from.
std::filesystem::path bundled_data_dir();

/// Reads and concatenates the molecules of every path (files or
/// directories), logging how many were read from each.
std::vector<chem::Molecule> load_molecules(const std::vector<std::string>& paths,
                                           const chem::ReadOptions& options);

/// "a,b , c" -> {"a", "b", "c"}; also flattens repeated options.
std::vector<std::string> split_list(const std::vector<std::string>& items);
/// Parses numbers from a comma list; throws InputError naming `option`.
std::vector<double> parse_numbers(const std::vector<std::string>& items, std::string_view option,
                                  bool positive);

/// Wall-clock stopwatch.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

/// Peak resident memory of this process so far, MiB.
double peak_memory_mib();

/// Writes `text` to `path` atomically, or to stdout when path is "-".
void write_output(const std::string& path, std::string_view text);

/// Shortest round-trip representation of a double for CSV/JSON text.
std::string format_number(double value);

/// Adds --threads, --quiet and --verbose to `app`.
void add_global_options(CLI::App& app, GlobalOptions& options);

/// --min-flood-bits B: the encrypted plan must flood replies with noise of at
/// least 2^B x their noise bound (secure::PlanOptions::min_flood_bits).
void add_min_flood_bits_option(CLI::App& app, int& bits);
/// Applies them (thread count, log level); called at the start of every command.
void apply_global_options(const GlobalOptions& options);

}  // namespace encmol::cli
