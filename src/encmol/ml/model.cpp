#include "encmol/ml/model.hpp"

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "encmol/chem/elements.hpp"
#include "encmol/core/error.hpp"
#include "encmol/ml/model_file.hpp"

namespace encmol::ml {

Eigen::VectorXd Model::sum_abs_alpha() const { return alpha.cwiseAbs().colwise().sum().transpose(); }

void Model::validate() const {
  kernel.validate();
  const auto n = alpha.rows();
  const auto t = static_cast<Eigen::Index>(targets.size());
  auto fail = [](const std::string& what) { throw ParameterError("invalid model: " + what); };
  if (targets.empty()) fail("no targets");
  if (units.size() != targets.size()) fail("units and targets differ in length");
  if (label_scale.size() != targets.size()) fail("label scales and targets differ in length");
  if (alpha.cols() != t) fail("alpha has " + std::to_string(alpha.cols()) + " columns for " +
                              std::to_string(t) + " targets");
  if (n == 0) fail("no training molecules");
  if (training_features.rows() != n) fail("training features and alpha differ in rows");
  if (static_cast<std::size_t>(training_features.cols()) != representation.dimension()) {
    fail("training features do not match the representation dimension");
  }
  if (!std::isfinite(lambda) || lambda < 0) fail("lambda is not finite and >= 0");
  if (baseline.mean.size() != t) fail("baseline mean does not match the targets");
  for (double v : label_scale) {
    if (!std::isfinite(v) || !(v > 0)) fail("label scales must be finite and > 0");
  }
  if (baseline.per_element && baseline.elements.empty()) fail("per-element baseline without elements");
  if (baseline.per_element &&
      (baseline.coefficients.rows() != static_cast<Eigen::Index>(baseline.elements.size()) ||
       baseline.coefficients.cols() != t)) {
    fail("baseline coefficients do not match elements x targets");
  }
  if (!alpha.allFinite() || !training_features.allFinite() || !baseline.mean.allFinite() ||
      (baseline.per_element && !baseline.coefficients.allFinite())) {
    fail("non-finite values");
  }
}

Eigen::MatrixXd Model::predict_features(const chem::FeatureMatrix& features,
                                        const std::vector<chem::Molecule>& molecules) const {
  if (features.cols() != training_features.cols()) {
    throw ParameterError("predict: features have " + std::to_string(features.cols()) +
                         " values, the model expects " + std::to_string(training_features.cols()));
  }
  if (baseline.per_element && static_cast<Eigen::Index>(molecules.size()) != features.rows()) {
    throw ParameterError("predict: molecules and feature rows differ in number");
  }
  const Eigen::MatrixXd k = gram(kernel, features, training_features);
  Eigen::MatrixXd out = k * alpha;
  if (baseline.per_element) {
    out += baseline.evaluate(molecules);
  } else {
    out.rowwise() += baseline.mean;
  }
  return out;
}

Eigen::MatrixXd Model::predict(const std::vector<chem::Molecule>& molecules) const {
  const chem::FeatureMatrix x = representation.featurize(molecules);
  return predict_features(x, molecules);
}

void Model::save(const std::filesystem::path& path) const { save_model_file(path, *this); }

Model Model::load(const std::filesystem::path& path) { return load_model_file(path); }

std::string Model::describe() const {
  std::string s;
  char buf[256];
  s += "model: kernel ridge regression\n";
  s += "representation: " + representation.describe() + "\n";
  s += "kernel: " + kernel.describe() + "\n";
  std::snprintf(buf, sizeof(buf), "lambda: %.6g\n", lambda);
  s += buf;
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
  const Eigen::VectorXd sa = sum_abs_alpha();
  s += "targets:\n";
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const auto ti = static_cast<Eigen::Index>(t);
    std::snprintf(buf, sizeof(buf), "  %s%s%s%s: mean %.6g, label scale %.6g, sum|alpha| %.6g\n",
                  targets[t].c_str(), units[t].empty() ? "" : " (", units[t].c_str(),
                  units[t].empty() ? "" : ")", baseline.mean(ti), label_scale[t], sa(ti));
    s += buf;
  }
  s += "data set: " + (info.dataset.empty() ? std::string("(not recorded)") : info.dataset) + "\n";
  if (info.folds > 0) {
    std::snprintf(buf, sizeof(buf), "hyper-parameters: %u-fold cross-validation, seed %llu, CV score %.6g\n",
                  info.folds, static_cast<unsigned long long>(info.seed), info.cv_score);
  } else {
    std::snprintf(buf, sizeof(buf), "hyper-parameters: fixed, seed %llu\n",
                  static_cast<unsigned long long>(info.seed));
  }
  s += buf;
  if (!info.encmol_version.empty()) s += "trained with encmol " + info.encmol_version + "\n";
  return s;
}

std::string Model::describe_json() const {
  nlohmann::json j;
  j["model"] = "krr";
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
  j["kernel"] = {{"kind", std::string(to_string(kernel.kind))}};
  if (kernel.has_sigma()) j["kernel"]["sigma"] = kernel.sigma;
  if (kernel.kind == KernelKind::Polynomial) {
    j["kernel"]["gamma"] = kernel.gamma;
    j["kernel"]["coef0"] = kernel.coef0;
    j["kernel"]["degree"] = kernel.degree;
  }
  j["lambda"] = lambda;
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
  const Eigen::VectorXd sa = sum_abs_alpha();
  nlohmann::json ts = nlohmann::json::array();
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const auto ti = static_cast<Eigen::Index>(t);
    ts.push_back({{"name", targets[t]},
                  {"unit", units[t]},
                  {"mean", baseline.mean(ti)},
                  {"label_scale", label_scale[t]},
                  {"sum_abs_alpha", sa(ti)}});
  }
  j["targets"] = ts;
  j["provenance"] = {{"dataset", info.dataset},
                     {"seed", info.seed},
                     {"folds", info.folds},
                     {"cv_score", info.cv_score},
                     {"encmol_version", info.encmol_version}};
  return j.dump(2);
}

}  // namespace encmol::ml
