// A trained model of one or more molecular properties, of any family.
//
//   prediction(m) = baseline(m) + correction(m)
//
// baseline(m) (baseline.hpp) is the part every family shares: the mean and
// per-element (dressed-atom) terms. correction(m) comes from the family body:
//   krr        global kernel ridge regression (global_krr.hpp)
//   local-krr  local (atomic) kernel ridge regression (local_krr.hpp)
//   rf         random-feature model, ridge in feature space (random_features.hpp)
//   quadratic  quadratic atomic model, closed form (quadratic_model.hpp)
//   nn         HE-friendly atomic network, trained by Adam (atomic_network.hpp)
// One file format (model_file.hpp), one predict, one describe for all of them.
// Everything the encrypted evaluation (secure layer) and the privacy audit
// need is a public member.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "encmol/chem/molecule.hpp"
#include "encmol/chem/representation.hpp"
#include "encmol/ml/atom_frame.hpp"
#include "encmol/ml/atomic_network.hpp"
#include "encmol/ml/atomic_pca.hpp"
#include "encmol/ml/baseline.hpp"
#include "encmol/ml/global_krr.hpp"
#include "encmol/ml/local_krr.hpp"
#include "encmol/ml/quadratic_model.hpp"
#include "encmol/ml/random_features.hpp"

namespace encmol::ml {

/// Model families (the CLI's `--family`). The value is stored in model files.
enum class ModelFamily : std::uint8_t {
  GlobalKrr = 1,
  LocalKrr = 2,
  RandomFeatures = 3,
  Network = 4,
  Quadratic = 5
};

/// "krr", "local-krr", "rf", "nn", "quadratic".
std::string_view to_string(ModelFamily family);
/// Accepts the names above (any case). Throws InputError listing them.
ModelFamily parse_model_family(std::string_view name);

/// Where a model came from (for `encmol info` and reproducibility).
struct TrainingInfo {
  std::string dataset;              // data set name or path given at training
  std::uint64_t seed = 0;           // seed of the CV folds / splits
  std::uint32_t folds = 0;          // CV folds (0 = hyper-parameters were fixed)
  double cv_score = 0.0;            // CV mean of MAE / label_scale over targets (0 if none)
  std::string encmol_version;       // version of encmol that trained the model
  std::uint64_t training_size = 0;  // molecules the model was fitted on
};

struct Model {
  using Body =
      std::variant<GlobalKrr, LocalKrr, RandomFeatureModel, QuadraticAtomicModel, AtomicNetwork>;

  chem::RepresentationSpec representation;
  std::vector<std::string> targets;  // property names, one per output column
  std::vector<std::string> units;    // same length; "" when unknown
  Baseline baseline;
  /// Atomic families: optional per-element PCA applied to every atom vector
  /// before the body sees it (inactive = the representation's own vectors).
  AtomicPca atom_projection;
  /// Atomic families: the training atoms' per-element frame (center, scale,
  /// radius) of the vectors the body sees (atom_frame.hpp); the encrypted plan
  /// bounds its values with it. Empty when unknown (before format 4, global families).
  AtomFrame atom_frame;
  /// Standard deviation of the training labels after the baseline, per target.
  /// Used to compare errors of targets with different units (CV score) and by
  /// the secure layer to express error budgets relative to the label spread.
  std::vector<double> label_scale;
  TrainingInfo info;
  Body body;

  ModelFamily family() const;
  std::size_t training_size() const { return info.training_size; }
  std::size_t target_count() const { return targets.size(); }

  /// Atom vectors as the body consumes them: the representation's, projected
  /// when atom_projection is active. Throws InputError like predict.
  chem::AtomicFeatures atom_inputs(const std::vector<chem::Molecule>& molecules) const;
  /// Values per atom the body sees.
  std::size_t atom_input_dimension() const {
    return atom_projection.output_dimension(representation.atom_dimension());
  }

  /// The global-KRR body; ParameterError naming the family when the model is
  /// of another family (for code that only handles global KRR).
  const GlobalKrr& global_krr() const;
  GlobalKrr& global_krr();

  /// Predictions (molecules x targets). Throws InputError naming a molecule the
  /// representation cannot hold (too many atoms, unknown element, ...).
  Eigen::MatrixXd predict(const std::vector<chem::Molecule>& molecules) const;
  /// The baseline part of the predictions (molecules x targets).
  Eigen::MatrixXd baseline_values(const std::vector<chem::Molecule>& molecules) const;

  /// Checks internal consistency (sizes, finite values); throws ParameterError.
  void validate() const;

  /// Writes the model file (kind "MODL", see model_file.hpp) atomically.
  void save(const std::filesystem::path& path) const;
  /// Reads and validates a model file; FormatError naming the file when it is
  /// corrupt, truncated, foreign or from a newer encmol.
  static Model load(const std::filesystem::path& path);

  /// Multi-line human-readable summary for `encmol info`: family,
  /// representation, family parameters, targets with units, baseline,
  /// training size, provenance.
  std::string describe() const;
  /// The same as JSON for `encmol info --json`.
  nlohmann::json describe_json() const;
};

}  // namespace encmol::ml
