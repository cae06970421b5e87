// Training of the local (atomic) dual families: local-krr and quadratic.
#include <cmath>
#include <functional>
#include <utility>

#include "encmol/core/error.hpp"
#include "encmol/ml/krr.hpp"
#include "encmol/ml/local_kernel.hpp"
#include "encmol/ml/model.hpp"
#include "encmol/ml/train.hpp"
#include "encmol/ml/train_setup.hpp"

namespace encmol::ml {
namespace {

// Default local-kernel sigmas: a ladder of 9 values 1/sqrt(2) apart from
// 16 m down to m, m = the median same-element atomic distance. FCHL19 models
// of QM7 choose sigma near 4 m (about 5 Å-free units): atom kernels far
// flatter than the atom spread, so fine structure comes from a small lambda.
std::vector<double> default_local_sigmas(const chem::AtomicFeatures& atoms) {
  return sigma_ladder(16.0 * median_atomic_distance(atoms), 9);
}

}  // namespace

TrainResult train(const std::vector<chem::Molecule>& molecules, const TrainOptions& options) {
  switch (options.family) {
    case ModelFamily::GlobalKrr: return train_krr(molecules, options);
    case ModelFamily::LocalKrr: return train_local_krr(molecules, options);
    case ModelFamily::Quadratic: return train_quadratic(molecules, options);
    case ModelFamily::Network: return train_network(molecules, options);
  }
  throw ParameterError("unknown model family");
}

namespace {

// What both local dual families share: an atomic representation, one Gram
// matrix per candidate atom kernel (one pass over the atom pairs), k-fold
// search over (kernel, lambda), and the final dual solve.
struct DualFit {
  chem::RepresentationSpec spec;
  chem::AtomicFeatures atoms;
  LabelSetup labels;
  std::size_t best_kernel = 0;
  double lambda = 0.0;
  Eigen::MatrixXd alpha;
  std::uint32_t folds = 0;
  double cv_score = 0.0;
};

// Candidate atom kernels for the training atoms, with the grid value each
// stands for (sigma, coef0, ...) in the report.
using KernelGrid = std::pair<std::vector<AtomKernel>, std::vector<double>>;

DualFit fit_local_dual(const std::vector<chem::Molecule>& molecules, const TrainOptions& options, const char* family,
                       const std::function<KernelGrid(const chem::AtomicFeatures&)>& candidates,
                       const char* grid_name, TrainResult& result) {
  if (!chem::is_atomic(options.representation)) {
    throw InputError(std::string("the ") + family + " family needs an atomic representation (-r fchl19 or -r cmbdf); '" +
                     std::string(chem::to_string(options.representation)) + "' is global");
  }
  check_grid(options.lambdas, "lambda", false);
  DualFit fit;
  auto start = TrainClock::now();
  report(options.progress, "featurize", 0.0);
  fit.spec = chem::RepresentationSpec::fit(options.representation, molecules, options.representation_options);
  fit.atoms = fit.spec.featurize_atoms(molecules);
  report(options.progress, "featurize", 1.0);
  result.featurize_seconds = seconds_since(start);

  fit.labels = prepare_labels(molecules, fit.spec.elements(), options);
  const auto [kernels, grid_values] = candidates(fit.atoms);
  const std::vector<double> lambdas = options.lambdas.empty() ? default_lambdas() : options.lambdas;

  start = TrainClock::now();
  report(options.progress, "distances", 0.0);
  std::vector<Eigen::MatrixXd> grams = local_gram_symmetric(fit.atoms, kernels);
  report(options.progress, "distances", 1.0);
  result.distance_seconds = seconds_since(start);

  start = TrainClock::now();
  std::size_t best_lambda = 0;
  if (kernels.size() * lambdas.size() > 1) {
    if (options.folds < 2) throw ParameterError("cross-validation needs at least 2 folds");
    const auto folds = std::min<std::size_t>(static_cast<std::size_t>(options.folds), molecules.size());
    // A precomputed Gram matrix is a "linear kernel" on itself.
    const Kernel identity{KernelKind::Linear, 1.0, 1.0, 0.0, 1};
    for (std::size_t k = 0; k < kernels.size(); ++k) {
      auto rows = cross_validate(grams[k], identity, {0.0}, lambdas, fit.labels.labels, fit.labels.counts,
                                 fit.spec.elements(), options.baseline, folds, options.seed, fit.labels.scale);
      for (auto& row : rows) {
        row.sigma = grid_values[k];
        result.cv.push_back(std::move(row));
      }
      report(options.progress, "cross-validation", static_cast<double>(k + 1) / static_cast<double>(kernels.size()));
    }
    result.best = best_cv_row(result.cv);
    fit.best_kernel = result.best / lambdas.size();
    best_lambda = result.best % lambdas.size();
    fit.folds = static_cast<std::uint32_t>(folds);
    fit.cv_score = result.cv[result.best].score;
    for (const auto& w : {grid_edge_warning(grid_values, grid_values[fit.best_kernel], grid_name),
                          grid_edge_warning(lambdas, lambdas[best_lambda], "lambda")}) {
      if (!w.empty()) result.warnings.push_back(w);
    }
  }
  result.grid_parameter = grid_name;
  result.cv_seconds = seconds_since(start);

  start = TrainClock::now();
  report(options.progress, "fit", 0.0);
  fit.lambda = lambdas[best_lambda];
  fit.alpha = solve_krr(std::move(grams[fit.best_kernel]), fit.lambda, fit.labels.residual);
  report(options.progress, "fit", 1.0);
  result.fit_seconds = seconds_since(start);
  result.sigma = grid_values[fit.best_kernel];
  result.lambda = fit.lambda;
  return fit;
}

// Mean |x|^2 over the atoms: the natural unit of x . y.
double mean_square_norm(const chem::AtomicFeatures& atoms) {
  const double m = atoms.values.rowwise().squaredNorm().mean();
  return m > 0 ? m : 1.0;
}

}  // namespace

TrainResult train_local_krr(const std::vector<chem::Molecule>& molecules, const TrainOptions& options) {
  check_grid(options.sigmas, "sigma", true);
  TrainResult result;
  DualFit fit = fit_local_dual(
      molecules, options, "local-krr",
      [&](const chem::AtomicFeatures& atoms) {
        std::vector<double> sigmas = options.sigmas.empty() ? default_local_sigmas(atoms) : options.sigmas;
        return KernelGrid{gaussian_kernels(sigmas), sigmas};
      },
      "sigma", result);
  LocalKrr body;
  body.sigma = result.sigma;
  body.lambda = fit.lambda;
  body.alpha = std::move(fit.alpha);
  body.training_atoms = std::move(fit.atoms);
  Model& model = result.model;
  fill_common_model_fields(model, fit.spec, fit.labels, options, molecules.size(), fit.folds, fit.cv_score);
  model.body = std::move(body);
  model.validate();
  return result;
}

TrainResult train_quadratic(const std::vector<chem::Molecule>& molecules, const TrainOptions& options) {
  check_grid(options.coef0s, "coef0", true);
  TrainResult result;
  double scale = 1.0;
  DualFit fit = fit_local_dual(
      molecules, options, "quadratic",
      [&](const chem::AtomicFeatures& atoms) {
        // (coef0 + x.y / scale)^2 with scale = mean |x|^2: coef0 sets how much
        // the constant and linear terms weigh against the quadratic one.
        scale = mean_square_norm(atoms);
        const std::vector<double> coef0s = options.coef0s.empty() ? std::vector<double>{0.5, 1, 2, 4, 8} : options.coef0s;
        std::vector<AtomKernel> kernels;
        for (double c : coef0s) kernels.push_back(AtomKernel::polynomial(2, c, scale));
        return KernelGrid{kernels, coef0s};
      },
      "coef0", result);
  Model& model = result.model;
  fill_common_model_fields(model, fit.spec, fit.labels, options, molecules.size(), fit.folds, fit.cv_score);
  model.body = QuadraticAtomicModel::from_dual(fit.atoms, fit.alpha, result.sigma, scale, fit.lambda);
  model.validate();
  return result;
}

}  // namespace encmol::ml
