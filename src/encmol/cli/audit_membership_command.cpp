// encmol audit membership: membership inference through the prediction interface.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <sstream>

#include "encmol/audit/refit_options.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/cli/audit_cli.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"

namespace encmol::cli::audit_cli {

// ---------------------------------------------------------------- membership

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

}  // namespace encmol::cli::audit_cli
