// Random-feature ridge regression from sufficient statistics: what several
// data owners can train together by adding up sums over their molecules
// (secure/multiparty.hpp), and what the same fit gives on pooled data.
//
// For Z = [Phi, C, 1, Y] (molecules x m: random features, element counts, a
// constant, labels), S = Z^T Z (m x m) determines the fit of
// random_feature_training.hpp exactly:
//   baseline    coefficients = pinv(C^T C) C^T Y     (= pinv(C) Y, per element)
//               mean = (1^T Y - (C^T 1)^T coefficients) / n
//   residual    R = Y - C coefficients - 1 mean
//   ridge       w = (Phi^T Phi + lambda I)^-1 Phi^T R
// and everything on the right is a block of S: Phi^T R = Phi^T Y - Phi^T C
// coefficients - Phi^T 1 mean, R^T R likewise. S is additive over molecules,
// so parties can sum their S_i. Without cross-validation folds, lambda is
// chosen from a grid by generalized cross-validation (Golub, Heath & Wahba
// 1979): GCV(lambda) = n RSS / (n - tr H)^2, tr H = sum e_i / (e_i + lambda)
// over the eigenvalues e of Phi^T Phi, also a function of S alone.
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <span>
#include <vector>

#include "encmol/ml/baseline.hpp"

namespace encmol::ml {

struct StatisticsLayout {
  std::size_t features = 0;  // D
  std::size_t elements = 0;  // E
  std::size_t targets = 0;   // T
  std::size_t columns() const { return features + elements + 1 + targets; }
  /// Values of the upper triangle (i <= j), row-major.
  std::size_t values() const { return columns() * (columns() + 1) / 2; }
};

/// The upper triangle (row-major, i <= j) of Z^T Z, Z = [phi, counts, 1, labels].
std::vector<double> ridge_statistics(const Eigen::MatrixXd& phi, const Eigen::MatrixXd& counts,
                                     const Eigen::MatrixXd& labels);

/// The symmetric matrix of an upper triangle. ParameterError on a size mismatch.
Eigen::MatrixXd statistics_matrix(std::span<const double> upper, const StatisticsLayout& layout);

struct StatisticsFit {
  Baseline baseline;        // per-element coefficients and mean (no Δ term)
  Eigen::MatrixXd weights;  // D x T
  double lambda = 0;
  double molecules = 0;             // n, read from S
  std::vector<double> label_scale;  // population std of the residual, per target
  std::vector<double>
      grid_lambdas;  // the grid, and its GCV score (mean over targets of GCV / scale^2)
  std::vector<double> grid_scores;
};

/// The fit above from S. With several lambdas GCV picks one. ParameterError
/// when S is not a statistics matrix (n < 2, non-finite) or no lambda gives a
/// positive definite system.
StatisticsFit fit_from_statistics(const Eigen::MatrixXd& statistics, const StatisticsLayout& layout,
                                  const std::vector<int>& elements,
                                  const std::vector<double>& lambdas);

}  // namespace encmol::ml
