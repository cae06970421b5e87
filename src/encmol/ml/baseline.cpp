#include "encmol/ml/baseline.hpp"

#include <algorithm>
#include <cmath>

#include <Eigen/QR>

#include "encmol/chem/elements.hpp"
#include "encmol/core/error.hpp"

namespace encmol::ml {

Eigen::MatrixXd element_count_matrix(const std::vector<chem::Molecule>& molecules,
                                     const std::vector<int>& elements) {
  Eigen::MatrixXd counts = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(molecules.size()),
                                                 static_cast<Eigen::Index>(elements.size()));
  for (std::size_t i = 0; i < molecules.size(); ++i) {
    for (int z : molecules[i].charges) {
      auto it = std::lower_bound(elements.begin(), elements.end(), z);
      if (it == elements.end() || *it != z) {
        const std::string sym = chem::is_known_element(z) ? std::string(chem::element_symbol(z))
                                                          : "Z=" + std::to_string(z);
        throw InputError("molecule '" + molecules[i].name + "' contains element " + sym +
                         ", which does not occur in the training set of this model");
      }
      counts(static_cast<Eigen::Index>(i), it - elements.begin()) += 1.0;
    }
  }
  return counts;
}

Eigen::MatrixXd label_matrix(const std::vector<chem::Molecule>& molecules,
                             const std::vector<std::string>& targets) {
  if (targets.empty()) throw InputError("no target property given");
  Eigen::MatrixXd y(static_cast<Eigen::Index>(molecules.size()),
                    static_cast<Eigen::Index>(targets.size()));
  for (std::size_t i = 0; i < molecules.size(); ++i) {
    for (std::size_t t = 0; t < targets.size(); ++t) {
      auto it = molecules[i].properties.find(targets[t]);
      if (it == molecules[i].properties.end()) {
        std::string have;
        for (const auto& [k, v] : molecules[i].properties) {
          if (!have.empty()) have.append(", ");
          have.append(k);
        }
        throw InputError("molecule '" + molecules[i].name + "' (number " + std::to_string(i + 1) +
                         ") has no property '" + targets[t] + "'" +
                         (have.empty() ? std::string(" (it has no properties)")
                                       : " (it has: " + have + ")"));
      }
      if (!std::isfinite(it->second)) {
        throw InputError("molecule '" + molecules[i].name + "': property '" + targets[t] +
                         "' is not a finite number");
      }
      y(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(t)) = it->second;
    }
  }
  return y;
}

Baseline Baseline::fit(const Eigen::MatrixXd& counts, const std::vector<int>& elements,
                       const Eigen::MatrixXd& labels, bool per_element) {
  if (labels.rows() == 0) throw InputError("cannot fit a baseline on zero molecules");
  Baseline b;
  b.per_element = per_element;
  Eigen::MatrixXd residual = labels;
  if (per_element) {
    if (counts.rows() != labels.rows() || counts.cols() != static_cast<Eigen::Index>(elements.size())) {
      throw ParameterError("baseline: count matrix does not match labels/elements");
    }
    b.elements = elements;
    Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> cod;
    // Counts are small integers, so a genuinely independent column has a pivot
    // far above 1e-10 of the largest; Eigen's default (epsilon * columns) is
    // below the rounding noise of a QR over thousands of rows and would treat
    // collinear columns (isomer sets) as independent, giving huge coefficients.
    cod.setThreshold(1e-10);
    cod.compute(counts);
    b.coefficients = cod.solve(labels);
    residual -= counts * b.coefficients;
  }
  b.mean = residual.colwise().mean();
  return b;
}

Eigen::MatrixXd Baseline::evaluate(const Eigen::MatrixXd& counts) const {
  Eigen::MatrixXd out(counts.rows(), mean.size());
  if (per_element) {
    if (counts.cols() != coefficients.rows()) {
      throw ParameterError("baseline: count matrix has " + std::to_string(counts.cols()) +
                           " elements, expected " + std::to_string(coefficients.rows()));
    }
    out = counts * coefficients;
  } else {
    out.setZero();
  }
  out.rowwise() += mean;
  return out;
}

Eigen::MatrixXd Baseline::evaluate(const std::vector<chem::Molecule>& molecules) const {
  if (!per_element) {
    Eigen::MatrixXd out(static_cast<Eigen::Index>(molecules.size()), mean.size());
    out.rowwise() = mean;
    return out;
  }
  return evaluate(element_count_matrix(molecules, elements));
}

}  // namespace encmol::ml
