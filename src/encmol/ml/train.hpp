// Training API of the ml layer (what `encmol train` / `learning-curve` call).
//
// train_krr: featurize -> pairwise measure matrix of the whole training set
// (computed once) -> k-fold cross-validated grid search over (sigma, lambda)
// -> final fit on all training molecules with the best pair.
//
// Efficiency: the n x n measure matrix (squared distances, L1 distances or dot
// products) is computed once; each fold's kernel matrices are gathered from it
// and mapped through the kernel for every sigma (an elementwise exp), and each
// (fold, sigma, lambda) costs one Cholesky factorization of the fold's
// training kernel (LAPACK dpotrf) with all targets solved at once (dpotrs).
// The final model reuses the same measure matrix.
//
// Randomness: CV folds and learning-curve subsets come from
// std::mt19937_64(seed) through split.hpp, identical on every platform.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "encmol/chem/molecule.hpp"
#include "encmol/chem/representation.hpp"
#include "encmol/ml/feature_sampler.hpp"
#include "encmol/ml/kernels.hpp"
#include "encmol/ml/model.hpp"

namespace encmol::ml {

/// Called with a step name ("featurize", "distances", "cross-validation",
/// "fit", "learning-curve") and the fraction of that step done (0..1).
using ProgressCallback = std::function<void(std::string_view step, double fraction)>;

/// Default lambda grid: 1e-10, 1e-7, 1e-4, 1e-1 (Laplacian models of QM7
/// favour the smallest, Gaussian ones larger values).
std::vector<double> default_lambdas();

struct TrainOptions {
  /// Model family (train() dispatches on it; train_krr ignores it).
  ModelFamily family = ModelFamily::GlobalKrr;
  chem::RepresentationKind representation = chem::RepresentationKind::CoulombMatrix;
  /// Extra representation capacity beyond the training molecules (see
  /// chem::capacity_for) so larger query molecules can be predicted.
  chem::RepresentationOptions representation_options;
  KernelKind kernel = KernelKind::Gaussian;
  /// Sigma grid (Gaussian, Laplacian, local). Empty: global kernels use 8
  /// values m * 2^k, k = -3..4, where m is the median pairwise distance of the
  /// training set (Euclidean for Gaussian, L1 for Laplacian); local kernels a
  /// ladder of sigmas 1/sqrt(2) apart (local_kernel.hpp) scaled by the median
  /// same-element atomic distance. Ignored by linear/polynomial kernels.
  std::vector<double> sigmas;
  /// Lambda grid. Empty: default_lambdas().
  std::vector<double> lambdas;
  /// Polynomial kernel: gamma (0 = 1 / mean squared norm of the training
  /// representations), coef0 and degree.
  double gamma = 0.0;
  double coef0 = 1.0;
  int degree = 2;
  /// Atomic families: project every element's atom vectors onto this many
  /// leading principal components (atomic_pca.hpp) before the model sees
  /// them; 0 = use the vectors as they are.
  std::size_t atom_pca = 0;
  /// local-krr on fchl19+cmbdf: grid of the cMBDF Gaussian's weight relative
  /// to the FCHL19 one. Empty: 0.3, 1, 3, 10, 30.
  std::vector<double> block_weights;
  /// Quadratic atomic model: coef0 grid of (coef0 + x.y / mean|x|^2)^2.
  /// Empty: 0.5, 1, 2, 4, 8.
  std::vector<double> coef0s;
  /// Random-feature family (random_features.hpp): grid of total feature
  /// counts D and of PCA dimensions (0 = no projection), cross-validated
  /// with sigma and lambda. Empty: default_random_feature_counts() and no PCA.
  std::vector<std::size_t> feature_counts;
  std::vector<std::size_t> pca_dimensions;
  RandomFeatureKind feature_kind = RandomFeatureKind::Orthogonal;
  /// Seed of the random frequencies (recorded in the model; fixes the features).
  std::uint64_t feature_seed = 42;
  /// Atomic network (nn family, atomic_network.hpp): one network is trained
  /// per (depth, width, power) of these grids and the one with the lowest
  /// validation loss is kept (empty grid: network.depth / width / power).
  /// `network` holds the other training options (epochs, learning rate, ...);
  /// its seed is replaced by `seed`.
  std::vector<std::size_t> network_depths, network_widths;
  std::vector<int> network_powers;
  NetworkOptions network;
  /// Cross-validation folds (>= 2). With a single (sigma, lambda) pair no CV is
  /// run and the pair is used directly.
  int folds = 4;
  /// Subtract a per-element linear (dressed-atom) baseline besides the mean.
  bool baseline = true;
  /// Δ-learning: per target (or one for all) the xTB quantity the model
  /// learns the difference to (delta.hpp); empty = direct learning. Needs
  /// `units`. Stored xtb_* properties are used, else xTB runs with `xtb`.
  std::vector<DeltaSource> delta;
  chem::XtbOptions xtb;
  std::uint64_t seed = 42;
  /// Properties to learn (Molecule::properties keys), all at once.
  std::vector<std::string> targets;
  /// Units of the targets, same length as targets or empty (unknown).
  std::vector<std::string> units;
  /// Data set name recorded in the model.
  std::string dataset;
  ProgressCallback progress;
};

/// One (sigma, lambda) grid point of the cross-validation.
struct CvRow {
  double sigma = 0.0;       // 0 for kernels without sigma
  double lambda = 0.0;
  /// Random-feature family: total features D and PCA dimension (0 = none)
  /// of the row's map; 0 for the other families.
  std::size_t features = 0, pca = 0;
  bool ok = false;          // false: K + lambda I was not positive definite in some fold
  double score = 0.0;       // mean over targets of MAE / label_scale (lower is better)
  std::vector<double> mae;  // per target, pooled over all out-of-fold predictions
  std::vector<double> rmse;
  /// Per target, the largest sum|alpha| of the fold models: what an encrypted
  /// evaluation's error would be multiplied by (lets a caller pick the best
  /// grid point under an error budget).
  std::vector<double> sum_abs_alpha;
};

struct TrainResult {
  Model model;
  double sigma = 0.0;   // chosen grid value (0 for kernels without sigma); see grid_parameter
  std::string grid_parameter = "sigma";  // what the cv rows' sigma column holds (quadratic: coef0)
  double lambda = 0.0;  // chosen
  std::vector<CvRow> cv;  // empty when the grid had a single point
  std::size_t best = 0;   // index of the chosen row in cv
  double featurize_seconds = 0, distance_seconds = 0, cv_seconds = 0, fit_seconds = 0;
  /// Advice for the user, e.g. that the chosen sigma or lambda lies on the
  /// edge of the grid (the optimum may lie beyond it).
  std::vector<std::string> warnings;
  /// Information for the user beside the CV table, e.g. the validation
  /// losses of the nn family's architecture grid, one line each.
  std::vector<std::string> notes;
};

/// Trains a model of options.family on `molecules`.
TrainResult train(const std::vector<chem::Molecule>& molecules, const TrainOptions& options);

/// Local (atomic) KRR with an atomic representation: Gram matrices of every
/// grid sigma in one pass over the atom pairs, then the same k-fold search.
TrainResult train_local_krr(const std::vector<chem::Molecule>& molecules, const TrainOptions& options);

/// Quadratic atomic model (quadratic_model.hpp): dual fit with the local
/// polynomial kernel, coef0 and lambda by k-fold search, folded into c, g, H.
TrainResult train_quadratic(const std::vector<chem::Molecule>& molecules, const TrainOptions& options);

/// Feature counts D cross-validated when none are given: 2,048 minus the
/// element counts the per-element baseline adds to each encrypted query
/// (`count_values`), so that a molecule's query fills a 2,048-slot block.
std::vector<std::size_t> default_random_feature_counts(std::size_t count_values);

/// Random-feature model (random_features.hpp) on an atomic representation:
/// for every (PCA dimension, D) a map, k-fold search over (sigma, lambda),
/// then the final D x D ridge fit with the best point.
TrainResult train_random_features(const std::vector<chem::Molecule>& molecules, const TrainOptions& options);
/// HE-friendly atomic network (atomic_network.hpp, network_training.hpp):
/// per-element residual power networks on an atomic representation, trained
/// by Adam with early stopping on a seeded validation split of the training
/// molecules (also used to choose among the architecture grid).
TrainResult train_network(const std::vector<chem::Molecule>& molecules, const TrainOptions& options);

/// Trains a global (multi-target) KRR model on `molecules` (see the top of this
/// file). Throws InputError for missing labels / bad molecules and
/// ParameterError for bad options or when no grid point gives a positive
/// definite system.
TrainResult train_krr(const std::vector<chem::Molecule>& molecules, const TrainOptions& options);

/// Lower-level grid search on a precomputed n x n measure matrix (see
/// kernels.hpp: pairwise_symmetric(measure_of(kernel.kind), X)).
/// `counts` / `elements`: element counts for the per-element baseline (ignored
/// when per_element_baseline is false). `label_scale`: per-target divisor of
/// the MAE in the score. Fold baselines are fitted on each fold's training part.
std::vector<CvRow> cross_validate(const Eigen::MatrixXd& measure, const Kernel& kernel,
                                  const std::vector<double>& sigmas,
                                  const std::vector<double>& lambdas,
                                  const Eigen::MatrixXd& labels, const Eigen::MatrixXd& counts,
                                  const std::vector<int>& elements, bool per_element_baseline,
                                  std::size_t folds, std::uint64_t seed,
                                  const std::vector<double>& label_scale,
                                  const ProgressCallback& progress = {});

/// Index of the best ok row (lowest score; ties: first). Throws ParameterError
/// when no row is ok.
std::size_t best_cv_row(const std::vector<CvRow>& rows);

/// Error metrics of predictions vs labels, per target.
struct Errors {
  std::vector<double> mae, rmse;
};
Errors prediction_errors(const Eigen::MatrixXd& predicted, const Eigen::MatrixXd& labels);

/// One row of a learning curve.
struct LearningCurvePoint {
  std::size_t n = 0;        // training molecules
  std::string target;
  double sigma = 0.0, lambda = 0.0;
  double mae = 0.0, rmse = 0.0;  // on the test molecules, label units
  double train_seconds = 0.0;    // featurize + CV + fit
};

/// Training sizes 2^k (k >= log2(min_size)) below n_train, plus n_train.
std::vector<std::size_t> default_learning_curve_sizes(std::size_t n_train,
                                                      std::size_t min_size = 32);

/// Trains on the first N molecules of a seeded random permutation of
/// `train_molecules` for each N in `sizes` (so smaller sets are subsets of
/// larger ones) and evaluates on `test_molecules`. Hyper-parameters are
/// cross-validated per N when the grid has several points (folds reduced to
/// N / 2 for tiny N), else fixed. The representation is sized for all train
/// and test molecules, so every test molecule can be predicted at every N.
std::vector<LearningCurvePoint> learning_curve(const std::vector<chem::Molecule>& train_molecules,
                                               const std::vector<chem::Molecule>& test_molecules,
                                               const TrainOptions& options,
                                               const std::vector<std::size_t>& sizes);

}  // namespace encmol::ml
