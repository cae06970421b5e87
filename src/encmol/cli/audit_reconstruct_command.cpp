// encmol audit reconstruct: the training molecules back from a plaintext kernel model.
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

// ---------------------------------------------------------------- reconstruct

nlohmann::json reconstruction_json(const audit::ReconstructionReport& r) {
  return {{"representation", std::string(chem::to_string(r.kind))},
          {"training_rows", r.training_rows},
          {"attempted", r.attempted},
          {"geometries", r.geometries},
          {"with_reference", r.with_reference},
          {"composition_recovered", r.composition_recovered},
          {"distances_recovered", r.distances_recovered},
          {"exact", r.exact},
          {"exact_rate", r.exact_rate()},
          {"bob_budget_exhausted", r.budget_exhausted},
          {"seconds", r.seconds}};
}

std::string reconstruction_text(const audit::ReconstructionReport& r, double tolerance) {
  std::ostringstream out;
  out << fmt::format("representation            {}\n", chem::to_string(r.kind));
  out << fmt::format("training molecules        {} ({} attempted)\n", r.training_rows, r.attempted);
  out << fmt::format(
      "geometries obtained       {} ({})\n", r.geometries,
      percent(r.attempted ? static_cast<double>(r.geometries) / static_cast<double>(r.attempted)
                          : 0.0));
  if (r.kind == chem::RepresentationKind::BagOfBonds) {
    out << fmt::format("search budget exhausted   {}\n", r.budget_exhausted);
  }
  if (r.with_reference) {
    const double n = static_cast<double>(r.with_reference);
    out << fmt::format("matched to reference      {}\n", r.with_reference);
    out << fmt::format("composition recovered     {} ({})\n", r.composition_recovered,
                       percent(static_cast<double>(r.composition_recovered) / n));
    out << fmt::format("distances recovered       {} ({})\n", r.distances_recovered,
                       percent(static_cast<double>(r.distances_recovered) / n));
    out << fmt::format(
        "recovered exactly         {} ({})  [same composition, RMSD < {} Å, reflection allowed]\n",
        r.exact, percent(r.exact_rate()), tolerance);
  } else {
    out << "no --reference data: recovered molecules were not compared with the originals\n";
  }
  out << fmt::format("time                      {:.2f} s\n", r.seconds);
  return out.str();
}

std::string reconstruction_csv(const audit::ReconstructionReport& r) {
  std::ostringstream out;
  out << "row,formula,geometry,distance_residual,bob_budget_exhausted,reference,composition_match,"
         "distances_match,rmsd,exact\n";
  for (const auto& item : r.items) {
    out << item.row + 1 << "," << item.formula << "," << (item.molecule ? 1 : 0) << ","
        << format_number(item.distance_residual) << "," << (item.budget_exhausted ? 1 : 0) << ","
        << (item.reference ? std::to_string(*item.reference + 1) : "") << ","
        << (item.composition_match ? 1 : 0) << "," << (item.distances_match ? 1 : 0) << ","
        << (item.rmsd ? format_number(*item.rmsd) : "") << "," << (item.exact ? 1 : 0) << "\n";
  }
  return out.str();
}

void write_reconstructed(const audit::ReconstructionReport& r, const std::string& path) {
  std::vector<chem::Molecule> molecules;
  for (const auto& item : r.items) {
    if (item.molecule) molecules.push_back(*item.molecule);
  }
  if (molecules.empty()) {
    spdlog::warn("no geometry was recovered; {} not written", path);
    return;
  }
  chem::write_xyz(path, molecules);
  spdlog::info("wrote {} reconstructed molecules to {}", molecules.size(), path);
}

audit::ReconstructionReport run_reconstruction(const ml::Model& model,
                                               const std::vector<chem::Molecule>* reference,
                                               const ReconstructArgs& args) {
  if (!(args.rmsd_tolerance > 0.0)) throw InputError("--rmsd-tolerance must be positive");
  if (args.node_budget == 0) throw InputError("--node-budget must be positive");
  audit::ReconstructionOptions options;
  options.limit = args.limit;
  options.rmsd_tolerance = args.rmsd_tolerance;
  options.bob.node_budget = args.node_budget;
  spdlog::info("reconstructing {} training molecules from a {} model",
               args.limit ? std::min(args.limit, model.training_size()) : model.training_size(),
               chem::to_string(model.representation.kind()));
  return audit::reconstruct_model(model, reference, options);
}

// Reconstruction and the shadow-model membership attack work on the training rows and the kernel of
// a global kernel model; the other families store no training molecule (their leak goes through the
// answers).
void require_kernel_model(const ml::Model& model, const std::string& path, const char* audit) {
  if (model.family() == ml::ModelFamily::GlobalKrr) return;
  const bool stores_atoms = model.family() == ml::ModelFamily::LocalKrr;
  throw InputError(fmt::format(
      "{}: {} is implemented for global kernel (krr) models; this is a {} model, which {}. Its "
      "answers are "
      "what it leaks: encmol audit extraction --model {} measures how many a surrogate needs",
      path, audit, ml::to_string(model.family()),
      stores_atoms ? "stores its training atoms' vectors, not whole molecules"
                   : "stores no training molecule (only weights)",
      path));
}

void run_reconstruct_command(const ReconstructArgs& args, const GlobalOptions& global) {
  apply_global_options(global);
  const ml::Model model = ml::Model::load(args.model);
  require_kernel_model(model, args.model, "reconstruction");
  std::vector<chem::Molecule> reference;
  if (!args.reference.empty()) reference = load_data(args.reference, 42);
  const auto report =
      run_reconstruction(model, args.reference.empty() ? nullptr : &reference, args);
  write_reconstructed(report, args.output);
  if (!args.csv.empty()) write_output(args.csv, reconstruction_csv(report));
  if (args.json) {
    auto j = reconstruction_json(report);
    j["model_file"] = args.model;
    j["output"] = args.output;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << reconstruction_text(report, args.rmsd_tolerance);
  }
}

}  // namespace encmol::cli::audit_cli
