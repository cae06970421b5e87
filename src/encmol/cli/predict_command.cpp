// encmol predict: predictions of a model in the clear, as CSV or JSON.
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>
#include <sstream>

#include "encmol/cli/commands.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/model.hpp"
#include "encmol/ml/train.hpp"

namespace encmol::cli {
namespace {

struct PredictArgs {
  std::string model;
  std::vector<std::string> inputs;
  std::string output = "-";
  std::uint64_t embedding_seed = 42;
  bool json = false;
};

bool all_have_targets(const std::vector<chem::Molecule>& molecules,
                      const std::vector<std::string>& targets) {
  for (const auto& m : molecules) {
    for (const auto& t : targets) {
      if (!m.properties.contains(t)) return false;
    }
  }
  return true;
}

void run_predict(const PredictArgs& args, const GlobalOptions& global) {
  apply_global_options(global);
  const ml::Model model = ml::Model::load(args.model);
  chem::ReadOptions read_options;
  read_options.seed = args.embedding_seed;
  const auto molecules = load_molecules(args.inputs, read_options);

  Stopwatch watch;
  const Eigen::MatrixXd predicted = model.predict(molecules);
  spdlog::info("predicted {} molecules x {} targets in {:.3f} s", molecules.size(),
               model.target_count(), watch.seconds());

  // When the inputs carry the true labels, report the error as well.
  std::unique_ptr<ml::Errors> errors;
  if (all_have_targets(molecules, model.targets)) {
    errors = std::make_unique<ml::Errors>(
        ml::prediction_errors(predicted, ml::label_matrix(molecules, model.targets)));
    for (std::size_t t = 0; t < model.target_count(); ++t) {
      spdlog::info("{}: MAE {:.4f}, RMSE {:.4f} against the labels in the input", model.targets[t],
                   errors->mae[t], errors->rmse[t]);
    }
  }

  std::ostringstream out;
  if (args.json) {
    nlohmann::json j;
    j["model"] = args.model;
    j["targets"] = model.targets;
    j["units"] = model.units;
    nlohmann::json rows = nlohmann::json::array();
    for (std::size_t i = 0; i < molecules.size(); ++i) {
      nlohmann::json row;
      row["name"] = molecules[i].name;
      for (std::size_t t = 0; t < model.target_count(); ++t) {
        row[model.targets[t]] = predicted(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(t));
      }
      rows.push_back(row);
    }
    j["predictions"] = rows;
    if (errors) j["errors"] = {{"mae", errors->mae}, {"rmse", errors->rmse}};
    out << j.dump(2) << "\n";
  } else {
    out << "name";
    for (const auto& t : model.targets) out << "," << t;
    out << "\n";
    for (std::size_t i = 0; i < molecules.size(); ++i) {
      const std::string& name = molecules[i].name;
      const bool quote = name.find_first_of(",\"\n") != std::string::npos;
      if (quote) {
        out << '"';
        for (char c : name) out << (c == '"' ? "\"\"" : std::string(1, c));
        out << '"';
      } else {
        out << name;
      }
      for (std::size_t t = 0; t < model.target_count(); ++t) {
        out << "," << format_number(predicted(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(t)));
      }
      out << "\n";
    }
  }
  write_output(args.output, out.str());
  if (args.output != "-") spdlog::info("wrote {}", args.output);
}

}  // namespace

void add_predict_command(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand("predict", "Predict properties of molecules with a model, in the clear");
  cmd->add_option("-m,--model", args->model, "Model file (from encmol train)")->required();
  cmd->add_option("inputs", args->inputs, "Molecule files or directories")->required();
  cmd->add_option("-o,--output", args->output, "Output file (CSV, or JSON with --json); - = stdout")
      ->capture_default_str();
  cmd->add_option("--embedding-seed", args->embedding_seed, "Seed of the 3-D embedding of SMILES input")
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Write JSON instead of CSV");
  add_global_options(*cmd, global);
  cmd->callback([args, &global] { run_predict(*args, global); });
}

}  // namespace encmol::cli
