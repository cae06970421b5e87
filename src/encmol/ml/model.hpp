// A trained kernel ridge regression model of one or more molecular properties.
//
//   prediction(m) = baseline(m) + sum_i alpha(i, :) * k(x(m), x_i)
//
// where x(m) = representation.featurize(m), x_i are the stored training
// representations (exactly, in double precision) and baseline(m) = mean +
// per-element dressed-atom terms (see krr.hpp). alpha is in the labels' own
// units. Everything the encrypted evaluation (secure layer) and the privacy
// audit need is a public member.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "encmol/chem/molecule.hpp"
#include "encmol/chem/representation.hpp"
#include "encmol/ml/kernels.hpp"
#include "encmol/ml/krr.hpp"

namespace encmol::ml {

/// Where a model came from (for `encmol info` and reproducibility).
struct TrainingInfo {
  std::string dataset;            // data set name or path given at training
  std::uint64_t seed = 0;         // seed of the CV folds / splits
  std::uint32_t folds = 0;        // CV folds (0 = hyper-parameters were fixed)
  double cv_score = 0.0;          // CV mean of MAE / label_scale over targets (0 if none)
  std::string encmol_version;     // version of encmol that trained the model
};

struct Model {
  chem::RepresentationSpec representation;
  Kernel kernel;
  double lambda = 0.0;
  std::vector<std::string> targets;  // property names, one per column of alpha
  std::vector<std::string> units;    // same length; "" when unknown
  Baseline baseline;
  /// Standard deviation of the training labels after the baseline, per target.
  /// Used to compare errors of targets with different units (CV score) and by
  /// the secure layer to express error budgets relative to the label spread.
  std::vector<double> label_scale;
  chem::FeatureMatrix training_features;  // n x dimension
  Eigen::MatrixXd alpha;                  // n x targets
  TrainingInfo info;

  std::size_t training_size() const { return static_cast<std::size_t>(alpha.rows()); }
  std::size_t target_count() const { return targets.size(); }

  /// sum_i |alpha(i, t)| for each target t: with the kernel approximation error
  /// eps of an encrypted evaluation, the prediction error is at most
  /// sum|alpha| * eps (ANCHORS.md §4), so this sizes encrypted error budgets.
  Eigen::VectorXd sum_abs_alpha() const;

  /// Predictions (molecules x targets). Throws InputError naming a molecule the
  /// representation cannot hold (too many atoms, unknown element, ...).
  Eigen::MatrixXd predict(const std::vector<chem::Molecule>& molecules) const;
  /// Same from precomputed features; `molecules` supply element counts for the
  /// per-element baseline (ignored without one).
  Eigen::MatrixXd predict_features(const chem::FeatureMatrix& features,
                                   const std::vector<chem::Molecule>& molecules) const;

  /// Checks internal consistency (sizes, finite values); throws ParameterError.
  void validate() const;

  /// Writes the model file (kind "MODL", see model_file.hpp) atomically.
  void save(const std::filesystem::path& path) const;
  /// Reads and validates a model file; FormatError naming the file when it is
  /// corrupt, truncated, foreign or from a newer encmol.
  static Model load(const std::filesystem::path& path);

  /// Multi-line human-readable summary for `encmol info`: representation,
  /// kernel, lambda, targets with units, baseline, training size, sum|alpha|,
  /// provenance.
  std::string describe() const;
  /// The same as a JSON object (text) for `encmol info --json`: representation
  /// (kind, dimension, max_atoms, elements, capacities), kernel, lambda,
  /// training_size, baseline, targets [{name, unit, mean, label_scale,
  /// sum_abs_alpha}], provenance.
  std::string describe_json() const;
};

}  // namespace encmol::ml
