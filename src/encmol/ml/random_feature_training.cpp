#include "encmol/ml/random_feature_training.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "encmol/core/error.hpp"
#include "encmol/ml/krr.hpp"
#include "encmol/ml/linalg.hpp"
#include "encmol/ml/local_kernel.hpp"
#include "encmol/ml/split.hpp"
#include "encmol/ml/train_setup.hpp"

namespace encmol::ml {

// QM7 at 5,700 molecules (cMBDF, 2,048 features) chooses 1e-9; 1,000 molecules 1e-5.
std::vector<double> default_random_feature_lambdas() { return {1e-11, 1e-9, 1e-7, 1e-5, 1e-3}; }

// QM7 (5,700 molecules, 2,048 features) chooses 4 m on cMBDF and 16 m or more
// on FCHL19 projected to 128 components.
std::vector<double> default_random_feature_sigmas(double m) {
  if (!std::isfinite(m) || !(m > 0)) m = 1.0;
  return {m, 2 * m, 4 * m, 8 * m, 16 * m, 32 * m};
}

Eigen::MatrixXd gram_lower(const Eigen::MatrixXd& phi) {
  Eigen::MatrixXd g(phi.cols(), phi.cols());
  syrk_tn_update(g, phi, 1.0, 0.0);
  return g;
}

bool solve_ridge(const Eigen::MatrixXd& gram, double lambda, const Eigen::MatrixXd& rhs,
                 Eigen::MatrixXd& w) {
  Eigen::MatrixXd c = gram;  // try_solve_krr factors in place and reads the lower triangle only
  return try_solve_krr(c, lambda, rhs, w);
}

std::vector<CvRow> cross_validate_random_features(
    const Eigen::MatrixXd& phi, const Eigen::MatrixXd& gram, const std::vector<double>& lambdas,
    const Eigen::MatrixXd& labels, const Eigen::MatrixXd& counts, const std::vector<int>& elements,
    bool per_element_baseline, std::size_t folds, std::uint64_t seed,
    const std::vector<double>& label_scale) {
  const auto n = static_cast<std::size_t>(phi.rows());
  if (labels.rows() != phi.rows() || gram.rows() != phi.cols() || gram.cols() != phi.cols()) {
    throw ParameterError("random-feature CV: features, Gram matrix and labels do not match");
  }
  if (per_element_baseline && counts.rows() != phi.rows())
    throw ParameterError("random-feature CV: count matrix does not match");
  if (label_scale.size() != static_cast<std::size_t>(labels.cols())) {
    throw ParameterError("random-feature CV: one label scale per target needed");
  }
  if (lambdas.empty()) throw ParameterError("random-feature CV: empty lambda grid");
  check_grid(lambdas, "lambda", false);
  const std::vector<std::size_t> fold = fold_assignment(n, folds, seed);
  const auto t_count = labels.cols();
  std::vector<CvRow> rows(lambdas.size());
  std::vector<Eigen::MatrixXd> out_of_fold(rows.size(),
                                           Eigen::MatrixXd::Zero(labels.rows(), t_count));
  for (std::size_t l = 0; l < lambdas.size(); ++l) {
    rows[l].lambda = lambdas[l];
    rows[l].ok = true;
    rows[l].sum_abs_alpha.assign(static_cast<std::size_t>(t_count), 0.0);
  }
  Eigen::MatrixXd a, w;
  for (std::size_t f = 0; f < folds; ++f) {
    std::vector<Eigen::Index> tr, va;
    for (std::size_t i = 0; i < n; ++i)
      (fold[i] == f ? va : tr).push_back(static_cast<Eigen::Index>(i));
    const Eigen::MatrixXd y_tr = labels(tr, Eigen::all);
    const Eigen::MatrixXd c_tr = per_element_baseline ? Eigen::MatrixXd(counts(tr, Eigen::all))
                                                      : Eigen::MatrixXd(tr.size(), 0);
    const Eigen::MatrixXd c_va = per_element_baseline ? Eigen::MatrixXd(counts(va, Eigen::all))
                                                      : Eigen::MatrixXd(va.size(), 0);
    const Baseline base = Baseline::fit(c_tr, elements, y_tr, per_element_baseline);
    // Phi_tr^T r_tr as Phi^T z with z = r on the training rows, 0 on the held-out ones.
    Eigen::MatrixXd z = Eigen::MatrixXd::Zero(phi.rows(), t_count);
    z(tr, Eigen::all) = y_tr - base.evaluate(c_tr);
    const Eigen::MatrixXd rhs = phi.transpose() * z;
    const Eigen::MatrixXd phi_va = phi(va, Eigen::all);
    const Eigen::MatrixXd base_va = base.evaluate(c_va);
    a = gram;
    syrk_tn_update(a, phi_va, -1.0, 1.0);  // the fold's training Gram
    for (std::size_t l = 0; l < lambdas.size(); ++l) {
      CvRow& row = rows[l];
      if (!row.ok) continue;
      if (!solve_ridge(a, lambdas[l], rhs, w)) {
        row.ok = false;
        continue;
      }
      const Eigen::MatrixXd pred = phi_va * w + base_va;
      if (!pred.allFinite()) {
        row.ok = false;
        continue;
      }
      out_of_fold[l](va, Eigen::all) = pred;
      const Eigen::VectorXd sa = w.cwiseAbs().colwise().sum().transpose();
      for (Eigen::Index t = 0; t < t_count; ++t) {
        auto& v = row.sum_abs_alpha[static_cast<std::size_t>(t)];
        v = std::max(v, sa(t));
      }
    }
  }
  for (std::size_t l = 0; l < rows.size(); ++l) {
    if (!rows[l].ok) {
      rows[l].score = std::numeric_limits<double>::infinity();
      continue;
    }
    const Errors e = prediction_errors(out_of_fold[l], labels);
    rows[l].mae = e.mae;
    rows[l].rmse = e.rmse;
    double score = 0;
    for (Eigen::Index t = 0; t < t_count; ++t)
      score += e.mae[static_cast<std::size_t>(t)] / label_scale[static_cast<std::size_t>(t)];
    rows[l].score = score / static_cast<double>(t_count);
  }
  return rows;
}

RandomFeatureFit fit_random_features(const chem::AtomicFeatures& atoms,
                                     const Eigen::MatrixXd& labels, const Eigen::MatrixXd& counts,
                                     const std::vector<int>& elements, bool per_element_baseline,
                                     const std::vector<double>& label_scale,
                                     const RandomFeatureOptions& options,
                                     const RandomFeatureSearch& search) {
  const auto start = TrainClock::now();
  report(search.progress, "random-features", 0.0);
  const RandomFeatureMap map = RandomFeatureMap::make(options, atoms);
  const double make_seconds = seconds_since(start);
  report(search.progress, "random-features", 1.0);
  RandomFeatureFit fit = fit_random_features(atoms, labels, counts, elements, per_element_baseline,
                                             label_scale, map, search);
  fit.setup_seconds += make_seconds;
  return fit;
}

RandomFeatureFit fit_random_features(const chem::AtomicFeatures& atoms,
                                     const Eigen::MatrixXd& labels, const Eigen::MatrixXd& counts,
                                     const std::vector<int>& elements, bool per_element_baseline,
                                     const std::vector<double>& label_scale,
                                     const RandomFeatureMap& base_map,
                                     const RandomFeatureSearch& search) {
  const std::size_t n = atoms.molecule_count();
  if (n < 2)
    throw InputError("random-feature training needs at least 2 molecules, got " +
                     std::to_string(n));
  if (labels.rows() != static_cast<Eigen::Index>(n) || labels.cols() == 0) {
    throw ParameterError("random-feature training: one label row per molecule needed");
  }
  if (per_element_baseline && (counts.rows() != labels.rows() ||
                               counts.cols() != static_cast<Eigen::Index>(elements.size()))) {
    throw ParameterError(
        "random-feature training: the count matrix does not match the molecules / elements");
  }
  if (label_scale.size() != static_cast<std::size_t>(labels.cols())) {
    throw ParameterError("random-feature training: one label scale per target needed");
  }
  check_grid(search.sigmas, "sigma", true);
  check_grid(search.lambdas, "lambda", false);
  RandomFeatureFit result;
  auto start = TrainClock::now();
  base_map.validate();
  const std::vector<double> sigmas =
      search.sigmas.empty()
          ? default_random_feature_sigmas(median_atomic_distance(base_map.project(atoms)))
          : search.sigmas;
  const std::vector<double> lambdas =
      search.lambdas.empty() ? default_random_feature_lambdas() : search.lambdas;
  result.setup_seconds = seconds_since(start);

  result.baseline = Baseline::fit(counts, elements, labels, per_element_baseline);
  const Eigen::MatrixXd residual =
      labels -
      result.baseline.evaluate(per_element_baseline ? counts : Eigen::MatrixXd(labels.rows(), 0));

  // Phi and its Gram for one sigma; the last one computed is kept for the final fit.
  std::size_t kept = sigmas.size();
  RandomFeatureMap map;
  Eigen::MatrixXd phi, gram;
  auto prepare = [&](std::size_t s) {
    if (kept == s) return;
    auto t0 = TrainClock::now();
    map = base_map.with_sigma(sigmas[s]);
    phi = map.features(atoms);
    result.feature_seconds += seconds_since(t0);
    t0 = TrainClock::now();
    gram = gram_lower(phi);
    result.gram_seconds += seconds_since(t0);
    kept = s;
  };

  std::size_t best_sigma = 0, best_lambda = 0;
  if (sigmas.size() * lambdas.size() > 1 || search.always_cross_validate) {
    if (search.folds < 2) throw ParameterError("cross-validation needs at least 2 folds");
    const std::size_t folds = std::min(search.folds, n);
    for (std::size_t s = 0; s < sigmas.size(); ++s) {
      prepare(s);
      const auto t0 = TrainClock::now();
      auto rows =
          cross_validate_random_features(phi, gram, lambdas, labels, counts, elements,
                                         per_element_baseline, folds, search.seed, label_scale);
      result.cv_seconds += seconds_since(t0);
      for (auto& row : rows) {
        row.sigma = sigmas[s];
        result.cv.push_back(std::move(row));
      }
      report(search.progress, "cross-validation",
             static_cast<double>(s + 1) / static_cast<double>(sigmas.size()));
    }
    result.best = best_cv_row(result.cv);
    best_sigma = result.best / lambdas.size();
    best_lambda = result.best % lambdas.size();
    result.folds = static_cast<std::uint32_t>(folds);
    for (const auto& w : {grid_edge_warning(sigmas, sigmas[best_sigma], "sigma"),
                          grid_edge_warning(lambdas, lambdas[best_lambda], "lambda")}) {
      if (!w.empty()) result.warnings.push_back(w);
    }
  }

  report(search.progress, "fit", 0.0);
  prepare(best_sigma);
  start = TrainClock::now();
  RandomFeatureModel& model = result.model;
  model.lambda = lambdas[best_lambda];
  const Eigen::MatrixXd rhs = phi.transpose() * residual;
  if (!solve_ridge(gram, model.lambda, rhs, model.weights)) {
    throw ParameterError("Phi^T Phi + lambda I is not numerically positive definite for lambda = " +
                         std::to_string(model.lambda) + "; use a larger lambda");
  }
  model.map = std::move(map);
  result.fit_seconds = seconds_since(start);
  report(search.progress, "fit", 1.0);
  result.sigma = sigmas[best_sigma];
  result.lambda = model.lambda;
  return result;
}

}  // namespace encmol::ml
