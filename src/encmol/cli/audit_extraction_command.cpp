// encmol audit extraction: model stealing through the prediction interface.
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

// ---------------------------------------------------------------- extraction

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

}  // namespace encmol::cli::audit_cli
