// encmol xtb: GFN2-xTB single points for every molecule of the inputs, written
// as extended XYZ with the properties xtb_energy, xtb_gap (hartree) and
// xtb_dipole (debye) added. XYZ inputs keep their text: the three pairs are
// appended to each comment line and nothing else changes (how data/*.xyz.gz
// get their xTB values). Other inputs, and XYZ files whose comment lines are
// not key=value lists, are written by chem::format_xyz.
#include <spdlog/spdlog.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "encmol/chem/xtb.hpp"
#include "encmol/chem/xyz_annotate.hpp"
#include "encmol/cli/commands.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/core/parallel.hpp"

namespace encmol::cli {
namespace {

namespace fs = std::filesystem;

struct XtbArgs {
  std::vector<std::string> inputs;
  std::string output;
  chem::XtbOptions xtb;
  std::uint64_t embedding_seed = 42;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ends_with_gz(const std::string& path) { return lower(path).ends_with(".gz"); }

// A single XYZ file (by name), whose text can be kept.
bool is_xyz_file(const std::string& path) {
  std::string name = lower(fs::path(path).filename().string());
  if (name.ends_with(".gz")) name.resize(name.size() - 3);
  return (name.ends_with(".xyz") || name.ends_with(".extxyz")) && fs::is_regular_file(path);
}

// The values as they are written (10 decimals of a hartree, 6 of a debye), so
// the text and the numbers stored in a Molecule agree exactly.
std::string format_fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  return buffer;
}

struct Formatted {
  std::string energy, gap, dipole;
  std::string pairs() const {
    return std::string(chem::kXtbEnergyProperty) + "=" + energy + " " + chem::kXtbGapProperty +
           "=" + gap + " " + chem::kXtbDipoleProperty + "=" + dipole;
  }
};

void run_xtb(const XtbArgs& args, const GlobalOptions& global) {
  apply_global_options(global);
  chem::validate_xtb_options(args.xtb);
  const std::string out_name = lower(fs::path(args.output).filename().string());
  const std::string out_inner =
      ends_with_gz(out_name) ? out_name.substr(0, out_name.size() - 3) : out_name;
  if (args.output != "-" && !out_inner.ends_with(".xyz") && !out_inner.ends_with(".extxyz")) {
    throw InputError("--output " + args.output +
                     ": the output is extended XYZ; name it .xyz or .extxyz (add .gz to compress)");
  }
  for (const auto& input : args.inputs) {
    if (args.output != "-" && fs::exists(args.output) && fs::exists(input) &&
        fs::equivalent(args.output, input)) {
      throw InputError("--output " + args.output + " is also an input; write to another file");
    }
  }

  chem::ReadOptions read_options;
  read_options.seed = args.embedding_seed;
  std::vector<std::vector<chem::Molecule>> per_input;
  std::vector<chem::Molecule> all;
  for (const auto& input : args.inputs) {
    per_input.push_back(load_molecules({input}, read_options));
    for (const auto& m : per_input.back()) {
      for (const char* key :
           {chem::kXtbEnergyProperty, chem::kXtbGapProperty, chem::kXtbDipoleProperty}) {
        if (m.properties.count(key) || m.text_properties.count(key)) {
          throw InputError(input + ": molecule '" + m.name + "' already has the property '" + key +
                           "'; use the file without xTB properties");
        }
      }
    }
    all.insert(all.end(), per_input.back().begin(), per_input.back().end());
  }

  Progress progress(Progress::detect_mode(global.quiet));
  Stopwatch watch;
  const auto results =
      chem::xtb_single_points(all, args.xtb, [&](std::size_t done, std::size_t total) {
        progress.update("GFN2-xTB", static_cast<double>(done) / static_cast<double>(total));
      });
  progress.finish();
  const double seconds = watch.seconds();
  spdlog::info("GFN2-xTB for {} molecules in {:.1f} s ({:.1f} ms per molecule, {} threads)",
               all.size(), seconds, 1e3 * seconds / static_cast<double>(all.size()),
               core::thread_count());

  std::string text;
  std::size_t next = 0;
  for (std::size_t f = 0; f < args.inputs.size(); ++f) {
    std::vector<chem::Molecule>& molecules = per_input[f];
    std::vector<std::string> additions;
    for (std::size_t k = 0; k < molecules.size(); ++k) {
      const chem::XtbResult& r = results[next + k];
      const Formatted values{format_fixed(r.energy_hartree, 10), format_fixed(r.gap_hartree, 10),
                             format_fixed(r.dipole_debye, 6)};
      additions.push_back(values.pairs());
      molecules[k].properties[chem::kXtbEnergyProperty] = std::stod(values.energy);
      molecules[k].properties[chem::kXtbGapProperty] = std::stod(values.gap);
      molecules[k].properties[chem::kXtbDipoleProperty] = std::stod(values.dipole);
    }
    next += molecules.size();
    std::optional<std::string> kept;
    if (is_xyz_file(args.inputs[f])) {
      kept = chem::append_to_xyz_comments(core::read_text_maybe_gzip(args.inputs[f]), additions,
                                          args.inputs[f]);
      if (!kept) {
        spdlog::info("{}: comment lines are not key=value lists; rewriting as extended XYZ",
                     args.inputs[f]);
      }
    }
    text += kept ? *kept : chem::format_xyz(molecules);
  }

  if (args.output == "-") {
    write_output("-", text);
  } else if (ends_with_gz(args.output)) {
    core::write_file_atomic(args.output, core::gzip_compress(text, 9, args.output));
  } else {
    core::write_file_atomic(args.output, text);
  }
  spdlog::info("wrote {} molecules with {}, {}, {} to {}", all.size(), chem::kXtbEnergyProperty,
               chem::kXtbGapProperty, chem::kXtbDipoleProperty, args.output);
}

}  // namespace

void add_xtb_command(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<XtbArgs>();
  auto* cmd = app.add_subcommand(
      "xtb",
      "GFN2-xTB single points: write the inputs as extended XYZ with xtb_energy, xtb_gap "
      "(hartree) and xtb_dipole (debye) added");
  cmd->add_option("inputs", args->inputs, "Molecule files or directories (any format encmol reads)")
      ->required();
  cmd->add_option("-o,--output", args->output,
                  "Extended-XYZ file to write (.xyz or .extxyz, .gz to compress; - for stdout)")
      ->required();
  cmd->add_option(
         "--charge", args->xtb.total_charge,
         "Total charge of every molecule (e); odd electron counts get one unpaired electron")
      ->capture_default_str();
  cmd->add_option("--accuracy", args->xtb.accuracy,
                  "xTB accuracy (0.0001 to 1000; smaller is tighter)")
      ->capture_default_str();
  cmd->add_option("--max-iterations", args->xtb.max_iterations, "SCC iterations before giving up")
      ->capture_default_str();
  cmd->add_option("--electronic-temperature", args->xtb.electronic_temperature,
                  "Electronic temperature for Fermi smearing (K)")
      ->capture_default_str();
  cmd->add_option("--embedding-seed", args->embedding_seed, "Seed of the SMILES 3D embedding")
      ->capture_default_str();
  add_global_options(*cmd, global);
  cmd->callback([args, &global] { run_xtb(*args, global); });
}

}  // namespace encmol::cli
