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
  nlohmann::json j = model.describe_json();
  j["file"] = args.model;
  std::cout << j.dump(2) << "\n";
}

}  // namespace

void add_info_command(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<InfoArgs>();
  auto* cmd = app.add_subcommand("info", "Describe a model file (family, representation, parameters, targets, size)");
  cmd->add_option("model", args->model, "Model file")->required();
  cmd->add_flag("--json", args->json, "Print JSON");
  add_global_options(*cmd, global);
  cmd->callback([args, &global] { run_info(*args, global); });
}

}  // namespace encmol::cli
