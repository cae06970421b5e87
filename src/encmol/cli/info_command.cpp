// encmol info: what a model file contains.
#include <iostream>
#include <memory>

#include "encmol/cli/commands.hpp"
#include "encmol/ml/model.hpp"

namespace encmol::cli {
namespace {

struct InfoArgs {
  std::string model;
  bool json = false;
};

void run_info(const InfoArgs& args, const GlobalOptions& global) {
  apply_global_options(global);
  const ml::Model model = ml::Model::load(args.model);
  if (!args.json) {
    std::cout << "model file: " << args.model << "\n" << model.describe();
    return;
  }
  nlohmann::json j;
  j["file"] = args.model;
  j["representation"] = {{"kind", std::string(chem::to_string(model.representation.kind()))},
                         {"description", model.representation.describe()},
                         {"dimension", model.representation.dimension()},
                         {"max_atoms", model.representation.max_atoms()},
                         {"elements", model.representation.elements()}};
  j["kernel"] = {{"kind", std::string(ml::to_string(model.kernel.kind))},
                 {"description", model.kernel.describe()}};
  if (model.kernel.has_sigma()) j["kernel"]["sigma"] = model.kernel.sigma;
  j["lambda"] = model.lambda;
  j["targets"] = model.targets;
  j["units"] = model.units;
  j["training_size"] = model.training_size();
  j["per_element_baseline"] = model.baseline.per_element;
  const Eigen::VectorXd sums = model.sum_abs_alpha();
  j["sum_abs_alpha"] = std::vector<double>(sums.data(), sums.data() + sums.size());
  j["label_scale"] = model.label_scale;
  j["training"] = {{"dataset", model.info.dataset},
                   {"seed", model.info.seed},
                   {"folds", model.info.folds},
                   {"cv_score", model.info.cv_score},
                   {"encmol_version", model.info.encmol_version}};
  std::cout << j.dump(2) << "\n";
}

}  // namespace

void add_info_command(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<InfoArgs>();
  auto* cmd = app.add_subcommand("info", "Describe a model file (representation, kernel, targets, size)");
  cmd->add_option("model", args->model, "Model file")->required();
  cmd->add_flag("--json", args->json, "Print JSON");
  add_global_options(*cmd, global);
  cmd->callback([args, &global] { run_info(*args, global); });
}

}  // namespace encmol::cli
