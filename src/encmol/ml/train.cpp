#include "encmol/ml/train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/ml/baseline.hpp"
#include "encmol/ml/krr.hpp"
#include "encmol/ml/split.hpp"
#include "encmol/ml/train_setup.hpp"

#ifndef ENCMOL_VERSION
#define ENCMOL_VERSION "unknown"
#endif

namespace encmol::ml {
namespace {

// out(a, b) = kernel(measure(rows[a], cols[b])), plus lambda on the diagonal
// when rows == cols. Parallel over output columns.
void gather_kernel(const Eigen::MatrixXd& measure, const std::vector<Eigen::Index>& rows,
                   const std::vector<Eigen::Index>& cols, const Kernel& kernel,
                   Eigen::MatrixXd& out) {
  out.resize(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(cols.size()));
  core::parallel_for(cols.size(), [&](std::size_t b) {
    const double* column = measure.data() + cols[b] * measure.rows();
    double* dst = out.data() + static_cast<Eigen::Index>(b) * out.rows();
    for (std::size_t a = 0; a < rows.size(); ++a) dst[a] = kernel.from_measure(column[rows[a]]);
  }, 16);
}

// Median of the off-diagonal entries of a symmetric measure matrix, from a
// deterministic sample of at most ~200k entries.
double median_offdiagonal(const Eigen::MatrixXd& measure) {
  const Eigen::Index n = measure.rows();
  std::vector<double> sample;
  const double pairs = 0.5 * static_cast<double>(n) * static_cast<double>(n - 1);
  const auto stride = static_cast<std::size_t>(std::max(1.0, std::floor(pairs / 200000.0)));
  std::size_t k = 0;
  for (Eigen::Index j = 0; j < n; ++j)
    for (Eigen::Index i = j + 1; i < n; ++i, ++k)
      if (k % stride == 0) sample.push_back(measure(i, j));
  if (sample.empty()) return 1.0;
  auto mid = sample.begin() + static_cast<std::ptrdiff_t>(sample.size() / 2);
  std::nth_element(sample.begin(), mid, sample.end());
  return *mid;
}

}  // namespace

std::vector<double> default_lambdas() { return {1e-10, 1e-7, 1e-4, 1e-1}; }

Errors prediction_errors(const Eigen::MatrixXd& predicted, const Eigen::MatrixXd& labels) {
  if (predicted.rows() != labels.rows() || predicted.cols() != labels.cols()) {
    throw ParameterError("prediction_errors: shapes differ");
  }
  Errors e;
  const double n = static_cast<double>(std::max<Eigen::Index>(1, labels.rows()));
  for (Eigen::Index t = 0; t < labels.cols(); ++t) {
    const Eigen::VectorXd d = predicted.col(t) - labels.col(t);
    e.mae.push_back(d.cwiseAbs().sum() / n);
    e.rmse.push_back(std::sqrt(d.squaredNorm() / n));
  }
  return e;
}

std::vector<CvRow> cross_validate(const Eigen::MatrixXd& measure, const Kernel& kernel,
                                  const std::vector<double>& sigmas,
                                  const std::vector<double>& lambdas,
                                  const Eigen::MatrixXd& labels, const Eigen::MatrixXd& counts,
                                  const std::vector<int>& elements, bool per_element_baseline,
                                  std::size_t folds, std::uint64_t seed,
                                  const std::vector<double>& label_scale,
                                  const ProgressCallback& progress) {
  const auto n = static_cast<std::size_t>(measure.rows());
  if (measure.cols() != measure.rows() || labels.rows() != measure.rows()) {
    throw ParameterError("cross_validate: measure matrix and labels do not match");
  }
  if (label_scale.size() != static_cast<std::size_t>(labels.cols())) {
    throw ParameterError("cross_validate: one label scale per target needed");
  }
  if (lambdas.empty()) throw ParameterError("cross_validate: empty lambda grid");
  check_grid(lambdas, "lambda", false);
  const std::vector<double> sigma_grid = kernel.has_sigma() ? sigmas : std::vector<double>{0.0};
  if (sigma_grid.empty()) throw ParameterError("cross_validate: empty sigma grid");
  if (kernel.has_sigma()) check_grid(sigma_grid, "sigma", true);

  const std::vector<std::size_t> fold = fold_assignment(n, folds, seed);
  const std::size_t s_count = sigma_grid.size(), l_count = lambdas.size();
  const auto t_count = labels.cols();
  std::vector<CvRow> rows(s_count * l_count);
  std::vector<Eigen::MatrixXd> out_of_fold(rows.size(), Eigen::MatrixXd::Zero(labels.rows(), t_count));
  for (std::size_t s = 0; s < s_count; ++s) {
    for (std::size_t l = 0; l < l_count; ++l) {
      rows[s * l_count + l].sigma = sigma_grid[s];
      rows[s * l_count + l].lambda = lambdas[l];
      rows[s * l_count + l].ok = true;
    }
  }
  const double total_solves = static_cast<double>(folds * s_count * l_count);
  double solves = 0;
  // Per (fold, sigma) the training kernel is gathered once; each lambda then
  // factors a copy (a copy is ~20x cheaper than re-evaluating exp).
  Eigen::MatrixXd k_fold, k_train, k_valid, alpha;
  for (std::size_t f = 0; f < folds; ++f) {
    std::vector<Eigen::Index> tr, va;
    for (std::size_t i = 0; i < n; ++i) (fold[i] == f ? va : tr).push_back(static_cast<Eigen::Index>(i));
    const Eigen::MatrixXd y_tr = labels(tr, Eigen::all);
    const Eigen::MatrixXd c_tr = per_element_baseline ? Eigen::MatrixXd(counts(tr, Eigen::all)) : Eigen::MatrixXd();
    const Eigen::MatrixXd c_va = per_element_baseline ? Eigen::MatrixXd(counts(va, Eigen::all)) : Eigen::MatrixXd(va.size(), 0);
    const Baseline base = Baseline::fit(c_tr, elements, y_tr, per_element_baseline);
    const Eigen::MatrixXd r_tr = y_tr - base.evaluate(c_tr.cols() ? c_tr : Eigen::MatrixXd(tr.size(), 0));
    const Eigen::MatrixXd base_va = base.evaluate(c_va);
    for (std::size_t s = 0; s < s_count; ++s) {
      Kernel k = kernel;
      if (k.has_sigma()) k.sigma = sigma_grid[s];
      gather_kernel(measure, va, tr, k, k_valid);
      bool any_ok = false;
      for (std::size_t l = 0; l < l_count; ++l) any_ok = any_ok || rows[s * l_count + l].ok;
      if (any_ok) gather_kernel(measure, tr, tr, k, k_fold);
      for (std::size_t l = 0; l < l_count; ++l) {
        CvRow& row = rows[s * l_count + l];
        if (row.ok) {
          k_train = k_fold;
          if (try_solve_krr(k_train, lambdas[l], r_tr, alpha)) {
            const Eigen::MatrixXd pred = k_valid * alpha + base_va;
            if (pred.allFinite()) {
              out_of_fold[s * l_count + l](va, Eigen::all) = pred;
              const Eigen::VectorXd sa = alpha.cwiseAbs().colwise().sum().transpose();
              row.sum_abs_alpha.resize(static_cast<std::size_t>(t_count), 0.0);
              for (Eigen::Index t = 0; t < t_count; ++t) {
                auto& v = row.sum_abs_alpha[static_cast<std::size_t>(t)];
                v = std::max(v, sa(t));
              }
            } else {
              row.ok = false;
            }
          } else {
            row.ok = false;
          }
        }
        report(progress, "cross-validation", ++solves / total_solves);
      }
    }
  }
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (!rows[r].ok) {
      rows[r].score = std::numeric_limits<double>::infinity();
      continue;
    }
    const Errors e = prediction_errors(out_of_fold[r], labels);
    rows[r].mae = e.mae;
    rows[r].rmse = e.rmse;
    double score = 0;
    for (Eigen::Index t = 0; t < t_count; ++t) {
      score += e.mae[static_cast<std::size_t>(t)] / label_scale[static_cast<std::size_t>(t)];
    }
    rows[r].score = score / static_cast<double>(t_count);
  }
  return rows;
}

std::size_t best_cv_row(const std::vector<CvRow>& rows) {
  std::size_t best = rows.size();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].ok && (best == rows.size() || rows[r].score < rows[best].score)) best = r;
  }
  if (best == rows.size()) {
    throw ParameterError(
        "no (sigma, lambda) pair of the grid gave a positive definite kernel system in every fold; "
        "add larger lambda values (e.g. 1e-6, 1e-4) or smaller sigma values");
  }
  return best;
}

TrainResult train_krr(const std::vector<chem::Molecule>& molecules, const TrainOptions& options) {
  check_grid(options.sigmas, "sigma", true);
  check_grid(options.lambdas, "lambda", false);
  TrainResult result;

  auto start = TrainClock::now();
  report(options.progress, "featurize", 0.0);
  const chem::RepresentationSpec spec =
      chem::RepresentationSpec::fit(options.representation, molecules, options.representation_options);
  const chem::FeatureMatrix x = spec.featurize(molecules);
  report(options.progress, "featurize", 1.0);
  result.featurize_seconds = seconds_since(start);
  const LabelSetup setup = prepare_labels(molecules, spec.elements(), options);
  const Eigen::MatrixXd& labels = setup.labels;

  start = TrainClock::now();
  report(options.progress, "distances", 0.0);
  const Eigen::MatrixXd measure = pairwise_symmetric(measure_of(options.kernel), x);
  report(options.progress, "distances", 1.0);
  result.distance_seconds = seconds_since(start);

  Kernel kernel;
  kernel.kind = options.kernel;
  kernel.coef0 = options.coef0;
  kernel.degree = options.degree;
  kernel.gamma = options.gamma;
  if (kernel.kind == KernelKind::Polynomial && options.gamma == 0.0) {
    const double mean_norm = measure.diagonal().mean();
    kernel.gamma = mean_norm > 0 ? 1.0 / mean_norm : 1.0;
  }
  std::vector<double> sigmas = options.sigmas;
  if (kernel.has_sigma() && sigmas.empty()) {
    double m = median_offdiagonal(measure);
    if (kernel.kind == KernelKind::Gaussian) m = std::sqrt(m);
    if (!(m > 0)) m = 1.0;
    for (int k = -3; k <= 4; ++k) sigmas.push_back(m * std::ldexp(1.0, k));
  }
  if (!kernel.has_sigma()) sigmas = {0.0};
  const std::vector<double> lambdas = options.lambdas.empty() ? default_lambdas() : options.lambdas;
  kernel.sigma = kernel.has_sigma() ? sigmas.front() : 1.0;
  kernel.validate();

  const std::vector<int>& elements = spec.elements();
  const Eigen::MatrixXd& counts = setup.counts;
  const Baseline& baseline = setup.baseline;
  const Eigen::MatrixXd& residual = setup.residual;
  const std::vector<double>& scale = setup.scale;

  start = TrainClock::now();
  double sigma = sigmas.front(), lambda = lambdas.front();
  std::uint32_t folds_used = 0;
  double cv_score = 0.0;
  if (sigmas.size() * lambdas.size() > 1) {
    if (options.folds < 2) throw ParameterError("cross-validation needs at least 2 folds");
    const auto folds = std::min<std::size_t>(static_cast<std::size_t>(options.folds), molecules.size());
    result.cv = cross_validate(measure, kernel, sigmas, lambdas, labels, counts, elements,
                               options.baseline, folds, options.seed, scale, options.progress);
    result.best = best_cv_row(result.cv);
    sigma = result.cv[result.best].sigma;
    lambda = result.cv[result.best].lambda;
    folds_used = static_cast<std::uint32_t>(folds);
    cv_score = result.cv[result.best].score;
    // An optimum on the edge of a grid axis of 3+ values may lie beyond it.
    auto edge = [](const std::vector<double>& grid, double v) {
      return grid.size() > 2 && (v == *std::min_element(grid.begin(), grid.end()) ||
                                 v == *std::max_element(grid.begin(), grid.end()));
    };
    char buf[200];
    if (kernel.has_sigma() && edge(sigmas, sigma)) {
      std::snprintf(buf, sizeof(buf),
                    "the chosen sigma = %.6g is at the edge of the sigma grid; the best value may lie beyond it",
                    sigma);
      result.warnings.emplace_back(buf);
    }
    if (edge(lambdas, lambda)) {
      std::snprintf(buf, sizeof(buf),
                    "the chosen lambda = %.3g is at the edge of the lambda grid; the best value may lie beyond it",
                    lambda);
      result.warnings.emplace_back(buf);
    }
  }
  result.cv_seconds = seconds_since(start);

  start = TrainClock::now();
  report(options.progress, "fit", 0.0);
  if (kernel.has_sigma()) kernel.sigma = sigma;
  Eigen::MatrixXd k = measure;
  apply_kernel(kernel, k);
  Model& model = result.model;
  GlobalKrr krr;
  krr.alpha = solve_krr(std::move(k), lambda, residual);
  report(options.progress, "fit", 1.0);
  result.fit_seconds = seconds_since(start);

  model.representation = spec;
  krr.kernel = kernel;
  krr.lambda = lambda;
  krr.training_features = x;
  model.body = std::move(krr);
  model.targets = options.targets;
  model.units = options.units.empty() ? std::vector<std::string>(options.targets.size()) : options.units;
  model.baseline = baseline;
  model.label_scale = scale;
  model.info.dataset = options.dataset;
  model.info.seed = options.seed;
  model.info.folds = folds_used;
  model.info.cv_score = cv_score;
  model.info.encmol_version = ENCMOL_VERSION;
  model.info.training_size = molecules.size();
  model.validate();
  result.sigma = kernel.has_sigma() ? sigma : 0.0;
  result.lambda = lambda;
  return result;
}

std::vector<std::size_t> default_learning_curve_sizes(std::size_t n_train, std::size_t min_size) {
  std::vector<std::size_t> sizes;
  std::size_t p = 1;
  while (p < std::max<std::size_t>(min_size, 2)) p *= 2;
  for (; p < n_train; p *= 2) sizes.push_back(p);
  if (n_train >= 2) sizes.push_back(n_train);
  return sizes;
}

std::vector<LearningCurvePoint> learning_curve(const std::vector<chem::Molecule>& train_molecules,
                                               const std::vector<chem::Molecule>& test_molecules,
                                               const TrainOptions& options,
                                               const std::vector<std::size_t>& sizes) {
  if (test_molecules.empty()) throw InputError("learning curve needs at least one test molecule");
  for (std::size_t n : sizes) {
    if (n < 4 || n > train_molecules.size()) {
      throw InputError("learning-curve size " + std::to_string(n) + " must be between 4 and the " +
                       std::to_string(train_molecules.size()) + " training molecules");
    }
  }
  const Eigen::MatrixXd test_labels = label_matrix(test_molecules, options.targets);
  // Size the representation for every molecule involved (no labels used).
  std::vector<chem::Molecule> everything = train_molecules;
  everything.insert(everything.end(), test_molecules.begin(), test_molecules.end());
  chem::RepresentationOptions capacity = chem::capacity_for(everything);
  capacity.min_max_atoms = std::max(capacity.min_max_atoms, options.representation_options.min_max_atoms);
  for (auto [z, c] : options.representation_options.min_element_capacity) {
    capacity.min_element_capacity[z] = std::max(capacity.min_element_capacity[z], c);
  }
  everything.clear();
  everything.shrink_to_fit();

  const std::vector<std::size_t> order = random_permutation(train_molecules.size(), options.seed);
  std::vector<LearningCurvePoint> points;
  for (std::size_t s = 0; s < sizes.size(); ++s) {
    const std::size_t n = sizes[s];
    report(options.progress, "learning-curve", static_cast<double>(s) / static_cast<double>(sizes.size()));
    const std::vector<chem::Molecule> subset =
        select(train_molecules, std::vector<std::size_t>(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n)));
    TrainOptions opts = options;
    opts.representation_options = capacity;
    opts.folds = std::max(2, std::min(options.folds, static_cast<int>(n / 2)));
    opts.progress = nullptr;
    const auto start = TrainClock::now();
    const TrainResult trained = train(subset, opts);
    const double seconds = seconds_since(start);
    const Errors e = prediction_errors(trained.model.predict(test_molecules), test_labels);
    for (std::size_t t = 0; t < options.targets.size(); ++t) {
      points.push_back({n, options.targets[t], trained.sigma, trained.lambda, e.mae[t], e.rmse[t], seconds});
    }
  }
  report(options.progress, "learning-curve", 1.0);
  return points;
}

}  // namespace encmol::ml
