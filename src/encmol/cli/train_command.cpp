// encmol train: fit a KRR model (cross-validated) and write the model file.
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

#include "encmol/cli/commands.hpp"
#include "encmol/cli/model_options.hpp"
#include "encmol/cli/report.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/split.hpp"
#include "encmol/secure/budget.hpp"

namespace encmol::cli {
namespace {

struct TrainArgs {
  std::vector<std::string> inputs;
  ModelOptions model;
  std::string output;
  std::string cv_output;
  double test_fraction = 0.0;
  std::size_t test_size = 0;
  bool json = false;
  double encrypted_tolerance = 0.0;  // > 0: choose sigma, lambda under the encrypted error budget
  int min_flood_bits = secure::PlanOptions{}.min_flood_bits;
};

void run_train(const TrainArgs& args, const GlobalOptions& global) {
  apply_global_options(global);
  ml::TrainOptions options = args.model.to_train_options();
  if (args.test_fraction < 0.0 || args.test_fraction >= 1.0) {
    throw InputError("--test-fraction must be in [0, 1)");
  }
  Progress progress(Progress::detect_mode(global.quiet || args.json));
  options.progress = [&](std::string_view step, double fraction) { progress.update(step, fraction); };
  options.dataset = args.inputs.size() == 1 ? args.inputs.front() : "several files";

  chem::ReadOptions read_options;
  read_options.seed = args.model.embedding_seed;
  auto molecules = load_molecules(args.inputs, read_options);

  std::vector<chem::Molecule> train = std::move(molecules);
  std::vector<chem::Molecule> test;
  if (args.test_size > 0 || args.test_fraction > 0.0) {
    const std::size_t n = train.size();
    if (args.test_size >= n) {
      throw InputError("--test-size " + std::to_string(args.test_size) +
                       " leaves no training molecules (" + std::to_string(n) + " read)");
    }
    const ml::Split split = args.test_size > 0
                                ? ml::random_split(n, n - args.test_size, args.model.seed)
                                : ml::random_split_fraction(n, args.test_fraction, args.model.seed);
    test = ml::select(train, split.test);
    train = ml::select(train, split.train);
    // The representation must also hold the held-out molecules.
    options.representation_options = chem::capacity_for(test);
    spdlog::info("holding out {} of {} molecules (seed {})", test.size(), n, args.model.seed);
  }

  ml::TrainResult result;
  if (args.encrypted_tolerance > 0) {
    if (options.family != ml::ModelFamily::GlobalKrr) {
      throw InputError("--encrypted-tolerance: encrypted evaluation supports the krr family today, not '" +
                       std::string(ml::to_string(options.family)) + "'");
    }
    secure::BudgetSearchOptions budget;
    budget.train = options;
    budget.choose_baseline = options.baseline;  // --no-baseline: the mean only
    budget.plan.tolerance = args.encrypted_tolerance;
    budget.plan.min_flood_bits = args.min_flood_bits;
    secure::BudgetSearchResult chosen = secure::choose_hyperparameters_for_budget(train, budget);
    for (const auto& why : chosen.skipped) spdlog::debug("encrypted budget: skipped {}", why);
    spdlog::info("encrypted budget: grid point {} by CV score fits |encrypted - plain| <= {:.3g} (tolerance {:.3g})",
                 chosen.candidates, chosen.plan.budget.front().bound, args.encrypted_tolerance);
    result = std::move(chosen.train);
  } else {
    result = ml::train(train, options);
  }
  progress.finish();
  result.model.save(args.output);
  spdlog::info("wrote model {}", args.output);
  if (!args.cv_output.empty()) write_output(args.cv_output, cv_table_csv(result));

  std::unique_ptr<HeldOut> held_out;
  if (!test.empty()) {
    held_out = std::make_unique<HeldOut>();
    Stopwatch watch;
    const Eigen::MatrixXd predicted = result.model.predict(test);
    held_out->predict_seconds = watch.seconds();
    held_out->molecules = test.size();
    held_out->errors = ml::prediction_errors(predicted, ml::label_matrix(test, result.model.targets));
  }
  if (args.json) {
    auto j = training_report_json(result, held_out.get());
    j["model_file"] = args.output;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << training_report_text(result, held_out.get(), 8);
  }
}

}  // namespace

void add_train_command(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand(
      "train", "Train a model of one or several properties (family and representation chosen with -f/-r; hyper-parameters by k-fold cross-validation)");
  cmd->add_option("inputs", args->inputs,
                  "Molecule files or directories (.xyz/.extxyz[.gz], .sdf/.mol, .smi, .csv, "
                  "directory of XYZ + labels CSV)")
      ->required();
  args->model.add_to(*cmd, true);
  cmd->add_option("-o,--output", args->output, "Model file to write")->required();
  cmd->add_option("--cv-output", args->cv_output, "Write the full cross-validation table (CSV)");
  cmd->add_option("--test-fraction", args->test_fraction,
                  "Hold out this fraction of the molecules (random, --seed) and report its error");
  cmd->add_option("--test-size", args->test_size,
                  "Hold out this many molecules (random, --seed) and report their error");
  cmd->add_flag("--json", args->json, "Print the report as JSON");
  cmd->add_option("--encrypted-tolerance", args->encrypted_tolerance,
                  "Choose sigma, lambda and the baseline (best CV score first; --no-baseline: mean only) so that "
                  "encrypted predictions stay within this absolute error of the plain ones (encmol card's plan "
                  "must fit it)");
  add_min_flood_bits_option(*cmd, args->min_flood_bits);
  add_global_options(*cmd, global);
  cmd->callback([args, &global] { run_train(*args, global); });
}

}  // namespace encmol::cli
