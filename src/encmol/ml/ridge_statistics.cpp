#include "encmol/ml/ridge_statistics.hpp"

#include <Eigen/QR>
#include <cmath>
#include <limits>
#include <string>

#include "encmol/core/error.hpp"
#include "encmol/ml/linalg.hpp"
#include "encmol/ml/random_feature_training.hpp"

namespace encmol::ml {

std::vector<double> ridge_statistics(const Eigen::MatrixXd& phi, const Eigen::MatrixXd& counts,
                                     const Eigen::MatrixXd& labels) {
  const Eigen::Index n = phi.rows();
  if (counts.rows() != n || labels.rows() != n)
    throw ParameterError("ridge_statistics: row counts differ");
  const Eigen::Index m = phi.cols() + counts.cols() + 1 + labels.cols();
  Eigen::MatrixXd z(n, m);
  z << phi, counts, Eigen::VectorXd::Ones(n), labels;
  Eigen::MatrixXd s = Eigen::MatrixXd::Zero(m, m);
  syrk_tn_update(s, z, 1.0, 0.0);  // lower triangle of Z^T Z
  std::vector<double> upper;
  upper.reserve(static_cast<std::size_t>(m * (m + 1) / 2));
  for (Eigen::Index i = 0; i < m; ++i) {
    for (Eigen::Index j = i; j < m; ++j) upper.push_back(s(j, i));
  }
  return upper;
}

Eigen::MatrixXd statistics_matrix(std::span<const double> upper, const StatisticsLayout& layout) {
  if (upper.size() != layout.values()) {
    throw ParameterError("statistics: " + std::to_string(upper.size()) +
                         " values, the layout needs " + std::to_string(layout.values()));
  }
  const auto m = static_cast<Eigen::Index>(layout.columns());
  Eigen::MatrixXd s(m, m);
  std::size_t k = 0;
  for (Eigen::Index i = 0; i < m; ++i) {
    for (Eigen::Index j = i; j < m; ++j) s(i, j) = s(j, i) = upper[k++];
  }
  return s;
}

StatisticsFit fit_from_statistics(const Eigen::MatrixXd& s, const StatisticsLayout& layout,
                                  const std::vector<int>& elements,
                                  const std::vector<double>& lambdas) {
  const auto d = static_cast<Eigen::Index>(layout.features),
             e = static_cast<Eigen::Index>(layout.elements),
             t = static_cast<Eigen::Index>(layout.targets);
  const Eigen::Index one = d + e, y = d + e + 1;
  if (s.rows() != static_cast<Eigen::Index>(layout.columns()) || s.cols() != s.rows() ||
      !s.allFinite()) {
    throw ParameterError("statistics: not a finite " + std::to_string(layout.columns()) +
                         "-square matrix");
  }
  if (elements.size() != layout.elements)
    throw ParameterError("statistics: one element per count column needed");
  if (lambdas.empty()) throw ParameterError("statistics: empty lambda grid");
  StatisticsFit fit;
  fit.molecules = s(one, one);
  const double n = fit.molecules;
  // (Not necessarily a whole number: differentially private sums carry noise in every entry.)
  if (!(n >= 2))
    throw ParameterError("statistics: the molecule count " + std::to_string(n) + " is below 2");
  // Baseline: least squares on the counts (minimum norm, as Baseline::fit), then the mean.
  Baseline& b = fit.baseline;
  b.per_element = true;
  b.elements = elements;
  Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> cod;
  cod.setThreshold(1e-10);
  cod.compute(s.block(d, d, e, e));
  b.coefficients = cod.solve(s.block(d, y, e, t));
  b.mean = (s.block(one, y, 1, t) - s.block(d, one, e, 1).transpose() * b.coefficients) / n;
  // Phi^T R and R^T R from the blocks.
  const Eigen::MatrixXd rhs =
      s.block(0, y, d, t) - s.block(0, d, d, e) * b.coefficients - s.block(0, one, d, 1) * b.mean;
  Eigen::MatrixXd rr =
      s.block(y, y, t, t) - 2.0 * b.coefficients.transpose() * s.block(d, y, e, t) -
      2.0 * s.block(one, y, 1, t).transpose() * b.mean +
      b.coefficients.transpose() * s.block(d, d, e, e) * b.coefficients +
      2.0 * (s.block(d, one, e, 1).transpose() * b.coefficients).transpose() * b.mean +
      n * b.mean.transpose() * b.mean;
  for (Eigen::Index k = 0; k < t; ++k) {
    const double var = std::max(rr(k, k), 0.0) / n;
    fit.label_scale.push_back(var > 0 ? std::sqrt(var) : 1.0);
  }
  const Eigen::MatrixXd gram = s.block(0, 0, d, d);
  std::size_t best = 0;
  if (lambdas.size() > 1) {
    Eigen::MatrixXd v = gram;
    Eigen::VectorXd eig;
    symmetric_eigen_in_place(v, eig);
    const Eigen::MatrixXd projected = v.transpose() * rhs;  // V^T b
    double best_score = std::numeric_limits<double>::infinity();
    for (std::size_t l = 0; l < lambdas.size(); ++l) {
      const double lambda = lambdas[l];
      double trace = 0, score = 0;
      bool ok = true;
      Eigen::VectorXd inverse(d);
      for (Eigen::Index i = 0; i < d; ++i) {
        const double ev = std::max(eig(i), 0.0) + lambda;
        if (!(ev > 0)) ok = false;
        inverse(i) = ok ? 1.0 / ev : 0.0;
        trace += std::max(eig(i), 0.0) * inverse(i);
      }
      for (Eigen::Index k = 0; k < t && ok; ++k) {
        // RSS = r^T r - 2 w^T b + w^T G w with w = V diag(1/(e+lambda)) V^T b.
        double rss = rr(k, k);
        for (Eigen::Index i = 0; i < d; ++i) {
          const double p = projected(i, k), c = p * inverse(i);
          rss += -2.0 * c * p + c * c * std::max(eig(i), 0.0);
        }
        const double gcv = n * std::max(rss, 0.0) / ((n - trace) * (n - trace));
        const double scale = fit.label_scale[static_cast<std::size_t>(k)];
        score += gcv / (scale * scale) / static_cast<double>(t);
      }
      if (!ok || !(n - trace > 0)) score = std::numeric_limits<double>::infinity();
      fit.grid_lambdas.push_back(lambda);
      fit.grid_scores.push_back(score);
      if (score < best_score) {
        best_score = score;
        best = l;
      }
    }
  }
  for (std::size_t attempt = best; attempt < lambdas.size(); ++attempt) {
    if (solve_ridge(gram, lambdas[attempt], rhs, fit.weights)) {
      fit.lambda = lambdas[attempt];
      return fit;
    }
  }
  throw ParameterError(
      "statistics: Phi^T Phi + lambda I is not positive definite for any lambda of the grid; "
      "use larger lambdas");
}

}  // namespace encmol::ml
