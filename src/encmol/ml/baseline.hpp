// Label baselines: what is subtracted from the labels before a model is fitted
// and added back to its predictions (family-agnostic).
#pragma once

#include <string>
#include <vector>

#include <Eigen/Core>

#include "encmol/chem/molecule.hpp"
#include "encmol/ml/delta.hpp"

namespace encmol::ml {

/// n x e matrix of atom counts: entry (i, k) = atoms of element elements[k] in
/// molecule i. Throws InputError naming the molecule when it holds an element
/// not in `elements`.
Eigen::MatrixXd element_count_matrix(const std::vector<chem::Molecule>& molecules,
                                     const std::vector<int>& elements);

/// n x t label matrix from Molecule::properties (columns in `targets` order).
/// Throws InputError naming the first molecule that lacks a target or whose
/// value is not finite.
Eigen::MatrixXd label_matrix(const std::vector<chem::Molecule>& molecules,
                             const std::vector<std::string>& targets);

/// What is subtracted from the labels before the model fit and added back at
/// prediction:  baseline(m) = delta(m) + mean + sum_e count_e(m) * coefficients(e, :),
/// where delta(m) is the optional physics baseline (delta.hpp) the client
/// computes itself; mean and coefficients are fitted to labels - delta.
/// With per_element == false, coefficients is empty and baseline = mean.
/// Per-element coefficients are "dressed-atom" energies: the least-squares
/// (minimum-norm, so collinear counts such as isomer sets are fine) fit of the
/// labels by element counts without intercept; mean is then the mean residual.
struct Baseline {
  bool per_element = false;
  std::vector<int> elements;     // ascending Z (per_element only)
  Eigen::MatrixXd coefficients;  // elements x targets (per_element only)
  Eigen::RowVectorXd mean;       // 1 x targets
  DeltaBaseline delta;           // Δ-learning baseline (inactive: none)

  /// Fits on an n x e count matrix (columns = `elements`) and n x t labels.
  static Baseline fit(const Eigen::MatrixXd& counts, const std::vector<int>& elements,
                      const Eigen::MatrixXd& labels, bool per_element);
  /// n x t baseline values for an n x e count matrix with the same columns.
  Eigen::MatrixXd evaluate(const Eigen::MatrixXd& counts) const;
  /// Baseline values for molecules (counts built from `elements`), without
  /// the Δ term (Model::baseline_values adds it).
  Eigen::MatrixXd evaluate(const std::vector<chem::Molecule>& molecules) const;
};

}  // namespace encmol::ml
