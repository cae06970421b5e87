// Internal to the `encmol audit` commands: their options, the helpers they
// share, and the functions the Markdown report reuses (one file per audit:
// audit_reconstruct_command.cpp, audit_membership_command.cpp,
// audit_extraction_command.cpp; audit_command.cpp holds the report and the
// subcommand registration).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encmol/audit/extraction.hpp"
#include "encmol/audit/membership.hpp"
#include "encmol/audit/reconstruct.hpp"
#include "encmol/chem/molecule.hpp"
#include "encmol/cli/commands.hpp"
#include "encmol/cli/model_options.hpp"
#include "encmol/cli/plot.hpp"
#include "encmol/cli/progress.hpp"
#include "encmol/ml/model.hpp"

namespace encmol::cli::audit_cli {

struct ReconstructArgs {
  std::string model;
  std::string output;
  std::vector<std::string> reference;
  std::string csv;
  std::size_t limit = 0;
  std::uint64_t node_budget = audit::BobSearchOptions{}.node_budget;
  double rmsd_tolerance = 0.1;
  bool json = false;
};

struct MembershipArgs {
  std::vector<std::string> data;
  std::string model_file;
  ModelOptions model;
  std::size_t train_size = 0;
  std::size_t shadows = 16;
  double regularized_lambda = 0.0;
  double round_step = 1.0;
  std::string plot;
  std::string csv;
  bool json = false;
};

struct ExtractionArgs {
  ExtractionArgs() { attack.max_budget = 2048; }
  std::string model;
  std::vector<std::string> data;
  /// The options the CLI binds directly; budgets, target, seed and progress
  /// are filled in by run_extraction_audit.
  audit::ExtractionOptions attack;
  std::vector<std::string> budgets;
  std::string target;
  std::uint64_t seed = 42;
  std::string output;
  std::string plot;
  bool json = false;
};

struct ReportArgs {
  std::string model;
  std::vector<std::string> data;
  std::string output;
  ReconstructArgs reconstruct;
  MembershipArgs membership;
  ExtractionArgs extraction;
  std::uint64_t seed = 42;
  bool skip_membership = false;
  bool skip_extraction = false;
};

std::vector<chem::Molecule> load_data(std::vector<std::string> paths, std::uint64_t embedding_seed);
std::string plain(std::string s);
std::string percent(double x);
bool try_plot(const PlotSpec& spec, const std::string& path);
nlohmann::json reconstruction_json(const audit::ReconstructionReport& r);
std::string reconstruction_text(const audit::ReconstructionReport& r, double tolerance);
std::string reconstruction_csv(const audit::ReconstructionReport& r);
void write_reconstructed(const audit::ReconstructionReport& r, const std::string& path);
audit::ReconstructionReport run_reconstruction(const ml::Model& model,
                                               const std::vector<chem::Molecule>* reference,
                                               const ReconstructArgs& args);
void require_kernel_model(const ml::Model& model, const std::string& path, const char* audit);
void run_reconstruct_command(const ReconstructArgs& args, const GlobalOptions& global);
void add_membership_attack_options(CLI::App& cmd, MembershipArgs& a);
audit::MembershipSetup setup_from_model(const ml::Model& model,
                                        const std::vector<chem::Molecule>& data,
                                        const std::string& target);
audit::MembershipSetup setup_fresh(std::vector<chem::Molecule> data, const MembershipArgs& args,
                                   Progress& progress);
audit::MembershipReport run_membership_audit(const audit::MembershipSetup& setup,
                                             const MembershipArgs& args, Progress& progress);
PlotSpec roc_plot(const audit::MembershipReport& r);
nlohmann::json attack_json(const audit::AttackMetrics& m);
nlohmann::json membership_json(const audit::MembershipReport& r);
std::string membership_table(const audit::MembershipReport& r, bool markdown);
std::string roc_csv(const audit::MembershipReport& r);
void run_membership_command(const MembershipArgs& args, const GlobalOptions& global);
void add_extraction_attack_options(CLI::App& cmd, ExtractionArgs& a);
audit::ExtractionReport run_extraction_audit(const ml::Model& model,
                                             const std::vector<chem::Molecule>& data,
                                             const ExtractionArgs& args, Progress& progress);
std::string extraction_csv(const audit::ExtractionReport& r);
PlotSpec extraction_plot(const audit::ExtractionReport& r);
nlohmann::json extraction_json(const audit::ExtractionReport& r);
std::string extraction_summary(const audit::ExtractionReport& r);
void run_extraction_command(const ExtractionArgs& args, const GlobalOptions& global);

}  // namespace encmol::cli::audit_cli
