// Kernel ridge regression with fixed hyper-parameters on many subsets of one
// set of molecules: the pairwise measure matrix (kernels.hpp) is computed once,
// and every fit gathers its kernel blocks from it. The attacks train dozens of
// shadow / surrogate models this way. The fit is the one of ml::train_krr with
// a single (sigma, lambda): baseline (mean + optional dressed-atom energies)
// fitted on the training part, Cholesky solve of (K + lambda I) alpha = y - b.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "encmol/chem/molecule.hpp"
#include "encmol/chem/representation.hpp"
#include "encmol/ml/kernels.hpp"

namespace encmol::audit {

/// Most molecules one engine holds (its n x n matrix is 8 n^2 bytes: 12.8 GB).
inline constexpr std::size_t kMaxEngineMolecules = 40000;

class KrrEngine {
 public:
  /// Featurizes `molecules` with `spec` and reads the property `target` as labels.
  /// Throws InputError for a molecule the spec cannot hold or a missing label.
  KrrEngine(const std::vector<chem::Molecule>& molecules, const chem::RepresentationSpec& spec,
            const ml::Kernel& kernel, const std::string& target, bool per_element_baseline);
  /// Same with explicit labels (one per molecule), e.g. a victim's answers.
  KrrEngine(const std::vector<chem::Molecule>& molecules, const chem::RepresentationSpec& spec,
            const ml::Kernel& kernel, std::vector<double> labels, bool per_element_baseline);

  const std::vector<double>& labels() const { return labels_; }
  std::size_t size() const { return labels_.size(); }

  /// For each lambda in `lambdas`: predictions for the molecules `eval` of the
  /// model fitted on the molecules `train` (indices into the constructor's list).
  /// Throws ParameterError when K + lambda I is not positive definite.
  std::vector<std::vector<double>> fit_predict(const std::vector<std::size_t>& train,
                                               const std::vector<double>& lambdas,
                                               const std::vector<std::size_t>& eval) const;

 private:
  void init(const std::vector<chem::Molecule>& molecules, const chem::RepresentationSpec& spec);
  ml::Kernel kernel_;
  bool per_element_ = true;
  std::vector<int> elements_;
  Eigen::MatrixXd counts_;   // molecules x elements
  Eigen::MatrixXd measure_;  // molecules x molecules
  std::vector<double> labels_;
};

}  // namespace encmol::audit
