// encmol audit: what a shared plaintext model or an open prediction interface
// leaks (reconstruction, membership inference, extraction) and a Markdown
// report of all three.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <sstream>

#include "encmol/audit/extraction.hpp"
#include "encmol/audit/membership.hpp"
#include "encmol/audit/reconstruct.hpp"
#include "encmol/audit/refit_options.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/cli/commands.hpp"
#include "encmol/cli/model_options.hpp"
#include "encmol/cli/plot.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/ml/model.hpp"

namespace encmol::cli {
namespace {

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

// ---------------------------------------------------------------- reconstruct

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

// ---------------------------------------------------------------- membership

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

void add_membership_attack_options(CLI::App& cmd, MembershipArgs& a) {
  cmd.add_option("--shadows", a.shadows, "Shadow models of the likelihood-ratio attack")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{2}, std::size_t{1024}));
  cmd.add_option(
      "--regularized-lambda", a.regularized_lambda,
      "Ridge lambda of mitigation (b) (default: 1e-2, or 100 x the model's lambda if larger)");
  cmd.add_option("--round-step", a.round_step,
                 "Rounding step of mitigation (c), label units (e.g. kcal/mol)")
      ->capture_default_str();
}

/// Membership setup for an existing model: members are the data molecules
/// whose representation equals a training row.
audit::MembershipSetup setup_from_model(const ml::Model& model,
                                        const std::vector<chem::Molecule>& data,
                                        const std::string& target) {
  audit::MembershipSetup setup;
  const auto matches = audit::match_training_rows(model, data);
  std::vector<char> is_training(data.size(), 0);
  std::size_t found = 0;
  for (const auto& m : matches) {
    if (m && !is_training[*m]) {
      is_training[*m] = 1;
      ++found;
    }
  }
  if (found < 4) {
    throw InputError("the data holds " + std::to_string(found) + " of the model's " +
                     std::to_string(model.training_size()) +
                     " training molecules; give the data set the model was trained from (--data)");
  }
  if (!target.empty() &&
      std::find(model.targets.begin(), model.targets.end(), target) == model.targets.end()) {
    throw InputError("the model does not predict '" + target + "'");
  }
  if (found < model.training_size()) {
    spdlog::warn(
        "{} of the model's {} training molecules are in the data; the others cannot be audited",
        found, model.training_size());
  }
  std::size_t skipped = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    try {
      model.representation.check(data[i]);
    } catch (const InputError&) {
      ++skipped;
      continue;
    }
    setup.population.push_back(data[i]);
    setup.member.push_back(is_training[i]);
  }
  if (skipped) spdlog::info("{} molecules the model cannot represent are left out", skipped);
  setup.representation = model.representation;
  setup.kernel = model.global_krr().kernel;
  setup.lambda = model.global_krr().lambda;
  setup.per_element_baseline = model.baseline.per_element;
  setup.target = target.empty() ? model.targets.front() : target;
  return setup;
}

/// Membership setup with a fresh target trained (with cross-validation, as a
/// model owner would) on a random part of the data.
audit::MembershipSetup setup_fresh(std::vector<chem::Molecule> data, const MembershipArgs& args,
                                   Progress& progress) {
  ml::TrainOptions options = args.model.to_train_options();
  if (options.targets.size() != 1) {
    throw InputError("membership inference attacks one property: give exactly one --target (got " +
                     std::to_string(options.targets.size()) + ")");
  }
  options.progress = [&](std::string_view step, double f) { progress.update(step, f); };
  options.representation_options = chem::capacity_for(data);
  audit::MembershipSetup setup;
  setup.member = audit::random_membership(data.size(), args.train_size, args.model.seed);
  const auto members_count =
      static_cast<std::size_t>(std::count(setup.member.begin(), setup.member.end(), 1));
  if (members_count < 4 || data.size() - members_count < 4) {
    throw InputError("membership inference needs at least 4 training molecules and 4 others; " +
                     std::to_string(data.size()) + " molecules with --train-size " +
                     std::to_string(members_count) + " do not allow that");
  }
  std::vector<chem::Molecule> members;
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (setup.member[i]) members.push_back(data[i]);
  }
  spdlog::info("training the target model on {} of {} molecules", members.size(), data.size());
  const ml::TrainResult result = ml::train(members, options);
  setup.representation = result.model.representation;
  if (result.model.family() == ml::ModelFamily::GlobalKrr) {
    setup.kernel = result.model.global_krr().kernel;
    setup.lambda = result.model.global_krr().lambda;
  } else {
    // Shadows refit the family at the target's hyper-parameters; its ridge lambda is what (b)
    // raises.
    setup.family_training = audit::refit_options(result.model, 0, data, args.model.seed);
    if (setup.family_training->lambdas.empty())
      throw InputError("membership inference refits the model with a larger ridge lambda; the " +
                       std::string(ml::to_string(result.model.family())) +
                       " family has none: use krr, local-krr, rf or quadratic");
    setup.lambda = setup.family_training->lambdas.front();
  }
  setup.per_element_baseline = options.baseline;
  setup.target = options.targets.front();
  setup.population = std::move(data);
  return setup;
}

audit::MembershipReport run_membership_audit(const audit::MembershipSetup& setup,
                                             const MembershipArgs& args, Progress& progress) {
  audit::MembershipOptions options;
  options.shadows = args.shadows;
  options.regularized_lambda = args.regularized_lambda;
  options.round_step = args.round_step;
  options.seed = args.model.seed;
  options.progress = [&](std::string_view step, double f) { progress.update(step, f); };
  spdlog::info("membership inference: {} molecules ({} members), {} shadow models, {} (lambda {})",
               setup.population.size(), std::count(setup.member.begin(), setup.member.end(), 1),
               args.shadows,
               setup.family_training ? std::string(ml::to_string(setup.family_training->family))
                                     : setup.kernel.describe(),
               setup.lambda);
  auto report = audit::audit_membership(setup, options);
  progress.finish();
  return report;
}

PlotSpec roc_plot(const audit::MembershipReport& r) {
  PlotSpec spec;
  spec.title = "membership inference ROC (" + plain(r.target) + ", " +
               std::to_string(r.population) + " molecules)";
  spec.x_label = "false positive rate";
  spec.y_label = "true positive rate";
  auto add = [&](const std::string& title, const audit::AttackMetrics& m) {
    PlotSeries s;
    s.title = title + fmt::format(" (AUC {:.3f})", m.auc);
    for (const auto& p : m.roc) {
      if (p.fpr > 0.0 && p.tpr > 0.0) {
        s.x.push_back(p.fpr);
        s.y.push_back(p.tpr);
      }
    }
    if (!s.x.empty()) spec.series.push_back(std::move(s));
  };
  for (const auto& c : r.configs) add("LiRA " + c.name, c.lira_online);
  if (!r.configs.empty()) add("loss threshold " + r.configs.front().name, r.configs.front().loss);
  PlotSeries chance{"chance", {1e-4, 1.0}, {1e-4, 1.0}};
  spec.series.push_back(std::move(chance));
  return spec;
}

nlohmann::json attack_json(const audit::AttackMetrics& m) {
  return {
      {"auc", m.auc}, {"tpr_at_0.1pct_fpr", m.tpr_at_0_1pct}, {"tpr_at_1pct_fpr", m.tpr_at_1pct}};
}

nlohmann::json membership_json(const audit::MembershipReport& r) {
  nlohmann::json configs = nlohmann::json::array();
  for (const auto& c : r.configs) {
    configs.push_back({{"name", c.name},
                       {"description", c.description},
                       {"lambda", c.lambda},
                       {"round_step", c.round_step},
                       {"member_mae", c.member_mae},
                       {"non_member_mae", c.non_member_mae},
                       {"loss_threshold", attack_json(c.loss)},
                       {"lira_online", attack_json(c.lira_online)},
                       {"lira_offline", attack_json(c.lira_offline)}});
  }
  return {{"population", r.population}, {"members", r.members}, {"shadows", r.shadows},
          {"target", r.target},         {"model", r.model},     {"configs", configs},
          {"seconds", r.seconds}};
}

std::string membership_table(const audit::MembershipReport& r, bool markdown) {
  std::ostringstream out;
  const auto& base = r.configs.front();
  if (markdown) {
    out << "| configuration | lambda | rounding | held-out MAE | attack | AUC | TPR @ 0.1 % FPR | "
           "TPR @ 1 % FPR |\n";
    out << "|---|---|---|---|---|---|---|---|\n";
  } else {
    out << fmt::format("{:<14} {:>9} {:>6} {:>12} {:<15} {:>7} {:>11} {:>11}\n", "config", "lambda",
                       "round", "held-out MAE", "attack", "AUC", "TPR@0.1%", "TPR@1%");
  }
  for (const auto& c : r.configs) {
    for (const auto* m : {&c.loss, &c.lira_online, &c.lira_offline}) {
      const std::string mae = fmt::format("{:.3f} ({:+.1f} %)", c.non_member_mae,
                                          100.0 * (c.non_member_mae / base.non_member_mae - 1.0));
      if (markdown) {
        out << fmt::format("| {} | {:.3g} | {} | {} | {} | {:.3f} | {:.3f} | {:.3f} |\n", c.name,
                           c.lambda, c.round_step > 0 ? format_number(c.round_step) : "none", mae,
                           m->attack, m->auc, m->tpr_at_0_1pct, m->tpr_at_1pct);
      } else {
        out << fmt::format("{:<14} {:>9.3g} {:>6} {:>12.3f} {:<15} {:>7.3f} {:>11.3f} {:>11.3f}\n",
                           c.name, c.lambda, c.round_step > 0 ? format_number(c.round_step) : "-",
                           c.non_member_mae, m->attack, m->auc, m->tpr_at_0_1pct, m->tpr_at_1pct);
      }
    }
  }
  return out.str();
}

std::string roc_csv(const audit::MembershipReport& r) {
  std::ostringstream out;
  out << "config,attack,fpr,tpr\n";
  for (const auto& c : r.configs) {
    for (const auto* m : {&c.loss, &c.lira_online, &c.lira_offline}) {
      for (const auto& p : m->roc)
        out << c.name << "," << m->attack << "," << format_number(p.fpr) << ","
            << format_number(p.tpr) << "\n";
    }
  }
  return out.str();
}

void run_membership_command(const MembershipArgs& args, const GlobalOptions& global) {
  apply_global_options(global);
  Progress progress(Progress::detect_mode(global.quiet || args.json));
  auto data = load_data(args.data, args.model.embedding_seed);
  audit::MembershipSetup setup;
  if (!args.model_file.empty()) {
    const ml::Model model = ml::Model::load(args.model_file);
    require_kernel_model(
        model, args.model_file,
        "membership inference against a given model file (it finds the members by their stored "
        "rows; without --model, the audit trains any family but nn itself from the model options)");
    const auto targets = split_list(args.model.targets);
    if (targets.size() > 1) throw InputError("give at most one --target with --model");
    setup = setup_from_model(model, data, targets.empty() ? std::string() : targets.front());
  } else {
    setup = setup_fresh(std::move(data), args, progress);
  }
  const auto report = run_membership_audit(setup, args, progress);
  if (!args.plot.empty()) try_plot(roc_plot(report), args.plot);
  if (!args.csv.empty()) write_output(args.csv, roc_csv(report));
  if (args.json) {
    std::cout << membership_json(report).dump(2) << "\n";
  } else {
    std::cout << fmt::format(
        "membership inference on {} molecules ({} members), {} shadow models, {:.1f} s\n",
        report.population, report.members, report.shadows, report.seconds);
    std::cout << membership_table(report, false);
  }
}

// ---------------------------------------------------------------- extraction

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

void add_extraction_attack_options(CLI::App& cmd, ExtractionArgs& a) {
  cmd.add_option("--budget", a.attack.max_budget, "Largest number of queries the attacker makes")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{4}, std::size_t{1} << 24));
  cmd.add_option(
      "--budgets", a.budgets,
      "Budgets to evaluate, comma separated (default: 16, 24, 32, 48, ... up to --budget)");
  cmd.add_option("--eval-size", a.attack.eval_size,
                 "Attacker molecules held out to evaluate the surrogate")
      ->capture_default_str();
  cmd.add_option("--tolerance", a.attack.tolerance,
                 "Surrogate MAE vs the victim that counts as extracted (label units)")
      ->capture_default_str();
  cmd.add_option("--extraction-round-step", a.attack.round_step,
                 "The interface rounds answers to this step (0 = exact answers)")
      ->capture_default_str();
  cmd.add_option("--perturbed-copies", a.attack.perturbed_copies,
                 "Extra queries: perturbed copies of each attacker molecule")
      ->capture_default_str();
  cmd.add_option("--perturbation-sigma", a.attack.perturbation_sigma,
                 "Displacement of the perturbed copies, Å")
      ->capture_default_str();
  cmd.add_flag("--surrogate-cv", a.attack.surrogate_cv,
               "Cross-validate the surrogate's sigma and lambda instead of using the victim's");
}

audit::ExtractionReport run_extraction_audit(const ml::Model& model,
                                             const std::vector<chem::Molecule>& data,
                                             const ExtractionArgs& args, Progress& progress) {
  audit::ExtractionOptions options = args.attack;
  for (double b : parse_numbers(args.budgets, "--budgets", true)) {
    if (b != std::floor(b) || b < 2 || b > 1e8)
      throw InputError("--budgets: " + format_number(b) + " is not a whole number of queries >= 2");
    options.budgets.push_back(static_cast<std::size_t>(b));
  }
  options.seed = args.seed;
  if (!args.target.empty()) {
    const auto it = std::find(model.targets.begin(), model.targets.end(), args.target);
    if (it == model.targets.end())
      throw InputError("the model has no target '" + args.target + "'");
    options.target = static_cast<std::size_t>(it - model.targets.begin());
  }
  options.progress = [&](std::string_view step, double f) { progress.update(step, f); };
  spdlog::info("extraction: up to {} queries against a {} model of {} molecules",
               args.attack.max_budget, chem::to_string(model.representation.kind()),
               model.training_size());
  auto report = audit::audit_extraction(model, data, options);
  progress.finish();
  if (report.available_queries < args.attack.max_budget) {
    spdlog::warn(
        "only {} query molecules were available (budget {}); add data or --perturbed-copies",
        report.available_queries, args.attack.max_budget);
  }
  return report;
}

std::string extraction_csv(const audit::ExtractionReport& r) {
  std::ostringstream out;
  out << "queries,mae_vs_victim,rmse_vs_victim,mae_vs_truth,seconds\n";
  for (const auto& p : r.points) {
    out << p.queries << "," << format_number(p.mae_vs_victim) << ","
        << format_number(p.rmse_vs_victim) << ","
        << (p.mae_vs_truth ? format_number(*p.mae_vs_truth) : "") << "," << format_number(p.seconds)
        << "\n";
  }
  return out.str();
}

PlotSpec extraction_plot(const audit::ExtractionReport& r) {
  PlotSpec spec;
  spec.title = "model extraction: surrogate error vs queries (" + plain(r.target) + ")";
  spec.x_label = "queries Q";
  spec.y_label = "MAE on held-out attacker molecules";
  PlotSeries victim{"surrogate vs victim answers", {}, {}},
      truth{"surrogate vs true labels", {}, {}};
  for (const auto& p : r.points) {
    victim.x.push_back(static_cast<double>(p.queries));
    victim.y.push_back(p.mae_vs_victim);
    if (p.mae_vs_truth) {
      truth.x.push_back(static_cast<double>(p.queries));
      truth.y.push_back(*p.mae_vs_truth);
    }
  }
  const double x0 = r.points.front().queries, x1 = r.points.back().queries;
  spec.series.push_back(std::move(victim));
  if (!truth.x.empty()) spec.series.push_back(std::move(truth));
  spec.series.push_back({"tolerance", {x0, x1}, {r.tolerance, r.tolerance}});
  if (r.victim_mae_vs_truth) {
    spec.series.push_back(
        {"victim vs true labels", {x0, x1}, {*r.victim_mae_vs_truth, *r.victim_mae_vs_truth}});
  }
  return spec;
}

nlohmann::json extraction_json(const audit::ExtractionReport& r) {
  nlohmann::json points = nlohmann::json::array();
  for (const auto& p : r.points) {
    nlohmann::json j{{"queries", p.queries},
                     {"mae_vs_victim", p.mae_vs_victim},
                     {"rmse_vs_victim", p.rmse_vs_victim},
                     {"seconds", p.seconds}};
    if (p.mae_vs_truth) j["mae_vs_truth"] = *p.mae_vs_truth;
    points.push_back(j);
  }
  nlohmann::json j{{"target", r.target},
                   {"pool", r.pool},
                   {"excluded_training", r.excluded_training},
                   {"excluded_unfit", r.excluded_unfit},
                   {"eval_size", r.eval_size},
                   {"available_queries", r.available_queries},
                   {"tolerance", r.tolerance},
                   {"round_step", r.round_step},
                   {"points", points},
                   {"largest_safe_budget", r.largest_safe_budget},
                   {"seconds", r.seconds}};
  j["queries_to_tolerance"] =
      r.queries_to_tolerance ? nlohmann::json(*r.queries_to_tolerance) : nlohmann::json();
  if (r.victim_mae_vs_truth) j["victim_mae_vs_truth"] = *r.victim_mae_vs_truth;
  return j;
}

std::string extraction_summary(const audit::ExtractionReport& r) {
  if (r.queries_to_tolerance) {
    return fmt::format(
        "a surrogate came within {} of the victim after {} queries; every budget tested "
        "below it ({} and fewer) kept the surrogate worse than that",
        format_number(r.tolerance), *r.queries_to_tolerance, r.largest_safe_budget);
  }
  return fmt::format(
      "no surrogate came within {} of the victim with up to {} queries (best MAE {:.3f})",
      format_number(r.tolerance), r.points.back().queries, r.points.back().mae_vs_victim);
}

void run_extraction_command(const ExtractionArgs& args, const GlobalOptions& global) {
  apply_global_options(global);
  Progress progress(Progress::detect_mode(global.quiet || args.json));
  const ml::Model model = ml::Model::load(args.model);
  const auto data = load_data(args.data, 42);
  const auto report = run_extraction_audit(model, data, args, progress);
  if (!args.output.empty()) write_output(args.output, extraction_csv(report));
  if (!args.plot.empty()) try_plot(extraction_plot(report), args.plot);
  if (args.json) {
    std::cout << extraction_json(report).dump(2) << "\n";
    return;
  }
  std::cout << fmt::format(
      "attacker molecules: {} usable ({} in the training set and {} the model refuses left out), "
      "{} for evaluation, {} queries available\n",
      report.pool, report.excluded_training, report.excluded_unfit, report.eval_size,
      report.available_queries);
  if (report.victim_mae_vs_truth)
    std::cout << fmt::format("victim MAE vs true labels: {:.3f}\n", *report.victim_mae_vs_truth);
  std::cout << fmt::format("{:>9} {:>14} {:>14} {:>14} {:>9}\n", "queries", "MAE vs victim",
                           "RMSE vs victim", "MAE vs truth", "time (s)");
  for (const auto& p : report.points) {
    std::cout << fmt::format(
        "{:>9} {:>14.4f} {:>14.4f} {:>14} {:>9.2f}\n", p.queries, p.mae_vs_victim, p.rmse_vs_victim,
        p.mae_vs_truth ? fmt::format("{:.4f}", *p.mae_vs_truth) : "-", p.seconds);
  }
  std::cout << extraction_summary(report) << "\n";
}

// ---------------------------------------------------------------- report

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

void run_report_command(ReportArgs args, const GlobalOptions& global) {
  apply_global_options(global);
  Progress progress(Progress::detect_mode(global.quiet));
  const ml::Model model = ml::Model::load(args.model);
  require_kernel_model(model, args.model,
                       "the full report (reconstruction, membership, extraction)");
  const auto data = load_data(args.data, 42);
  const std::filesystem::path out(args.output);
  const std::string stem = out.stem().string();
  const std::filesystem::path dir = out.parent_path();
  auto sibling = [&](const std::string& suffix) { return (dir / (stem + suffix)).string(); };
  std::ostringstream md;
  md << "# encmol privacy audit\n\n";
  md << "- model: `" << args.model << "` — " << model.representation.describe() << "; "
     << model.global_krr().kernel.describe() << ", lambda "
     << format_number(model.global_krr().lambda) << "; " << model.training_size()
     << " training molecules; targets";
  for (const auto& t : model.targets) md << " " << t;
  md << "\n- data: ";
  for (const auto& d : args.data.empty() ? std::vector<std::string>{"bundled QM7"} : args.data)
    md << "`" << d << "` ";
  md << "(" << data.size() << " molecules)\n- seed: " << args.seed << "\n\n";

  // 1. Reconstruction.
  Stopwatch watch;
  const auto rec = run_reconstruction(model, &data, args.reconstruct);
  const std::string xyz = sibling("_reconstructed.xyz");
  write_reconstructed(rec, xyz);
  md << "## 1. Reconstruction of the training set from the model file\n\n";
  md << "A plaintext kernel model stores its training representations. ";
  if (rec.kind == chem::RepresentationKind::CoulombMatrix) {
    md << "Each sorted Coulomb matrix was inverted (elements from the diagonal, distances from the "
          "off-diagonal entries, classical MDS refined on all distances).\n\n";
  } else {
    md << "Bag of Bonds gives the composition and the distance multiset of every element pair; a "
          "geometry was assembled from them by a bounded backtracking search.\n\n";
  }
  md << "```\n" << reconstruction_text(rec, args.reconstruct.rmsd_tolerance) << "```\n\n";
  md << "Recovered molecules: `" << std::filesystem::path(xyz).filename().string() << "`.\n\n";

  // 2. Membership inference.
  if (!args.skip_membership) {
    args.membership.model.seed = args.seed;
    const auto setup = setup_from_model(model, data, "");
    const auto mem = run_membership_audit(setup, args.membership, progress);
    const std::string roc = sibling("_membership_roc.png");
    const bool plotted = try_plot(roc_plot(mem), roc);
    md << "## 2. Membership inference through the prediction interface\n\n";
    md << fmt::format(
        "Population {} molecules of the data ({} of them training molecules of the model), {} "
        "shadow models (LiRA, Carlini et al. 2022), target `{}`; {:.1f} s.\n\n",
        mem.population, mem.members, mem.shadows, mem.target, mem.seconds);
    md << membership_table(mem, true) << "\n";
    md << "Held-out MAE: error on the non-members (the change against (a) is the accuracy cost of "
          "the "
          "mitigation).\n\n";
    if (plotted) md << "![ROC](" << std::filesystem::path(roc).filename().string() << ")\n\n";
  }

  // 3. Extraction.
  if (!args.skip_extraction) {
    args.extraction.seed = args.seed;
    const auto ext = run_extraction_audit(model, data, args.extraction, progress);
    const std::string png = sibling("_extraction.png");
    const bool plotted = try_plot(extraction_plot(ext), png);
    md << "## 3. Model extraction with black-box queries\n\n";
    md << fmt::format(
        "Attacker: {} molecules of the data that are not training molecules ({} held out for "
        "evaluation, {} queries available); surrogate KRR with the victim's kernel and {}; "
        "{:.1f} s.\n\n",
        ext.pool, ext.eval_size, ext.available_queries,
        args.extraction.attack.surrogate_cv ? "cross-validated sigma and lambda"
                                            : "hyper-parameters",
        ext.seconds);
    md << "| queries | MAE vs victim | MAE vs true labels |\n|---|---|---|\n";
    for (const auto& p : ext.points) {
      md << fmt::format("| {} | {:.3f} | {} |\n", p.queries, p.mae_vs_victim,
                        p.mae_vs_truth ? fmt::format("{:.3f}", *p.mae_vs_truth) : "-");
    }
    if (ext.victim_mae_vs_truth)
      md << fmt::format("\nThe victim's own MAE on these molecules: {:.3f}.\n",
                        *ext.victim_mae_vs_truth);
    md << "\n" << extraction_summary(ext) << ".\n\n";
    if (plotted)
      md << "![extraction](" << std::filesystem::path(png).filename().string() << ")\n\n";
  }
  md << "## What encmol does about it\n\n"
        "- The model never leaves its owner: the service evaluates it on encrypted queries, so the "
        "reconstruction of section 1 needs the model file, which a client never gets.\n"
        "- A reply reveals only the requested predictions (other slots zeroed, noise-flooded).\n"
        "- A per-client query budget bounds extraction (section 3) and, with rounding, limits what "
        "the "
        "membership attacks of section 2 can measure.\n"
        "- See docs/privacy.md.\n";
  md << fmt::format("\nTotal time {:.1f} s.\n", watch.seconds());
  core::write_file_atomic(out, md.str());
  spdlog::info("wrote {}", args.output);
  std::cout << "wrote " << args.output << "\n";
}

}  // namespace

void add_audit_command(CLI::App& app, GlobalOptions& global) {
  auto* audit_cmd = app.add_subcommand(
      "audit",
      "Measure what a shared model or an open prediction interface leaks about its training data");
  audit_cmd->require_subcommand(1, 1);
  add_global_options(*audit_cmd, global);

  {
    auto args = std::make_shared<ReconstructArgs>();
    auto* cmd = audit_cmd->add_subcommand("reconstruct",
                                          "Recover the training molecules from a plaintext KRR "
                                          "model file (CM: exact; BoB: best effort)");
    cmd->add_option("--model", args->model, "Model file")->required();
    cmd->add_option("-o,--output", args->output, "XYZ file for the recovered molecules")
        ->required();
    cmd->add_option(
        "--reference", args->reference,
        "The original molecules (files or directories): report how many were recovered exactly");
    cmd->add_option("--csv", args->csv, "Per-molecule results (CSV, - = stdout)");
    cmd->add_option("--limit", args->limit, "Only the first N training molecules (0 = all)")
        ->capture_default_str();
    cmd->add_option("--node-budget", args->node_budget,
                    "Bag of Bonds: candidate placements tried per molecule before giving up")
        ->capture_default_str();
    cmd->add_option("--rmsd-tolerance", args->rmsd_tolerance,
                    "RMSD (Å) below which a molecule counts as recovered")
        ->capture_default_str();
    cmd->add_flag("--json", args->json, "Print the summary as JSON");
    add_global_options(*cmd, global);
    cmd->callback([args, &global] { run_reconstruct_command(*args, global); });
  }
  {
    auto args = std::make_shared<MembershipArgs>();
    auto* cmd = audit_cmd->add_subcommand("membership",
                                          "Membership inference (loss threshold and LiRA) for the "
                                          "default, a regularized and a rounding interface");
    cmd->add_option("--data", args->data,
                    "Molecules with labels: the population (default: bundled QM7)");
    cmd->add_option("--model", args->model_file,
                    "Audit this model (members = its training molecules found in --data) instead "
                    "of training one");
    args->model.add_to(*cmd, false);
    cmd->add_option("--train-size", args->train_size,
                    "Molecules the fresh target model is trained on (default: half the data)");
    add_membership_attack_options(*cmd, *args);
    cmd->add_option("--plot", args->plot, "ROC plot (PNG, log-log)");
    cmd->add_option("--csv", args->csv, "ROC curves (CSV)");
    cmd->add_flag("--json", args->json, "Print JSON");
    add_global_options(*cmd, global);
    cmd->callback([args, &global] {
      if (args->model_file.empty() && args->model.targets.empty()) {
        throw InputError("give --target (the property to attack) or --model");
      }
      run_membership_command(*args, global);
    });
  }
  {
    auto args = std::make_shared<ExtractionArgs>();
    auto* cmd = audit_cmd->add_subcommand(
        "extraction", "Black-box model stealing: surrogate error versus the number of queries");
    cmd->add_option("--model", args->model, "Victim model file")->required();
    cmd->add_option(
        "--data", args->data,
        "The attacker's molecules (training molecules are removed; default: bundled QM7)");
    add_extraction_attack_options(*cmd, *args);
    cmd->add_option("--target", args->target, "Property to attack (default: the model's first)");
    cmd->add_option("--seed", args->seed, "Seed of the query order and evaluation split")
        ->capture_default_str();
    cmd->add_option("-o,--output", args->output, "CSV of the curve (- = stdout)");
    cmd->add_option("--plot", args->plot, "Plot of the curve (PNG)");
    cmd->add_flag("--json", args->json, "Print JSON");
    add_global_options(*cmd, global);
    cmd->callback([args, &global] { run_extraction_command(*args, global); });
  }
  {
    auto args = std::make_shared<ReportArgs>();
    auto* cmd = audit_cmd->add_subcommand(
        "report",
        "Run all three audits on a model and a data set and write one Markdown report with plots");
    cmd->add_option("--model", args->model, "Model file")->required();
    cmd->add_option("--data", args->data,
                    "The data set the model was trained from, with labels (default: bundled QM7)");
    cmd->add_option("-o,--output", args->output,
                    "Markdown report; plots and XYZ are written beside it")
        ->required();
    cmd->add_option("--seed", args->seed, "Seed of every random choice")->capture_default_str();
    cmd->add_option("--limit", args->reconstruct.limit,
                    "Reconstruct only the first N training molecules");
    cmd->add_option("--node-budget", args->reconstruct.node_budget,
                    "Bag of Bonds search budget per molecule")
        ->capture_default_str();
    add_membership_attack_options(*cmd, args->membership);
    add_extraction_attack_options(*cmd, args->extraction);
    cmd->add_flag("--skip-membership", args->skip_membership, "Leave out the membership audit");
    cmd->add_flag("--skip-extraction", args->skip_extraction, "Leave out the extraction audit");
    add_global_options(*cmd, global);
    cmd->callback([args, &global] { run_report_command(*args, global); });
  }
}

}  // namespace encmol::cli
