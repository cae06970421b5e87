#include "encmol/ml/model.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "encmol/chem/elements.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/model_file.hpp"

namespace encmol::ml {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
// Explicit guide: clang 14 (the fuzz build) lacks C++20's aggregate deduction.
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

}  // namespace

std::string_view to_string(ModelFamily family) {
  switch (family) {
    case ModelFamily::GlobalKrr:
      return "krr";
    case ModelFamily::LocalKrr:
      return "local-krr";
    case ModelFamily::RandomFeatures:
      return "rf";
    case ModelFamily::Quadratic:
      return "quadratic";
    case ModelFamily::Network:
      return "nn";
  }
  return "unknown";
}

ModelFamily parse_model_family(std::string_view name) {
  const std::string n = lower(name);
  if (n == "krr" || n == "global-krr") return ModelFamily::GlobalKrr;
  if (n == "local-krr" || n == "local") return ModelFamily::LocalKrr;
  if (n == "rf" || n == "random-features") return ModelFamily::RandomFeatures;
  if (n == "quadratic") return ModelFamily::Quadratic;
  if (n == "nn" || n == "network") return ModelFamily::Network;
  throw InputError(
      "unknown model family '" + std::string(name) +
      "': use 'krr' (global kernel ridge regression), 'local-krr' (local atomic kernel), 'rf' "
      "(random features of the local kernel), 'quadratic' (quadratic atomic model) or 'nn' "
      "(HE-friendly atomic network)");
}

ModelFamily Model::family() const {
  return std::visit(
      Overloaded{[](const GlobalKrr&) { return ModelFamily::GlobalKrr; },
                 [](const LocalKrr&) { return ModelFamily::LocalKrr; },
                 [](const RandomFeatureModel&) { return ModelFamily::RandomFeatures; },
                 [](const QuadraticAtomicModel&) { return ModelFamily::Quadratic; },
                 [](const AtomicNetwork&) { return ModelFamily::Network; }},
      body);
}

const GlobalKrr& Model::global_krr() const {
  if (const auto* p = std::get_if<GlobalKrr>(&body)) return *p;
  throw ParameterError(
      "this operation supports global kernel ridge regression models only; the model is of family "
      "'" +
      std::string(to_string(family())) + "'");
}

GlobalKrr& Model::global_krr() {
  return const_cast<GlobalKrr&>(static_cast<const Model&>(*this).global_krr());
}

void Model::validate() const {
  const auto t = static_cast<Eigen::Index>(targets.size());
  auto fail = [](const std::string& what) { throw ParameterError("invalid model: " + what); };
  if (targets.empty()) fail("no targets");
  if (units.size() != targets.size()) fail("units and targets differ in length");
  if (label_scale.size() != targets.size()) fail("label scales and targets differ in length");
  if (info.training_size == 0) fail("no training molecules");
  for (double v : label_scale) {
    if (!std::isfinite(v) || !(v > 0)) fail("label scales must be finite and > 0");
  }
  if (baseline.mean.size() != t) fail("baseline mean does not match the targets");
  if (baseline.per_element && baseline.elements.empty())
    fail("per-element baseline without elements");
  if (baseline.per_element &&
      (baseline.coefficients.rows() != static_cast<Eigen::Index>(baseline.elements.size()) ||
       baseline.coefficients.cols() != t)) {
    fail("baseline coefficients do not match elements x targets");
  }
  if (!baseline.mean.allFinite() || (baseline.per_element && !baseline.coefficients.allFinite())) {
    fail("non-finite baseline values");
  }
  baseline.delta.validate(targets.size());
  if (atom_projection.active()) {
    if (!representation.is_atomic()) fail("an atom projection needs an atomic representation");
    if (atom_projection.input_dimension != representation.atom_dimension())
      fail("the atom projection's input size differs from the representation's");
    atom_projection.validate(representation.elements());
  }
  if (!atom_frame.empty()) {
    if (!representation.is_atomic()) fail("an atom frame needs an atomic representation");
    atom_frame.validate(atom_input_dimension(), representation.elements());
  }
  std::visit(
      Overloaded{[&](const GlobalKrr& k) {
                   k.validate(representation.dimension(), targets.size());
                   if (k.training_size() != info.training_size)
                     fail("training size does not match the weights");
                 },
                 [&](const LocalKrr& k) {
                   if (!representation.is_atomic())
                     fail("a local kernel model needs an atomic representation");
                   k.validate(atom_input_dimension(), targets.size(), representation.elements());
                   if (k.training_size() != info.training_size)
                     fail("training size does not match the weights");
                 },
                 [&](const RandomFeatureModel& f) {
                   if (!representation.is_atomic())
                     fail("a random-feature model needs an atomic representation");
                   f.validate(atom_input_dimension(), targets.size(), representation.elements());
                 },
                 [&](const QuadraticAtomicModel& q) {
                   if (!representation.is_atomic())
                     fail("a quadratic atomic model needs an atomic representation");
                   q.validate(atom_input_dimension(), targets.size(), representation.elements());
                 },
                 [&](const AtomicNetwork& n) {
                   if (!representation.is_atomic())
                     fail("an atomic network needs an atomic representation");
                   n.validate(atom_input_dimension(), targets.size(), representation.elements());
                 }},
      body);
}

Eigen::MatrixXd Model::predict(const std::vector<chem::Molecule>& molecules) const {
  Eigen::MatrixXd out = std::visit(
      Overloaded{[&](const GlobalKrr& k) { return k.predict(representation.featurize(molecules)); },
                 [&](const LocalKrr& k) { return k.predict(atom_inputs(molecules)); },
                 [&](const RandomFeatureModel& f) { return f.predict(atom_inputs(molecules)); },
                 [&](const QuadraticAtomicModel& q) { return q.predict(atom_inputs(molecules)); },
                 [&](const AtomicNetwork& n) { return n.predict(atom_inputs(molecules)); }},
      body);
  return out + baseline_values(molecules);
}

chem::AtomicFeatures Model::atom_inputs(const std::vector<chem::Molecule>& molecules) const {
  return atom_projection.project(representation.featurize_atoms(molecules));
}

Eigen::MatrixXd Model::baseline_values(const std::vector<chem::Molecule>& molecules) const {
  Eigen::MatrixXd out = baseline.evaluate(molecules);
  if (baseline.delta.active()) out += baseline.delta.evaluate(molecules);
  return out;
}

void Model::save(const std::filesystem::path& path) const { save_model_file(path, *this); }

Model Model::load(const std::filesystem::path& path) { return load_model_file(path); }

std::string Model::describe() const {
  std::string s;
  char buf[256];
  s += "family: " + std::string(to_string(family())) + "\n";
  s += "representation: " + representation.describe() + "\n";
  s += atom_projection.describe();
  s += std::visit([](const auto& b) { return b.describe(); }, body);
  s += "training molecules: " + std::to_string(training_size()) + "\n";
  s += "baseline: ";
  if (baseline.per_element) {
    s += "mean + per-element (dressed-atom) terms for";
    for (int z : baseline.elements) {
      s.append(" ");
      s.append(chem::element_symbol(z));
    }
    s += "\n";
  } else {
    s += "mean\n";
  }
  if (baseline.delta.active()) {
    s += "delta (computed by whoever predicts, added back):";
    for (std::size_t t = 0; t < targets.size(); ++t) {
      std::snprintf(buf, sizeof(buf), " %s <- %s x %.10g", targets[t].c_str(),
                    std::string(to_string(baseline.delta.sources[t])).c_str(),
                    baseline.delta.factors[t]);
      s += buf;
    }
    s += "\n";
  }
  s += "targets:\n";
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const auto ti = static_cast<Eigen::Index>(t);
    std::snprintf(buf, sizeof(buf), "  %s%s%s%s: mean %.6g, label scale %.6g\n", targets[t].c_str(),
                  units[t].empty() ? "" : " (", units[t].c_str(), units[t].empty() ? "" : ")",
                  baseline.mean(ti), label_scale[t]);
    s += buf;
  }
  s += "data set: " + (info.dataset.empty() ? std::string("(not recorded)") : info.dataset) + "\n";
  if (info.folds > 0) {
    std::snprintf(buf, sizeof(buf),
                  "hyper-parameters: %u-fold cross-validation, seed %llu, CV score %.6g\n",
                  info.folds, static_cast<unsigned long long>(info.seed), info.cv_score);
  } else if (family() == ModelFamily::Network) {
    // The nn trainer holds back a seeded validation split (early stopping,
    // architecture grid); its score is stored where a CV score would be.
    std::snprintf(buf, sizeof(buf),
                  "training: Adam with early stopping on a validation split, seed %llu, validation "
                  "score %.6g\n",
                  static_cast<unsigned long long>(info.seed), info.cv_score);
  } else {
    std::snprintf(buf, sizeof(buf), "hyper-parameters: fixed, seed %llu\n",
                  static_cast<unsigned long long>(info.seed));
  }
  s += buf;
  if (!info.encmol_version.empty()) s += "trained with encmol " + info.encmol_version + "\n";
  return s;
}

nlohmann::json Model::describe_json() const {
  nlohmann::json j;
  j["family"] = std::string(to_string(family()));
  j["representation"] = {{"kind", std::string(chem::to_string(representation.kind()))},
                         {"dimension", representation.dimension()},
                         {"max_atoms", representation.max_atoms()},
                         {"description", representation.describe()}};
  nlohmann::json elements = nlohmann::json::array();
  for (std::size_t i = 0; i < representation.elements().size(); ++i) {
    elements.push_back({{"symbol", std::string(chem::element_symbol(representation.elements()[i]))},
                        {"z", representation.elements()[i]},
                        {"capacity", representation.element_capacity()[i]}});
  }
  j["representation"]["elements"] = elements;
  j.update(std::visit([](const auto& b) { return b.describe_json(); }, body));
  j["training_size"] = training_size();
  j["baseline"] = {{"per_element", baseline.per_element}};
  if (baseline.per_element) {
    nlohmann::json coeffs = nlohmann::json::object();
    for (std::size_t e = 0; e < baseline.elements.size(); ++e) {
      std::vector<double> row;
      for (Eigen::Index t = 0; t < baseline.coefficients.cols(); ++t) {
        row.push_back(baseline.coefficients(static_cast<Eigen::Index>(e), t));
      }
      coeffs[std::string(chem::element_symbol(baseline.elements[e]))] = row;
    }
    j["baseline"]["coefficients"] = coeffs;
  }
  if (baseline.delta.active()) j["baseline"]["delta"] = baseline.delta.describe_json();
  nlohmann::json ts = nlohmann::json::array();
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const auto ti = static_cast<Eigen::Index>(t);
    ts.push_back({{"name", targets[t]},
                  {"unit", units[t]},
                  {"mean", baseline.mean(ti)},
                  {"label_scale", label_scale[t]}});
  }
  j["targets"] = ts;
  j["provenance"] = {{"dataset", info.dataset},
                     {"seed", info.seed},
                     {"folds", info.folds},
                     {"cv_score", info.cv_score},
                     {"encmol_version", info.encmol_version}};
  return j;
}

}  // namespace encmol::ml
