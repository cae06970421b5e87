// The model the service-message fuzz target checks requests against, and its
// seeds are made for: a linear-kernel KRR of 40 QM7 molecules served as
// "qm7" with the service's own plan (real parameters; the plan is
// deterministic, so the seeds' plan hash matches the target's).
#pragma once

#include <filesystem>
#include <memory>

#include "encmol/chem/readers.hpp"
#include "encmol/ml/train.hpp"
#include "encmol/secure/roles.hpp"
#include "encmol/service/requests.hpp"

namespace encmol::fuzz {

inline const std::vector<chem::Molecule>& service_molecules() {
  static const std::vector<chem::Molecule> molecules = [] {
    const auto all =
        chem::read_molecules(std::filesystem::path(ENCMOL_SOURCE_DIR) / "data" / "qm7.xyz.gz");
    return std::vector<chem::Molecule>(all.begin(), all.begin() + 44);
  }();
  return molecules;
}

inline service::ServedModels& served_models() {
  static service::ServedModels models = [] {
    const auto& molecules = service_molecules();
    ml::TrainOptions o;
    o.kernel = ml::KernelKind::Linear;
    o.targets = {"ae_pbe0"};
    o.representation_options = chem::capacity_for(molecules);
    o.lambdas = {1e4};
    service::ServedModel m;
    m.name = "qm7";
    m.model = std::make_shared<const ml::Model>(
        ml::train_krr({molecules.begin(), molecules.begin() + 40}, o).model);
    secure::PlanOptions plan;
    plan.tolerance = 0.5;
    m.server = std::make_unique<secure::Server>(*m.model, plan, secure::ServerOptions{});
    m.card = m.server->card().encode();
    service::ServedModels out;
    out.emplace(m.name, std::move(m));
    return out;
  }();
  return models;
}

}  // namespace encmol::fuzz
