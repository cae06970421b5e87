// Training under an encrypted error budget (ANCHORS.md §4): Gaussian KRR
// weights can reach sum|alpha| ~ 1e12, and an encrypted prediction's error is
// about sum|alpha| x the kernel error, so sigma and lambda must be chosen with
// the encrypted plan's bound as a constraint, not only for the CV error.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "encmol/chem/molecule.hpp"
#include "encmol/ml/train.hpp"
#include "encmol/secure/plan.hpp"

namespace encmol::secure {

struct BudgetSearchOptions {
  ml::TrainOptions train;  // grids as for train_krr (empty sigma grid: train_krr's default)
  PlanOptions plan;        // the tolerance the encrypted evaluation must meet
  /// Also cross-validate the other baseline (mean only vs per-element) and
  /// choose it like sigma and lambda; false: keep train.baseline.
  bool choose_baseline = false;
};

struct BudgetSearchResult {
  ml::TrainResult train;     // final model (trained on all molecules with the chosen pair)
  Plan plan;                 // its plan (bound <= tolerance)
  std::size_t candidates = 0;  // grid points tried in order of CV score before one fitted
  std::vector<ml::CvRow> cv;   // the full cross-validation table
  /// Why each better-scoring grid point was passed over (in the order tried).
  std::vector<std::string> skipped;
};

/// Cross-validates the (sigma, lambda) grid once per baseline (one, or both
/// with choose_baseline; a baseline whose fit is singular, e.g. one
/// composition for per-element, is skipped), then takes grid points in order
/// of CV score (best first) and returns the first whose final model compiles
/// into a plan within the tolerance. Throws ParameterError when none does,
/// naming the last reason and what to change.
BudgetSearchResult choose_hyperparameters_for_budget(const std::vector<chem::Molecule>& molecules,
                                                     const BudgetSearchOptions& options);

}  // namespace encmol::secure
