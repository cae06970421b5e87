#include "encmol/cli/common.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>

#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/core/parallel.hpp"

#ifndef ENCMOL_DATA_DIR
#define ENCMOL_DATA_DIR "data"
#endif

namespace encmol::cli {

std::filesystem::path bundled_data_dir() {
  if (const char* env = std::getenv("ENCMOL_DATA_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return ENCMOL_DATA_DIR;
}

std::vector<chem::Molecule> load_molecules(const std::vector<std::string>& paths,
                                           const chem::ReadOptions& options) {
  std::vector<chem::Molecule> all;
  for (const auto& path : paths) {
    Stopwatch watch;
    auto molecules = chem::read_molecules(path, options);
    spdlog::info("read {} molecules from {} ({:.2f} s)", molecules.size(), path, watch.seconds());
    all.insert(all.end(), std::make_move_iterator(molecules.begin()),
               std::make_move_iterator(molecules.end()));
  }
  if (all.empty()) throw InputError("no molecules were read");
  return all;
}

std::vector<std::string> split_list(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    std::size_t start = 0;
    while (start <= item.size()) {
      const std::size_t comma = item.find(',', start);
      std::string piece = item.substr(start, comma == std::string::npos ? std::string::npos
                                                                          : comma - start);
      const auto first = piece.find_first_not_of(" \t");
      const auto last = piece.find_last_not_of(" \t");
      if (first != std::string::npos) out.push_back(piece.substr(first, last - first + 1));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

std::vector<double> parse_numbers(const std::vector<std::string>& items, std::string_view option,
                                  bool positive) {
  std::vector<double> out;
  for (const auto& text : split_list(items)) {
    double value = 0.0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
      throw InputError(std::string(option) + ": '" + text + "' is not a number");
    }
    if (positive && value <= 0.0) {
      throw InputError(std::string(option) + ": " + text + " must be positive");
    }
    out.push_back(value);
  }
  return out;
}

double peak_memory_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is KiB on Linux
}

void write_output(const std::string& path, std::string_view text) {
  if (path == "-") {
    std::cout << text;
    std::cout.flush();
    return;
  }
  core::write_file_atomic(path, text);
}

std::string format_number(double value) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return ec == std::errc() ? std::string(buffer, end) : std::to_string(value);
}

void add_min_flood_bits_option(CLI::App& app, int& bits) {
  app.add_option("--min-flood-bits", bits,
                 "Least noise flooding accepted: each reply's flood has a std of at least 2^B times its noise "
                 "bound (more hides more of the noise; the plan refuses models that cannot afford it within the "
                 "tolerance)")
      ->check(CLI::Range(0, 40))
      ->capture_default_str();
}

void add_global_options(CLI::App& app, GlobalOptions& options) {
  app.add_option("--threads", options.threads, "Worker threads (0 = all cores)")
      ->capture_default_str()
      ->check(CLI::Range(0u, 1024u));
  app.add_flag("-q,--quiet", options.quiet, "Only print results and errors");
  app.add_flag("-v,--verbose", options.verbose, "Print debugging detail");
}

void apply_global_options(const GlobalOptions& options) {
  core::set_thread_count(options.threads);
  spdlog::set_level(options.quiet     ? spdlog::level::warn
                    : options.verbose ? spdlog::level::debug
                                      : spdlog::level::info);
}

}  // namespace encmol::cli
