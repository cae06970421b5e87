// Fitting random-feature models (random_features.hpp): ridge regression in
// feature space and its cross-validated hyper-parameter search.
//
//   w = (Phi^T Phi + lambda I)^-1 Phi^T r     (D x D, all targets at once)
//
// with Phi the molecules x D matrix of summed atom features and r the labels
// minus the baseline. This is local KRR with the kernel replaced by Phi Phi^T
// (same lambda scale), at O(n D^2 + D^3) instead of O(n^2 d + n^3).
//
// Cross-validation, per sigma: Phi (one pass over the atoms) and the Gram
// G = Phi^T Phi (dsyrk) once; fold f's training Gram is G - Phi_f^T Phi_f (one
// dsyrk over the fold's n/k rows), shared by every lambda, each of which costs
// a copy and a Cholesky factorization (dpotrf) solving all targets. Folds are
// ml::fold_assignment(n, folds, seed), as for the KRR families; each fold fits
// its own baseline on its training part. D is not cross-validated: more
// features approximate the kernel better, so D is a cost choice (fit time,
// encrypted evaluation size), not a fit choice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "encmol/chem/atomic_features.hpp"
#include "encmol/ml/baseline.hpp"
#include "encmol/ml/random_features.hpp"
#include "encmol/ml/train.hpp"

namespace encmol::ml {

/// Lambdas tried when none are given.
std::vector<double> default_random_feature_lambdas();

/// Sigmas tried when none are given, from the median same-element distance m
/// of the (projected) training atoms.
std::vector<double> default_random_feature_sigmas(double median_distance);

struct RandomFeatureSearch {
  std::vector<double> sigmas;   // empty: default_random_feature_sigmas
  std::vector<double> lambdas;  // empty: default_random_feature_lambdas
  std::size_t folds = 4;        // >= 2 (only used when the grid has several points)
  std::uint64_t seed = 42;      // fold assignment
  ProgressCallback progress;    // steps "random-features", "cross-validation", "fit"
  /// Cross-validate even a single (sigma, lambda) point, so that fits of
  /// different maps (feature counts, projections) can be compared.
  bool always_cross_validate = false;
};

struct RandomFeatureFit {
  RandomFeatureModel model;
  Baseline baseline;  // fitted on all molecules (labels - baseline is what the model learns)
  double sigma = 0.0, lambda = 0.0;
  std::vector<CvRow> cv;  // sigma-major, lambda-minor; empty when the grid had one point
  std::size_t best = 0;
  std::uint32_t folds = 0;  // 0 when no CV ran
  /// Seconds: PCA + generation, features Phi (all sigmas), Gram matrices,
  /// CV solves, final solve.
  double setup_seconds = 0, feature_seconds = 0, gram_seconds = 0, cv_seconds = 0, fit_seconds = 0;
  std::vector<std::string> warnings;  // e.g. the chosen sigma at the edge of its grid
};

/// Lower triangle of Phi^T Phi (D x D; the strict upper part is unspecified).
Eigen::MatrixXd gram_lower(const Eigen::MatrixXd& phi);

/// Solves (G + lambda I) w = rhs from the lower triangle of G. Returns false
/// when G + lambda I is not numerically positive definite (w is then unspecified).
bool solve_ridge(const Eigen::MatrixXd& gram_lower, double lambda, const Eigen::MatrixXd& rhs,
                 Eigen::MatrixXd& w);

/// CV rows (sigma left 0) for one feature matrix `phi` (molecules x D) with
/// its gram_lower(phi), over `lambdas`. `labels` are the raw labels; fold
/// baselines are fitted from `counts` / `elements` on each fold's training
/// part. `label_scale` divides each target's MAE in the score.
std::vector<CvRow> cross_validate_random_features(
    const Eigen::MatrixXd& phi, const Eigen::MatrixXd& gram, const std::vector<double>& lambdas,
    const Eigen::MatrixXd& labels, const Eigen::MatrixXd& counts, const std::vector<int>& elements,
    bool per_element_baseline, std::size_t folds, std::uint64_t seed,
    const std::vector<double>& label_scale);

/// The whole fit: map from `options` (its sigma replaced by the grid's),
/// k-fold search over sigma x lambda when the grid has several points, final
/// ridge fit on all molecules with the best pair. `labels` are raw (molecules
/// x targets); the baseline is Baseline::fit(counts, elements, labels,
/// per_element_baseline), exactly what ml::prepare_labels fits. Throws
/// InputError / ParameterError for inconsistent inputs, bad grids, or when no
/// grid point gives a positive definite system.
RandomFeatureFit fit_random_features(const chem::AtomicFeatures& atoms,
                                     const Eigen::MatrixXd& labels, const Eigen::MatrixXd& counts,
                                     const std::vector<int>& elements, bool per_element_baseline,
                                     const std::vector<double>& label_scale,
                                     const RandomFeatureOptions& options,
                                     const RandomFeatureSearch& search);

/// The same with a prepared map (elements, counts and projections as given;
/// its sigma replaced by the grid's): for other feature allocations.
RandomFeatureFit fit_random_features(const chem::AtomicFeatures& atoms,
                                     const Eigen::MatrixXd& labels, const Eigen::MatrixXd& counts,
                                     const std::vector<int>& elements, bool per_element_baseline,
                                     const std::vector<double>& label_scale,
                                     const RandomFeatureMap& map,
                                     const RandomFeatureSearch& search);

}  // namespace encmol::ml
